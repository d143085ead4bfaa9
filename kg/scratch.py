"""Scratch folders for an ingest, a harvest or a fetch, which a killed run does not leave behind.

Why: a run's scratch folder holds its intermediate files (the N-Triples of every graph, the records'
results, the fetched document): 17 MB for phila.gov's 400 datasets, 1.4-1.9 GB at 100,000. A
:class:`tempfile.TemporaryDirectory` is removed when its run ends, but not when the run is killed
(SIGKILL, the OOM killer, a power cut), and nothing removed it later: each killed harvest left its
gigabytes in the system's temporary folder.

How: the folder holds a file ``.owner`` on which its run keeps an exclusive ``flock`` for as long
as the folder lives. The kernel drops a lock when its process dies however it dies, so a folder
whose lock can be taken belongs to no live run: the next scratch folder made in the same place
removes it first. A pid or an age would not do: a pid may be reused or belong to another pid
namespace (two containers sharing ``/tmp``), and a long harvest may be older than any age chosen.
Only folders that carry ``.owner`` and belong to this user are looked at.

>>> with scratch_folder("kg-doc-") as folder:
...     (folder / ".owner").is_file()
True
>>> folder.exists()
False
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OWNER = ".owner"


@contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A new folder in the temporary folder (``TMPDIR``), removed when the block ends; the
    folders of ``prefix`` that killed runs left are removed first (see the module docstring)."""
    base = Path(tempfile.gettempdir())
    sweep_abandoned(base, prefix)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    owner = os.open(folder / f"{OWNER}.new", os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(owner, fcntl.LOCK_EX)
        os.rename(folder / f"{OWNER}.new", folder / OWNER)  # seen by a sweeper only once locked
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(owner)  # the lock goes with it, after the folder: no sweeper sees it half removed


def sweep_abandoned(base: Path, prefix: str) -> list[Path]:
    """Remove the folders of ``prefix`` in ``base`` whose run is gone (their ``.owner`` lock free);
    the folders removed. A folder being made or removed by a live run is left alone."""
    removed = []
    uid = os.getuid()
    for folder in base.glob(f"{prefix}*"):
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != uid:
                continue
            owner = os.open(folder / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # no .owner: not ours, or being made
            continue
        try:
            fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its run is alive
            os.close(owner)
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(owner)
    return removed
