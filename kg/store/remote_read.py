"""Reading a remote SPARQL 1.1 store: the version, the service's graphs, and the dataset each query sees.

Why a module of its own: a read is where the remote store differs most from the embedded one.
Every query must name the dataset it may see (the public graphs, listed once per version; a
query's own ``FROM`` keeps only public ones; "no named graph" spelled as the store understands
it), and every request reads the published version. :class:`RemoteReader` holds that; the
writes and the Graph Store Protocol are :class:`kg.store.remote.RemoteStore`'s, whose module
docstring tells how the embedded store's guarantees carry over.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import urllib3

from kg.errors import StoreError
from kg.sparql_text import dataset_clauses, declares_dataset, query_form, without_dataset
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
from kg.store.results import FORMATS

JSON_TYPE = "application/sparql-results+json"


class RemoteReader(RemoteEndpoints):
    """A remote store as read; ``state`` is the local folder of derived files (``KG_STORE``).

    :param private_graphs: prefixes of graph IRIs kept out of public queries.
    :param default_graph: the named graph that stands for the service's default graph.
    :param timeout: seconds to wait for the store's answer to a request (reads and writes).
    """

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
            # (Virtuoso): grouped, not DISTINCT, which Virtuoso 7 answers ~700 times slower (1.5 s
            # against 2 ms for a 10,000-quad store, the sample's: measured)
            names = self._rows("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
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
