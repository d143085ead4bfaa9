"""What the derived tables' builders share, and the pages' way back in to those tables.

A build (:class:`Build`: the new file, its generation, what may be copied from before), the
graphs' layout (:class:`Layout`), an ingest's points per indicator (:class:`Scores`), the
tables' version; and :func:`open_derived`, the published generation's tables opened read-only.
Where the tables live and how they are kept up to date: :mod:`kg.derived`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import StoreError
from kg.iris import Minter
from kg.search.tables import INDEX_FILE
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.generation import Generation

VERSION = "5"  # of the derived tables (meta key 'derived'); another value: rebuilt from the store
# the versions whose per-graph tables a build may copy (the same layout; 4 added agency_services
# and the value agent_links, which every build makes anew; 5 added member_descriptions, which a
# build copies only from a file that has it): upgrading a store from one is cheap
COPIES_FROM = ("3", "4", "5")
CHUNK = 1000  # IRIs per VALUES block or IN list


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    """``items`` in slices of ``size``: a query names a bounded number of IRIs."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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

    def touched(self, graph: str) -> frozenset[bytes] | None:
        """The lines by which a patched ``graph`` may differ from the previous generation's
        (:attr:`Generation.touched`), or None when the graph is to be read whole (or not at all)."""
        if not self.incremental or graph in self.generation.renamed:
            return None
        return self.generation.touched.get(graph)

    def moved(self, graph: str) -> frozenset[bytes] | None:
        """Of :meth:`touched`, the lines whose presence in ``graph`` changed
        (:attr:`Generation.moved`), or None when the graph is to be read whole (or not at all)."""
        return None if self.touched(graph) is None else self.generation.moved.get(graph)

    def rows(self, sparql: str, **kwargs: Any) -> Iterator[dict[str, str | None]]:
        return self.generation.rows(sparql, **kwargs)

    def put(self, key: str, value: Any) -> None:
        """A JSON value of the ``derived`` table (counts, the home page, VoID statistics …)."""
        self.db.execute("INSERT OR REPLACE INTO derived VALUES (?, ?)", (key, json.dumps(value)))


SCHEMA = "CREATE TABLE derived(key TEXT PRIMARY KEY, value TEXT NOT NULL);"


# ---------------------------------------------------------------- reading


class Derived:
    """One generation's derived tables, opened read-only (one connection per thread: the file never
    changes once published, so none of them locks)."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self._local = threading.local()
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, make: Callable[[sqlite3.Connection], Any]) -> Any:
        """``make(db)``, worked out once per generation (the file never changes): a small table a
        page would otherwise probe row by row, held in memory (two threads may both make it)."""
        if key not in self._memo:
            self._memo[key] = make(self.db())
        return self._memo[key]

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

    :raises StoreError: if the generation has none of this version (it was written before they
        existed, by an older version or without the builder): ``kg serve`` derives them again as
        it starts (:func:`kg.derived.build.upgrade`), and so does the next write.
    """
    folder = store.folder()
    if folder is None:
        return None
    path, key = folder / INDEX_FILE, str(store.path.resolve())
    with _open_lock:
        found = _open.get(key)
        if found is None or found.path != path:
            if not has_tables(path):
                made = tables_version(path)
                why = f"made by another version ({made}; this one reads {VERSION})" if made else "missing"
                raise StoreError(
                    f"the derived data of generation {folder.name} is {why}; `kg serve` derives it "
                    "again as it starts, and so does the next write"
                )
            found = _open[key] = Derived(path, folder.name)
        _open.move_to_end(key)
        while len(_open) > 8:  # stores per process: one in production, more in tests
            _open.popitem(last=False)
        return found


def has_tables(path: Path, versions: tuple[str, ...] = (VERSION,)) -> bool:
    """Whether the file holds derived tables of one of ``versions`` (a finished generation's: read as
    immutable, without locks)."""
    return tables_version(path) in versions


def tables_version(path: Path) -> str | None:
    """The version of the derived tables in ``path`` (None: the file has none, or is no index)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'derived'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


_open: OrderedDict[str, Derived] = OrderedDict()
_open_lock = threading.Lock()
