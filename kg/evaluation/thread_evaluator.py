"""Queries evaluated in the web worker's own process, in a daemon thread, waited for until the deadline.

pyoxigraph has no query timeout or cancellation (oxigraph issue #1926), but it releases the GIL
while it evaluates, so a query can run in a thread while the worker's event loop and its other
threads go on serving. Before, every query was handed to an evaluator process that could be
killed at the deadline: 0.3-0.45 ms of CPU a request for the hand-off, which kept point lookups
at 0.23-0.44x of the native server (bench/RESULTS.md, "the floor without the evaluator process").

Here an :class:`Evaluation` runs the query and writes its answer (pyoxigraph's serializers, on
the thread that made the results, which must keep them) into itself: the answer is held back
until it is complete or :data:`START_STREAMING` bytes long, so a time-out before then is a clean
503; longer answers stream, the thread waiting while more than :data:`HIGH` bytes wait for a slow
client. Every wait for it is bounded by the query's :class:`~kg.evaluation.deadline.Deadline`,
from a thread (:meth:`Evaluation.head`, :meth:`Evaluation.chunks`) or from the event loop
(:meth:`Evaluation.head_async`, :meth:`Evaluation.next_async`).

*A runaway.* A thread cannot be stopped: at the deadline the client gets its 503 and the
evaluation is handed to the *retirement* hook (:func:`on_runaway`). Under ``kg serve`` the
worker sets it (:mod:`kg.web.worker`): the worker stops accepting connections, lets its other
requests finish, each within its own deadline, and exits hard, and gunicorn's master starts a
fresh worker; the runaway's work stops with the process. With no master (Flask's test client, an
app built in a test) there is nobody to start another worker: the hook only logs a warning naming
the query, and the thread is left to finish by itself. An answer no longer wanted (cut at the
deadline mid-stream, a client gone) stops its thread at its next write.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from kg.errors import InputError, QueryError
from kg.evaluation.answer_writer import evaluate
from kg.evaluation.daemon_threads import DaemonThreads
from kg.evaluation.deadline import Deadline

log = logging.getLogger(__name__)
START_STREAMING = 256 * 1024  # an answer this long streams; a shorter one is sent whole
HIGH = 1 << 20  # the bytes a streaming answer may keep waiting for its client before its thread waits
THREADS = 8  # evaluations at once by default (the app: KG_QUERY_THREADS); more wait, within their deadline

_retire: Callable[[str], None] | None = None


def on_runaway(retire: Callable[[str], None] | None) -> None:
    """Set what a runaway query (its deadline passed, its thread still evaluating) does to the
    process: called with the query's text. ``kg serve``'s worker retires (:mod:`kg.web.worker`);
    ``None``: log a warning only (no master to start another process)."""
    global _retire
    _retire = retire


class _Stopped(Exception):
    """Raised into the serializer of an answer no longer wanted, which stops its thread."""


class Evaluation:
    """One query's evaluation in a thread, and the answer it writes: a sink for
    :func:`evaluate` (``started``, ``write``) on the thread's side; the head of the answer and
    its later chunks, each wait bounded by ``deadline``, on the waiting side."""

    def __init__(self, text: str, work: Callable[[Evaluation], None], deadline: Deadline) -> None:
        self.text = text
        self.deadline = deadline
        self._work = work
        self._lock = threading.Condition()
        self._wake: Callable[[], None] | None = None
        self.fmt = ""
        self._parts: deque[bytes] = deque()
        self._size = 0
        self._ready = False  # the head can be taken: the answer is complete, or long enough to stream
        self.finished = False
        self.running = False
        self._error: BaseException | None = None
        self._stopped = False
        self.abandoned = False  # a runaway: its thread is forgotten by the pool
        self.forget: Callable[[], None] = lambda: None  # the pool's: give the thread's place to another

    # ------------------------------------------------------------ the thread's side

    def run(self) -> None:
        """Evaluate (in one of the :mod:`~kg.evaluation.daemon_threads`), unless it was given up
        while it waited."""
        with self._lock:
            if self._stopped:
                return
            self.running = True
        error = None
        try:
            self._work(self)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting side, which answers it
            error = _failure(exc)
            _drop_frames(exc)
        with self._lock:
            self.running, self.finished, self._ready = False, True, True
            if error is not None and not self._stopped:
                self._error = error
            self._wakeup()

    def started(self, fmt: str) -> None:
        self.fmt = fmt

    def write(self, data: bytes) -> int:
        with self._lock:
            if self._stopped:
                raise _Stopped()
            self._parts.append(bytes(data))
            self._size += len(data)
            if self._ready or self._size >= START_STREAMING:
                self._ready = True
                self._wakeup()
            while self._ready and self._size > HIGH and not self._stopped:
                self._lock.wait(0.5)  # the client reads slowly: wait for room
        return len(data)

    def flush(self) -> None:
        pass

    def _wakeup(self) -> None:
        if self._wake is not None:
            wake, self._wake = self._wake, None
            with contextlib.suppress(RuntimeError):  # the waiting loop is closed: nobody waits
                wake()

    # ------------------------------------------------------------ the waiting side

    def head(self) -> tuple[str, list[bytes], bool]:
        """Wait (in a thread) for the answer to be complete or long enough to stream: (format,
        its chunks so far, whether complete).

        :raises QueryError: the query does not parse or fails (400).
        :raises QueryTimeout: the deadline passed first (503); a runaway is retired.
        """
        self._wait(lambda: self._ready)
        return self._take_head()

    async def head_async(self) -> tuple[str, list[bytes], bool]:
        """:meth:`head`, awaited on the event loop."""
        await self._await(lambda: self._ready)
        return self._take_head()

    def chunks(self) -> Iterator[bytes]:
        """The rest of a streaming answer; cut (and logged) at the deadline. Closing it stops the
        evaluation (a client gone, a caller that read enough)."""
        try:
            while True:
                self._wait(self._has_more)
                chunk = self._take()
                if chunk is None:
                    return
                yield chunk
        finally:
            self.stop()

    async def next_async(self) -> bytes | None:
        """The next chunk of a streaming answer (None at its end), awaited on the event loop."""
        await self._await(self._has_more)
        return self._take()

    def stop(self) -> None:
        """The answer is no longer wanted: its thread stops at its next write."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()

    def _has_more(self) -> bool:
        return bool(self._parts) or self.finished

    def _take_head(self) -> tuple[str, list[bytes], bool]:
        with self._lock:
            if self._error is not None:
                raise self._error
            parts = list(self._parts)
            size, self._size = self._size, 0
            self._parts.clear()
            self._lock.notify_all()
            # by its size, not by how fast it came: an answer this long streams (no length)
            return self.fmt, parts, self.finished and size < START_STREAMING

    def _take(self) -> bytes | None:
        with self._lock:
            if self._error is not None:
                raise self._error
            if not self._parts:
                return None  # finished
            chunk = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            self._lock.notify_all()
            return chunk

    def _wait(self, ready: Callable[[], bool]) -> None:
        while True:
            event = threading.Event()
            with self._lock:
                if ready():
                    return
                self._wake = event.set
            if not event.wait(self.deadline.left()):
                return self._timed_out(ready)

    async def _await(self, ready: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            woken = loop.create_future()
            with self._lock:
                if ready():
                    return
                self._wake = functools.partial(loop.call_soon_threadsafe, _resolve, woken)
            try:
                async with asyncio.timeout(self.deadline.left()):
                    await woken
            except TimeoutError:
                return self._timed_out(ready)

    def _timed_out(self, ready: Callable[[], bool]) -> None:
        """The deadline passed: unless the answer came just now, give the evaluation up (a 503
        before the answer began, a cut stream after) and retire a runaway."""
        with self._lock:
            self._wake = None
            if ready():
                return
            started = self.running or self.finished
            self._stopped = True
            self.abandoned = self.running
            self._lock.notify_all()
        if not started:
            raise self.deadline.busy()
        if self.abandoned:
            self.forget()
            runaway(self.text)
        raise self.deadline.ran_out()


def runaway(text: str) -> None:
    """A query ran past its deadline in a thread that cannot be stopped: retire the process (under
    ``kg serve``), else say so."""
    if _retire is not None:
        _retire(text)
        return
    log.warning(
        "a query ran past its time limit and goes on in its thread (no server master to start a "
        "fresh process, so it is left to finish): %.300s", text,
    )  # fmt: skip


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _drop_frames(exc: BaseException | None) -> None:
    """Clear the frames of a failed evaluation's traceback here, on its thread: they hold
    pyoxigraph's results, which must not be dropped on another thread (by the garbage collector)."""
    while exc is not None:
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__context__ or exc.__cause__


def _failure(exc: BaseException) -> Exception:
    """The waiting side's error for a failed evaluation: the query's fault is a 400, else a 500."""
    if isinstance(exc, QueryError | InputError):
        return QueryError(str(exc))
    return RuntimeError(f"{type(exc).__name__}: {exc}")


class ThreadEvaluator:
    """The worker's evaluations of the embedded ``store``, in daemon threads.

    :param timeout: the default limit of one query, in seconds (``KG_QUERY_TIMEOUT``).
    """

    def __init__(self, store: Any, *, timeout: float, threads: int = THREADS) -> None:
        self.store = store
        self.timeout = timeout
        self._threads = DaemonThreads(threads)

    def start(
        self,
        text: str,
        default: list[str] | None,
        named: list[str] | None,
        accept: tuple[str, str],
        *,
        deadline: Deadline | None = None,
        max_rows: int = 0,
        private: bool = False,
    ) -> Evaluation:
        """Begin evaluating a query (see :func:`evaluate`); wait for its answer on the result.

        :raises QueryTimeout: ``deadline`` (default: the limit from now) has already passed.
        """
        deadline = deadline or Deadline(self.timeout)
        deadline.check()

        def work(sink: Evaluation) -> None:
            evaluate(sink, self.store, text, default, named, accept, max_rows, private=private)

        evaluation = Evaluation(text, work, deadline)
        self._threads.submit(evaluation)
        return evaluation

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
        """Evaluate and wait (in a thread): the format (``"json|cut"`` when SELECT rows were cut
        at ``max_rows``) and the body's chunks: a list when complete, else an iterator that
        streams the rest.

        :raises QueryError: the query does not parse or fails (400).
        :raises QueryTimeout: the deadline passed before the answer began (503).
        """
        evaluation = self.start(
            text, default, named, accept, deadline=deadline, max_rows=max_rows, private=private
        )
        fmt, head, complete = evaluation.head()
        if complete:
            return fmt, head
        return fmt, _streamed(head, evaluation)

    def fetch(
        self,
        text: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
        deadline: Deadline | None = None,
    ) -> tuple[str, bytes]:
        """A query of the app's own pages, whole: SPARQL TSV for SELECT (lossless: terms in
        N-Triples syntax), SPARQL JSON for ASK, N-Triples for CONSTRUCT. No row cap (a page's
        queries bound themselves) and never a cut answer: incomplete at the deadline, it is a
        :class:`~kg.errors.QueryTimeout`.
        """
        evaluation = self.start(
            text, default_graphs, named_graphs, ("tsv", "nt"), deadline=deadline, private=private
        )
        fmt, parts, complete = evaluation.head()
        if not complete:
            parts.extend(evaluation.chunks())  # its deadline passing raises, never a cut answer
        return fmt, b"".join(parts)


def _streamed(head: list[bytes], evaluation: Evaluation) -> Iterator[bytes]:
    yield from head
    try:
        yield from evaluation.chunks()
    except Exception as exc:  # noqa: BLE001 - the answer began: it can only be cut
        log.warning("a streaming answer was cut: %s", exc)
