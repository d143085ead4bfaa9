"""Change detection per record: what an ingest of a source made of each record, kept for the next.

Why: a harvest that finds a changed document would otherwise map and validate every record again
(~250 s at 100,000 datasets) to change a few. Each record read is given a *digest*: a hash of the
record as the reader made it, its origin (file, line, index) left out so that moving a record in
its file changes nothing, plus the digests of the agencies its context is made from (its
publisher's and parent's description: its validation reads them). A record whose digest the last
ingest of the source saw, under the same *recipe*, gets that ingest's result back (its triples,
measurements, search summary, catalogue rows, report: the worker's output, before the ingest's
own checks across records, which run again) instead of being mapped and validated; the others go
to the workers as before. The recipe is a hash of everything the result depends on besides the
record: the code of the mapping, validation, quality, search summaries and catalogue rows, the
shapes and vocabularies, the engines' versions, the base IRI and the validator; any change to one
of them, or a bump of :data:`MEMO_VERSION`, makes every record new (a full run).

Where: one SQLite file per source in the store generation that holds the graphs it was made
with (``records/<source>.sqlite``, :meth:`kg.store.writer.Writer.put_file`): written
beside the new graphs and published with them, or not at all. A digest is a pure function of the
record and the recipe, so an ingest may read the file of any generation; it writes the file anew,
with this run's records only (those gone from the source are dropped with their triples).

RDF sources are not split into digests: their records' triples are made in the workers (the
main process holds rows, :class:`kg.records.RdfRecord`), and a catalogue's validation reads
other records; such a source is mapped whole.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import pickle
import sqlite3
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from kg.factory import store_for
from kg.ingest.digests import Known, identity, record_digest
from kg.records import Origin, RdfRecord, Record
from kg.settings import Settings
from kg.store.next_generation import FILES

MEMO_VERSION = 1  # bump when what a result holds, or how it is made, changes outside RECIPE_PATHS
LAYOUT = "2"  # of the file
ROOT = Path(__file__).resolve().parents[2]
RECIPE_PATHS = (
    "kg/mapping",
    "kg/validation",
    "kg/ingest/workers.py",
    "kg/quality.py",
    "kg/search/summaries.py",
    "kg/derived/descriptions.py",
    "kg/records.py",
    "kg/iris.py",
    "kg/vocab.py",
    "kg/terms.py",
    "shapes",
    "ontologies",
)
ENGINES = ("pyrudof", "pyshacl", "rdflib", "pyoxigraph")
READ_AHEAD = 256  # reused results read back per batch (kept in memory twice: ~4 MB each way)

Result = tuple[Any, Any, Any]  # kg.ingest.workers.Result: (MappedRecord, RecordReport, texts)


@cache
def code_digest() -> str:
    """SHA-256 of the files of :data:`RECIPE_PATHS` (names and contents) and the engines' versions."""
    digest = hashlib.sha256()
    for name in RECIPE_PATHS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".py", ".ttl", ".json"))
        for file in files if path.is_dir() else [path]:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    for engine in ENGINES:
        try:
            digest.update(f"{engine}={importlib.metadata.version(engine)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{engine}=\0".encode())
    return digest.hexdigest()


def recipe(base_uri: str, validator: str) -> str:
    """What besides a record its result depends on, as one hash (see the module docstring)."""
    text = f"{MEMO_VERSION}\0{base_uri}\0{validator}\0{code_digest()}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Changes:
    """A run's records next to the last run's: by identity, and how many results were reused."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    mapped: int = 0  # records mapped and validated by this run (the others' results were reused)
    reused: int = 0
    seconds: float = 0.0  # spent here: hashing, looking up, reading and keeping results

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
        }


# the result last: a row's columns after a blob are read by walking the blob's overflow pages, and
# the small ones are read for every record (_open_previous, kg.ingest.records_file.kept_records):
# with the result third, that read went through the whole file (~500 MB at 100,000 datasets: 14.6 s
# profiled). Every reader names its columns, so a file of either order reads the same.
_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (ident TEXT NOT NULL, digest BLOB NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
  publishable INTEGER NOT NULL, result BLOB NOT NULL);
"""
_INSERT = "INSERT INTO records(ident, digest, result, key, kind, publishable) VALUES (?, ?, ?, ?, ?, ?)"


class Memo:
    """The last run's results (``previous``, a file of an earlier ingest, or None) and this run's
    (``target``, a new file): :meth:`take` for each record in the source's order, :meth:`merged`
    around the workers' results, :meth:`finish` once every record is through.

    :param usable: False to map every record (the file's digests still give the counts).
    """

    def __init__(self, previous: Path | None, target: Path, recipe: str, *, usable: bool = True) -> None:
        self.recipe = recipe
        self.target = target
        self.before: dict[str, bytes] = {}  # identity -> digest, of the last run's records
        self.previous_signature = ""
        # reusable digests -> their row in the last run's file, the record's IRI, kind and verdict
        self._rows: dict[bytes, tuple[int, str, str, int]] = {}
        self._old: sqlite3.Connection | None = None
        self._reader = ThreadPoolExecutor(max_workers=1)  # reads and inflates reused results ahead
        self._ahead: tuple[list[int], Future] | None = None  # rows being read, and their future
        if previous is not None and previous.is_file():
            self._open_previous(previous, usable)
        self._db = sqlite3.connect(target)
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self._order: deque[tuple[str, bytes, int | None, list[Origin]]] = deque()
        self.seen: dict[str, bytes] = {}
        # what the new file keeps of each record, as kg.ingest.records_file.kept_records reads it
        # (identity -> IRI, digest, kind, published), for the history: that read went through the
        # whole file (a ~5 KB row spills past its page), ~1.3 s at 100,000 datasets
        self.kept: dict[str, tuple[str, bytes, str, int]] = {}
        self.changes = Changes()
        self.opaque = False  # an RDF record was taken: no digests, no counts, nothing skipped
        self.incomplete = False  # a result was not kept (the engine failed): nothing skipped

    def _open_previous(self, previous: Path, usable: bool) -> None:
        try:
            # read by the one thread of ``_reader`` once open (see _read_ahead)
            old = sqlite3.connect(f"file:{previous}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(old.execute("SELECT name, value FROM meta"))
            if meta.get("layout") != LAYOUT:
                return
            same = usable and meta.get("recipe") == self.recipe
            rows = old.execute("SELECT rowid, ident, digest, key, kind, publishable FROM records")
            for rowid, ident, digest, key, kind, publishable in rows:
                self.before[ident] = digest
                if same:
                    self._rows[digest] = (rowid, key, kind, publishable)
        except sqlite3.Error:  # unreadable: a full run, which writes a good one
            self.before, self._rows = {}, {}
            return
        self._old = old
        self.previous_signature = meta.get("signature", "") if same else ""

    def take(self, record: Record | Known, context: Iterable[bytes] = ()) -> tuple[bytes, bool]:
        """Note a record in the source's order: its digest, and whether its last result is reused
        (else it goes to the workers, and :meth:`merged` is given its result in its turn).

        An RDF record (see the module docstring) always goes to the workers, and is not kept."""
        if isinstance(record, RdfRecord):
            self.opaque = True
            self._order.append(("", b"", None, []))
            return b"", False
        t0 = time.perf_counter()
        if type(record) is Known:
            digest, ident, origins = record.digest, record.ident, [record.origin]
        else:
            digest, ident = record_digest(record, context), identity(record)
            origins = [record.origin, *(d.origin for d in getattr(record, "distributions", ()))]
        self.seen[ident] = digest
        found = self._rows.get(digest)
        row = found[0] if found is not None else None
        self._order.append((ident, digest, row, origins if row is not None else []))
        self.changes.seconds += time.perf_counter() - t0
        return digest, row is not None

    def merged(self, fresh: Iterable[Result]) -> Iterator[Result]:
        """Every taken record's result in the source's order: the reused ones from the last run's
        file, the others from ``fresh`` (the workers', in the order they were taken), each kept
        for the next run before anyone changes it."""
        for result in fresh:
            yield from self._reused_run()
            ident, digest, _, _ = self._order.popleft()
            self._keep(ident, digest, result)
            self.changes.mapped += 1
            yield result
            # those taken behind it, now: the next fresh result may be a batch of the workers away
            yield from self._reused_run()
        yield from self._reused_run()

    def reusable(self) -> frozenset[bytes]:
        """The digests whose last result :meth:`take` reuses."""
        return frozenset(self._rows)

    def stored_key(self, ident: str) -> str | None:
        """The key (IRI) of the last run's result for a record, when that result may be reused."""
        found = self._rows.get(self.before.get(ident, b""))
        return found[1] if found is not None else None

    def _reused_run(self) -> Iterator[Result]:
        """The reused results at the front of the order, in batches of :data:`READ_AHEAD`: each
        batch's rows read from the last run's file and inflated by another thread while this one
        hands out the batch before it.

        Why: at 100,000 records with 1 % changed, reading back ~98,500 results (a SQLite read,
        zlib and pickle each: ~20 s profiled) was most of the main process's work while the
        workers idle; zlib and SQLite release the GIL, so the reading overlaps the ingest's own."""
        while self._order and self._order[0][2] is not None:
            if self._ahead is None:
                self._read_ahead()
            assert self._ahead is not None
            rows, future = self._ahead
            self._ahead = None
            batch = [self._order.popleft() for _ in rows]
            assert [entry[2] for entry in batch] == rows  # the front is what was read ahead
            self._read_ahead()  # the next batch, while this one is handed out
            t0 = time.perf_counter()
            found = future.result()
            self._db.executemany(
                _INSERT,
                [(ident, digest, *found[row][0]) for ident, digest, row, _ in batch],
            )
            for ident, digest, row, _ in batch:
                _, key, kind, publishable = found[row][0]
                self.kept[ident] = (key, digest, kind, publishable)
            self.changes.seconds += time.perf_counter() - t0
            for _, _, row, origins in batch:
                yield self._reused(found[row][1], origins)

    def _read_ahead(self) -> None:
        """Start reading the reused rows at the front of the order (up to :data:`READ_AHEAD`)."""
        rows = []
        for _, _, row, _ in self._order:
            if row is None or len(rows) == READ_AHEAD:
                break
            rows.append(row)
        if rows:
            self._ahead = (rows, self._reader.submit(self._read_rows, rows))

    def _read_rows(self, rows: list[int]) -> dict[int, tuple[tuple, bytes]]:
        """Rows of the last run's file: (result, key, kind, publishable) and the inflated result."""
        assert self._old is not None
        marks = ",".join("?" * len(rows))
        query = f"SELECT rowid, result, key, kind, publishable FROM records WHERE rowid IN ({marks})"
        return {row: (found, zlib.decompress(found[0])) for row, *found in self._old.execute(query, rows)}

    def _reused(self, pickled: bytes, origins: list[Origin]) -> Result:
        t0 = time.perf_counter()
        mapped, report, texts = pickle.loads(pickled)
        mapped.origin = origins[0]  # where the record is now (its report and quarantine say so)
        report = replace(report, origin=str(origins[0]))
        self.changes.reused += 1
        self.changes.seconds += time.perf_counter() - t0
        return mapped, report, texts

    def _keep(self, ident: str, digest: bytes, result: Result) -> None:
        report = result[1]
        if not ident:
            return
        if any(f.rule == "kgo:validator-failed" for f in report.findings):  # workers.VALIDATOR_FAILED
            self.incomplete = True  # the engine's failure is not the record's: the next run tries again
            return
        t0 = time.perf_counter()
        blob = zlib.compress(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), 1)
        about = (result[0].key, result[0].kind, int(report.publishable))
        self._db.execute(_INSERT, (ident, digest, blob, *about))
        self.kept[ident] = (about[0], digest, *about[1:])
        self.changes.seconds += time.perf_counter() - t0

    def signature(self, extra: Iterable[str] = ()) -> str:
        """What the run's graphs are made of, whatever the records' order: the recipe, every record's
        digest, and ``extra`` (what the ingest's checks across sources found); "" (never the same)
        for an RDF source or when a result could not be kept."""
        if self.opaque or self.incomplete:
            return ""
        return self._signature(self.seen.values(), extra)

    def _signature(self, digests: Iterable[bytes], extra: Iterable[str]) -> str:
        digest = hashlib.sha256(self.recipe.encode())
        for part in sorted(digests):
            digest.update(part)
        for text in sorted(extra):
            digest.update(b"\0" + text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def as_stored(
        self, keyed: Iterable[tuple[Record, list[bytes]]], taken: dict[str, str], extra: Iterable[str]
    ) -> int | None:
        """How many records there are when every one of them, and what :meth:`signature` adds across
        them, is as the last run stored it (None as soon as one is not): a first pass of a harvest,
        which then needs neither the workers nor the results, nor a write.

        ``keyed``: each record (or :class:`Known`) with its context's digests, as :meth:`take` gets
        them; ``taken``:
        IRIs other sources publish (a record that has one is quarantined: the ingest's own check).
        """
        t0 = time.perf_counter()
        digests: list[bytes] = []
        across = list(extra)
        for record, context in keyed:
            if type(record) is Known:  # hashed by the reading process (kg.ingest.read_ahead)
                digest = record.digest
            else:
                digest = b"" if isinstance(record, RdfRecord) else record_digest(record, context)
            found = self._rows.get(digest)
            if found is None:
                self.changes.seconds += time.perf_counter() - t0
                return None
            _, key, kind, publishable = found
            digests.append(digest)
            if key in taken and kind in ("dataset", "service"):
                across.append(f"{key}\0{taken[key]}")
                publishable = 0
            if not publishable:
                across.append(f"{key}\0{record.origin}")
        self.changes.seconds += time.perf_counter() - t0
        same = bool(self.previous_signature) and self._signature(digests, across) == self.previous_signature
        return len(digests) if same else None

    def finish(self, signature: str) -> Changes | None:
        """The counts against the last run (None for an RDF source); the file is written whole and
        closed."""
        before, seen = self.before, self.seen
        c = self.changes
        c.removed = sum(1 for ident in before if ident not in seen)
        for ident, digest in seen.items():
            if ident not in before:
                c.added += 1
            elif before[ident] == digest:
                c.unchanged += 1
            else:
                c.changed += 1
        meta = {"layout": LAYOUT, "recipe": self.recipe, "signature": signature}
        self._db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        self._db.commit()
        self.close()
        return None if self.opaque else c

    def close(self) -> None:
        self._db.close()
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None
        self._reader.shutdown(wait=True)
        if self._old is not None:
            self._old.close()
            self._old = None


def memo_for(settings: Settings, name: str, scratch: Path) -> Memo | None:
    """The source's per-record results, the last ingest's read from the published generation, this
    one's to be written in ``scratch``; None for a remote store (no generation folder to keep them)."""
    store = store_for(settings)
    if getattr(store, "remote", False):
        return None
    folder = store.folder()
    previous = folder / FILES / f"{name}.sqlite" if folder is not None else None
    return Memo(previous, scratch / "records.sqlite", recipe(settings.base_uri, settings.validator))
