"""The catalogue pages' node rows of a patched source graph: copied but for the touched subjects.

Why: a re-harvest that patches the source's catalogue graph (:mod:`kg.ingest.delta`) changed the
triples of ~2 % of its records, but :func:`kg.derived.descriptions.build` takes the rows of every
subject of a changed graph from the ingest's file (36 s at 100,000 datasets, loaded machine). Here
the rows of the subjects the patch touched (:attr:`kg.store.generation.Generation.touched`: the
lines it took out or put in, and every line of the records it replaced, old and new) are taken from
the ingest's file as that builder takes them, and every other subject's row is the previous
generation's.

*Why that is the full build's row*: a subject no touched line has is described only by records that
are unchanged (their rows are the stored results, byte for byte), by the same records as last time
(a record that described it before or now would be touched, and its lines with it), with the same
links held back (a link held or released is a line the patch took out or put in), and rows of one
subject from several records are merged in the order of their text, not of the file.

The work is :func:`kg.derived.descriptions.build`'s own, given a file of the touched subjects' rows
alone; this module only makes that file and copies the rest (the worker-side code of that module is
part of the ingest's recipe, :data:`kg.ingest.memo.RECIPE_PATHS`: it is not changed for this).
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from kg.derived import descriptions
from kg.derived.descriptions import Descriptions
from kg.derived.tables import Build, chunks
from kg.store.generation import Generation


def build(b: Build, fresh: Descriptions | None) -> None:
    """The ``nodes`` of every source graph (:func:`kg.derived.descriptions.build`), the patched one's
    copied from the previous generation for the subjects that no touched line has."""
    keys = touched_keys(b, fresh.graph) if fresh is not None else None
    if fresh is None or keys is None or not _has_nodes(b.db):
        descriptions.build(b, fresh)
        return
    small = b.generation.folder / "touched-rows.sqlite.tmp"
    try:
        _rows_of(fresh, keys, small)
        descriptions.build(b, replace(fresh, path=small))
        _copy_others(b.db, fresh.graph, keys)
    finally:
        small.unlink(missing_ok=True)


def touched_keys(b: Build, graph: str) -> set[str] | None:
    """The subjects (row keys) of ``graph``'s touched lines, or None when it is read whole."""
    lines = b.touched(graph)
    return None if lines is None or graph not in b.generation.labelled else Generation.subjects(lines)


def _has_nodes(db: sqlite3.Connection) -> bool:
    found = db.execute(
        "SELECT count(*) FROM old.sqlite_master WHERE type = 'table' AND name IN (?, ?)", descriptions.TABLES
    )
    return found.fetchone()[0] == len(descriptions.TABLES)


def _rows_of(fresh: Descriptions, keys: set[str], target) -> None:
    """The ingest's rows (:class:`kg.derived.descriptions.RowWriter`'s file) of the ``keys`` alone,
    every row of each (a subject several records describe has one per record), in ``target``."""
    db = sqlite3.connect(target)
    try:
        db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE rows(iri TEXT NOT NULL, catalog INTEGER NOT NULL, ntriples BLOB NOT NULL);"
        )
        db.execute("ATTACH DATABASE ? AS fresh", (f"file:{fresh.path}?mode=ro",))
        db.execute("CREATE TEMP TABLE wanted(iri TEXT PRIMARY KEY) WITHOUT ROWID")
        db.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?)", [(k,) for k in keys])
        db.execute("INSERT INTO rows SELECT r.* FROM fresh.rows r JOIN temp.wanted w ON w.iri = r.iri")
        db.commit()
        db.execute("DETACH DATABASE fresh")
    finally:
        db.close()


def _copy_others(db: sqlite3.Connection, graph: str, keys: set[str]) -> None:
    """The previous generation's rows of ``graph`` but those of ``keys``, under the graph's new number."""
    (number,) = db.execute("SELECT id FROM node_graphs WHERE graph = ?", (graph,)).fetchone()
    old = db.execute("SELECT id FROM old.node_graphs WHERE graph = ?", (graph,)).fetchone()
    if old is None:
        return
    db.execute("CREATE TEMP TABLE skipped(iri TEXT PRIMARY KEY) WITHOUT ROWID")
    for part in chunks(sorted(keys)):
        db.executemany("INSERT INTO temp.skipped VALUES (?)", [(k,) for k in part])
    db.execute(
        "INSERT INTO nodes SELECT n.iri, ?, n.catalog, n.ntriples FROM old.nodes n "
        "WHERE n.graph = ? AND n.iri NOT IN (SELECT iri FROM temp.skipped)",
        (number, old[0]),
    )
    db.execute("DROP TABLE temp.skipped")
    db.commit()


def changed_rows(b: Build, graph: str, keys: set[str]) -> set[str]:
    """Those of ``keys`` whose row of ``graph`` is not byte for byte the previous generation's (or is
    in one of them only), after :func:`build`: a member's description walked from rows that are all
    as they were is as it was. Why not ``keys`` themselves: every dataset record lists its publisher's
    triples, so the touched records' subjects hold most agencies, whose rows mostly stay the same."""
    db = b.db
    (new,) = db.execute("SELECT id FROM node_graphs WHERE graph = ?", (graph,)).fetchone()
    old = db.execute("SELECT id FROM old.node_graphs WHERE graph = ?", (graph,)).fetchone()
    if old is None:
        return set(keys)
    found: set[str] = set()
    for part in chunks(sorted(keys)):
        marks = ",".join("?" * len(part))
        rows = [
            dict(
                (iri, (c, text))
                for iri, c, text in db.execute(
                    f"SELECT iri, catalog, ntriples FROM {schema}.nodes WHERE graph = ? AND iri IN ({marks})",
                    [number, *part],
                )
            )
            for schema, number in (("main", new), ("old", old[0]))
        ]
        found.update(k for k in part if rows[0].get(k) != rows[1].get(k))
    return found
