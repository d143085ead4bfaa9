"""Uncached ``/sparql`` queries of the embedded store, evaluated in a thread and awaited on the event loop.

The async driver of the protocol core (:mod:`kg.web.sparql_core`): the front plans a query on the
loop (the guard, the cache, a 304), starts its evaluation in one of the worker's threads
(:class:`kg.evaluation.thread_evaluator.ThreadEvaluator`) and awaits its answer without blocking
the loop, bounded by the query's deadline; the core's functions make the answer's status, headers
and body, as they do for the sync driver (a remote store). What it cannot do itself it returns to
the front: a failure, the query's fault (400), the time limit (503) or a broken evaluation (500),
for the front to answer with the app's one error body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from kg.errors import QueryError, QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.thread_evaluator import Evaluation, ThreadEvaluator
from kg.web.answers import encoded
from kg.web.sparql_core import Planned, QueryCore

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


async def watch(receive: Receive, gone: threading.Event | asyncio.Event) -> None:
    """Set ``gone`` when uvicorn reports the connection closed (or the response complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


class Departure:
    """Whether the client of a query's answer went away: watched (:func:`watch`) only once the
    answer streams. A whole answer is sent in one go, and a watching task started and cancelled
    for each request was a loop's task more for every cheap query."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.gone = asyncio.Event()
        self.task: asyncio.Future | None = None

    def watch(self) -> None:
        """Start watching (an answer starts streaming)."""
        if self.task is None:
            self.task = asyncio.ensure_future(watch(self.receive, self.gone))

    def is_set(self) -> bool:
        return self.gone.is_set()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


class LoopAnswers:
    """The front's answers of evaluated queries (the embedded store's ``kg_evaluator``)."""

    def __init__(self, evaluator: ThreadEvaluator, core: QueryCore) -> None:
        self.evaluator = evaluator
        self.core = core

    async def answer(self, planned: Planned, send: Send, gone: Departure) -> tuple[int, int] | BaseException:
        """Evaluate a planned query and send the answer: (status, bytes sent), or the failure for
        the front to answer (the query not evaluated twice)."""
        try:
            evaluation = self.evaluator.start(
                planned.text, planned.default, planned.named, planned.accept,
                deadline=Deadline(self.evaluator.timeout), max_rows=self.core.max_rows,
                private=planned.private,
            )  # fmt: skip
            fmt, head, complete = await evaluation.head_async()
        except (QueryError, QueryTimeout, RuntimeError) as exc:
            return exc
        if complete:
            reply = self.core.whole(planned, fmt, head)
            await send({"type": "http.response.start", "status": 200, "headers": encoded(reply.headers)})
            await send({"type": "http.response.body", "body": reply.body})
            return 200, len(reply.body)
        return await self._stream(evaluation, fmt, head, planned, send, gone)

    async def _stream(
        self, evaluation: Evaluation, fmt: str, head: list[bytes], planned: Planned, send: Send,
        gone: Departure,
    ) -> tuple[int, int]:  # fmt: skip
        """A big answer, relayed as it comes (no length: chunked); cached when it ends up small
        enough. At the deadline the body is cut (logged); a client that goes away stops the
        evaluation's thread (at its next write)."""
        headers, ctype, cut = self.core.streamed(planned, fmt)
        gone.watch()
        await send({"type": "http.response.start", "status": 200, "headers": encoded(headers)})
        kept: list[bytes] | None = []
        size, ended = 0, False
        try:
            chunk: bytes | None = b"".join(head)
            while chunk is not None and not gone.is_set():
                size += len(chunk)
                if kept is not None and size <= self.core.cache.max_entry:
                    kept.append(chunk)
                else:
                    kept = None  # too big for the cache: stop keeping it
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await evaluation.next_async()
            ended = chunk is None
        except QueryTimeout:
            log.warning("a streaming answer was cut at the time limit")
        except RuntimeError as exc:
            log.error("query failed while streaming: %s", exc)
        finally:
            evaluation.stop()
        if ended and kept is not None:
            self.core.keep(planned, b"".join(kept), ctype, cut)
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 200, size
