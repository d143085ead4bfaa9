"""Uncached ``/sparql`` queries answered on the event loop, by the shared evaluator pool.

Through Flask, a query the cache cannot answer paid, besides its evaluation: a hand-off to one of
a2wsgi's threads, Flask parsing the request a second time, a thread blocked for the whole
evaluation, and every chunk of a streamed answer handed back across threads to the loop. Measured
on the 100,000-dataset benchmark store, a LIMIT 20 title search took ~13 ms in an evaluator and
~17 ms over HTTP. Here the worker's event loop speaks the pool's protocol
(:mod:`kg.evaluation.shared_pool`, :mod:`kg.evaluation.protocol`) itself, over the pool's Unix socket:
connect (the kernel's accept queue is the pool's FIFO queue) and send the request at once, read
the evaluator's pid, and relay the tagged answer to the client as it comes.

It is the async driver of the protocol core (:mod:`kg.web.sparql_core`), whose functions make the
answer's status, headers and body, as they do for the sync driver. What it cannot do itself it
returns to the front:

* a failure — the query's fault (400), the time limit (503), a broken evaluator (500) — for the
  front to answer with the app's one error body, the query not evaluated twice;
* a pool it cannot reach gives ``None``: the front then tries with the pool's synchronous
  client, in a thread, which reports.

Multiprocessing's framing, which :class:`multiprocessing.connection.Connection` uses on the
evaluator's side: a message is its length as a 4-byte big-endian signed integer, then its bytes
(a length of -1 is followed by an 8-byte one); the request is pickled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from kg.errors import QueryError, QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.protocol import Reader
from kg.evaluation.shared_pool import SharedEvaluator
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


def frame(payload: bytes) -> bytes:
    """One message as :class:`multiprocessing.connection.Connection` frames it."""
    if len(payload) > 0x7FFFFFFF:
        return struct.pack("!iQ", -1, len(payload)) + payload
    return struct.pack("!i", len(payload)) + payload


class _Messages(asyncio.Protocol):
    """One evaluator connection's framed messages, cut from the bytes as they arrive.

    A bare protocol rather than asyncio's streams: opening a stream pair (reader, its protocol,
    writer) and ``readexactly`` two or three times a message was a third of the event loop's own
    work on an uncached point lookup. Reading pauses while more than :attr:`HIGH` bytes wait
    (a streamed answer to a slow client), so the evaluator waits too.
    """

    HIGH = 1 << 20

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ready: deque[bytes] = deque()
        self.waiting = 0  # bytes in ``ready``
        self.lost: Exception | None = None
        self.waiter: asyncio.Future | None = None
        self.paused = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 4:
            (size,) = struct.unpack_from("!i", buffer)
            head = 4
            if size == -1:
                if len(buffer) < 12:
                    break
                (size,), head = struct.unpack_from("!Q", buffer, 4), 12
            if len(buffer) < head + size:
                break
            self.ready.append(bytes(buffer[head : head + size]))
            self.waiting += size
            del buffer[: head + size]
        if self.waiting > self.HIGH and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionResetError("the evaluator closed the connection")
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def message(self) -> bytes:
        """The next message. :raises OSError: the evaluator went away first."""
        while not self.ready:
            if self.lost is not None:
                raise self.lost
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        message = self.ready.popleft()
        self.waiting -= len(message)
        if self.paused and self.waiting <= self.HIGH // 2:
            self.paused = False
            self.transport.resume_reading()
        return message


class _Lease:
    """One evaluator's connection, taken from the pool's queue, and its pid (killed when its answer
    is not wanted: the time limit passed, or the client went away mid-stream)."""

    def __init__(self, transport: asyncio.Transport, messages: _Messages, pid: int) -> None:
        self.transport, self.messages, self.pid = transport, messages, pid

    def release(self) -> None:
        self.transport.close()  # one query per connection: the evaluator goes back to accept()


class PooledAnswers:
    """The front's client of the shared pool (:class:`kg.evaluation.shared_pool.SharedEvaluator`)."""

    def __init__(self, pool: SharedEvaluator, core: QueryCore) -> None:
        self.pool = pool
        self.core = core

    async def answer(
        self, planned: Planned, send: Send, gone: Departure
    ) -> tuple[int, int] | BaseException | None:
        """Evaluate a planned query and send the answer: (status, bytes sent); or the failure for
        the front to answer; or None when the pool is out of reach.

        One timer bounds the wait in the pool's queue and the answer's first messages (a small
        answer is one message): a timer per wait was two or three a query, each a libuv timer
        started and stopped (~9 us apiece on this machine). Which wait it cut says which error:
        still in the queue (no lease), the service is busy; evaluating, the query ran out of time.
        """
        deadline = Deadline(self.pool.timeout)
        request = planned.request(self.core.max_rows)
        message = frame(pickle.dumps((self.pool.store_path, self.pool.private, request)))
        lease: _Lease | None = None
        reader = Reader()
        try:
            async with asyncio.timeout(deadline.left()):
                lease = await self._acquire(message)
                reader.first(await self._message(lease))
                while reader.buffering():
                    reader.keep(await self._message(lease))
        except TimeoutError:
            if lease is None:
                return deadline.busy()
            self._kill(lease)
            return deadline.ran_out()
        except OSError:
            if lease is None:
                return None  # the pool is out of reach
            self._kill(lease)
            raise
        except QueryError as exc:  # the query's fault: the evaluator is fine
            lease.release()
            return exc
        except BaseException as exc:
            if lease is not None:
                self._kill(lease)  # died or broke (or the server stops): a fresh one replaces it
            if isinstance(exc, RuntimeError):
                return exc
            raise
        if reader.done:
            lease.release()  # before sending: a client gone now must not kill an evaluator serving another
            reply = self.core.whole(planned, reader.fmt, reader.head)
            await send({"type": "http.response.start", "status": 200, "headers": encoded(reply.headers)})
            await send({"type": "http.response.body", "body": reply.body})
            return 200, len(reply.body)
        return await self._stream(lease, reader, planned, send, gone, deadline)

    async def _acquire(self, message: bytes) -> _Lease:
        """Connect, send the request (``message``, framed) at once, and wait in the pool's queue until
        an evaluator sends its pid (the caller's timer bounds the wait). The request waits in the
        socket until that evaluator reads it, after sending its pid: sent only once the pid came, it
        cost every query one more wake-up of each side (the evaluator blocked on it while this loop
        woke to send it). A connection given up (the deadline, the server stopping) is closed here:
        an evaluator that accepts it later fails to send its pid, and one that sent it just before
        sees the hang-up once it has read the request (:mod:`kg.evaluation.pool_keeper`); neither
        evaluates it.

        :raises OSError: the pool is out of reach.
        """
        loop = asyncio.get_running_loop()
        while True:
            transport: asyncio.BaseTransport | None = None
            try:
                transport, messages = await loop.create_unix_connection(_Messages, self.pool.socket_path)
                transport.write(message)
                pid = int(await messages.message())
                return _Lease(transport, messages, pid)
            except (OSError, ValueError):
                if transport is None:
                    raise  # no connection: out of reach
                transport.close()  # dropped before it took the request (it retires): queue again
            except BaseException:
                if transport is not None:
                    transport.close()
                raise

    async def _message(self, lease: _Lease) -> bytes:
        """The evaluator's next message. :raises RuntimeError: the evaluator died."""
        try:
            return await lease.messages.message()
        except OSError as exc:
            raise RuntimeError(f"the evaluator process died: {exc}") from exc

    async def _receive(self, lease: _Lease, deadline: Deadline) -> bytes:
        """A streamed answer's next message, within the deadline (each wait bounded by itself: the
        client's own pace, between them, is not the evaluator's time)."""
        try:
            async with asyncio.timeout(deadline.left()):
                return await self._message(lease)
        except TimeoutError:
            raise deadline.ran_out() from None

    def _kill(self, lease: _Lease) -> None:
        self.pool.kill(lease.pid)
        lease.transport.close()

    async def _stream(
        self, lease: _Lease, reader: Reader, planned: Planned, send: Send, gone: Departure,
        deadline: Deadline,
    ) -> tuple[int, int]:  # fmt: skip
        """A big answer, relayed as it comes (no length: chunked); cached when it ends up small enough.
        At the time limit the body is cut, as the sync driver cuts it; a client that goes away stops
        the evaluator."""
        headers, ctype, cut = self.core.streamed(planned, reader.fmt)
        gone.watch()
        await send({"type": "http.response.start", "status": 200, "headers": encoded(headers)})
        kept: list[bytes] | None = []
        size = 0
        try:
            chunk: bytes | None = b"".join(reader.head)
            while chunk is not None and not gone.is_set():
                size += len(chunk)
                if kept is not None and size <= self.core.cache.max_entry:
                    kept.append(chunk)
                else:
                    kept = None  # too big for the cache: stop keeping it
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = reader.chunk(await self._receive(lease, deadline))
        except QueryTimeout:
            log.warning("a streaming answer was cut at the time limit")
        except RuntimeError as exc:
            log.error("query failed while streaming: %s", exc)
        finally:
            if reader.done:
                lease.release()
            else:
                self._kill(lease)
        if reader.done and kept is not None:
            self.core.keep(planned, b"".join(kept), ctype, cut)
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return 200, size
