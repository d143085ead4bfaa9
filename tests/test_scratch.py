"""A killed run's scratch folder is removed by the next run (kg.scratch), and only such a folder: a
live run's folder, and a folder that is not a run's, stay. Real processes, real SIGKILLs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import SAMPLE_CSV, kg_command, snapshot

from kg.ingest.run import ingest
from kg.scratch import OWNER, scratch_folder, sweep_abandoned
from kg.settings import Settings

HOLD = """
import sys, time
from kg.scratch import scratch_folder
with scratch_folder(sys.argv[1]) as folder:
    (folder / "big.nt").write_text("x" * 1000)
    print(folder, flush=True)
    time.sleep(120)
"""


def holder(prefix: str, tmp: Path) -> tuple[subprocess.Popen, Path]:
    """A process that makes a scratch folder in ``tmp`` and keeps it (until killed)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, prefix],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    assert line, "the holder made no folder"
    return process, Path(line)


def test_a_killed_runs_folder_goes_and_a_live_runs_stays(tmp_path: Path) -> None:
    killed, left = holder("kg-test-", tmp_path)
    alive, kept = holder("kg-test-", tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert (left / "big.nt").is_file(), "a SIGKILL should leave the folder (nothing else removes it)"
        stranger = tmp_path / "kg-test-not-a-run"  # no .owner: someone else's
        stranger.mkdir()
        assert sweep_abandoned(tmp_path, "kg-test-") == [left]
        assert not left.exists() and (kept / "big.nt").is_file() and stranger.is_dir()
    finally:
        alive.kill()
        alive.wait(10)


def test_a_folder_is_locked_before_a_sweeper_can_see_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_folder("kg-test-") as folder:
        assert sorted(p.name for p in folder.iterdir()) == [OWNER]
        assert sweep_abandoned(tmp_path, "kg-test-") == []  # its own run holds it
        assert folder.is_dir()
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_an_ingest_killed_half_way_leaves_a_folder_that_the_next_ingest_removes(
    settings: Settings, kg_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**kg_env, "TMPDIR": str(tmp)}
    process = subprocess.Popen(
        [str(kg_command()), "ingest", str(SAMPLE_CSV), "--source", "sample"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(tmp.glob(f"kg-ingest-*/{OWNER}")) and time.monotonic() < deadline:
        assert process.poll() is None, "the ingest ended before it could be killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    left = list(tmp.glob("kg-ingest-*"))
    assert len(left) == 1, left

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # this process's TMPDIR, read once
    summary = ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    assert summary.stored and snapshot(settings)
    assert list(tmp.iterdir()) == []
