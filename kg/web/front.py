"""The HTTP front: an ASGI app that answers every ``/sparql`` query itself and hands the rest to Flask.

Under gunicorn's gthread worker, a repeated query cost 0.4-0.5 ms of CPU and a ``DESCRIBE <iri>``
0.8-1.1 ms, of which the store's work was 0.3 ms: the rest was Python HTTP parsing, Flask's request
machinery and the hooks. Here uvicorn parses HTTP in C (httptools) on uvloop, and the front reads
each ``/sparql`` request once (:mod:`kg.web.sparql_request`) and answers every query — GET, HEAD,
URL-encoded, multipart or direct POST, the Service Description, ``OPTIONS``, 304s and every error
(400, 405, 413, 415, 503…) — through one protocol core (:mod:`kg.web.sparql_core`) and one of its
two drivers:

* the async driver, on the embedded store: the core runs on the loop (the store's version, the
  cache, the bounded queries: ``DESCRIBE <iri>`` of IRIs with few triples, ``SELECT ?p ?o { <iri>
  ?p ?o }``), and the rest evaluates in one of the worker's threads, awaited from the loop within
  the query's deadline (:mod:`kg.web.loop_answers`);
* the sync driver, on a remote store (whose version and answers are requests over the network):
  the core and the store's synchronous client run in the front's threads, and a long answer is
  relayed chunk by chunk from them.

Either way, a request with a token may read the private graphs (:func:`kg.web.sparql_core.private_dataset`),
answers carry the same headers, and each request is logged as Flask's hook logs (:func:`kg.web.logs.write`).
The Flask app (through a2wsgi's threads, the same threads the sync driver runs in) answers every
other route, and the updates of ``/sparql`` (:mod:`kg.web.sparql`), with the body the front read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from a2wsgi import WSGIMiddleware
from flask import Flask
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.sansio.utils import get_current_url, get_host

from kg.evaluation.thread_evaluator import ThreadEvaluator
from kg.web import logs, sparql_request
from kg.web.answers import encoded
from kg.web.app import prepare
from kg.web.loop_answers import Departure, LoopAnswers, watch
from kg.web.sparql_core import Planned, QueryCore, Reply, Started, error_reply, preflight

# the front's threads per worker process: Flask's requests, and the sync driver's waits on the
# remote store (a thread is held for a whole query)
THREADS = 8
GONE = "kg.gone"  # the scope's key of the event set when the client of a Flask answer went away

log = logging.getLogger(__name__)
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Front:
    """The ASGI app gunicorn's uvicorn worker serves (``app:front``)."""

    def __init__(self, flask_app: Flask, *, threads: int = THREADS) -> None:
        self.flask_app = flask_app
        self.wsgi = WSGIMiddleware(_stoppable(flask_app), workers=threads)
        self.threads = self.wsgi.executor  # one pool of threads: Flask's and the sync driver's
        self.settings = flask_app.config["KG_SETTINGS"]
        evaluator = flask_app.extensions["kg_evaluator"]
        self.core = QueryCore(
            self.settings, flask_app.extensions["kg_store"], flask_app.extensions["kg_cache"], evaluator
        )
        on_loop = isinstance(evaluator, ThreadEvaluator)
        self.on_loop = LoopAnswers(evaluator, self.core) if on_loop else None
        self.max_body = self.settings.max_body
        logs.setup(self.settings.log_level)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http" or scope["path"] != "/sparql":
            return await self.wsgi(scope, receive, send)
        started = time.perf_counter()
        method, headers = scope["method"], _headers(scope)
        out = _without_body(send) if method == "HEAD" else send
        try:
            body = await self._body(method, headers, receive)
            if body is None:
                return  # the client went away before its request was whole: nobody to answer
            ask = sparql_request.read(
                method, scope["query_string"], headers, body, base_url=_base_url(scope, headers),
                max_body=self.max_body,
            )  # fmt: skip
        except HTTPException as exc:
            return await self._reply(scope, out, error_reply(exc, headers.get("accept", ""), method), started)
        if ask.kind == sparql_request.UPDATE:
            return await self._flask(scope, body, receive, send)
        if ask.kind == sparql_request.OPTIONS:
            return await self._reply(scope, out, preflight(), started)
        gone = Departure(receive)
        try:
            status, size = await self._answer(ask, out, gone)
        finally:
            gone.close()
        self._log(scope, status, started, size)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: uvicorn awaits the startup before this worker takes a connection, so the
        worker opens what the pages' first requests would (:func:`kg.web.app.prepare`) first."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                started = time.perf_counter()
                try:
                    await asyncio.get_running_loop().run_in_executor(self.threads, prepare, self.flask_app)
                except Exception:  # noqa: BLE001 - the pages open what they need themselves then
                    log.exception("the worker could not prepare the pages' data; serving anyway")
                log.info("prepared in %.1f s", time.perf_counter() - started)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, ask: sparql_request.Ask, send: Send, gone: Departure) -> tuple[int, int]:
        """Answer a query by the driver that fits; (status, bytes sent) for the log."""
        try:
            if self.on_loop is None:
                return await self._sync(ask, send, gone)
            planned = self.core.plan(ask)
            if isinstance(planned, Reply):
                return await _send(send, planned)
            if self.core.bounded(planned):
                return await _send(send, self.core.now(planned))
            got = await self.on_loop.answer(planned, send, gone)
            if isinstance(got, BaseException):
                raise got
            return got
        except Exception as exc:  # noqa: BLE001 - every failure is answered (error_of logs a 500's)
            return await _send(send, error_reply(exc, ask.accept, "GET"))

    async def _sync(self, ask: sparql_request.Ask, send: Send, gone: Departure) -> tuple[int, int]:
        """The sync driver: the core and the remote store's client in the front's threads."""
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(self.threads, self.core.start, ask)
        if isinstance(reply, Started):
            return 200, await self._relay(reply, send, gone)
        return await _send(send, reply)

    async def _relay(self, started: Started, send: Send, gone: Departure) -> int:
        """A long answer from the sync client, chunk by chunk from a thread; cached when it ends up
        small enough. A client that goes away stops it (closing the chunks releases the store's response)."""
        planned: Planned = started.planned
        headers, ctype, cut = self.core.streamed(planned, started.fmt)
        gone.watch()
        await send({"type": "http.response.start", "status": 200, "headers": encoded(headers)})
        loop = asyncio.get_running_loop()
        chunks, kept, size, ended = started.chunks, [], 0, False
        try:
            while not gone.is_set():
                try:
                    chunk = await loop.run_in_executor(self.threads, next, chunks, None)
                except Exception:  # noqa: BLE001 - the answer began: it can only be cut
                    log.exception("query failed while streaming")
                    break
                if chunk is None:
                    ended = True
                    break
                size += len(chunk)
                kept = kept + [chunk] if kept is not None and size <= self.core.cache.max_entry else None
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(self.threads, close)
        if ended and kept is not None:
            self.core.keep(planned, b"".join(kept), ctype, cut)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return size

    async def _reply(self, scope: Scope, send: Send, reply: Reply, started: float) -> None:
        status, size = await _send(send, reply)
        self._log(scope, status, started, size)

    @staticmethod
    def _log(scope: Scope, status: int, started: float, size: int) -> None:
        client = scope.get("client")
        path, query = scope["path"], len(scope["query_string"])
        logs.write(scope["method"], path, query, status, started, size, client[0] if client else None)

    async def _flask(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Flask answers (an update), with the body the front read; a client that goes away stops
        a streamed answer, as a failed write did under gthread: uvicorn drops writes to a closed
        connection silently, so the connection is watched here instead."""
        gone = threading.Event()
        watcher = asyncio.ensure_future(watch(receive, gone))
        try:
            await self.wsgi({**scope, GONE: gone}, _replay(body), send)
        finally:
            watcher.cancel()

    async def _body(self, method: str, headers: dict[str, str], receive: Receive) -> bytes | None:
        """The whole request body (b"" for a GET or HEAD without one); None when the client went
        away first.

        :raises RequestEntityTooLarge: it is longer than ``KG_MAX_BODY`` (then it is not read).
        """
        bodiless = "content-length" not in headers and "transfer-encoding" not in headers
        if bodiless and method in ("GET", "HEAD", "OPTIONS"):
            return b""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise RequestEntityTooLarge()
        parts: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_body:
                raise RequestEntityTooLarge()
            more = message.get("more_body", False)
        return b"".join(parts)


async def _send(send: Send, reply: Reply) -> tuple[int, int]:
    await send({"type": "http.response.start", "status": reply.status, "headers": encoded(reply.headers)})
    await send({"type": "http.response.body", "body": reply.body})
    return reply.status, len(reply.body)


def _without_body(send: Send) -> Send:
    """``send`` for a HEAD request: the GET's status and headers, no body."""

    async def head(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return head


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; repeated ones joined with commas, as a2wsgi does."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key, text = name.decode("latin1").lower(), value.decode("latin1")
        found[key] = f"{found[key]},{text}" if key in found else text
    return found


def _base_url(scope: Scope, headers: dict[str, str]) -> str:
    """The request's URL without its query string, as werkzeug's ``request.base_url`` makes it."""
    server = scope.get("server")
    return _url(scope.get("scheme", "http"), headers.get("host"), server and tuple(server),
                scope.get("root_path", ""), scope["path"])  # fmt: skip


@functools.lru_cache(maxsize=64)
def _url(scheme: str, host_header: str | None, server: tuple | None, root: str, path: str) -> str:
    """Kept for the few (scheme, Host, root, path) a server sees: werkzeug's quoting of them cost
    15-20 us a request, the same every time."""
    host = get_host(scheme, host_header, server)
    return get_current_url(scheme, host, root, path[len(root) :] if path.startswith(root) else path)


def _replay(body: bytes) -> Receive:
    """A ``receive`` for a2wsgi that hands it the body the front already read."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return again


def _stoppable(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The Flask app as a WSGI callable whose body stops once the front's watcher saw the client go."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = app(environ, start_response)
        gone = environ.get("asgi.scope", {}).get(GONE)
        return body if gone is None else _until(body, gone)

    return wsgi


def _until(body: Iterable[bytes], gone: threading.Event) -> Iterator[bytes]:
    try:
        for chunk in body:
            if gone.is_set():
                return
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()  # Flask's close: a streamed answer's generator, and its evaluation, stop
