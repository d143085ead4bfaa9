"""The embedded Oxigraph store: immutable generations swapped in atomically.

This module alone imports pyoxigraph and owns Oxigraph's rules: a RocksDB
directory has one read-write process, and opening a read-only instance while
another process writes the same directory is undefined behaviour.

So nobody ever writes a directory that anybody reads. The store folder holds
numbered *generations*; ``current`` is a symlink to the published one::

    KG_STORE/
      current -> generations/000007     published, never written again
      generations/000007/rdf/           the Oxigraph (RocksDB) store of the public graphs
      generations/000007/private/       the one of the private graphs (quarantine, reports, runs)
      generations/000007/search.sqlite  derived data built with it (kg.search, …)
      generations/000008.tmp/           being built by the one writer
      write.lock                        flock: one writer at a time

A write (an ingest, a removal) builds the next generation from the current one
— a RocksDB checkpoint (``backup``: hard links, instant) when the graphs it
replaces are small next to the rest, else a fresh store into which the kept
graphs are bulk-loaded — changes it, flushes it and renames the symlink. The
rename is atomic: readers see the old generation or the new one, never half of
it, and a writer killed at any point leaves ``current`` as it was (its
``.tmp`` folder is removed by the next writer). Readers, in any number of
processes, open ``current`` read-only and reopen it when the symlink changes,
which every request checks (one ``readlink``).

Private graphs live in a store of their own so that the public default graph
is Oxigraph's own union of all graphs: naming the data graphs in a list
instead made a LIMIT 20 title search 1.8x and a publisher's datasets 1.3x as
slow at 100,000 datasets (the cost grows with the number of graphs listed).

Measured on this 2-core machine (pyoxigraph 0.5): a SPARQL ``MOVE`` of 3 M
triples took 454 s and 11.6 GB, and removing a 1 M-triple graph 36 s; a bulk
load runs at about 100,000 triples/s. Hence generations, not in-place
replacement.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import pyoxigraph as ox

from kg.errors import InputError, QueryError, StoreBusy, StoreError
from kg.pieces import cut_points, read_pieces
from kg.sparql_text import declares_dataset

FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "rdf": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}
RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
KEEP_GENERATIONS = 3
PARTS = ("rdf", "private")  # the two Oxigraph stores of a generation


class _Snapshot(NamedTuple):
    """The published generation as one reader holds it open."""

    version: str
    public: ox.Store | None
    private: ox.Store | None


@runtime_checkable
class GraphStore(Protocol):
    """What the app, the ingest and the commands use of a store; two implementations, chosen by
    configuration in :func:`kg.ingest.store_for`: :class:`Store` (embedded Oxigraph, the default)
    and :class:`kg.remote.RemoteStore` (any SPARQL 1.1 store, ``KG_STORE_QUERY_URL``).

    SELECT and ASK answers are pyoxigraph's result objects; a CONSTRUCT answer is an iterable of
    triples. ``path`` is the local folder of the store (embedded) or of its derived files (remote).
    """

    path: Path
    private_graphs: tuple[str, ...]

    def version(self) -> str: ...
    def is_private(self, graph: str | None) -> bool: ...
    def data_graphs(self) -> list[str]: ...
    def named_graphs(self) -> list[str]: ...
    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
    ): ...
    def count(self, graph: str | None = None, *, private: bool = False) -> int: ...
    def dump(self, output, *, fmt: str = "nq", graph: str | None = None, private: bool = False) -> None: ...
    def graph_sizes(self) -> dict[str, int]: ...
    def has_graph(self, graph: str | None) -> bool: ...
    def graph_triples(self, graph: str | None): ...
    def update(self, sparql: str, *, wait: float = 30.0) -> None: ...
    def put_graph(
        self, graph: str | None, data: bytes, fmt: str, *, replace: bool = True, wait: float = 30.0
    ) -> bool: ...
    def delete_graph(self, graph: str | None, *, wait: float = 30.0) -> bool: ...
    def folder(self) -> Path | None: ...
    def write(
        self, replace: tuple[str, ...] = (), *, wait: float = 0.0, changed: tuple[str, ...] | None = None
    ): ...
    def backup(self, target: Path | str) -> str: ...
    def restore(self, source: Path | str, *, wait: float = 0.0) -> str: ...
    def add_builder(self, builder: Callable[[Generation], None]) -> None: ...


class Store:
    """A store folder with its published generation.

    :param path: the store folder (``KG_STORE``); created on first write.
    :param private_graphs: prefixes of graph IRIs left out of the default graph
        (quarantine, provenance, staging).
    """

    def __init__(self, path: Path | str, *, private_graphs: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.private_graphs = private_graphs
        self._lock = threading.Lock()
        self._open: _Snapshot | None = None
        self._sizes: dict[str, dict[str, int]] = {}
        self._builders: list[Callable[[Generation], None]] = []

    # ---------------------------------------------------------------- reading

    def version(self) -> str:
        """Name of the published generation ("" when nothing was ever written)."""
        try:
            return os.readlink(self.path / "current").rsplit("/", 1)[-1]
        except OSError:
            return ""

    def is_private(self, graph: str | None) -> bool:
        """Whether a graph IRI belongs to the private store."""
        return bool(graph) and graph.startswith(self.private_graphs)

    def _snapshot(self) -> _Snapshot:
        version = self.version()
        with self._lock:
            if self._open and self._open.version == version:
                return self._open
            if not version:
                return _Snapshot(version, None, None)
            folder = self.path / "generations" / version
            try:
                public = ox.Store.read_only(str(folder / "rdf"))
                private = (
                    ox.Store.read_only(str(folder / "private")) if (folder / "private").is_dir() else None
                )
            except OSError as exc:
                raise StoreError(f"cannot open the store at {self.path}: {exc}") from exc
            self._open = _Snapshot(version, public, private or ox.Store())  # older: no private part
            return self._open

    def data_graphs(self) -> list[str]:
        """The public named graphs, whose union is the default graph of queries."""
        snap = self._snapshot()
        return (
            sorted(g.value for g in snap.public.named_graphs() if isinstance(g, ox.NamedNode))
            if snap.public
            else []
        )

    def named_graphs(self) -> list[str]:
        """Every named graph, public and private."""
        snap = self._snapshot()
        stores = [s for s in (snap.public, snap.private) if s is not None]
        return sorted({g.value for s in stores for g in s.named_graphs() if isinstance(g, ox.NamedNode)})

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Evaluate a SPARQL query on the published generation.

        The default graph is the union of the public graphs unless ``default_graphs`` is given
        or the query names its own dataset (FROM). ``private``: the query runs on the private
        store (quarantine, reports, ingest runs) instead, with the same rules.

        :raises QueryError: if the query does not parse or fails.
        """
        snap = self._snapshot()
        store = snap.private if private else snap.public
        if store is None:
            store = ox.Store()  # nothing published yet: an empty dataset answers
        kwargs: dict = {}
        if default_graphs is not None or named_graphs is not None:
            kwargs["default_graph"] = [_graph_node(g) for g in default_graphs or []] or ox.DefaultGraph()
            if named_graphs is not None:
                kwargs["named_graphs"] = [_graph_node(g) for g in named_graphs]
        elif declares_dataset(sparql):  # a query's own FROM clauses win over the union
            pass
        else:
            kwargs["use_default_graph_as_union"] = True
        try:
            return store.query(sparql, **kwargs)
        except SyntaxError as exc:
            raise QueryError(str(exc)) from exc
        except (OSError, ValueError, TypeError) as exc:
            raise QueryError(f"query failed: {exc}") from exc

    def count(self, graph: str | None = None, *, private: bool = False) -> int:
        """Triples in one graph, or in every named graph of the public (or private) store."""
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
        private = private or self.is_private(graph)
        result = self.query(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", default_graphs=[], private=private
        )
        return int(next(iter(result))["n"].value)

    def dump(self, output, *, fmt: str = "nq", graph: str | None = None, private: bool = False) -> None:
        """Write the public dataset (N-Quads/TriG), the private graphs too if ``private``, or one graph."""
        snap = self._snapshot()
        if snap.public is None:
            return
        if graph:
            store = snap.private if self.is_private(graph) else snap.public
            store.dump(output, format=FORMATS[fmt], from_graph=ox.NamedNode(graph))
            return
        snap.public.dump(output, format=FORMATS[fmt])
        if private:
            snap.private.dump(output, format=FORMATS[fmt])

    def graph_sizes(self) -> dict[str, int]:
        """Triples per named graph of the published generation, public and private (once per generation)."""
        snap = self._snapshot()
        if snap.public is None:
            return {}
        cached = self._sizes.get(snap.version)
        if cached is None:
            query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
            cached = {}
            for store in (snap.public, snap.private):
                cached.update({row["g"].value: int(row["n"].value) for row in store.query(query)})
            self._sizes = {snap.version: cached}
        return cached

    def has_graph(self, graph: str | None) -> bool:
        """Whether a named graph exists (the default graph always does)."""
        if graph is None:
            return True
        snap = self._snapshot()
        store = snap.private if self.is_private(graph) else snap.public
        return store is not None and store.contains_named_graph(_graph_node(graph))

    def graph_triples(self, graph: str | None):
        """The triples of one graph (``None``: the store's own default graph), for serialization."""
        snap = self._snapshot()
        store = snap.private if self.is_private(graph) else snap.public
        if store is None:
            return iter(())
        node = _graph_node(graph) if graph else ox.DefaultGraph()
        return (q.triple for q in store.quads_for_pattern(None, None, None, node))

    # ---------------------------------------------------------------- writing

    def update(self, sparql: str, *, wait: float = 30.0) -> None:
        """Apply a SPARQL update in a new generation (visible to every reader once it returns).

        :raises QueryError: if the update does not parse or fails.
        """
        with self.write(wait=wait) as writer:
            writer.update(sparql)

    def put_graph(
        self, graph: str | None, data: bytes, fmt: str, *, replace: bool = True, wait: float = 30.0
    ) -> bool:
        """Graph Store Protocol PUT (``replace``) or POST (merge). Returns True if the graph is new.

        :raises InputError: if ``data`` is not valid ``fmt``.
        """
        created = not self.has_graph(graph)
        with self.write((graph,) if replace and graph else (), wait=wait) as writer:
            if replace and graph is None:
                writer.store.clear_graph(ox.DefaultGraph())
            writer.load_bytes(data, graph=graph, fmt=fmt)
        return created

    def delete_graph(self, graph: str | None, *, wait: float = 30.0) -> bool:
        """Graph Store Protocol DELETE. Returns False if there was no such graph."""
        if not self.has_graph(graph):
            return False
        with self.write((graph,) if graph else (), wait=wait) as writer:
            if graph is None:
                writer.store.clear_graph(ox.DefaultGraph())
        return True

    def folder(self) -> Path | None:
        """The published generation's folder, where derived files (the search index) are read."""
        version = self.version()
        return self.path / "generations" / version if version else None

    @contextmanager
    def write(
        self, replace: tuple[str, ...] = (), *, wait: float = 0.0, changed: tuple[str, ...] | None = None
    ) -> Iterator[Writer]:
        """Build the next generation, without the ``replace`` graphs; publish it on success.

        Before publishing, every builder registered with :meth:`add_builder` derives its
        files for the new generation; ``changed`` names the graphs the write touched
        (default: ``replace``; empty: not known, so builders rebuild everything).

        :raises StoreBusy: if another writer holds the store for longer than ``wait`` seconds.
        :raises StoreError: if the store cannot be written (disk full, corrupt folder).
        """
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "generations").mkdir(exist_ok=True)
        with _write_lock(self.path / "write.lock", wait):
            self._remove_unfinished()
            current = self.version()
            number = int(current) + 1 if current else 1
            tmp = self.path / "generations" / f"{number:06d}.tmp"
            writer = Writer(None, None, self.private_graphs)
            try:
                tmp.mkdir()
                writer.store, writer.private = self._next_generation(current, tmp, replace)
                yield writer
                writer.store.flush()
                writer.private.flush()
                writer.close()  # RocksDB releases the folder only when the last reference goes
                previous = self.path / "generations" / current if current else None
                self._build_derived(tmp, previous, changed if changed is not None else replace)
                final = tmp.with_suffix("")
                tmp.rename(final)
                self._publish(final.name)
            except OSError as exc:
                writer.close()
                shutil.rmtree(tmp, ignore_errors=True)
                raise StoreError(f"cannot write the store at {self.path}: {exc}") from exc
            except BaseException:
                writer.close()  # the caller may keep the error (and with it its frames) alive
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._collect_garbage()

    def backup(self, target: Path | str) -> str:
        """Copy the published generation to ``target`` (a new folder): Oxigraph's own backup of the
        RDF (a consistent checkpoint, hard links where the file system allows) plus the derived files.

        :raises StoreError: if there is nothing to back up or ``target`` exists.
        """
        target = Path(target)
        folder = self.folder()
        if folder is None:
            raise StoreError(f"the store at {self.path} has nothing to back up yet")
        if target.exists():
            raise StoreError(f"{target} exists: back up into a new folder")
        target.mkdir(parents=True)
        try:
            for part in PARTS:
                if (folder / part).is_dir():
                    ox.Store.read_only(str(folder / part)).backup(str(target / part))
            for extra in folder.iterdir():
                if extra.is_file():
                    shutil.copy2(extra, target / extra.name)
        except OSError as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise StoreError(f"cannot back up into {target}: {exc}") from exc
        return folder.name

    def restore(self, source: Path | str, *, wait: float = 0.0) -> str:
        """Publish a backup made by :meth:`backup` as the next generation (atomically, like a write).

        :raises StoreError: if ``source`` is not a backup.
        """
        source = Path(source)
        try:
            ox.Store.read_only(str(source / "rdf"))
        except OSError as exc:
            raise StoreError(
                f"{source} is not a backup of this store (no readable rdf/ folder): {exc}"
            ) from exc
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "generations").mkdir(exist_ok=True)
        with _write_lock(self.path / "write.lock", wait):
            self._remove_unfinished()
            current = self.version()
            tmp = self.path / "generations" / f"{int(current or 0) + 1:06d}.tmp"
            try:
                shutil.copytree(source, tmp)
                final = tmp.with_suffix("")
                tmp.rename(final)
                self._publish(final.name)
            except OSError as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise StoreError(f"cannot restore {source}: {exc}") from exc
            self._collect_garbage()
            return final.name

    def add_builder(self, builder: Callable[[Generation], None]) -> None:
        """Register a function that derives files for every new generation (e.g. the search index)."""
        self._builders.append(builder)

    def _build_derived(self, folder: Path, previous: Path | None, changed: tuple[str, ...]) -> None:
        if not self._builders:
            return
        generation = Generation(
            folder, previous, set(changed), ox.Store.read_only(str(folder / "rdf")), self.private_graphs
        )
        try:
            for builder in self._builders:
                builder(generation)
        finally:
            generation.close()

    def _next_generation(
        self, current: str, target: Path, replace: tuple[str, ...]
    ) -> tuple[ox.Store, ox.Store]:
        """The public and private stores of the next generation, without the ``replace`` graphs."""
        if not current:
            return ox.Store(str(target / "rdf")), ox.Store(str(target / "private"))
        previous = self.path / "generations" / current
        if not (previous / "private").is_dir():  # written before the split: sort its graphs
            return self._split(previous / "rdf", target, replace)
        return tuple(self._next_part(previous / part, target / part, replace) for part in PARTS)

    def _next_part(self, folder: Path, target: Path, replace: tuple[str, ...]) -> ox.Store:
        source = ox.Store.read_only(str(folder))
        names = [g for g in source.named_graphs() if isinstance(g, ox.NamedNode)]
        replaced = [g for g in names if g.value in replace]
        if not replaced:
            source.backup(str(target))
            del source
            return ox.Store(str(target))
        total = _size(source)
        dropped = sum(_size(source, g) for g in replaced)
        if dropped * 4 <= total - dropped:  # checkpoint + remove is cheaper
            source.backup(str(target))
            del source
            store = ox.Store(str(target))
            for g in replaced:
                store.remove_graph(g)
            return store
        store = ox.Store(str(target))  # most of the store is replaced: copy what is kept
        self._copy_graphs(source, [ox.DefaultGraph(), *names], replace, lambda g: store)
        return store

    def _split(self, folder: Path, target: Path, replace: tuple[str, ...]) -> tuple[ox.Store, ox.Store]:
        source = ox.Store.read_only(str(folder))
        public, private = ox.Store(str(target / "rdf")), ox.Store(str(target / "private"))
        graphs = [ox.DefaultGraph(), *(g for g in source.named_graphs() if isinstance(g, ox.NamedNode))]
        self._copy_graphs(source, graphs, replace, lambda g: private if self.is_private(g) else public)
        return public, private

    def _copy_graphs(self, source: ox.Store, graphs: list, replace: tuple[str, ...], into: Callable) -> None:
        with tempfile.TemporaryDirectory(dir=self.path) as scratch:
            for g in graphs:
                name = g.value if isinstance(g, ox.NamedNode) else None
                if name in replace:
                    continue
                dump = Path(scratch) / "graph.nt"
                source.dump(str(dump), format=ox.RdfFormat.N_TRIPLES, from_graph=g)
                into(name).bulk_load(path=str(dump), format=ox.RdfFormat.N_TRIPLES, to_graph=g)

    def _publish(self, generation: str) -> None:
        link = self.path / "current.tmp"
        link.unlink(missing_ok=True)
        link.symlink_to(f"generations/{generation}")
        os.replace(link, self.path / "current")
        _fsync_dir(self.path)

    def _remove_unfinished(self) -> None:
        for tmp in (self.path / "generations").glob("*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)

    def _collect_garbage(self) -> None:
        done = sorted(p for p in (self.path / "generations").iterdir() if p.name.isdigit())
        for old in done[:-KEEP_GENERATIONS]:
            shutil.rmtree(old, ignore_errors=True)


class Generation:
    """A generation being built, as derived-data builders see it (read-only, before publication).

    :ivar folder: where to write derived files.
    :ivar previous: the published generation's folder (to update its files incrementally), or None.
    :ivar changed: graphs this write replaced or touched; empty when unknown (rebuild everything).
    """

    _VALUE = ox.NamedNode("urn:kg:value")  # the predicate of :meth:`stored_literals`' scratch store

    def __init__(
        self,
        folder: Path,
        previous: Path | None,
        changed: set[str],
        store: ox.Store,
        private_graphs: tuple[str, ...],
    ) -> None:
        self.folder = folder
        self.previous = previous
        self.changed = changed
        self._store: ox.Store | None = store
        self._private = private_graphs
        self._private_store: ox.Store | None = None  # opened when a builder first asks for it
        self._previous_store: ox.Store | None = None

    def data_graphs(self) -> list[str]:
        """The public named graphs (the private ones are in another store)."""
        assert self._store is not None
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def rows(
        self, sparql: str, *, default_graphs: list[str] | None = None, private: bool = False
    ) -> Iterator[dict[str, str | None]]:
        """SELECT results as dicts of plain strings (None for unbound), default graph = the public graphs;
        ``private``: on the private graphs (quarantine, reports, runs), which GRAPH patterns reach."""
        assert self._store is not None
        store = self._store
        if private:
            if self._private_store is None:
                folder = self.folder / "private"
                self._private_store = ox.Store.read_only(str(folder)) if folder.is_dir() else ox.Store()
            store = self._private_store
        return self._rows(store, sparql, default_graphs)

    @staticmethod
    def _rows(
        store: ox.Store, sparql: str, default_graphs: list[str] | None
    ) -> Iterator[dict[str, str | None]]:
        if default_graphs is None:
            kwargs: dict = {"use_default_graph_as_union": True}
        else:
            kwargs = {"default_graph": [ox.NamedNode(g) for g in default_graphs] or ox.DefaultGraph()}
        try:
            result = store.query(sparql, **kwargs)
        except SyntaxError as exc:
            raise QueryError(str(exc)) from exc
        names = [v.value for v in result.variables]
        for row in result:
            yield {n: (row[n].value if row[n] is not None else None) for n in names}

    def previous_rows(
        self, sparql: str, *, default_graphs: list[str] | None = None
    ) -> Iterator[dict[str, str | None]]:
        """:meth:`rows` on the public graphs of the *previous* generation (published, so opened
        read-only like any reader's), for builders that update figures by difference (VoID).

        :raises StoreError: if there is no previous generation.
        """
        if self._previous_store is None:
            if self.previous is None or not (self.previous / "rdf").is_dir():
                raise StoreError("there is no previous generation to compare with")
            self._previous_store = ox.Store.read_only(str(self.previous / "rdf"))
        return self._rows(self._previous_store, sparql, default_graphs)

    def close(self) -> None:
        self._store = None
        self._private_store = None
        self._previous_store = None

    @staticmethod
    def stored_literals(literals: list[tuple[str, str]]) -> list[str]:
        """The lexical forms the store keeps for typed literals given as (text, datatype IRI).

        Why: Oxigraph keeps numbers, dates, booleans and durations in canonical form
        (``"01"^^xsd:integer`` reads back as ``"1"``), so data derived from a source's
        triples without a query (kg.search) must canonicalise them the same way. A
        datatype that is not an IRI is kept as given (such a triple does not load anyway).
        """
        out = [text for text, _ in literals]
        if not literals:
            return out
        scratch = ox.Store()  # in memory: the store's own encoding, both ways
        quads = []
        for i, (text, datatype) in enumerate(literals):
            try:
                value = ox.Literal(text, datatype=ox.NamedNode(datatype))
                quads.append(ox.Quad(ox.NamedNode(f"urn:kg:{i}"), Generation._VALUE, value))
            except ValueError:
                continue
        scratch.extend(quads)
        for quad in scratch.quads_for_pattern(None, Generation._VALUE, None, ox.DefaultGraph()):
            out[int(quad.subject.value[7:])] = quad.object.value
        return out


class Writer:
    """The stores of a generation being built; only valid inside :meth:`Store.write`.

    Graphs whose IRI starts with one of ``private_graphs`` go to the private store.
    """

    def __init__(
        self, store: ox.Store | None, private: ox.Store | None, private_graphs: tuple[str, ...]
    ) -> None:
        self.store = store
        self.private = private
        self._prefixes = private_graphs

    def close(self) -> None:
        self.store = None
        self.private = None

    def _for(self, graph: str | None) -> ox.Store:
        return self.private if graph and graph.startswith(self._prefixes) else self.store

    CHUNK_BYTES = 64 << 20  # N-Triples bulk-loaded per call (about 450,000 triples)

    def load(self, path: Path | str, *, graph: str, fmt: str = "nt") -> None:
        """Bulk-load a file into ``graph`` (fast, not transactional: the generation is private).

        N-Triples is loaded in pieces of about :attr:`CHUNK_BYTES`, cut at line ends that no
        blank node spans (:mod:`kg.pieces`: the loader names blank nodes anew on every call):
        Oxigraph's bulk loader holds what one call loads, so at 100,000 datasets (4.6 M
        triples) one call peaked at 1,689 MB and pieces of 500,000 triples at 591 MB.
        """
        store, target = self._for(graph), ox.NamedNode(graph)
        try:
            big = fmt == "nt" and os.path.getsize(path) > self.CHUNK_BYTES
            cuts = cut_points(path, size=self.CHUNK_BYTES) if big else []
            if not cuts:
                store.bulk_load(path=str(path), format=FORMATS[fmt], to_graph=target)
                return
            for piece in read_pieces(path, cuts):
                store.bulk_load(input=piece, format=FORMATS[fmt], to_graph=target)
        except SyntaxError as exc:
            raise StoreError(f"cannot load {path}: {exc}") from exc

    def load_text(self, text: str, *, graph: str, fmt: str = "nt") -> None:
        try:
            self._for(graph).load(
                input=text.encode("utf-8"), format=FORMATS[fmt], to_graph=ox.NamedNode(graph)
            )
        except SyntaxError as exc:
            raise StoreError(f"cannot load data into {graph}: {exc}") from exc

    def load_bytes(self, data: bytes, *, graph: str | None, fmt: str) -> None:
        """Load a request body into a graph (``None``: the default graph), in one transaction.

        :raises InputError: if the data does not parse.
        """
        target = ox.NamedNode(graph) if graph else ox.DefaultGraph()
        try:
            self._for(graph).load(input=data, format=FORMATS[fmt], to_graph=target)
        except SyntaxError as exc:
            raise InputError(f"the {fmt} data does not parse: {exc}") from exc

    def drop(self, graph: str) -> None:
        node = ox.NamedNode(graph)
        store = self._for(graph)
        if store.contains_named_graph(node):
            store.remove_graph(node)

    def update(self, sparql: str, *, private: bool = False) -> None:
        """Apply a SPARQL update to the public store (``private``: to the private one)."""
        try:
            (self.private if private else self.store).update(sparql)
        except SyntaxError as exc:
            raise QueryError(str(exc)) from exc


def _graph_node(iri: str) -> ox.NamedNode:
    """A graph name; a text that is no IRI is the caller's input error, not ours.

    :raises InputError: if ``iri`` is not an absolute IRI.
    """
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:
        raise InputError(f"not an IRI: {iri!r} ({exc})") from exc


def _size(store: ox.Store, graph: ox.NamedNode | None = None) -> int:
    where = f"GRAPH <{graph.value}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
    return int(next(iter(store.query(f"SELECT (COUNT(*) AS ?n) {{ {where} }}")))["n"].value)


@contextmanager
def _write_lock(path: Path, wait: float) -> Iterator[None]:
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise StoreBusy(
                        f"the store at {path.parent} is being written by {holder}; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def serialize_results(result, output, fmt: str) -> None:
    """Write query results with pyoxigraph's own serializers (no rebuilding in Python)."""
    if isinstance(result, ox.QueryTriples):
        result.serialize(output, format=FORMATS[fmt])
    else:
        result.serialize(output, format=RESULT_FORMATS[fmt])


def is_boolean(result) -> bool:
    return isinstance(result, ox.QueryBoolean)


def is_graph(result) -> bool:
    return isinstance(result, ox.QueryTriples)


def serialize_triples(triples, output, fmt: str, *, prefixes: dict[str, str] | None = None) -> None:
    """Write triples (from CONSTRUCT results) as ``fmt``; prefixes only where the syntax has them.

    The SPARQL endpoint passes none, as the native server does: the 22 prefixes of
    :data:`kg.vocab.PREFIXES` doubled the cost of a DESCRIBE of one dataset (0.47 against
    0.26 ms, serialization included); pages' downloads, read by people, keep them.
    """
    if isinstance(triples, ox.QueryTriples) and not prefixes:  # in Rust: no Python object per triple
        triples.serialize(output, format=FORMATS[fmt])
    elif fmt in ("ttl", "trig", "rdf", "jsonld"):
        ox.serialize(triples, output, format=FORMATS[fmt], prefixes=prefixes)
    else:
        ox.serialize(triples, output, format=FORMATS[fmt])


def as_quads(triples):
    """Triples as quads in the default graph, for the quad syntaxes (N-Quads, TriG)."""
    return (ox.Quad(t.subject, t.predicate, t.object) for t in triples)


def as_triples(rows):
    """(subject, predicate, object) query terms, e.g. a SELECT's rows, as triples to serialize."""
    return (ox.Triple(s, p, o) for s, p, o in rows)


def parse_ntriples(text: str) -> Iterator[ox.Triple]:
    """The triples of N-Triples text as store terms, to go with a query's answers."""
    return (quad.triple for quad in ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))


def merged_ntriples(documents: list[tuple[bytes, str]]) -> bytes:
    """Several RDF documents ``(data, format)`` as one N-Triples document, each document's blank
    nodes its own (a Graph Store multipart POST merges its parts into one graph).

    :raises InputError: if a document does not parse.
    """
    out = io.BytesIO()
    for data, fmt in documents:
        try:
            quads = list(ox.parse(data, format=FORMATS[fmt], rename_blank_nodes=True))
        except SyntaxError as exc:
            raise InputError(f"the {fmt} data does not parse: {exc}") from exc
        ox.serialize((q.triple for q in quads), out, format=ox.RdfFormat.N_TRIPLES)
    return out.getvalue()


def convert(ntriples: str, fmt: str, *, prefixes: dict[str, str] | None = None) -> bytes:
    """Re-serialize N-Triples text in another syntax (for small generated descriptions)."""
    triples = ox.parse(ntriples.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
    out = io.BytesIO()
    serialize_triples(triples, out, fmt, prefixes=prefixes)
    return out.getvalue()


class _RowLimit(Exception):
    pass


class _CountingSink:
    """Collects TSV result lines and stops the serializer after ``limit`` + 1 of them (header included)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.lines = 0

    def write(self, data: bytes) -> int:
        data = bytes(data)
        self.lines += data.count(b"\n")
        self.parts.append(data)
        if self.lines > self.limit + 1:
            raise _RowLimit
        return len(data)

    def flush(self) -> None:
        pass


def cap_rows(result, limit: int):
    """SELECT results cut to ``limit`` rows: (results, True if rows were cut).

    The results go through SPARQL TSV (lossless: terms in N-Triples syntax, one
    row a line) so that the cut happens on the row count, and the kept rows are
    parsed back for pyoxigraph's serializers to write in the wanted format.
    """
    sink = _CountingSink(limit)
    try:
        result.serialize(sink, format=ox.QueryResultsFormat.TSV)
        truncated = False
    except _RowLimit:
        truncated = True
    lines = b"".join(sink.parts).split(b"\n")
    # complete output ends with a newline (drop the empty tail; an empty line is a row with no
    # bindings); cut output keeps the header and the first ``limit`` rows, all complete
    lines = lines[: limit + 1] if truncated else lines[:-1]
    body = b"\n".join(lines) + b"\n"
    return ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV), truncated
