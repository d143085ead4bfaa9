"""The keeper of the shared evaluator pool: ``python -m kg.evaluation.pool_keeper FD SIZE MASTER_PID``.

Started by the gunicorn master (:class:`kg.evaluation.shared_pool.MasterPool`) with the pool's
listening Unix socket as file descriptor ``FD``. It forks ``SIZE`` evaluators, which all
``accept()`` on that one socket — so the kernel's accept queue is the pool's queue, first come
first served across every web worker; of the idle evaluators, the first started takes it, so
its caches stay warm (:func:`_warm_first`) — and forks a replacement whenever one exits
(killed by a web worker at a query's deadline, or died).

Why a process of its own rather than a thread in the master: gunicorn's master reaps every
child with ``waitpid(-1)``, so it would take the exits of evaluators it does not know; here the
keeper is their parent and alone waits for them. It imports pyoxigraph and :mod:`kg.store.embedded` once
and forks (it runs no thread and opens no store), so a replacement is ready in milliseconds.

Signals: ``SIGTERM`` kills the evaluators (their work is not needed: the master is stopping)
and exits; ``SIGHUP`` retires the pool gracefully — no more replacements, each evaluator exits
when idle or after its current answer — for a reload, while a fresh keeper already serves.
No orphans: the keeper gets ``SIGTERM`` when the master dies, an evaluator ``SIGKILL`` when the
keeper dies (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection

_SIGNALS = {signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP}
_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int, parent: int) -> None:
    """Get ``sig`` when the parent exits; exit now if it already has (we were reparented)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the master's stop still ends the pool
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _evaluate_forever(listener: socket.socket, keeper: int) -> None:
    """One evaluator: accept a web worker, send it our pid (so that it can kill us at the
    deadline), read ``(store folder, private graphs, request)``, answer, and accept again."""
    from kg.evaluation.protocol import answer
    from kg.store.embedded import Store

    state = {"busy": False, "retire": False}

    def retire(_sig, _frame) -> None:  # SIGTERM from a retiring keeper
        if not state["busy"]:
            os._exit(0)  # idle (in accept): nothing is lost
        state["retire"] = True  # finish the answer first

    signal.signal(signal.SIGTERM, retire)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master decides when the pool stops
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    _die_with_parent(signal.SIGKILL, keeper)
    store: Store | None = None
    ready = _warm_first(listener)
    while not state["retire"]:
        client = ready()
        if client is None:
            continue  # another evaluator took that connection
        state["busy"] = True
        conn = Connection(client.detach())
        try:
            conn.send_bytes(str(os.getpid()).encode())
            folder, private, request = conn.recv()
            if _hung_up(conn):  # its web worker gave up (the deadline) as we accepted: skip it
                continue
            if store is None or (str(store.path), store.private_graphs) != (folder, tuple(private)):
                store = Store(folder, private_graphs=tuple(private))  # generations: Store follows `current`
            answer(conn, store, request)
        except (EOFError, OSError):
            pass  # the web worker went away (gave up waiting, or its client did): accept the next
        finally:
            conn.close()
            state["busy"] = False
    os._exit(0)


def _hung_up(conn: Connection) -> bool:
    """Whether the web worker closed its end. It sends the request as it connects
    (:mod:`kg.web.pooled`), so a worker whose deadline passed just as we accepted (our pid sent,
    not yet read) has left a request that reads well; it must not be evaluated for no one."""
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLHUP)
    return bool(poller.poll(0))


def _warm_first(listener: socket.socket):
    """A function that waits for the next connection and accepts it (``None`` when another
    evaluator was quicker), preferring evaluators in the order they started.

    A blocking ``accept()`` queues its callers first come first served: the connection goes
    to the evaluator that has been idle longest, so consecutive queries went round all the
    evaluators, each with its own cold store cache (a title search took 14.6 ms through a pool
    of 4, 12.7–13.6 through a pool of 1). An ``epoll`` registered with ``EPOLLEXCLUSIVE``
    wakes only the first idle waiter in registration order, so a light load stays on the
    first few evaluators, whose caches are warm, and a heavy one still reaches them all.
    Where that flag is missing (not Linux), the plain FIFO ``accept()``.
    """
    flag = getattr(select, "EPOLLEXCLUSIVE", 0)
    if not flag:
        return lambda: listener.accept()[0]
    listener.setblocking(False)  # shared by every evaluator: each one expects it
    poller = select.epoll()
    poller.register(listener.fileno(), select.EPOLLIN | flag)

    def ready() -> socket.socket | None:
        poller.poll()
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return None
        client.setblocking(True)
        return client

    return ready


def _fork_evaluator(listener: socket.socket) -> int:
    keeper = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _evaluate_forever(listener, keeper)
        code = 0
    except BaseException:  # noqa: BLE001 - a child of a fork must never return into the keeper's loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _kill(children: set[int], sig: int) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def keep(listener: socket.socket, size: int, master: int) -> None:
    """Keep ``size`` evaluators on ``listener`` until ``SIGTERM`` (kill them) or ``SIGHUP`` (retire)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # taken synchronously below
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD is not discarded
    _die_with_parent(signal.SIGTERM, master)
    import kg.store.embedded  # noqa: F401 - imported once here, so a forked evaluator starts warm

    children: set[int] = set()
    forks: list[float] = []
    retiring = False
    while True:
        while children:  # reap every exited evaluator
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if not pid:
                break
            children.discard(pid)
        if retiring and not children:
            return
        while not retiring and len(children) < size:
            forks = [t for t in forks if t > time.monotonic() - 1.0] + [time.monotonic()]
            if len(forks) > 10 * size:  # evaluators die as they start (a broken install): do not spin
                time.sleep(0.5)
            children.add(_fork_evaluator(listener))
        sig = signal.sigwaitinfo(_SIGNALS).si_signo
        if sig == signal.SIGTERM:
            _kill(children, signal.SIGKILL)
            for pid in children:
                os.waitpid(pid, 0)
            if not retiring:  # the master is stopping, or gone: a SIGKILLed one cannot tidy up
                _remove_socket(listener)
            return
        if sig == signal.SIGHUP and not retiring:
            retiring = True
            listener.close()  # new connections go to the new keeper's evaluators only
            _kill(children, signal.SIGTERM)


def _remove_socket(listener: socket.socket) -> None:
    """Remove the pool's socket and its private folder (:class:`kg.evaluation.shared_pool.MasterPool`
    made both; it removes them too when it stops, whichever comes first)."""
    with contextlib.suppress(OSError):
        path = listener.getsockname()
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def main(argv: list[str]) -> int:
    fd, size, master = (int(arg) for arg in argv)
    keep(socket.socket(fileno=fd), size, master)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
