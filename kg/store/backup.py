"""A copy of an embedded store's published generation, and a copy published again.

Why a module of its own: :mod:`kg.store.embedded` writes and reads generations; copying one out
(``kg backup``) and publishing a copy (``kg restore``) only use the same folder layout and the same
publication (:mod:`kg.store.publication`) and write lock.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from kg.errors import StoreError
from kg.store.lock import write_lock
from kg.store.next_generation import PARTS
from kg.store.publication import collect_garbage, publish, remove_unfinished


def back_up(folder: Path | None, store: Path, target: Path) -> str:
    """Copy the published generation's ``folder`` (of the store at ``store``) to ``target``, a new
    folder: Oxigraph's own backup of the RDF (a consistent checkpoint, hard links where the file
    system allows) plus the derived files. Returns the generation's name.

    :raises StoreError: if there is nothing to back up or ``target`` exists.
    """
    if folder is None:
        raise StoreError(f"the store at {store} has nothing to back up yet")
    if target.exists():
        raise StoreError(f"{target} exists: back up into a new folder")
    target.mkdir(parents=True)
    try:
        for part in PARTS:
            if (folder / part).is_dir():
                ox.Store.read_only(str(folder / part)).backup(str(target / part))
        for extra in folder.iterdir():
            if extra.is_file():
                shutil.copy2(extra, target / extra.name)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise StoreError(f"cannot back up into {target}: {exc}") from exc
    return folder.name


def restore_backup(store: Path, source: Path, version: Callable[[], str], *, wait: float = 0.0) -> str:
    """Publish a backup made by :func:`back_up` as the next generation of the store at ``store``
    (atomically, like a write); ``version``: the store's published version, read under the lock.

    :raises StoreError: if ``source`` is not a backup.
    """
    try:
        ox.Store.read_only(str(source / "rdf"))
    except OSError as exc:
        raise StoreError(f"{source} is not a backup of this store (no readable rdf/ folder): {exc}") from exc
    store.mkdir(parents=True, exist_ok=True)
    (store / "generations").mkdir(exist_ok=True)
    with write_lock(store / "write.lock", wait):
        remove_unfinished(store)
        current = version()
        tmp = store / "generations" / f"{int(current or 0) + 1:06d}.tmp"
        try:
            shutil.copytree(source, tmp)
            final = tmp.with_suffix("")
            tmp.rename(final)
            publish(store, final.name)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StoreError(f"cannot restore {source}: {exc}") from exc
        collect_garbage(store)
        return final.name
