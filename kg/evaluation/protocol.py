"""The evaluator's side of the query protocol: one request in, tagged byte messages out.

A request is ``(text, default_graphs, named_graphs, (result_format, graph_format), max_rows[,
private])``; the answer is ``A<format>\\0<body>`` (complete), or ``F<format>``, ``D<chunk>``…,
``E`` (streamed), or ``Q<message>`` (the query's fault: a 400), or ``X<message>`` (a failure).
Shared by the per-worker children (:mod:`kg.evaluation.local_pool`) and the shared pool
(:mod:`kg.evaluation.shared_pool`), so both answer byte for byte alike; and the client's side,
:class:`Reader`, without I/O, which the sync driver (:class:`kg.evaluation.local_pool.EvaluatorClient`)
and the async one (:mod:`kg.web.pooled`) feed with the messages they read, so both read alike.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

from kg.errors import InputError, QueryError
from kg.sparql_text import final_limit

START_STREAMING = 256 * 1024


class _Sink:
    """Keeps an answer until it is complete (then one message: ``A<format>\\0<body>``) or
    ``START_STREAMING`` bytes long (then ``F<format>``, ``D<chunk>``…, ``E``): one message for
    a small answer instead of three or more, each of which wakes the parent."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.header = b""
        self.parts: list[bytes] = []
        self.size = 0
        self.streaming = False

    def started(self, fmt: str) -> None:
        self.header = fmt.encode()

    def write(self, data: bytes) -> int:
        data = bytes(data)
        if self.streaming:
            self.conn.send_bytes(b"D" + data)
            return len(data)
        self.parts.append(data)
        self.size += len(data)
        if self.size >= START_STREAMING:
            self.conn.send_bytes(b"F" + self.header)
            self.conn.send_bytes(b"D" + b"".join(self.parts))
            self.parts, self.streaming = [], True
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if self.streaming:
            self.conn.send_bytes(b"E")
        else:
            self.conn.send_bytes(b"A" + self.header + b"\0" + b"".join(self.parts))


def answer(conn: Connection, store, request: tuple) -> None:
    """Evaluate one request on ``store`` (a :class:`kg.store.embedded.Store`) and send the answer as tagged
    byte messages; shared by the per-worker children and the shared pool (:mod:`kg.evaluation.shared_pool`).

    :raises OSError: the parent went away (its end of ``conn`` is closed): nobody to tell.
    """
    text, default, named, accept, max_rows, *private_store = request
    try:
        sink = _Sink(conn)
        on_private = bool(private_store and private_store[0])  # only the app's own pages ask
        evaluate(sink, store, text, default, named, accept, max_rows, private=on_private)
        sink.finish()
    except (QueryError, InputError) as exc:  # the request's fault: a 400
        conn.send_bytes(b"Q" + str(exc).encode())
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which logs it
        conn.send_bytes(b"X" + f"{type(exc).__name__}: {exc}".encode())


def evaluate(
    sink,
    store,
    text: str,
    default: list[str] | None,
    named: list[str] | None,
    accept: tuple[str, str],
    max_rows: int,
    *,
    private: bool = False,
) -> None:
    """Evaluate a query and serialize its answer into ``sink`` (``started(fmt)``, then ``write``):
    ``accept`` is the (SELECT/ASK format, CONSTRUCT/DESCRIBE format); the format is announced
    first, with ``|cut`` appended when a SELECT was cut at ``max_rows`` rows (0: no cap).

    Shared by the evaluators and the web worker's own evaluations (:mod:`kg.web.answers`). Run on
    the thread that reads the results: pyoxigraph's results must stay on the thread that made them.
    """
    from kg.store.results import (
        as_quads,
        cap_rows,
        is_boolean,
        is_graph,
        serialize_results,
        serialize_triples,
    )

    result = store.query(text, default_graphs=default, named_graphs=named, private=private)
    if is_graph(result):
        fmt = accept[1]
        sink.started(fmt)
        triples = as_quads(result) if fmt in ("nq", "trig") else result
        serialize_triples(triples, sink, fmt)  # no prefix table: see kg.store.results.serialize_triples
        return
    fmt = "json" if is_boolean(result) and accept[0] in ("csv", "tsv") else accept[0]  # no boolean CSV
    truncated = False
    if not is_boolean(result) and max_rows and not _within(text, max_rows):
        result, truncated = cap_rows(result, max_rows)
    sink.started(fmt + ("|cut" if truncated else ""))
    serialize_results(result, sink, fmt)


def _within(text: str, max_rows: int) -> bool:
    """Whether a SELECT's own final ``LIMIT`` keeps it within ``max_rows``: then it needs no cap,
    whose round trip through TSV cost 25-70 us of a 0.3-1 ms query."""
    limit = final_limit(text)
    return limit is not None and limit <= max_rows


class Reader:
    """The client's side of one answer, without I/O: fed the evaluator's messages as a driver reads
    them, it keeps the format and the head of the body (the whole body when it is short)."""

    def __init__(self) -> None:
        self.fmt = ""
        self.head: list[bytes] = []
        self.size = 0
        self.done = False

    def first(self, message: bytes) -> None:
        """The answer's first message.

        :raises QueryError: the query's fault (a 400); the evaluator is fine and takes the next query.
        :raises RuntimeError: the evaluator failed.
        """
        tag, data = message[:1], message[1:]
        if tag == b"Q":
            raise QueryError(data.decode())
        if tag == b"A":  # the whole answer in one message
            fmt, _, body = data.partition(b"\0")
            self.fmt, self.head, self.size, self.done = fmt.decode(), [body], len(body), True
        elif tag == b"F":
            self.fmt = data.decode()
        else:
            raise RuntimeError(data.decode() or f"unexpected message {tag!r} from the evaluator")

    def chunk(self, message: bytes) -> bytes | None:
        """A later message: the body's next chunk, or None at its end.

        :raises RuntimeError: the evaluator failed mid-answer.
        """
        if message == b"E":
            self.done = True
            return None
        if message[:1] != b"D":
            raise RuntimeError(message[1:].decode() or "unexpected message from the evaluator")
        return message[1:]

    def keep(self, message: bytes) -> None:
        """A later message, kept in the head."""
        data = self.chunk(message)
        if data is not None:
            self.head.append(data)
            self.size += len(data)

    def buffering(self) -> bool:
        """Whether to read on before answering: the answer is neither complete nor
        ``START_STREAMING`` bytes long (a time-out before then is a clear 503, not a cut body)."""
        return not self.done and self.size < START_STREAMING
