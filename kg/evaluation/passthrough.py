"""``/sparql`` and ``/query`` answers from a remote store, passed through as the store wrote them.

In remote mode the web worker does no evaluation: it asks the store for the client's own
format and hands the bytes on. It re-serializes only where it must:

* the store does not write the wanted format (it answered its fallback: SPARQL JSON or
  N-Triples), or the client wants CSV or TSV: SPARQL JSON is asked for and turned into them,
  since CSV cannot be parsed back to cut it at the row cap and Virtuoso's TSV is not the
  Recommendation's (IRIs in quotes);
* a SELECT answer has more rows than ``KG_MAX_RESULTS``: the first rows are re-serialized.

Graph answers (CONSTRUCT, DESCRIBE) have no row cap and stream through as they arrive. The
time limit is the read timeout of the request to the store, what is left of the query's
:class:`~kg.evaluation.deadline.Deadline` (``KG_QUERY_TIMEOUT``); set the
store's own query limit as well, since a store may go on evaluating after the client left.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyoxigraph as ox

from kg.evaluation.deadline import Deadline
from kg.evaluation.thread_evaluator import START_STREAMING  # an answer this long streams, as embedded
from kg.sparql_text import query_form
from kg.store.remote import RemoteStore
from kg.store.remote_http import GRAPH_TYPES, MEDIA, RESULT_TYPES, media_type
from kg.store.results import FORMATS, RESULT_FORMATS, as_quads, cap_rows, serialize_results, serialize_triples

PASSED = {"json", "xml"}  # asked for as such; CSV cannot be read back (lossy), Virtuoso's TSV is not TSV
PARSEABLE = {"json", "xml", "tsv"}


class RemoteAnswers:
    """What :class:`~kg.evaluation.thread_evaluator.ThreadEvaluator` is to an embedded store, for a
    remote one.

    :param timeout: seconds the store has to answer (``KG_QUERY_TIMEOUT``).
    """

    remote = True

    def __init__(self, store: RemoteStore, *, timeout: float) -> None:
        self.store = store
        self.timeout = timeout

    def close(self) -> None:
        """Nothing to stop: the store evaluates."""

    def evaluate(
        self,
        text: str,
        default: list[str] | None,
        named: list[str] | None,
        accept: tuple[str, str],
        *,
        deadline: Deadline | None = None,
        max_rows: int = 0,
        private: bool = False,
    ) -> tuple[str, list[bytes] | Iterator[bytes]]:
        """The answer's format (``"json|cut"`` when rows were cut) and its body's chunks: a list
        when complete, else an iterator that streams the rest (graph answers only).

        :raises QueryError: the store refused the query (400).
        :raises QueryTimeout: the store did not answer before ``deadline`` (default: the
            limit from now) (503).
        """
        deadline = deadline or Deadline(self.timeout)
        deadline.check()
        result_fmt, graph_fmt = accept
        form = query_form(text)
        asked = result_fmt if result_fmt in PASSED else "json"
        results = f"{MEDIA[asked]}, application/sparql-results+json;q=0.5"
        graphs = f"{MEDIA[graph_fmt]}, application/n-triples;q=0.5"
        # only the types of the query's form: Virtuoso writes a CONSTRUCT as SPARQL JSON if let
        header = {"SELECT": results, "ASK": results, "CONSTRUCT": graphs, "DESCRIBE": graphs}.get(
            form, f"{results}, {graphs}"
        )
        response = self.store.send_query(
            text,
            accept=header,
            default_graphs=default,
            named_graphs=named,
            private=private,
            timeout=deadline.left(),
            stream=True,
        )
        kind = media_type(response)
        if kind in GRAPH_TYPES:
            return _graph(response, GRAPH_TYPES[kind], graph_fmt)
        body = response.read()
        response.release_conn()
        if kind not in RESULT_TYPES or RESULT_TYPES[kind] not in PARSEABLE:
            return _results(body, "json", result_fmt, max_rows, parse_as="json")
        return _results(body, RESULT_TYPES[kind], result_fmt, max_rows)


def _graph(response, got: str, wanted: str) -> tuple[str, list[bytes] | Iterator[bytes]]:
    """A graph answer: the store's bytes when it wrote the wanted syntax, else converted."""
    if got != wanted:
        data = response.read()
        response.release_conn()
        triples = (q.triple for q in ox.parse(data, format=FORMATS[got]))
        out = io.BytesIO()
        serialize_triples(as_quads(triples) if wanted in ("nq", "trig") else triples, out, wanted)
        return wanted, [out.getvalue()]
    head: list[bytes] = []
    size = 0
    chunks = response.stream(64 * 1024)
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= START_STREAMING:
            break
    else:
        response.release_conn()
        return wanted, head

    def rest() -> Iterator[bytes]:
        try:
            yield from head
            yield from chunks
        finally:
            response.release_conn()

    return wanted, rest()


def _results(
    body: bytes, got: str, wanted: str, max_rows: int, *, parse_as: str | None = None
) -> tuple[str, list[bytes]]:
    """A SELECT or ASK answer: the store's bytes when they are in the wanted format and within
    the row cap; else re-serialized (the first ``max_rows`` rows)."""
    parsed = ox.parse_query_results(body, format=RESULT_FORMATS[parse_as or got])
    if isinstance(parsed, ox.QueryBoolean):
        fmt = "json" if wanted in ("csv", "tsv") else wanted
        return fmt, [body] if got == fmt else [_serialized(parsed, fmt)]
    rows = _rows(body, got, parsed, max_rows)
    if max_rows and rows > max_rows:
        capped, _ = cap_rows(ox.parse_query_results(body, format=RESULT_FORMATS[got]), max_rows)
        return wanted + "|cut", [_serialized(capped, wanted)]
    if got == wanted:
        return wanted, [body]
    return wanted, [_serialized(ox.parse_query_results(body, format=RESULT_FORMATS[got]), wanted)]


def _rows(body: bytes, got: str, parsed, max_rows: int) -> int:
    """Rows of a SELECT answer, counted without parsing where the syntax allows (up to ``max_rows`` + 1)."""
    if got == "tsv":  # one row a line (TSV escapes newlines in literals), after the header
        return max(0, body.count(b"\n") - 1) + (0 if body.endswith(b"\n") or b"\n" not in body else 1)
    if got == "xml":  # "<" inside values is escaped, so this is the element
        return body.count(b"<result>") + body.count(b"<result ")
    rows = 0
    for _ in parsed:
        rows += 1
        if max_rows and rows > max_rows:
            break
    return rows


def _serialized(result, fmt: str) -> bytes:
    out = io.BytesIO()
    serialize_results(result, out, fmt)
    return out.getvalue()
