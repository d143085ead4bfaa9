"""gunicorn's worker class for the app: uvicorn on uvloop with httptools, its access log off.

gunicorn stays the process manager (workers, restarts, timeouts); each worker runs one event loop
that parses HTTP in C and serves :class:`kg.web.front.Front`. uvicorn's own access log is off:
:mod:`kg.web.logs` writes one JSON line per request already, whichever path answered it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    """``--worker-class kg.web.worker.Worker``: the C parser and loop, named rather than "auto",
    so that a missing one is an error at start rather than a silent fall-back to pure Python."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": "httptools", "access_log": False}
