"""A remote SPARQL 1.1 store behind the interface of :class:`kg.store.embedded.Store`, standards only.

Reads use the SPARQL 1.1 Protocol (``KG_STORE_QUERY_URL``), writes the SPARQL 1.1
Update (``KG_STORE_UPDATE_URL``) and the Graph Store HTTP Protocol (``KG_STORE_GSP_URL``),
so any store that implements them serves: Oxigraph server, Fuseki, GraphDB, Virtuoso,
Neptune. Nothing above :func:`kg.factory.store_for` knows which store it has. This module
holds the writes; :mod:`kg.store.remote_read` the reads, whose class this one extends.

How the embedded store's guarantees carry over:

* **Atomic writes.** A write loads its graphs into private *staging* graphs
  (``GRAPH/staging/<token>/<n>``, in pieces, over the Graph Store Protocol), then publishes
  them with ONE update request: drop the replaced graphs, ``ADD`` each staging graph to its
  target and drop it, the write's own updates in order, and a new *version* in the state
  graph. A store that runs one update request in one transaction (Oxigraph, Fuseki/TDB2,
  GraphDB do) shows readers the old graphs or the new ones, never half a source.
* **Version.** ``<urn:kg:state> <urn:kg:version> "000007-1f2e…"`` in graph ``urn:kg:state``:
  a counter and a random tag (a wiped and refilled store never reuses a version). Every
  request reads it (one small query), so ETags and the result cache change with every
  commit, whichever machine made it.
* **Private graphs** (quarantine, reports, provenance, staging, state) stay out of public
  queries: every query names its dataset (``default-graph-uri`` / ``named-graph-uri``) as
  the public graphs, listed once per version; a query's own ``FROM`` keeps only public ones.
* **The service's graphs** are those under ``<KG_BASE_URI>graph/`` and those it wrote elsewhere
  (a Graph Store ``?graph=`` or an update's ``GRAPH <…>``, listed in the state graph); a
  store's own graphs (Virtuoso's system graphs, another application's) stay out of sight.
* **The default graph.** Stores disagree on what it is (Virtuoso: the union of all graphs),
  so the service's own default graph (Graph Store ``?default``) is the named graph
  ``<KG_BASE_URI>graph/default``.
* **Derived files** (the search index) are kept per version in ``KG_STORE/remote/<version>/``:
  the writer builds them before its write returns; a web machine that finds none for the
  published version builds them from the store in the background and serves the newest one
  it has meanwhile (see docs/production.md, "Scaling out").
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError, QueryError, StoreError
from kg.sparql_updates import default_graph_as, graph_preconditions, graphs_written
from kg.store.generation import Generation
from kg.store.lock import write_lock
from kg.store.remote_read import RemoteReader
from kg.store.remote_write import RemoteWriter
from kg.store.results import FORMATS


class RemoteStore(RemoteReader):
    """A remote store, read as :class:`~kg.store.remote_read.RemoteReader` reads it and written here:
    SPARQL Update and the Graph Store Protocol, each write staged and published in one request."""

    remote = True
    CHUNK_BYTES = 16 << 20  # N-Triples sent per Graph Store request when loading a file

    # ---------------------------------------------------------------- writing

    def update(self, sparql: str, *, wait: float = 30.0) -> None:
        """Apply a SPARQL update (a client's: its default graph is the service's) and publish a
        new version in the same request.

        :raises QueryError: if the store refuses the update.
        """
        public = sorted({self.default_graph, *self.data_graphs()})  # what CLEAR/DROP ALL reach
        try:  # the default graph is a named graph here (see the module docstring)
            sparql = default_graph_as(sparql, self.default_graph, public)
        except ValueError as exc:
            raise QueryError(str(exc)) from exc
        written = graphs_written(sparql, default=self.default_graph)  # () when it cannot tell
        with self.write(wait=wait, changed=written or ()) as writer:
            for graph, needed in graph_preconditions(sparql):  # as the embedded store answers them
                if (graph in public) != needed:
                    state = "does not exist" if needed else "already exists"
                    raise QueryError(f"The graph <{graph}> {state}")
            writer.update(sparql)

    def put_graph(
        self, graph: str | None, data: bytes, fmt: str, *, replace: bool = True, wait: float = 30.0
    ) -> bool:
        """Graph Store Protocol PUT (``replace``) or POST (merge). Returns True if the graph is new.

        The data is parsed here (a clear 400 whatever the store), then loaded like any write.

        :raises InputError: if ``data`` is not valid ``fmt``.
        """
        target = graph or self.default_graph
        try:
            triples = [q.triple for q in ox.parse(data, format=FORMATS[fmt])]
        except SyntaxError as exc:
            raise InputError(f"the {fmt} data does not parse: {exc}") from exc
        created = not self.has_graph(target)
        out = io.BytesIO()
        ox.serialize(triples, out, format=ox.RdfFormat.N_TRIPLES)
        with self.write((target,) if replace else (), wait=wait, changed=(target,)) as writer:
            writer.load_bytes(out.getvalue(), graph=target, fmt="nt")
        return created

    def delete_graph(self, graph: str | None, *, wait: float = 30.0) -> bool:
        """Graph Store Protocol DELETE. Returns False if there was no such graph."""
        target = graph or self.default_graph
        if graph is not None and not self.has_graph(graph):
            return False
        with self.write((target,), wait=wait):
            pass
        return True

    @contextmanager
    def write(
        self, replace: tuple[str, ...] = (), *, wait: float = 0.0, changed: tuple[str, ...] | None = None
    ) -> Iterator[RemoteWriter]:
        """Stage a write; publish it in one update request on success (see the module docstring).

        :raises StoreBusy: if another writer on this machine holds the store for longer than ``wait``.
        :raises StoreError: if the store cannot be reached or refuses the write (nothing published).
        """
        self.path.mkdir(parents=True, exist_ok=True)
        with write_lock(self.path / "write.lock", wait):
            writer = RemoteWriter(
                self,
                f"{self.staging_prefix}{uuid.uuid4().hex}/",
                default_graph=self.default_graph,
                own_graphs=self.own_graphs,
                chunk_bytes=self.CHUNK_BYTES,
            )
            try:
                yield writer
                previous = self.version()
                counter = int(previous.split("-")[0]) + 1 if previous else 1
                version = f"{counter:06d}-{uuid.uuid4().hex[:8]}"
                self.post_update(writer.publication(replace, version))
            except BaseException:
                writer.discard()
                raise
            self._graphs = ("", [])
            self._seen.last = (version, time.monotonic())
            self._derived.build(version, previous, set(changed if changed is not None else replace))

    def backup(self, target: Path | str) -> str:
        raise StoreError(
            "a remote store is backed up with its own tools (or: kg export --full --format nq, every graph)"
        )

    def restore(self, source: Path | str, *, wait: float = 0.0) -> str:
        """Load a backup of the embedded store (``kg backup``) into the remote store, replacing every
        graph: the way from one machine to a shared store.

        :raises StoreError: if ``source`` is not a backup.
        """
        source = Path(source)
        if not (source / "rdf").is_dir():
            raise StoreError(f"{source} is not a backup of the embedded store (no rdf/ folder)")
        parts = [ox.Store.read_only(str(source / p)) for p in ("rdf", "private") if (source / p).is_dir()]
        graphs = {g.value: part for part in parts for g in part.named_graphs() if isinstance(g, ox.NamedNode)}
        with self.write(tuple(set(graphs) | set(self._all_graphs())), wait=wait) as writer:
            for graph, part in sorted(graphs.items()):
                out = io.BytesIO()
                part.dump(out, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
                writer.load_bytes(out.getvalue(), graph=graph, fmt="nt")
        return self.version()

    def add_builder(self, builder: Callable[[Generation], None]) -> None:
        """Register a function that derives files for every new version (e.g. the search index)."""
        self._derived.builders.append(builder)
