"""gunicorn's worker class for the app: uvicorn on uvloop with httptools, its access log off.

gunicorn stays the process manager (workers, restarts, timeouts); each worker runs one event loop
that parses HTTP in C and serves :class:`kg.web.front.Front`. uvicorn's own access log is off:
:mod:`kg.web.logs` writes one JSON line per request already, whichever path answered it.
"""

from __future__ import annotations

import gc
import signal
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """``--worker-class kg.web.worker.Worker``: the C parser and loop, named rather than "auto",
    so that a missing one is an error at start rather than a silent fall-back to pure Python."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": "httptools", "access_log": False}

    def run(self) -> None:
        """Serve, with the app's start-up objects out of the garbage collector's sight.

        The loaded app holds ~45,000 objects (Flask, the templates, the vocabularies) that live as
        long as the worker; every full collection walked them all, a pause of several ms that a
        request arriving then waited out, in the p99 of sub-millisecond answers. ``gc.freeze``
        moves them to a generation that is never collected (they are never garbage).
        """
        from kg.evaluation.pool_keeper import _die_with_parent

        _die_with_parent(signal.SIGTERM, self.ppid)  # a SIGKILLed master must not leave us serving
        gc.collect()
        gc.freeze()
        super().run()
