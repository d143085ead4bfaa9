"""gunicorn hooks (``--config python:kg.gunicorn_conf``): the master owns the shared evaluator pool.

``kg serve`` passes this module; the command line keeps every other gunicorn setting. The pool
(:class:`kg.evaluator_pool.MasterPool`) is started in ``on_starting``, before the master forks
any worker, and its socket's path put in the environment the workers inherit; ``on_reload``
(``HUP``) renews it with fresh code; ``on_exit`` stops it after the workers have finished their
requests, so no evaluator outlives the server. No pool when ``KG_EVALUATORS=0`` (queries run in
the workers) or with a remote store (it evaluates): the app then works as without gunicorn.
"""

from __future__ import annotations

import os

from kg.evaluator_pool import SOCKET_ENV, MasterPool
from kg.settings import load_settings

_pool: MasterPool | None = None


def on_starting(server) -> None:
    """Start the shared pool (once per master) before the workers are forked."""
    global _pool
    settings = load_settings()
    if settings.remote or not settings.evaluators or _pool is not None:
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
