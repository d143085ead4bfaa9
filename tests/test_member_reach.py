"""The previous member rows' reach read by a process of its own (kg.derived.member_reach): its
answer is the one read in the builder's own process, and a process that died is no failed write."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from kg.derived import member_reach
from kg.derived.member_reach import Reach, read_rows
from kg.search.tables import INDEX_FILE


def _generation(settings, tmp_path: Path) -> SimpleNamespace:
    """What Reach.start reads of a generation: a write that patched a graph, after the seeded one."""
    folder = tmp_path / "next"
    folder.mkdir()
    previous = (Path(settings.store) / "current").resolve()
    return SimpleNamespace(folder=folder, previous=previous, touched={"g": frozenset({b"x"})})


def _question(index: Path) -> tuple[set[int], list[int]]:
    """The touched keys (a dataset of the sample, as hashed) and every previous member row."""
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT position, iri FROM member_order ORDER BY position").fetchall()
    finally:
        db.close()
    touched = {hash(iri) for _, iri in rows if "/dataset/" in iri}
    return set(list(touched)[:3]), [p for p, _ in rows]


@pytest.mark.parametrize("dies", [False, True])
def test_the_reach_read_beside_is_the_reach_read_here(seeded, tmp_path, monkeypatch, dies):
    generation = _generation(seeded, tmp_path)
    index = generation.previous / INDEX_FILE
    touched, positions = _question(index)
    here = member_reach._unaffected(read_rows(index), touched, positions)
    assert 0 < len(here[0]) < len(positions) - 2  # some rows reached a touched key, most did not
    if dies:  # the forked process ends before its answer (killed, out of memory)
        monkeypatch.setattr(member_reach, "_serve", lambda previous, conn: os._exit(3))
    reach = Reach()
    reach.start(generation)
    assert reach._process is not None  # the write patched a graph: a process was started
    assert reach.unaffected(index, generation.folder, touched, positions) == here
    assert reach._process is None and reach._conn is None
