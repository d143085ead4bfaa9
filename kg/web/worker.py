"""gunicorn's worker class for the app: uvicorn on uvloop with httptools, its access log off, and
the retirement of a worker whose query ran past its time limit.

gunicorn stays the process manager (workers, restarts, timeouts); each worker runs one event loop
that parses HTTP in C and serves :class:`kg.web.front.Front`. uvicorn's own access log is off:
:mod:`kg.web.logs` writes one JSON line per request already, whichever path answered it.

Queries evaluate in the worker's own threads (:mod:`kg.evaluation.thread_evaluator`), and a thread
cannot be stopped: when one runs past its deadline the worker *retires*. It sends itself
``SIGTERM``, which uvicorn's server takes as a graceful shutdown (``Server.handle_exit`` sets
``should_exit``: it stops accepting connections, closes the idle ones, and waits for the requests
in hand, each bounded by its own deadline); then, without joining any thread, the process exits
with ``os._exit``, the runaway's work with it, and gunicorn's master starts a fresh worker.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from kg.evaluation import thread_evaluator
from kg.processes import die_with_parent

log = logging.getLogger(__name__)


class Worker(UvicornWorker):
    """``--worker-class kg.web.worker.Worker``: the C parser and loop, named rather than "auto",
    so that a missing one is an error at start rather than a silent fall-back to pure Python."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": "httptools", "access_log": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a shutdown (a retirement, a stop) waits for the requests in hand at most gunicorn's
        # --graceful-timeout, as gunicorn's own workers do (uvicorn's default: for ever)
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout

    def run(self) -> None:
        """Serve, with the app's start-up objects out of the garbage collector's sight, and exit
        hard once served if a runaway query retired the worker.

        The loaded app holds ~45,000 objects (Flask, the templates, the vocabularies) that live as
        long as the worker; every full collection walked them all, a pause of several ms that a
        request arriving then waited out, in the p99 of sub-millisecond answers. ``gc.freeze``
        moves them to a generation that is never collected (they are never garbage).
        """
        die_with_parent(signal.SIGTERM, self.ppid)  # a SIGKILLed master must not leave us serving
        retiring = threading.Event()
        thread_evaluator.on_runaway(lambda text: _retire(retiring, text))
        gc.collect()
        gc.freeze()
        super().run()
        if retiring.is_set():
            logging.shutdown()
            os._exit(0)  # never join the runaway's thread: its work stops with the process


def _retire(retiring: threading.Event, text: str) -> None:
    """A query ran past its limit: shut this worker down gracefully (once), so that a fresh one
    takes its place."""
    if retiring.is_set():
        return
    retiring.set()
    log.warning("a query ran past its time limit; this worker retires, a fresh one replaces it: %.300s", text)
    os.kill(os.getpid(), signal.SIGTERM)
