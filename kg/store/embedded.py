"""The embedded Oxigraph store: immutable generations swapped in atomically.

This module owns Oxigraph's rules about a store folder (and :mod:`kg.store` alone opens
pyoxigraph stores): a RocksDB directory has one read-write process, and opening a read-only
instance while another process writes the same directory is undefined behaviour.

So nobody ever writes a directory that anybody reads. The store folder holds
numbered *generations*; ``current`` is a symlink to the published one::

    KG_STORE/
      current -> generations/000007     published, never written again
      generations/000007/rdf/           the Oxigraph (RocksDB) store of the public graphs
      generations/000007/private/       the one of the private graphs (quarantine, reports, runs)
      generations/000007/search.sqlite  derived data built with it (kg.search, …)
      generations/000007/records/       per source, what its last ingest made of each record
                                        (kg.ingest.memo), hard-linked on to the next generations
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

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pyoxigraph as ox

from kg.errors import InputError, QueryError, StoreError
from kg.sparql_text import declares_dataset
from kg.sparql_updates import graphs_written
from kg.store.backup import back_up, restore_backup
from kg.store.generation import Generation
from kg.store.lock import write_lock
from kg.store.next_generation import carry_files, next_stores
from kg.store.publication import collect_garbage, publish, remove_unfinished
from kg.store.results import FORMATS
from kg.store.writer import Writer


class _Snapshot(NamedTuple):
    """The published generation as one reader holds it open."""

    version: str
    public: ox.Store | None
    private: ox.Store | None


class Store:
    """A store folder with its published generation.

    :param path: the store folder (``KG_STORE``); created on first write.
    :param private_graphs: prefixes of graph IRIs left out of the default graph
        (quarantine, provenance, staging).
    """

    def __init__(self, path: Path | str, *, private_graphs: tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self._current = str(self.path / "current")  # read by every query: no Path made each time
        self.private_graphs = private_graphs
        self._lock = threading.Lock()
        self._open: _Snapshot | None = None
        self._sizes: dict[str, dict[str, int]] = {}
        self._builders: list[Callable[[Generation], None]] = []
        self._renamed: set[str] = set()  # graphs the write in progress copied by dump and load

    # ---------------------------------------------------------------- reading

    def version(self) -> str:
        """Name of the published generation ("" when nothing was ever written)."""
        try:
            return os.readlink(self._current).rsplit("/", 1)[-1]
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
            # an older generation has no private part (`is None`: a Store's truth is its length)
            self._open = _Snapshot(version, public, ox.Store() if private is None else private)
            return self._open

    def data_graphs(self) -> list[str]:
        """The public named graphs, whose union is the default graph of queries."""
        snap = self._snapshot()
        return (
            sorted(g.value for g in snap.public.named_graphs() if isinstance(g, ox.NamedNode))
            if snap.public is not None
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

        The derived tables are made again from the graphs the update names (all of them when
        its text cannot tell, :func:`kg.sparql_updates.graphs_written`).

        :raises QueryError: if the update does not parse or fails.
        """
        with self.write(wait=wait, changed=graphs_written(sparql) or None) as writer:
            writer.update(sparql)

    def put_graph(
        self, graph: str | None, data: bytes, fmt: str, *, replace: bool = True, wait: float = 30.0
    ) -> bool:
        """Graph Store Protocol PUT (``replace``) or POST (merge). Returns True if the graph is new.

        :raises InputError: if ``data`` is not valid ``fmt``.
        """
        created = not self.has_graph(graph)
        changed = (graph,) if graph else None  # the default graph: not one the builders name
        with self.write((graph,) if replace and graph else (), wait=wait, changed=changed) as writer:
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
        with write_lock(self.path / "write.lock", wait):
            remove_unfinished(self.path)
            current = self.version()
            number = int(current) + 1 if current else 1
            tmp = self.path / "generations" / f"{number:06d}.tmp"
            writer = Writer(None, None, self.private_graphs)
            self._renamed = set()
            try:
                tmp.mkdir()
                writer.store, writer.private = self._next_generation(current, tmp, replace)
                yield writer
                writer.store.flush()
                writer.private.flush()
                writer.close()  # RocksDB releases the folder only when the last reference goes
                previous = self.path / "generations" / current if current else None
                carry_files(previous, tmp, writer.files)
                self._build_derived(tmp, previous, changed if changed is not None else replace, writer)
                final = tmp.with_suffix("")
                tmp.rename(final)
                publish(self.path, final.name)
            except OSError as exc:
                writer.close()
                shutil.rmtree(tmp, ignore_errors=True)
                raise StoreError(f"cannot write the store at {self.path}: {exc}") from exc
            except BaseException:
                writer.close()  # the caller may keep the error (and with it its frames) alive
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            collect_garbage(self.path)

    def backup(self, target: Path | str) -> str:
        """Copy the published generation to ``target`` (a new folder): :func:`kg.store.backup.back_up`.

        :raises StoreError: if there is nothing to back up or ``target`` exists.
        """
        return back_up(self.folder(), self.path, Path(target))

    def restore(self, source: Path | str, *, wait: float = 0.0) -> str:
        """Publish a backup made by :meth:`backup` as the next generation (atomically, like a write).

        :raises StoreError: if ``source`` is not a backup.
        """
        return restore_backup(self.path, Path(source), self.version, wait=wait)

    def add_builder(self, builder: Callable[[Generation], None]) -> None:
        """Register a function that derives files for every new generation (e.g. the search index)."""
        self._builders.append(builder)

    def _build_derived(
        self, folder: Path, previous: Path | None, changed: tuple[str, ...], writer: Writer
    ) -> None:
        if not self._builders:
            return
        generation = Generation(
            folder, previous, set(changed), ox.Store.read_only(str(folder / "rdf")), self.private_graphs
        )
        snap = self._open  # the previous generation as this process holds it (_next_generation)
        if previous is not None and snap is not None and snap.version == previous.name:
            generation.previous_store = snap.public
        generation.renamed = set(self._renamed)
        generation.labelled = set(writer.labelled)
        generation.touched = {g: lines for g, lines in writer.touched.items() if g in generation.changed}
        generation.moved = {g: writer.moved[g] for g in generation.touched}
        try:
            for builder in self._builders:
                builder(generation)
        finally:
            generation.close()

    def _next_generation(
        self, current: str, target: Path, replace: tuple[str, ...]
    ) -> tuple[ox.Store, ox.Store]:
        """The public and private stores of the next generation, without the ``replace`` graphs."""
        previous = self.path / "generations" / current if current else None
        snap = self._snapshot() if previous is not None and (previous / "private").is_dir() else None
        opened = None
        if snap is not None and snap.version == current and snap.public is not None:
            opened = (snap.public, snap.private)
        public, private, self._renamed = next_stores(
            previous, target, replace, self.is_private, self.path, opened=opened
        )
        return public, private


def _graph_node(iri: str) -> ox.NamedNode:
    """A graph name; a text that is no IRI is the caller's input error, not ours.

    :raises InputError: if ``iri`` is not an absolute IRI.
    """
    try:
        return ox.NamedNode(iri)
    except ValueError as exc:
        raise InputError(f"not an IRI: {iri!r} ({exc})") from exc
