"""What the benchmark scripts share: the generator, a free port, the app's gunicorn command line and
facts about the machine for their reports.

The scripts run as ``python bench/<name>.py`` with the project root put on ``sys.path``, so they
import this module as ``bench.common``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import socket
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def generator() -> ModuleType:
    """``bench/generate.py`` (not a package module), loaded once per process."""
    name = "bench_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_argv(port: int, workers: int, threads: int | None = None) -> list[str]:
    """The app under gunicorn on a loopback port, as ``kg serve`` runs it (uvicorn workers serving
    ``app:front``, the shared evaluator pool's hooks); ``threads`` turns it into the former
    gthread server of ``app:app``, for comparison."""
    from kg.cli import APP, WORKER_CLASS

    argv = [str(BIN / "gunicorn"), "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers)]
    if threads:
        return [*argv, "--worker-class", "gthread", "--threads", str(threads), "app:app"]
    return [*argv, "--worker-class", WORKER_CLASS, "--config", "python:kg.gunicorn_conf", APP]


def serve_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a gunicorn started as ``kg serve`` starts it: with the allocator of ``KG_MALLOC``
    preloaded (:mod:`kg.malloc`)."""
    from kg.malloc import serve_environment

    return serve_environment(env.get("KG_MALLOC", "auto"), env)


def package_version(name: str, missing: str = "-") -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return missing


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def memory() -> str:
    """Total RAM as "23.5 GiB", or "" where /proc/meminfo cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        return ""
