"""The search index's dataset ids stay dense when a source is written whole again (kg.search.build).

Why: the index of the last generation was copied and every dataset of a source written whole
deleted and indexed again, numbered after the old ids: the ids doubled, and the next write or two
found the index too sparse to copy and built it whole (the first 1 % re-harvest after a full run at
100,000 datasets spent 39 s profiled there). Most rows stale, the index is built anew instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import make_settings

from kg.factory import store_for
from kg.ingest.run import ingest
from kg.search.tables import INDEX_FILE

SAMPLE = "kg/sample/csv"


def _ids(settings) -> tuple[int, int]:  # noqa: ANN001 - Settings
    folder = store_for(settings).folder()
    db = sqlite3.connect(f"file:{folder / INDEX_FILE}?mode=ro", uri=True)
    try:
        return db.execute("SELECT max(id), count(*) FROM datasets").fetchone()
    finally:
        db.close()


def test_a_source_written_whole_again_keeps_the_ids_dense(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "store")
    if settings.remote:
        pytest.skip("the embedded store's index")
    ingest(SAMPLE, settings=settings, source="sample", reuse=False)
    top, count = _ids(settings)
    assert count > 40 and top == count
    ingest(SAMPLE, settings=settings, source="sample", reuse=False)  # written whole: every row stale
    assert _ids(settings) == (count, count)
