"""The memory allocator of the serving processes (``KG_MALLOC``): jemalloc where the system has it.

pyoxigraph's Rust code allocates through the C library's ``malloc``, and a query's hash tables,
sorts and solution rows make many short-lived allocations. With glibc's allocator the catalogue
queries of ``bench/endpoint.py`` cost 10-17 % more than with jemalloc or mimalloc, in the same
process on the same store (facets 7.3-7.9 against 6.5-6.7 s; publisher 248-254 against 219-222 ms;
title search 12.4-13.5 against 11.0-11.2 ms). glibc's tunables (mmap and trim thresholds, tcache)
recovered none of it for the slow queries.

An allocator can only be swapped when a process starts (``LD_PRELOAD``), so ``kg serve`` sets it in
gunicorn's environment: the master and the web workers it forks inherit it. ``tests/live.py`` and
``bench/`` start gunicorn with the same environment (:func:`serve_environment`).

>>> allocator("off") is None
True
>>> serve_environment("off", {"LD_PRELOAD": "libx.so"})["LD_PRELOAD"]
'libx.so'
"""

from __future__ import annotations

import ctypes.util
import functools
import os
from collections.abc import Mapping

CANDIDATES = ("jemalloc", "mimalloc")  # in order of preference; both measured alike


def check(setting: str) -> str:
    """``KG_MALLOC`` as read by :func:`kg.settings.load_settings`: ``auto``, ``off`` or a file.

    :raises ValueError: if it is none of these (a path that does not exist).
    """
    value = setting.strip()
    if value.lower() in ("auto", ""):
        return "auto"
    if value.lower() in ("off", "none", "0", "false", "no"):
        return "off"
    if not os.path.isfile(value):
        raise ValueError(f"KG_MALLOC={setting!r} is not 'auto', 'off' or the path of a shared library")
    return value


def allocator(setting: str) -> str | None:
    """The library to preload for ``KG_MALLOC=setting``, or None for the C library's own.

    ``auto``: the first of :data:`CANDIDATES` the dynamic linker finds (``apt install
    libjemalloc2``), else None; ``off``: None; anything else: the path of a shared library.

    :raises ValueError: as :func:`check`.
    """
    value = check(setting)
    if value == "off":
        return None
    if value == "auto":
        return _installed()
    return value


@functools.cache
def _installed() -> str | None:
    """The first of :data:`CANDIDATES` the dynamic linker finds; asked once a process (``find_library``
    runs ``ldconfig``, and ``kg serve`` both preloads the library and names it)."""
    return next(filter(None, map(ctypes.util.find_library, CANDIDATES)), None)


def serve_environment(setting: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the allocator of ``KG_MALLOC=setting`` added to ``LD_PRELOAD`` (once).

    :raises ValueError: as :func:`allocator`.
    """
    env = dict(environ)
    library = allocator(setting)
    preload = env.get("LD_PRELOAD", "").replace(":", " ").split()
    if library and library not in preload:
        env["LD_PRELOAD"] = " ".join([*preload, library])
    return env
