"""Publishing a finished generation, and tidying the generations folder around it.

Why a module of its own: these are the file-system rules that make a write atomic for every
reader, whatever the write did (:meth:`kg.store.embedded.Store.write`, ``restore``): the
``current`` symlink is replaced by a rename (readers see the old generation or the new one,
never half of it) and the folder is synced so that the swap survives a crash; a writer killed
half-way leaves a ``.tmp`` folder (or, killed between the rename and the publication, an
unpublished generation) that the next writer removes; old generations are kept a
while (a reader may still have one open) and then removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

KEEP_GENERATIONS = 3  # the published one and the ones readers may still have open


def publish(root: Path, generation: str) -> None:
    """Point ``root/current`` at ``generations/<generation>``, atomically and durably."""
    link = root / "current.tmp"
    link.unlink(missing_ok=True)
    link.symlink_to(f"generations/{generation}")
    os.replace(link, root / "current")
    _fsync_dir(root)


def remove_unfinished(root: Path) -> None:
    """Remove what a writer killed before publishing left behind: its ``.tmp`` folder, or the
    generation it had finished (renamed from ``.tmp``) but not published, numbered after the
    published one. Left there, that one's name is the next write's, whose rename then failed: a kill
    in that window made every later write of the store fail."""
    link = root / "current"
    try:
        published = int(os.readlink(link).rsplit("/", 1)[-1])
    except (OSError, ValueError):
        published = None if os.path.lexists(link) else 0  # not a link we wrote: keep them all
    for folder in (root / "generations").iterdir():
        name = folder.name
        if name.endswith(".tmp") or (published is not None and name.isdigit() and int(name) > published):
            shutil.rmtree(folder, ignore_errors=True)


def collect_garbage(root: Path) -> None:
    """Remove the published generations older than the last :data:`KEEP_GENERATIONS`."""
    done = sorted(p for p in (root / "generations").iterdir() if p.name.isdigit())
    for old in done[:-KEEP_GENERATIONS]:
        shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
