"""The store as the app's own pages read it: every SPARQL query stopped at the time limit.

pyoxigraph cannot cancel a query, so a page whose query runs long (a catalogue
grown large, a resource with a million incoming links, an aggregate over the
whole store) would hold a web worker's thread until Oxigraph is done. The
pages therefore read through :class:`TimedStore`: its :meth:`~TimedStore.query`
evaluates the query in one of the worker's threads
(:meth:`kg.evaluation.thread_evaluator.ThreadEvaluator.fetch`), waits for it until the deadline
(a runaway retires the worker, :mod:`kg.web.worker`), and parses the answer back with pyoxigraph's
own parsers, so callers keep working on pyoxigraph terms as with
:meth:`kg.store.embedded.Store.query`. A query that runs out of time raises
:class:`PageTimeout`, which the app answers with a 503 (:mod:`kg.web.errors`).

*One budget per page.* All the queries of one request share one
``KG_QUERY_TIMEOUT``, counted from the request's first query (``deadline``, given
by the app), so a page of many queries cannot hold a worker for many times the
limit, nor outlast gunicorn's worker timeout (the limit + 30 s).

*What stays in-process*: the metadata calls (the generation's name, the list of
graphs, the folder), which read a symlink or Oxigraph's table of graph names
and so are bounded by the number of sources, not by the data; and
:meth:`~TimedStore.dump`, a download whose cost is the size of the data and
which a time limit would only cut. Every query, even a lookup by a constant
IRI, goes through a thread: pyoxigraph's results must stay on the thread that
made them, so the answer comes back as TSV parsed again (with the evaluator
processes this round trip cost about 0.14 ms a query), rather than a second
path that would have to be proved bounded query by query. The counts per graph
(:meth:`~TimedStore.graph_sizes`) scan every quad, so they are evaluated too,
once per generation.

This module imports pyoxigraph only to parse answers; :mod:`kg.store` still
alone opens stores and owns Oxigraph's rules about them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox

from kg.errors import QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.thread_evaluator import ThreadEvaluator
from kg.store.embedded import Store

_RESULTS = {"tsv": ox.QueryResultsFormat.TSV, "json": ox.QueryResultsFormat.JSON}
_SIZES = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


class PageTimeout(QueryTimeout):
    """A page's queries ran out of time and were stopped: a 503 for the page's reader."""


class TimedStore:
    """The read API the pages use, over ``store``, with every query evaluated by ``evaluator``.

    :param evaluator: the worker's threads the pages' queries run in; ``None`` with a remote store only
        (which evaluates them itself, within the page's time: the request's timeout).
    :param timeout: the limit of one page's queries, in seconds (``KG_QUERY_TIMEOUT``).
    :param deadline: returns the :class:`~kg.evaluation.deadline.Deadline` of the current page
        (the app keeps one per request), or ``None`` outside a request: then each query gets
        ``timeout``.
    :param observe: called with each query's text and seconds once it has been answered (or has
        failed), so that the app can log a page's queries (:mod:`kg.web.logs`).
    """

    def __init__(
        self,
        store: Store,
        evaluator: ThreadEvaluator | None,
        *,
        timeout: float,
        deadline: Callable[[], Deadline | None] = lambda: None,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        if evaluator is None and not getattr(store, "remote", False):
            raise ValueError("the pages of an embedded store need its ThreadEvaluator")
        self.store = store
        self.evaluator = evaluator
        self.timeout = timeout
        self._deadline = deadline
        self._observe = observe
        self._sizes: tuple[str, dict[str, int]] = ("", {})
        self._sizes_lock = threading.Lock()

    def warm_up(self) -> None:
        """Have the store read its files now (a first query), before the worker takes requests;
        a remote store needs nothing."""
        if self.evaluator is not None:
            self.evaluator.fetch("ASK {}", deadline=Deadline(self.timeout * 6))

    # ------------------------------------------------------------ queries, in a thread

    def query(
        self,
        sparql: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
    ) -> ox.QuerySolutions | ox.QueryBoolean | Iterator[ox.Triple]:
        """:meth:`kg.store.embedded.Store.query`, stopped at the page's deadline.

        SELECT and ASK answers are pyoxigraph's own result objects (parsed from the
        evaluator's TSV or JSON); a CONSTRUCT answer is an iterator of triples.

        :raises QueryError: if the query does not parse or fails.
        :raises PageTimeout: if the page's time ran out (a runaway retires the worker).
        """
        started = time.perf_counter()
        try:
            return self._query(sparql, default_graphs, named_graphs, private)
        finally:
            if self._observe is not None:
                self._observe(sparql, time.perf_counter() - started)

    def _query(self, sparql, default_graphs, named_graphs, private):
        deadline = self._deadline() or Deadline(self.timeout)
        try:
            if self.evaluator is None:  # a remote store evaluates; the wait is what is limited
                deadline.check()
                return self.store.query(
                    sparql,
                    default_graphs=default_graphs,
                    named_graphs=named_graphs,
                    private=private,
                    timeout=deadline.left(),
                )
            fmt, body = self.evaluator.fetch(
                sparql,
                default_graphs=default_graphs,
                named_graphs=named_graphs,
                private=private,
                deadline=deadline,
            )
        except PageTimeout:
            raise
        except QueryTimeout as exc:
            raise PageTimeout(
                f"this page could not be built in time: {exc}. Other pages are served meanwhile; "
                "try again later"
            ) from exc
        if fmt in _RESULTS:
            return ox.parse_query_results(body, format=_RESULTS[fmt])
        return (quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES))

    def graph_sizes(self) -> dict[str, int]:
        """Triples per named graph, public and private, as :meth:`kg.store.embedded.Store.graph_sizes` (once
        per generation; evaluated, since counting reads every quad)."""
        if self.evaluator is None:  # a remote store (which caches them per version)
            return self.store.graph_sizes()
        version = self.store.version()
        with self._sizes_lock:
            if self._sizes[0] == version and version:
                return self._sizes[1]
        sizes: dict[str, int] = {}
        for private in (False, True):
            rows = self.query(_SIZES, default_graphs=[], private=private)
            sizes.update({row["g"].value: int(row["n"].value) for row in rows})
        with self._sizes_lock:
            self._sizes = (version, sizes)
        return sizes

    # ------------------------------------------------------------ metadata, in-process (bounded)

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def private_graphs(self) -> tuple[str, ...]:
        return self.store.private_graphs

    def version(self) -> str:
        """The published generation's name (one ``readlink``)."""
        return self.store.version()

    def is_private(self, graph: str | None) -> bool:
        return self.store.is_private(graph)

    def data_graphs(self) -> list[str]:
        """The public named graphs (Oxigraph's table of graph names: one entry per graph)."""
        return self.store.data_graphs()

    def named_graphs(self) -> list[str]:
        """Every named graph, public and private (as :meth:`data_graphs`)."""
        return self.store.named_graphs()

    def folder(self) -> Path | None:
        return self.store.folder()

    def dump(self, output, *, fmt: str = "nq", graph: str | None = None, private: bool = False) -> None:
        """A download (``/dump.nq``), in-process: its cost is the size of the data, not a query's."""
        self.store.dump(output, fmt=fmt, graph=graph, private=private)
