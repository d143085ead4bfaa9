"""What each previous member row reached, for a write's copy of the members' rows.

Why: a write copies the previous generation's row of each catalogue member whose walk reached no
touched key (:func:`kg.derived.member_descriptions._copy_unaffected`), and finding which did meant
decompressing and splitting every previous row on the main process: ~99,500 rows at 100,000
datasets, 11.5 s profiled at a 1 % re-harvest, while the other core idled. When the write patched a
graph (a delta ingest, :attr:`kg.store.generation.Generation.touched`), a forked process started
as the first builder (:meth:`Reach.start`) reads those rows beside the search index's build and the
first derived tables, keeping per row the hashes of the keys it reached and the shared nodes it
names; the copy then sends it the touched keys' hashes and the rows it may copy, and gets back the
rows that reached none and the shared nodes those name (:meth:`Reach.unaffected`). Without such a
write, the same functions run in the builder's process when the copy asks.

A key is hashed with Python's ``hash`` (the same in a forked process): two keys of one hash make a
row look reached, and a row that looks reached is walked again, which gives the row the walk gives.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from array import array
from multiprocessing.connection import Connection
from pathlib import Path

from kg.derived.descriptions import decompress
from kg.processes import die_with_parent
from kg.search.tables import INDEX_FILE
from kg.store.generation import Generation

Rows = dict[int, tuple[array, list[str]]]  # previous position -> (hashes of the keys reached, shared nodes)


class Reach:
    """The previous member rows' reach, read by a process of its own for one write (:meth:`start`,
    a store builder registered before the others) or here (:meth:`unaffected`)."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def start(self, generation: Generation) -> None:
        """Start reading in a forked process when the write patched a graph and the previous
        generation has member rows (else nothing: :meth:`unaffected` reads them if needed)."""
        self.close()
        previous = generation.previous / INDEX_FILE if generation.previous else None
        if not generation.touched or previous is None or not _has_rows(previous):
            return
        fork = multiprocessing.get_context("fork")
        mine, theirs = fork.Pipe()
        self._process = fork.Process(target=_serve, args=(previous, theirs), daemon=True)
        self._process.start()
        theirs.close()
        self._folder, self._conn = generation.folder, mine

    def unaffected(
        self, previous: Path, folder: Path, touched: set[int], positions: list[int]
    ) -> tuple[list[int], set[str]]:
        """Of ``positions`` (previous rows), those whose walk reached no key of ``touched``
        (hashes), and the shared nodes they name: from the process started for this generation
        (``folder``), else read here from ``previous``."""
        if self._conn is not None and self._folder == folder:
            try:
                self._conn.send((touched, positions))
                return self._conn.recv()
            except (EOFError, OSError):  # the process died (killed, out of memory): read them here
                pass
            finally:
                self.close()
        return _unaffected(read_rows(previous), touched, positions)

    def close(self) -> None:
        """The reading process stopped, if one was started (after its answer, or unasked)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.kill()  # done after its answer; unasked, not needed
            self._process.join()
            self._process = None
        self._folder = None


def _serve(previous: Path, conn: Connection) -> None:
    """The reading process: the rows read, then one question answered."""
    die_with_parent()
    rows = read_rows(previous)
    touched, positions = conn.recv()
    conn.send(_unaffected(rows, touched, positions))
    conn.close()


def read_rows(previous: Path) -> Rows:
    """Each previous member row's reach: the hashes of the member, the IRIs its description names
    and its blank nodes; and the shared nodes it names."""
    db = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT m.position, m.iri, d.data FROM member_order m "
            "JOIN member_descriptions d ON d.position = m.position"
        )
        found: Rows = {}
        for position, iri, data in rows:
            _, used, blanks, named = decompress(data).split("\x00")
            keys = array("q", {hash(iri), *map(hash, _names(used)), *map(hash, _names(blanks))})
            found[position] = (keys, _names(named))
        return found
    finally:
        db.close()


def _unaffected(rows: Rows, touched: set[int], positions: list[int]) -> tuple[list[int], set[str]]:
    kept = [p for p in positions if p in rows and touched.isdisjoint(rows[p][0])]
    return kept, {key for p in kept for key in rows[p][1]}


def _names(part: str) -> list[str]:
    """The keys of one part of a row (IRIs or blank nodes, one a line)."""
    return part.split("\n") if part else []


def _has_rows(path: Path) -> bool:
    """Whether a previous generation's file has members' rows to read."""
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
