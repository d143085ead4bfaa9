"""What the aggregate pages need that costs a scan, derived once per store generation.

Counts, per-theme and per-agency totals, the agency hierarchy, the catalogue's member
list in page order, the VoID statistics and the quality summaries each need a pass over
the catalogue; asked per request they took seconds at 100,000 datasets (``/``, ``/quality``
and ``/.well-known/void`` ran out of the 10 s page budget every time). So they are worked
out here while a write builds its generation, like the search index (:mod:`kg.search`),
and the pages read them back with bounded lookups: a row by key, a slice of a list by
position, a few rows by an indexed column. No page query grows with the catalogue.

*Where they live*: in the generation's ``search.sqlite``, beside the search index's own
tables, not in a file of their own. One file per generation keeps one mechanism (SQLite,
built by a store builder, published, backed up and dropped with the RDF, opened read-only
and immutable by every worker), and several answers are already there: the datasets per
theme and per publisher are the search index's facet counts, the titles and modification
dates its ``datasets`` table. So this builder runs after :func:`kg.search.build_index`
(:func:`kg.ingest.store_for` registers it second) and adds its tables to the file:
:mod:`kg.derived_catalog` (counts, home, catalogue members, agency directory, vocabulary
descriptions), :mod:`kg.derived_void` (VoID statistics) and :mod:`kg.derived_quality` (scores,
quality totals, quarantine, ingest runs).

*How it is kept up to date*: what belongs to one graph (a source's catalogue members, a
quality graph's scores, a quarantine graph's records, a graph's size) is stored per graph;
a write copies the rows of the graphs it did not touch from the previous generation's file
and reads only the changed graphs again, from the ingest's own summaries where it has them
(the workers' points per indicator, :class:`Scores`) or else from the store, once, here.
What spans graphs (totals, ranks, the agency tree, the VoID distinct counts) is computed
again from those rows, or read from the store in one pass, on every write. When the change
is unknown (a SPARQL update) or the previous file has no usable tables, everything is
derived from the store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import StoreError
from kg.iris import Minter
from kg.search import INDEX_FILE
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.generation import Generation

VERSION = "2"  # of the derived tables (meta key 'derived'); another value: rebuilt from the store


@dataclass(frozen=True)
class Scores:
    """The points per quality indicator of the datasets an ingest measured, one JSON line each
    (:func:`kg.quality.summary_line`), for the quality graph ``graph`` the same write loads."""

    graph: str
    path: Path


class Layout:
    """The graph names and IRIs of one base (:class:`kg.iris.Minter`), as the builders need them."""

    def __init__(self, base: str) -> None:
        iris = Minter(base)
        self.base = base
        self.catalog = iris.catalog()
        self.catalog_graph = f"{base}graph/catalog"
        self.vocabularies = iris.vocabulary_graph()
        self.provenance = iris.provenance_graph()
        self.quality_prefix = iris.quality_graph("x")[:-1]
        self.quarantine_prefix = iris.quarantine_graph("x")[:-1]
        self.source_prefix = iris.source_graph("x")[:-1]

    def is_quality(self, graph: str) -> bool:
        return graph.startswith(self.quality_prefix)

    def holds_members(self, graph: str) -> bool:
        """Whether the catalogue's members are looked for in ``graph`` (the data graphs less the
        vocabularies and the quality graphs, as :func:`kg.catalog.source_graphs`)."""
        return graph != self.vocabularies and not self.is_quality(graph)

    def source_of(self, graph: str) -> str:
        """The source name of a source, quality or quarantine graph (else the graph IRI itself)."""
        for prefix in (self.quality_prefix, self.quarantine_prefix, self.source_prefix):
            if graph.startswith(prefix) and "/" not in graph[len(prefix) :]:
                return graph[len(prefix) :]
        return graph


@dataclass
class Build:
    """One build: the new file, the generation it describes, and what may be copied from before."""

    db: sqlite3.Connection
    generation: Generation
    layout: Layout
    settings: Settings
    incremental: bool  # the previous tables are attached as ``old`` and the change is known

    def changed(self, graph: str) -> bool:
        """Whether ``graph`` must be read again (always, when the build is not incremental)."""
        return not self.incremental or graph in self.generation.changed

    def rows(self, sparql: str, **kwargs: Any) -> Iterator[dict[str, str | None]]:
        return self.generation.rows(sparql, **kwargs)

    def put(self, key: str, value: Any) -> None:
        """A JSON value of the ``derived`` table (counts, the home page, VoID statistics …)."""
        self.db.execute("INSERT OR REPLACE INTO derived VALUES (?, ?)", (key, json.dumps(value)))


SCHEMA = "CREATE TABLE derived(key TEXT PRIMARY KEY, value TEXT NOT NULL);"


def build_derived(generation: Generation, *, settings: Settings, scores: Scores | None = None) -> None:
    """The derived tables of a new generation, in its ``search.sqlite`` (a store builder)."""
    from kg import derived_catalog, derived_quality, derived_void

    target = generation.folder / INDEX_FILE
    if not target.is_file():
        raise StoreError(
            f"the search index of {generation.folder.name} is missing: register build_index first"
        )
    db = sqlite3.connect(target)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;")
    modules = (derived_catalog, derived_quality, derived_void)
    for module in modules:
        for table in module.TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")  # the search index copied the previous file
    db.execute("DROP TABLE IF EXISTS derived")
    db.executescript(SCHEMA + "".join(module.SCHEMA for module in modules))
    previous = generation.previous / INDEX_FILE if generation.previous else None
    incremental = bool(generation.changed) and _usable(previous)
    if incremental:
        db.execute("ATTACH DATABASE ? AS old", (f"file:{previous}?mode=ro",))
    build = Build(db, generation, Layout(settings.base_uri), settings, incremental)
    derived_catalog.build(build)
    derived_void.build(build)
    derived_quality.build(build, scores)
    derived_catalog.build_home(build)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('derived', ?)", (VERSION,))
    db.commit()
    if incremental:
        db.execute("DETACH DATABASE old")
    db.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # published right after: the tables must be on disk
    finally:
        os.close(fd)


def _usable(path: Path | None) -> bool:
    """Whether a previous generation's file has derived tables of this version to copy from."""
    if path is None or not path.is_file():
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'derived'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == VERSION


# ---------------------------------------------------------------- reading


class Derived:
    """One generation's derived tables, opened read-only (one connection per thread: the file never
    changes once published, so none of them locks)."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self._local = threading.local()

    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        return self.db().execute(sql, params).fetchall()

    def value(self, key: str, default: Any = None) -> Any:
        """A JSON value of the ``derived`` table (read and parsed on every call: a few KB)."""
        row = self.db().execute("SELECT value FROM derived WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default


def open_derived(store: Store) -> Derived | None:
    """The derived tables of the published generation (None when nothing was ever written).

    :raises StoreError: if the generation has none (it was written before they existed, or
        without the builder): the next write derives them.
    """
    folder = store.folder()
    if folder is None:
        return None
    path, key = folder / INDEX_FILE, str(store.path.resolve())
    with _open_lock:
        found = _open.get(key)
        if found is None or found.path != path:
            if not _has_tables(path):
                raise StoreError(
                    f"the derived data of generation {folder.name} is missing; the next write builds it"
                )
            found = _open[key] = Derived(path, folder.name)
        _open.move_to_end(key)
        while len(_open) > 8:  # stores per process: one in production, more in tests
            _open.popitem(last=False)
        return found


def _has_tables(path: Path) -> bool:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'derived'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == VERSION


_open: OrderedDict[str, Derived] = OrderedDict()
_open_lock = threading.Lock()
