"""One writer per store folder at a time: an ``flock`` on ``write.lock``, with its holder named.

Shared by the embedded store and the remote one (whose writers on one machine take turns too).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kg.errors import StoreBusy


@contextmanager
def write_lock(path: Path, wait: float) -> Iterator[None]:
    """Hold the lock at ``path``; wait at most ``wait`` seconds for another writer.

    :raises StoreBusy: naming the holder, if it is still held after ``wait`` seconds.
    """
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise StoreBusy(
                        f"the store at {path.parent} is being written by {holder}; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
