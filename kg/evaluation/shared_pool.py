"""One evaluator pool shared by every gunicorn worker of a server, first come first served.

With a pool per web worker (:class:`kg.evaluation.local_pool.Evaluator`), gunicorn spreads keep-alive
connections unevenly (say 5:3 over two workers), and each worker queues on its own children
while the other's idle: under slow queries some requests waited a whole evaluation more, a p99
1.6–2.5× the native server's. Here the gunicorn master (:mod:`kg.gunicorn_conf`) owns the
pool (:class:`MasterPool`): ``KG_EVALUATORS`` evaluators, kept by :mod:`kg.evaluation.pool_keeper`,
all ``accept()`` on one Unix socket in a private directory (mode 0700), so the kernel's accept
queue is one FIFO queue for all the workers.

A web worker (:class:`SharedEvaluator`) connects per query; the evaluator that accepts sends
its pid, then reads ``(store folder, private graphs, request)`` and answers with the tagged
messages of :mod:`kg.evaluation.protocol`. At the deadline, or when the client goes away
mid-stream, the worker kills that pid (the work really stops) and the keeper forks a
replacement. The request carries the store folder, so an evaluator needs no settings of its
own; the store follows the published generation (``current``) by itself, as in-process.

The socket's path reaches the workers in the environment (:data:`SOCKET_ENV`), set by the
master before it forks them; it is not a user setting. Without it (the Flask app built in a
test, ``kg serve`` not used) the app keeps the per-worker pool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from kg.evaluation.deadline import Deadline
from kg.evaluation.local_pool import EvaluatorClient

log = logging.getLogger(__name__)
SOCKET_ENV = "_KG_EVALUATOR_SOCKET"


class _Lease:
    """An accepted connection to one evaluator, and the pid to kill when its answer is not wanted."""

    def __init__(self, conn: Connection, pid: int) -> None:
        self.conn = conn
        self.pid = pid


class SharedEvaluator(EvaluatorClient):
    """A web worker's client of the shared pool; the interface of :class:`kg.evaluation.local_pool.Evaluator`.

    :param socket_path: the pool's socket (from :data:`SOCKET_ENV`).
    :param timeout: default wall-clock limit of one query, in seconds.
    """

    def __init__(
        self, socket_path: str, store_path: Path | str, private_graphs: tuple[str, ...], *, timeout: float
    ) -> None:
        self.socket_path = socket_path
        self.store_path = str(store_path)
        self.private = private_graphs
        self.timeout = timeout
        self.killed = 0
        self._lock = threading.Lock()

    def _acquire(self, deadline: Deadline) -> _Lease:
        """Wait in the pool's queue (the socket's accept queue) until an evaluator takes us."""
        while True:
            remaining = deadline.left()
            if remaining <= 0:
                raise deadline.busy()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(remaining)  # connect waits only when the accept queue is full
                sock.connect(self.socket_path)
                sock.settimeout(None)
            except OSError as exc:
                sock.close()
                if isinstance(exc, TimeoutError):
                    continue
                raise RuntimeError(f"the evaluator pool is not reachable: {exc}") from exc
            conn = Connection(sock.detach())
            try:
                if not conn.poll(deadline.left()):
                    raise deadline.busy()
                pid = int(conn.recv_bytes())
            except (EOFError, OSError, ValueError):
                conn.close()  # dropped before it took the request (a retiring evaluator): queue again
                continue
            except BaseException:
                conn.close()  # never accepted, or accepted just now: it sees EOF and takes the next
                raise
            return _Lease(conn, pid)

    def _send(self, child: _Lease, request: tuple) -> None:
        child.conn.send((self.store_path, self.private, request))

    def _release(self, child: _Lease) -> None:
        child.conn.close()  # one query per connection: the evaluator goes back to accept()

    def _discard(self, child: _Lease) -> None:
        self.kill(child.pid)
        child.conn.close()

    def kill(self, pid: int) -> None:
        """Kill an evaluator (its answer is not wanted, or it broke); the keeper replaces it. Also
        used by the event-loop front's client of the pool (:mod:`kg.web.pooled`)."""
        with contextlib.suppress(ProcessLookupError):  # else it died by itself
            os.kill(pid, signal.SIGKILL)
        with self._lock:
            self.killed += 1

    def warm_up(self) -> None:
        """Nothing to do: the master started the pool before the workers."""

    def close(self) -> None:
        """Nothing to do: the pool belongs to the master, which stops it."""


class MasterPool:
    """The gunicorn master's side: the private socket, the keeper process, and its respawn.

    :param size: the number of evaluators (``KG_EVALUATORS``).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.folder = Path(tempfile.mkdtemp(prefix="kg-evaluators-"))  # mode 0700: ours alone
        self.path = str(self.folder / "pool.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1024)  # the queue: every thread of every worker fits
        self._lock = threading.Lock()
        self._stopping = False
        self.keeper = self._start_keeper()
        threading.Thread(target=self._watch, daemon=True, name="evaluator-keeper-watch").start()

    def _start_keeper(self) -> subprocess.Popen:
        fd = self._listener.fileno()
        argv = [sys.executable, "-m", "kg.evaluation.pool_keeper", str(fd), str(self.size), str(os.getpid())]
        root = Path(__file__).resolve().parents[2]
        return subprocess.Popen(argv, pass_fds=[fd], cwd=root, start_new_session=True)

    def _watch(self) -> None:
        """Start a new keeper if the keeper dies (it runs no query, so this should not happen)."""
        while True:
            keeper = self.keeper
            keeper.wait()  # gunicorn may reap it first: then wait() returns at once all the same
            with self._lock:
                if self._stopping:
                    return
                if keeper is not self.keeper:  # replaced by a reload
                    continue
                log.error("the evaluator keeper exited (%s); starting another", keeper.returncode)
            time.sleep(0.5)
            with self._lock:
                if not self._stopping and keeper is self.keeper:
                    self.keeper = self._start_keeper()

    def reload(self) -> None:
        """For gunicorn's reload (``HUP``): a fresh keeper with fresh code serves at once; the old
        evaluators finish the answers they are computing and exit."""
        with self._lock:
            if self._stopping:
                return
            old, self.keeper = self.keeper, self._start_keeper()
        old.send_signal(signal.SIGHUP)

    def stop(self, wait: float = 10.0) -> None:
        """Kill the evaluators and the keeper, and remove the socket (the master is exiting)."""
        with self._lock:
            self._stopping = True
            keeper = self.keeper
        keeper.terminate()
        try:
            keeper.wait(wait)
        except subprocess.TimeoutExpired:
            keeper.kill()  # its evaluators get SIGKILL from the kernel (they die with the keeper)
        self._listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)
