"""A remote SPARQL 1.1 store behind the interface of :class:`kg.store.embedded.Store`, standards only.

Reads use the SPARQL 1.1 Protocol (``KG_STORE_QUERY_URL``), writes the SPARQL 1.1
Update (``KG_STORE_UPDATE_URL``) and the Graph Store HTTP Protocol (``KG_STORE_GSP_URL``),
so any store that implements them serves: Oxigraph server, Fuseki, GraphDB, Virtuoso,
Neptune. Nothing above :func:`kg.factory.store_for` knows which store it has.

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
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import urllib3

from kg.errors import InputError, QueryError, StoreError
from kg.sparql_text import dataset_clauses, declares_dataset, query_form, without_dataset
from kg.sparql_updates import default_graph_as, graph_preconditions
from kg.store.generation import Generation
from kg.store.lock import write_lock
from kg.store.remote_derived import DerivedFiles
from kg.store.remote_http import (
    EMPTY,
    GRAPH_TYPES,
    GRAPHS,
    RESULT_TYPES,
    STATE,
    VERSION,
    RemoteEndpoints,
    canonical_booleans,
    check_answer,
    media_type,
)
from kg.store.remote_write import RemoteWriter
from kg.store.results import FORMATS

JSON_TYPE = "application/sparql-results+json"


class RemoteStore(RemoteEndpoints):
    """A remote store; ``state`` is the local folder of derived files (``KG_STORE``).

    :param private_graphs: prefixes of graph IRIs kept out of public queries.
    :param default_graph: the named graph that stands for the service's default graph.
    :param timeout: seconds to wait for the store's answer to a request (reads and writes).
    """

    remote = True
    CHUNK_BYTES = 16 << 20  # N-Triples sent per Graph Store request when loading a file
    PIN_SECONDS = 0.25  # how long a thread's last version read stands for its next queries

    def __init__(
        self,
        state: Path | str,
        *,
        query_url: str,
        update_url: str,
        gsp_url: str,
        private_graphs: tuple[str, ...],
        default_graph: str,
        staging_prefix: str,
        user: str = "",
        password: str = "",
        timeout: float = 30.0,
    ) -> None:
        super().__init__(
            query_url=query_url,
            update_url=update_url,
            gsp_url=gsp_url,
            user=user,
            password=password,
            timeout=timeout,
        )
        self.path = Path(state)
        self.private_graphs = (*private_graphs, STATE, EMPTY)
        self.default_graph = default_graph
        self.own_graphs = default_graph.rsplit("/", 1)[0] + "/"  # <base>graph/
        self.staging_prefix = staging_prefix
        self._graphs: tuple[str, list[str]] = ("", [])
        self._sizes: tuple[str, dict[str, int]] = ("", {})
        self._derived = DerivedFiles(self.path / "remote", self)
        self._seen = threading.local()
        self._no_named: list[str] | None = None  # what names "no named graphs" to this store

    def send_query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool | None = False,
        timeout: float | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """POST a query with the dataset it may see; a 4xx answer is the query's fault.

        ``private``: the public graphs (False), the private ones (True), or, for the store's own
        bookkeeping on ``GRAPH`` patterns, the store's own dataset (None).

        :raises QueryError: if the store refuses the query (it does not parse, …).
        """
        default, named = self._dataset(sparql, default_graphs, named_graphs, private)
        if private is not None and declares_dataset(sparql):
            sparql = without_dataset(sparql)  # in the parameters: Virtuoso lets FROM win over them
        fields = [("query", sparql)]
        fields += [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named or ()]
        response = self.request(
            "POST",
            self.query_url,
            body=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
            timeout=timeout,
            stream=stream,
        )
        check_answer(response, "query")
        return response

    # ---------------------------------------------------------------- reading

    def version(self) -> str:
        """The published version ("" when nothing was ever written through kg)."""
        rows = self._rows(f"SELECT ?v WHERE {{ GRAPH <{STATE}> {{ <{STATE}> <{VERSION}> ?v }} }}")
        version = max((r["v"]["value"] for r in rows), default="")
        self._seen.last = (version, time.monotonic())
        return version

    def new_request(self) -> None:
        """Forget this thread's last version read: a new request must see every commit made before
        it, on any machine (the app calls this before each request)."""
        self._seen.last = ("", -1e9)

    def _recent_version(self) -> str:
        """The version this thread read in the current request less than :attr:`PIN_SECONDS` ago
        (read at its start for the ETag), else a fresh one: a query then lists the graphs of the
        version its answer is tagged with, and a request costs one round trip to the store, not two."""
        version, when = getattr(self._seen, "last", ("", -1e9))
        return version if time.monotonic() - when < self.PIN_SECONDS else self.version()

    def is_private(self, graph: str | None) -> bool:
        return bool(graph) and graph.startswith(self.private_graphs)

    def _all_graphs(self, version: str | None = None) -> list[str]:
        version = self._recent_version() if version is None else version
        if self._graphs[0] == version and version:
            return self._graphs[1]
        names = self._rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
        if not names or any("g" not in r for r in names):  # a store that lists no graphs this way
            names = self._rows("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")  # (Virtuoso)
        mine = {
            r["g"]["value"]
            for r in self._rows(f"SELECT ?g {{ GRAPH <{STATE}> {{ <{STATE}> <{GRAPHS}> ?g }} }}")
        }
        graphs = sorted(
            g
            for g in {r["g"]["value"] for r in names if "g" in r}
            if (g.startswith(self.own_graphs) or g in mine)
            and g != STATE
            and not g.startswith(self.staging_prefix)
        )
        self._graphs = (version, graphs)
        return graphs

    def _rows(self, query: str) -> list[dict]:
        """SPARQL JSON bindings of a bookkeeping query on the store's own dataset."""
        response = self.send_query(query, accept="application/sparql-results+json", private=None)
        return json.loads(response.data)["results"]["bindings"]

    def data_graphs(self) -> list[str]:
        """The public named graphs, whose merge is the default graph of public queries."""
        return [g for g in self._all_graphs() if not self.is_private(g)]

    def named_graphs(self) -> list[str]:
        """Every named graph, public and private (not the state graph nor staging graphs)."""
        return list(self._all_graphs())

    def _side(self, private: bool | None) -> list[str]:
        graphs = self._all_graphs()
        if private is None:
            return graphs
        return [g for g in graphs if self.is_private(g) == private]

    def _dataset(
        self,
        sparql: str,
        default_graphs: list[str] | None,
        named_graphs: list[str] | None,
        private: bool | None,
    ) -> tuple[list[str], list[str] | None]:
        """The default and named graphs a query may see, as the embedded store would give them."""
        if private is None:  # internal, on GRAPH patterns only: the store's own dataset
            return [], None
        side = self._side(private)
        if default_graphs is None and named_graphs is None:
            if declares_dataset(sparql):
                default_graphs, named_graphs = dataset_clauses(sparql)
            else:
                return side or [EMPTY], side or self._none_named()
        seen = set(side) | ({self.default_graph} if not private else set())
        if default_graphs is not None:
            wanted = [g or self.default_graph for g in default_graphs] or [
                EMPTY if private else self.default_graph
            ]
            default = [g for g in wanted if g in seen] or [EMPTY]
        else:
            default = [EMPTY if private else self.default_graph]
        named = side if named_graphs is None else [g for g in named_graphs if g in seen]
        return default, named or self._none_named()

    def _none_named(self) -> list[str]:
        """The ``named-graph-uri`` values that give a query no named graph: none, as the Protocol
        says (a ``default-graph-uri`` is always sent), or, on a store that reads an absent
        ``named-graph-uri`` as "every graph" (Virtuoso), :data:`EMPTY`, a graph never written.

        Naming EMPTY on every store made ``GRAPH ?g {}`` list ``urn:kg:empty`` on Oxigraph, which
        binds ``?g`` to each graph of the dataset, written or not. Asked once, of the store itself:
        whether a query with a default graph and no named graph sees any graph at all."""
        if self._no_named is None:
            fields = [("query", "ASK { GRAPH ?g { } }"), ("default-graph-uri", EMPTY)]
            response = self.request(
                "POST",
                self.query_url,
                body=urlencode(fields).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON_TYPE},
            )
            check_answer(response, "query")
            sees_graphs = json.loads(canonical_booleans(response.data))["boolean"]
            self._no_named = [EMPTY] if sees_graphs else []
        return self._no_named

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
        timeout: float | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | Iterator[ox.Triple]:
        """Evaluate a query remotely: pyoxigraph's result objects for SELECT and ASK, an iterator
        of triples for CONSTRUCT and DESCRIBE (as :class:`kg.evaluation.page_store.TimedStore` gives them).

        :raises QueryError: if the store refuses the query.
        :raises QueryTimeout: if the store did not answer within ``timeout`` seconds.
        """
        graph = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")  # ask for its form's types only:
        response = self.send_query(  # Virtuoso would write a CONSTRUCT as (broken) SPARQL JSON
            sparql,
            accept="application/n-triples" if graph else "application/sparql-results+json",
            default_graphs=default_graphs,
            named_graphs=named_graphs,
            private=private,
            timeout=timeout,
        )
        kind = media_type(response)
        if kind in RESULT_TYPES:
            fmt = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML}.get(
                RESULT_TYPES[kind], ox.QueryResultsFormat.TSV
            )
            return ox.parse_query_results(canonical_booleans(response.data), format=fmt)
        if kind in GRAPH_TYPES:
            return (q.triple for q in ox.parse(response.data, format=FORMATS[GRAPH_TYPES[kind]]))
        raise StoreError(f"the remote store answered a query with an unexpected type {kind!r}")

    def count(self, graph: str | None = None, *, private: bool = False) -> int:
        """Triples in one graph, or in every named graph of the public (or private) side."""
        where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
        private = private or self.is_private(graph)
        rows = self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", default_graphs=[], private=private)
        return int(next(iter(rows))["n"].value)  # type: ignore[index]

    def graph_sizes(self) -> dict[str, int]:
        """Triples per named graph, public and private (once per version)."""
        version = self.version()
        if self._sizes[0] == version and version:
            return self._sizes[1]
        query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        response = self.send_query(query, accept="application/sparql-results+json", private=None)
        rows = json.loads(response.data)["results"]["bindings"]
        sizes = {r["g"]["value"]: int(r["n"]["value"]) for r in rows}
        known = set(self._all_graphs(version))
        sizes = {g: n for g, n in sizes.items() if g in known}
        self._sizes = (version, sizes)
        return sizes

    def has_graph(self, graph: str | None) -> bool:
        return graph is None or graph in self._all_graphs()

    def graph_triples(self, graph: str | None) -> Iterator[ox.Triple]:
        """The triples of one graph (``None``: the service's default graph), over the Graph Store Protocol."""
        response = self.request(
            "GET", self.graph_url(graph or self.default_graph), headers={"Accept": "application/n-triples"}
        )
        if response.status == 404:
            return iter(())
        check_answer(response, "read")
        return (q.triple for q in ox.parse(response.data, format=FORMATS["nt"]))

    def dump(self, output, *, fmt: str = "nq", graph: str | None = None, private: bool = False) -> None:
        """Write the public dataset (N-Quads/TriG), the private graphs too if ``private``, or one graph."""
        if graph:
            ox.serialize(self.graph_triples(graph), output, format=FORMATS[fmt])
            return
        graphs = self._all_graphs() if private else self.data_graphs()

        def quads() -> Iterator[ox.Quad]:
            for g in graphs:
                node = ox.NamedNode(g)
                for t in self.graph_triples(g):
                    yield ox.Quad(t.subject, t.predicate, t.object, node)

        ox.serialize(quads(), output, format=FORMATS[fmt])

    def folder(self) -> Path | None:
        """The folder of derived files for the published version, or the newest one built so far
        while that one is being built (in the background: the first request must not wait)."""
        version = self.version()
        return self._derived.folder(version) if version else None

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
        with self.write(wait=wait, changed=()) as writer:
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
