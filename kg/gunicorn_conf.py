"""gunicorn settings (``--config python:kg.gunicorn_conf``): what every ``kg serve`` loads.

``kg serve`` passes this module; the command line keeps every other gunicorn setting. The master
owns no evaluators: each web worker evaluates its queries in its own threads
(:mod:`kg.evaluation.thread_evaluator`) and retires when one runs past ``KG_QUERY_TIMEOUT``
(:mod:`kg.web.worker`); the master then starts a fresh worker, as for any worker that exits.
"""

from __future__ import annotations

import os
import signal

from kg.settings import load_settings


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


def worker_int(worker) -> None:
    """Called by gunicorn's reloader (``--reload``) from its own thread when a source file changed,
    which then ends only that thread: uvicorn's loop never looks at ``worker.alive``, so the worker
    went on serving the old code. A ``SIGTERM`` to the worker makes uvicorn finish the requests in
    hand and exit, and the master starts a worker with the new code. (uvicorn handles the worker's
    own signals, so gunicorn calls this hook for nothing else.)"""
    os.kill(worker.pid, signal.SIGTERM)
