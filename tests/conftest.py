"""Shared fixtures: a fresh store per test, the ``kg`` command in a subprocess, store snapshots.

* ``settings``: :class:`kg.settings.Settings` with a fresh (not yet created)
  store under ``tmp_path``, base ``http://kg.test/``, one worker, small batches.
* ``seeded``: the same settings, with the bundled CSV sample already ingested
  as source ``sample`` (copied from one ingest per session: fast).
* ``kg_env``: the environment to run ``.venv/bin/kg`` on that store.
* ``run_kg(*args, env=…)``: run the ``kg`` command, text output.
* ``snapshot(store)``: what a store serves, comparable with ``==``.
* ``shared``: ``../shared`` (real records from real portals), or a skip.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from kg.iris import Minter
from kg.settings import Settings, load_settings
from kg.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "kg" / "sample"
SAMPLE_CSV = SAMPLE / "csv"
SAMPLE_DATA_JSON = SAMPLE / "data.json"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_SAMPLES = SHARED / "data" / "samples"
BASE = "http://kg.test/"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def kg_command() -> Path:
    """``.venv/bin/kg`` next to the running interpreter (the product as installed), else the repo's venv."""
    beside = Path(sys.executable).with_name("kg")
    return beside if beside.exists() else ROOT / ".venv" / "bin" / "kg"


def make_settings(store: Path | str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "store": store,
        "base_uri": BASE,
        "workers": 1,
        "validation_batch": 50,
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh store folder (not created until the first write)."""
    return make_settings(tmp_path / "store")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store with the bundled CSV sample ingested as ``sample``; tests get copies."""
    from kg.ingest import ingest

    store = tmp_path_factory.mktemp("seeded") / "store"
    summary = ingest(str(SAMPLE_CSV), settings=make_settings(store), source="sample")
    assert summary.stored and summary.published == 55 and summary.quarantined == 0
    return store


@pytest.fixture
def seeded(settings: Settings, seeded_template: Path) -> Settings:
    """``settings`` whose store already holds the bundled sample (source ``sample``)."""
    shutil.copytree(seeded_template, settings.store, symlinks=True)
    return settings


@pytest.fixture
def kg_env(settings: Settings) -> dict[str, str]:
    """Environment for running ``kg`` on the ``settings`` store (no proxies, no debug)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KG_") and k.lower() not in PROXY_VARIABLES
    }
    env.update(
        KG_STORE=str(settings.store),
        KG_BASE_URI=settings.base_uri,
        KG_WORKERS="1",
        KG_VALIDATION_BATCH=str(settings.validation_batch),
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def run_kg(
    *args: str, env: Mapping[str, str], cwd: Path | str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``kg`` command; stdout and stderr as text."""
    return subprocess.run(
        [str(kg_command()), *map(str, args)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def open_store(where: Settings | Store | Path | str) -> Store:
    if isinstance(where, Store):
        return where
    if isinstance(where, Settings):
        from kg.ingest import store_for

        return store_for(where)
    return Store(where)


def snapshot(where: Settings | Store | Path | str, *, base: str = BASE) -> tuple[str, ...]:
    """What the store serves: the sorted N-Quads of every graph but the provenance graph.

    Two snapshots are equal when every query (but ones on ingest history) answers the same.
    """
    store = open_store(where)
    out = io.BytesIO()
    store.dump(out, fmt="nq")
    provenance = f"<{Minter(base).provenance_graph()}> .\n"
    lines = out.getvalue().decode("utf-8").splitlines(keepends=True)
    return tuple(sorted(line for line in lines if not line.endswith(provenance)))


@pytest.fixture
def shared() -> Path:
    """``/work/shared`` (next to the project folder): real sample records, data for tests only."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"the shared folder with real portal samples is absent (looked for {SHARED_SAMPLES})")
    return SHARED
