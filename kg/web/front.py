"""The HTTP front: an ASGI app that answers the hot ``/sparql`` requests on the event loop and hands
everything else to the Flask app.

Under gunicorn's gthread worker, a repeated query cost 0.4-0.5 ms of CPU and a ``DESCRIBE <iri>``
0.8-1.1 ms, of which the store's work was 0.3 ms: the rest was Python HTTP parsing, Flask's request
machinery and the hooks. Here uvicorn parses HTTP in C (httptools) on uvloop, and two kinds of
request are answered without Flask:

1. a query whose answer Flask put in the result cache (:class:`kg.web.cache.ResultCache`, shared
   within the worker process), by GET, HEAD, direct POST or URL-encoded POST;
2. ``DESCRIBE`` of constant IRIs (:func:`kg.sparql_text.describes_constants`), whose work is
   bounded by the resources named, evaluated on the loop as the Flask view evaluates it in its
   thread, and put in the same cache.

Both answer with the status, headers and bytes the Flask view would (the same functions make
them: :mod:`kg.web.answers`), 304 for a matching ``If-None-Match``, and log the request as Flask's
hook does (:func:`kg.web.logs.write`). The store's version is read on every request, as the view
reads it, so an update or an ingest is seen by the next request. Anything else — another route,
an update, two ``query`` parameters, a refused or failing query, a body too large to read here —
goes to Flask unchanged (through a2wsgi's thread pool), which answers it or its error as before;
so does any request with an ``Authorization`` header, which may read the private graphs (the
front's answers and its entries in the cache are the public graphs', for everyone).
With a remote store (whose version is a query over the network) every request goes to Flask.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from a2wsgi import WSGIMiddleware
from flask import Flask

from kg.evaluation.shared_pool import SharedEvaluator
from kg.sparql_text import has_relative_iris
from kg.web import answers, formats, guard, logs, sparql
from kg.web.pooled import PooledAnswers

# Flask's threads per worker process: a thread is held for a whole query while it waits in the
# shared evaluator pool's queue (kg.evaluation.shared_pool), so a worker that got more of the keep-alive
# connections (5 of 8) must not run out of threads before the pool runs out of evaluators
THREADS = 8
FORM_LIMIT = 500_000  # Flask's MAX_FORM_MEMORY_SIZE: a larger form is Flask's to refuse
DIRECT = "application/sparql-query"
FORM = "application/x-www-form-urlencoded"
GONE = "kg.gone"  # the scope's key of the event set when the client of a Flask answer went away
POOL = object()  # Front.answer: "the shared pool evaluates it, from the loop" (kg.web.pooled)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Ask:
    """What a ``/sparql`` query request asks, read from the raw request as Flask would read it."""

    text: str
    default: list[str]
    named: list[str]
    fmt: str  # format= (the query string's first, else the form's)
    accept: str
    if_none_match: str


class Front:
    """The ASGI app gunicorn's uvicorn worker serves (``app:front``)."""

    def __init__(self, flask_app: Flask, *, threads: int = THREADS) -> None:
        self.wsgi = WSGIMiddleware(_stoppable(flask_app), workers=threads)
        self.settings = flask_app.config["KG_SETTINGS"]
        self.store = flask_app.extensions["kg_store"]
        self.cache = flask_app.extensions["kg_cache"]
        self.evaluator = flask_app.extensions["kg_evaluator"]
        self.pooled = (
            PooledAnswers(self.evaluator, self.cache, self.settings.max_results)
            if isinstance(self.evaluator, SharedEvaluator)
            else None
        )
        self.on = not self.settings.remote  # a remote store's version is a query over the network
        self.max_body = min(self.settings.max_body, FORM_LIMIT)
        logs.setup(self.settings.log_level)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/sparql":
            return await self.wsgi(scope, receive, send)
        started = time.perf_counter()
        headers = _headers(scope)
        body = await self._body(scope["method"], headers, receive)
        if body is None:  # not ours to read (too large, chunked) or the client went away
            return await self.wsgi(scope, receive, send)
        ask = _ask(scope, headers, body) if self.on else None
        if ask is None:
            return await self._flask(scope, body, receive, send)
        accept = answers.negotiate(ask.fmt, ask.accept)
        key = answers.cache_key(ask.text, ask.default, ask.named, accept, self.store.version())
        reply = self.answer(ask, key)
        if isinstance(reply, tuple):
            status, out, data = reply
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else data})
            return self._log(scope, status, started, len(data))
        if reply is not POOL or scope["method"] == "HEAD":
            return await self._flask(scope, body, receive, send)
        request = (ask.text, ask.default or None, ask.named or None, accept, self.settings.max_results)
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch(receive, gone))
        try:
            got = await self.pooled.answer(request, key, answers.key_etag(key), send, gone)
        finally:
            watcher.cancel()
        if isinstance(got, tuple):
            status, size = got
            return self._log(scope, status, started, size)
        failed = scope if got is None else {**scope, answers.FAILED: got}  # Flask answers the failure
        return await self._flask(failed, body, receive, send)

    @staticmethod
    def _log(scope: Scope, status: int, started: float, size: int) -> None:
        client = scope.get("client")
        path, query = scope["path"], len(scope["query_string"])
        logs.write(scope["method"], path, query, status, started, size, client[0] if client else None)

    async def _flask(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Flask answers, with the body the front read; a client that goes away stops a streamed
        answer (and so its evaluator process), as a failed write did under gthread: uvicorn drops
        writes to a closed connection silently, so the connection is watched here instead."""
        gone = threading.Event()
        watcher = asyncio.ensure_future(_watch(receive, gone))
        try:
            await self.wsgi({**scope, GONE: gone}, _replay(body), send)
        finally:
            watcher.cancel()

    def answer(self, ask: Ask, key: tuple) -> tuple[int, list[tuple[bytes, bytes]], bytes] | object | None:
        """(status, headers, body) of a cached answer (``key``: :func:`kg.web.answers.cache_key`), a
        ``DESCRIBE <iri>`` or a 304; :data:`POOL` when the shared pool is to evaluate it here; None
        when Flask is to answer it (a query the guard refuses, or any query without the pool)."""
        etag = answers.key_etag(key)
        hit = self.cache.get(key)  # in the cache: it passed the guard and evaluated without error
        if hit is None:
            if guard.problem(ask.text, self.settings) is not None:
                return None
            describe = self._describes(ask.text)
            if not describe and self.pooled is None:
                return None
            if answers.matches(etag, ask.if_none_match):
                return _not_modified(etag)
            if not describe:
                return POOL
            try:
                data, ctype, cut = self._describe(ask, key)
            except Exception:  # noqa: BLE001 - Flask evaluates it again and answers the error
                return None
        else:
            if answers.matches(etag, ask.if_none_match):
                return _not_modified(etag)
            data, (ctype, cut) = hit
        out = [("Content-Type", ctype), ("Content-Length", str(len(data)))]
        out += answers.answer_headers(etag, cut, self.settings.max_results)
        out += answers.cors_headers("/sparql", "GET")
        return 200, answers.encoded(out), data

    def _describes(self, text: str) -> bool:
        """A ``DESCRIBE <iri>`` the Flask view would evaluate in its own thread, and may run here."""
        return "DESCRIBE" in text.upper() and sparql.bounded(text, self.evaluator)

    def _describe(self, ask: Ask, key: tuple) -> tuple[bytes, str, str]:
        """Evaluate on the loop (bounded work) as the view does, and cache the answer as it would."""
        buffer = answers.Buffer()
        accept = key[3]
        default, named = ask.default or None, ask.named or None
        answers.evaluate(buffer, self.store, ask.text, default, named, accept, self.settings.max_results)
        fmt, _, cut = buffer.fmt.partition("|")
        ctype = formats.content_type(fmt)
        data = b"".join(buffer.parts)
        if len(data) <= self.cache.max_entry:
            self.cache.put(key, data, (ctype, cut))
        return data, ctype, cut

    async def _body(self, method: str, headers: dict[str, str], receive: Receive) -> bytes | None:
        """The whole request body when it is small and declares its length (b"" for a GET or HEAD
        without one); None when it is Flask's to read."""
        if "transfer-encoding" in headers:
            return None
        if "content-length" not in headers and method in ("GET", "HEAD", "OPTIONS"):
            return b""
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            return None
        if length > self.max_body:
            return None
        parts: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            parts.append(message.get("body", b""))
            more = message.get("more_body", False)
        return b"".join(parts)


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; repeated ones joined with commas, as a2wsgi does."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key, text = name.decode("latin1").lower(), value.decode("latin1")
        found[key] = f"{found[key]},{text}" if key in found else text
    return found


def _pairs(raw: bytes) -> list[tuple[str, str]]:
    """Form or query-string pairs decoded as werkzeug decodes them."""
    return parse_qsl(raw.decode(), keep_blank_values=True, errors="werkzeug.url_quote")


def _ask(scope: Scope, headers: dict[str, str], body: bytes) -> Ask | None:
    """The query a request asks, read the way the Flask view reads it; None when the request is
    anything else (an update, a Service Description, two ``query`` parameters, another body type)
    or carries credentials: the view decides what a token may read (:mod:`kg.web.auth`), and this
    path answers only what anyone may (the public graphs)."""
    if "authorization" in headers:
        return None
    try:
        args = _pairs(scope["query_string"])
        form: list[tuple[str, str]] = []
        method = scope["method"]
        if method in ("GET", "HEAD"):
            if any(k == "update" for k, _ in args):
                return None
            texts = [v for k, v in args if k == "query"]
        else:
            mimetype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if mimetype == DIRECT:
                texts = [body.decode("utf-8", "replace")]
            elif mimetype == FORM:
                form = _pairs(body)
                if any(k == "update" for k, _ in form):
                    return None
                texts = [v for k, v in form if k == "query"]
            else:
                return None
    except (UnicodeError, ValueError):
        return None
    if len(texts) != 1 or not texts[0].strip() or has_relative_iris(texts[0]):
        return None  # relative IRIs: the view resolves them against its own URL (kg.web.sparql)
    values = args + form
    fmt = next((v for k, v in args if k == "format"), "") or next((v for k, v in form if k == "format"), "")
    return Ask(
        texts[0],
        [v for k, v in values if k == "default-graph-uri"],
        [v for k, v in values if k == "named-graph-uri"],
        fmt,
        headers.get("accept", ""),
        headers.get("if-none-match", ""),
    )


def _not_modified(etag: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The 304 Flask sends (werkzeug drops its entity headers): the ETag and CORS headers."""
    return 304, answers.encoded([("ETag", etag), *answers.cors_headers("/sparql", "GET")]), b""


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


async def _watch(receive: Receive, gone: threading.Event | asyncio.Event) -> None:
    """Set ``gone`` when uvicorn reports the connection closed (or the response complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


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
            close()  # Flask's close: a streamed answer's generator, and its evaluator, stop
