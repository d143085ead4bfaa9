"""A child process that ends with its parent: the one place the Linux prctl for it is called."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Have this process get ``sig`` when the process that started it ends (Linux's
    ``PR_SET_PDEATHSIG``; elsewhere nothing). Left running, a web worker whose master was killed
    would go on serving, and an ingest's reading or finding process would hold the ingest's pipes
    and locks. ``parent``: the pid it was started by; if that one is already gone (we were
    reparented before the prctl), exit now."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's own stop ends us
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(0)
