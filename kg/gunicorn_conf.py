"""gunicorn hooks (``--config python:kg.gunicorn_conf``): the master owns the shared evaluator pool.

``kg serve`` passes this module; the command line keeps every other gunicorn setting. The pool
(:class:`kg.evaluation.shared_pool.MasterPool`) is started in ``on_starting``, before the master forks
any worker, and its socket's path put in the environment the workers inherit; ``on_reload``
(``HUP``) renews it with fresh code; ``on_exit`` stops it after the workers have finished their
requests, so no evaluator outlives the server. No pool with a remote store (it evaluates).

Nor under ``kg serve --reload``: gunicorn's reloader restarts the workers when a source file
changes, but not the master, so a pool started by the master would go on evaluating with the old
code. There each worker keeps its own evaluators (:class:`kg.evaluation.local_pool.Evaluator`, still killed at
``KG_QUERY_TIMEOUT``), which restart with it.
"""

from __future__ import annotations

import os
import signal

from kg.evaluation.shared_pool import SOCKET_ENV, MasterPool
from kg.settings import load_settings

_pool: MasterPool | None = None


def _forwarded_allow_ips() -> str:
    """``KG_FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto``
    headers the uvicorn workers believe (gunicorn hands this setting to them); from any other peer
    those headers are ignored, so a client cannot pass itself off as another address or as HTTPS.
    Set here, in the one config module every ``kg serve`` loads, so that gunicorn's own default
    (its ``FORWARDED_ALLOW_IPS`` environment variable, else 127.0.0.1) never applies."""
    return ",".join(load_settings().forwarded_allow_ips)


forwarded_allow_ips = _forwarded_allow_ips()

# gunicorn 27's control interface listens on one path per user (~/.gunicorn/gunicorn.ctl), so a
# second server on the machine took the first's; nothing of ours uses it (older gunicorns ignore
# a setting they do not know)
control_socket_disable = True


def on_starting(server) -> None:
    """Start the shared pool (once per master) before the workers are forked."""
    global _pool
    settings = load_settings()
    if settings.remote or _pool is not None:
        return
    if server.cfg.reload:
        server.log.info("--reload: each worker evaluates queries in its own processes, renewed with it")
        return
    _pool = MasterPool(settings.evaluators)
    os.environ[SOCKET_ENV] = _pool.path
    server.log.info("shared evaluator pool: %d processes on %s", settings.evaluators, _pool.path)


def on_reload(server) -> None:
    """New workers run new code: so should the evaluators they talk to."""
    if _pool is not None:
        _pool.reload()


def on_exit(server) -> None:
    """The workers are gone: stop the evaluators and remove the socket."""
    global _pool
    if _pool is not None:
        _pool.stop()
        _pool = None
        os.environ.pop(SOCKET_ENV, None)


def worker_int(worker) -> None:
    """Called by gunicorn's reloader (``--reload``) from its own thread when a source file changed,
    which then ends only that thread: uvicorn's loop never looks at ``worker.alive``, so the worker
    went on serving the old code. A ``SIGTERM`` to the worker makes uvicorn finish the requests in
    hand and exit, and the master starts a worker with the new code. (uvicorn handles the worker's
    own signals, so gunicorn calls this hook for nothing else.)"""
    os.kill(worker.pid, signal.SIGTERM)
