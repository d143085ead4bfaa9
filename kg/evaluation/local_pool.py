"""Public queries evaluated in child processes that are killed at the deadline.

pyoxigraph has no query timeout or cancellation (oxigraph issue #1926), an
aggregate is computed inside one call that does not return to Python, and
gunicorn's worker timeout would kill every request of the worker. So each
web worker keeps a small warm pool of evaluator processes: a query is sent to
an idle child, which opens the published store generation read-only (safe:
generations are never written once published), evaluates, serializes with
pyoxigraph's own serializers and sends the bytes back. At the deadline the
parent kills the child — the work really stops — answers 503, and starts a
fresh child in the background; other requests use the other children
meanwhile.

The answer is held back until the child has finished or sent
``START_STREAMING`` bytes, so a query that runs out of time gets a clear 503
rather than a cut body; longer answers stream, and are cut if their
deadline passes (logged).

Under ``kg serve`` the public queries go to one pool shared by all the web
workers instead (:mod:`kg.evaluation.shared_pool`, the same protocol through
:class:`EvaluatorClient`); this per-worker pool serves the pages, and every
query when the app runs without a gunicorn master.

The app's own pages use :meth:`Evaluator.fetch` instead (see :mod:`kg.evaluation.page_store`):
the whole answer or an error, never a cut one, with no row cap, on the public
or the private store.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from kg.errors import QueryError, QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.protocol import Reader, answer

log = logging.getLogger(__name__)
Request = tuple[str, list[str] | None, list[str] | None, tuple[str, str]]


def _child_main(conn: Connection, store_path: str, private: tuple[str, ...]) -> None:
    """The per-worker evaluator loop: one request at a time, answers as tagged byte messages."""
    from kg.store.embedded import Store

    store = Store(store_path, private_graphs=private)
    while True:
        try:
            answer(conn, store, conn.recv())
        except (EOFError, OSError):
            return


class _Child:
    def __init__(self, context, store_path: str, private: tuple[str, ...]) -> None:
        parent, child = context.Pipe()
        self.conn = parent
        self.process = context.Process(target=_child_main, args=(child, store_path, private), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class EvaluatorClient:
    """The web worker's side of the evaluator protocol, over any way of getting an evaluator.

    The sync driver of the protocol: :class:`kg.evaluation.protocol.Reader` reads the answers,
    :class:`kg.evaluation.deadline.Deadline` bounds every wait. Subclasses say where an evaluator
    comes from (``_acquire``: one with a ``conn``, or ``deadline.busy()`` at the deadline), how
    a request reaches it (``_send``), and what happens to it after a complete answer
    (``_release``) or an incomplete one (``_discard``: it is killed, so that the work really stops).
    """

    timeout: float

    def _acquire(self, deadline: Deadline):
        raise NotImplementedError

    def _send(self, child, request: tuple) -> None:
        child.conn.send(request)

    def _release(self, child) -> None:
        raise NotImplementedError

    def _discard(self, child) -> None:
        raise NotImplementedError

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
        """Evaluate a query; returns the format (``"json|cut"`` when SELECT rows were cut at
        ``max_rows``) and the body's chunks: a list when the answer is complete, else an
        iterator that streams the rest. ``private``: on the private graphs (a token holder's
        query whose dataset names them, :func:`kg.web.sparql_core.private_dataset`).

        :raises QueryError: the query does not parse or fails (400).
        :raises QueryTimeout: ``deadline`` (default: the pool's limit from now) passed before the
            answer began (503).
        """
        deadline = deadline or Deadline(self.timeout)
        child, reader = self._start(deadline, (text, default, named, accept, max_rows, private), whole=False)
        if reader.done:
            return reader.fmt, reader.head
        return reader.fmt, self._rest(child, reader, deadline)

    def fetch(
        self,
        text: str,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool = False,
        deadline: Deadline | None = None,
    ) -> tuple[str, bytes]:
        """Evaluate a query of the app's own (a page's), with the arguments of
        :meth:`kg.store.embedded.Store.query`.

        Returns the format and the whole answer: SPARQL TSV for SELECT (lossless: terms in
        N-Triples syntax), SPARQL JSON for ASK, N-Triples for CONSTRUCT. No row cap, since a
        page's queries bound themselves, and no streaming: a page cannot use half an answer, so
        an answer still incomplete at the deadline is a :class:`QueryTimeout`, never a cut body.

        :raises QueryError: the query does not parse or fails.
        :raises QueryTimeout: ``deadline`` (default: the pool's limit from now) passed first.
        """
        deadline = deadline or Deadline(self.timeout)
        request = (text, default_graphs, named_graphs, ("tsv", "nt"), 0, private)
        _, reader = self._start(deadline, request, whole=True)
        return reader.fmt, b"".join(reader.head)

    def _start(self, deadline: Deadline, request: tuple, *, whole: bool):
        """Take an evaluator, send ``request`` and read the answer until it is complete (``whole``,
        or short) or long enough to stream; the evaluator is released once the answer is complete,
        and killed if anything but the query's own fault stops the reading."""
        deadline.check()
        child = self._acquire(deadline)
        reader = Reader()
        try:
            self._send(child, request)
            reader.first(self._receive(child, deadline))
            while not reader.done and (whole or reader.buffering()):
                reader.keep(self._receive(child, deadline))
        except QueryError:
            self._release(child)  # the evaluator reported the query's fault and waits for the next one
            raise
        except BaseException:
            self._discard(child)  # timed out, died or broke: stop it, a fresh one replaces it
            raise
        if reader.done:
            self._release(child)
        return child, reader

    def _receive(self, child, deadline: Deadline) -> bytes:
        if not child.conn.poll(deadline.left()):
            raise deadline.ran_out()
        try:
            return child.conn.recv_bytes()
        except (EOFError, OSError) as exc:
            raise RuntimeError(f"the evaluator process died: {exc}") from exc

    def _rest(self, child, reader: Reader, deadline: Deadline) -> Iterator[bytes]:
        try:
            yield from reader.head
            while (chunk := reader.chunk(self._receive(child, deadline))) is not None:
                yield chunk
        except QueryTimeout:
            log.warning("a streaming answer was cut at the time limit")
        except RuntimeError as exc:
            log.error("query failed while streaming: %s", exc)
        finally:
            if reader.done:
                self._release(child)
            else:
                self._discard(child)  # cut, failed or the client went away: stop the work


class Evaluator(EvaluatorClient):
    """A warm pool of ``size`` evaluator processes for one web worker.

    :param timeout: default wall-clock limit of one query, in seconds.
    """

    def __init__(
        self, store_path: Path | str, private_graphs: tuple[str, ...], *, size: int = 2, timeout: float = 10.0
    ) -> None:
        self.store_path = str(store_path)
        self.private = private_graphs
        self.size = size
        self.timeout = timeout
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Child] = []
        self._count = 0
        self._lock = threading.Condition()
        self.killed = 0

    def _acquire(self, deadline: Deadline) -> _Child:
        with self._lock:
            while not self._idle and self._count >= self.size:
                if not self._lock.wait(deadline.left()):
                    raise deadline.busy()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return _Child(self._context, self.store_path, self.private)

    def _release(self, child: _Child) -> None:
        with self._lock:
            self._idle.append(child)
            self._lock.notify()

    def _discard(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._count -= 1
            self.killed += 1
            self._lock.notify()
        threading.Thread(target=self._replace, daemon=True, name="evaluator-replace").start()

    def _replace(self) -> None:
        """Start a fresh child for a killed one, so the next query does not pay the ~0.2 s start."""
        with self._lock:
            if self._count >= self.size:
                return
            self._count += 1
        try:
            child = _Child(self._context, self.store_path, self.private)
        except Exception:  # noqa: BLE001 - the next query starts one (and reports the failure)
            with self._lock:
                self._count -= 1
                self._lock.notify()
            return
        self._release(child)

    def warm_up(self, timeout: float = 120.0) -> None:
        """Start every child and have each open the published generation (a query), now, in the
        caller: a worker does it before it takes requests (:func:`kg.web.app.prepare`), so that its
        first pages pay neither a process start (~0.2 s, seconds on a cold page cache) nor the
        opening of the store (its RocksDB files' metadata: seconds at 1,000,000 datasets, cold).

        :raises QueryTimeout: the children were not all ready within ``timeout``.
        """
        deadline = Deadline(timeout)
        children = []
        try:
            while len(children) < self.size:
                children.append(self._acquire(deadline))
            for child in children:
                self._send(child, ("ASK {}", None, None, ("tsv", "nt"), 0, False))
            for child in children:
                reader = Reader()
                reader.first(self._receive(child, deadline))
                while not reader.done:
                    reader.keep(self._receive(child, deadline))
        except BaseException:
            for child in children:
                self._discard(child)
            raise
        for child in children:
            self._release(child)

    def close(self) -> None:
        with self._lock:
            for child in self._idle:
                child.kill()
            self._idle.clear()
            self._count = 0
