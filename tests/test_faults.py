"""Faults: an ingest killed at any moment, a full disk. The store keeps serving the previous version."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_kg, snapshot
from kill_points import PUBLISHED, WRITE_POINTS, run_killed

ROOT = Path(__file__).resolve().parents[1]


def _bigger_source(folder: Path, copies: int) -> Path:
    """The sample's datasets repeated under new ids: two batches to validate (KG_VALIDATION_BATCH=50)."""
    folder.mkdir()
    sample = ROOT / "kg" / "sample" / "csv"
    shutil.copy(sample / "agencies.csv", folder / "agencies.csv")
    for name in ("datasets.csv", "distributions.csv"):
        lines = (sample / name).read_text(encoding="utf-8").splitlines()
        out = [lines[0]]
        for n in range(copies):
            for line in lines[1:]:
                first, rest = line.split(",", 1)
                if name == "datasets.csv":
                    out.append(f"{first}-copy{n},{rest}")
                else:  # dataset id, then distribution id
                    dist, rest2 = rest.split(",", 1)
                    out.append(f"{first}-copy{n},{dist}-copy{n},{rest2}")
        (folder / name).write_text("\n".join(out) + "\n", encoding="utf-8")
    return folder


def test_ingest_killed_at_each_point_of_its_write_leaves_the_previous_version(seeded, kg_env, tmp_path):
    """Killed before its commit, an ingest leaves the old version; after it, the whole new one.

    A real ``kg ingest`` process SIGKILLs itself at each point of a write (tests/kill_points.py):
    while validating, inside the new generation's write, while its derived files are built, with
    the generation complete but not published, and just after the commit (one symlink rename), where
    the whole new version is served: never anything in between. The next ingest after a kill
    publishes the new version and leaves no unfinished generation behind.
    """
    source = _bigger_source(tmp_path / "big", copies=1)
    store = Path(seeded.store)
    pristine = tmp_path / "pristine"
    shutil.copytree(store, pristine, symlinks=True)
    before = snapshot(seeded)
    # a killed ingest leaves its scratch folder (kg-ingest-*) in its TMPDIR: this test's folder,
    # removed with it, not the system's (in RAM under make test)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    killed_env = {**kg_env, "TMPDIR": str(scratch)}
    command = ("ingest", source, "--source", "sample")
    for point in WRITE_POINTS:
        shutil.rmtree(store)
        shutil.copytree(pristine, store, symlinks=True)
        run_killed(point, command, killed_env)
        assert snapshot(seeded) == before, f"killed {point.name}: the store serves something else"
    done = run_kg(*command, env=kg_env)  # on what the last kill left
    assert done.returncode == 0, done.stderr
    after = snapshot(seeded)
    assert after != before
    assert not [g for g in os.listdir(store / "generations") if g.endswith(".tmp")]
    shutil.rmtree(store)
    shutil.copytree(pristine, store, symlinks=True)
    run_killed(PUBLISHED, command, killed_env)
    assert snapshot(seeded) == after, f"killed {PUBLISHED.name}: not the whole new version"


@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_cleanly(small_disk, kg_env):
    env = {**kg_env, "KG_STORE": str(small_disk / "store")}
    done = run_kg("ingest", ROOT / "kg" / "sample" / "csv", env=env)
    assert done.returncode == 4
    assert "No space left" in done.stderr and "Traceback" not in done.stderr
    assert not [g for g in os.listdir(small_disk / "store" / "generations") if g.endswith(".tmp")]
