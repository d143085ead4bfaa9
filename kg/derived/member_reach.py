"""What each member's description reached, listed for a write's copy of the members' rows.

Why: a write copies the previous generation's row of each catalogue member whose walk reached no
touched key (:func:`kg.derived.member_descriptions._copy_unaffected`), and finding which did meant
decompressing and splitting every previous row on the main process: ~99,500 rows at 100,000
datasets, 11.5 s profiled at a 1 % re-harvest, while the other core idled. Here the previous rows
are listed once into a scratch SQLite file — per row, the keys it reached (hashed) and the shared
nodes it names — and the copy finds the rows that reached a touched key by a join.

When the write patched a graph (a delta ingest, :attr:`kg.store.generation.Generation.touched`),
the listing is made by a forked process started as the first builder (:meth:`Reach.start`), beside
the search index's build and the first derived tables; otherwise, in the builder's own process when
the copy asks for it. Either way the same function makes the same file.

A key is hashed with Python's ``hash`` (the same in a forked process): two keys of one hash make a
row look reached, and a row that looks reached is walked again, which gives the row the walk gives.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from kg.derived.descriptions import decompress
from kg.processes import die_with_parent
from kg.search.tables import INDEX_FILE
from kg.store.generation import Generation

FILE = "member-reach.sqlite.tmp"  # in the generation's folder while it is built, then removed
SCHEMA = """
PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE reach(key INTEGER NOT NULL, position INTEGER NOT NULL);
CREATE TABLE named(position INTEGER NOT NULL, key TEXT NOT NULL);
"""


class Reach:
    """The listing of one write's previous member rows: started early by :meth:`start` (a store
    builder, registered before the others) or made by :meth:`attach` when the copy needs it."""

    def __init__(self) -> None:
        self._future: Future | None = None
        self._folder: Path | None = None

    def start(self, generation: Generation) -> None:
        """Start listing in a forked process when the write patched a graph and the previous
        generation has member rows (else nothing: :meth:`attach` lists them if they are needed)."""
        self._future, self._folder = None, generation.folder
        previous = generation.previous / INDEX_FILE if generation.previous else None
        if not generation.touched or previous is None or not _has_rows(previous):
            return
        fork = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(1, mp_context=fork, initializer=die_with_parent)
        self._future = pool.submit(list_reach, previous, generation.folder / FILE)
        pool.shutdown(wait=False)  # the process ends with its one task

    def attach(self, db: sqlite3.Connection, folder: Path) -> None:
        """The listing of the previous rows (``db``'s attached ``old``) attached to ``db`` as
        ``reach``: the forked process's, waited for, when it was started for this generation."""
        target = folder / FILE
        if self._future is not None and self._folder == folder:
            self._future.result()
        else:
            (previous,) = (row[2] for row in db.execute("PRAGMA database_list") if row[1] == "old")
            list_reach(Path(previous), target)
        self._future = None
        db.execute("ATTACH DATABASE ? AS reach", (f"file:{target}?mode=ro",))

    @staticmethod
    def detach(db: sqlite3.Connection) -> None:
        db.commit()  # SQLite detaches no database inside a transaction
        db.execute("DETACH DATABASE reach")

    def close(self, folder: Path) -> None:
        """The listing's process waited for (it may still be writing when the build failed or
        did not copy) and its file removed: it is no part of the generation."""
        if self._future is not None:
            self._future.exception()
            self._future = None
        (folder / FILE).unlink(missing_ok=True)


def list_reach(previous: Path, target: Path) -> None:
    """Write ``target``: for each row of ``previous``'s ``member_descriptions``, the hashes of the
    keys its walk reached (the member, the IRIs its description names, its blank nodes) and the
    shared nodes it names, by the row's position."""
    target.unlink(missing_ok=True)
    old = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
    db = sqlite3.connect(target)
    try:
        db.executescript(SCHEMA)
        rows = old.execute(
            "SELECT m.position, m.iri, d.data FROM member_order m "
            "JOIN member_descriptions d ON d.position = m.position"
        )
        for position, iri, data in rows:
            _, used, blanks, named = decompress(data).split("\x00")
            keys = {hash(iri), *map(hash, _names(used)), *map(hash, _names(blanks))}
            db.executemany("INSERT INTO reach VALUES (?, ?)", [(key, position) for key in keys])
            db.executemany("INSERT INTO named VALUES (?, ?)", [(position, key) for key in _names(named)])
        db.execute("CREATE INDEX reach_key ON reach(key)")
        db.commit()
    finally:
        db.close()
        old.close()


def _names(part: str) -> list[str]:
    """The keys of one part of a row (IRIs or blank nodes, one a line)."""
    return part.split("\n") if part else []


def _has_rows(path: Path) -> bool:
    """Whether a previous generation's file has members' rows to list."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                "AND name IN ('member_descriptions', 'member_order')"
            ).fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return found == 2
