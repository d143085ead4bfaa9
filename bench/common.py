"""What the benchmark scripts share: the generator, a free port, the app's gunicorn command line, a
server started as ``kg serve`` starts it with the CPU its processes spend, a one-connection HTTP
client, percentiles and facts about the machine for their reports.

The scripts run as ``python bench/<name>.py`` with the project root put on ``sys.path``, so they
import this module as ``bench.common``.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import importlib.util
import os
import platform
import socket
import subprocess
import sys
import time
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


def gunicorn_argv(port: int, workers: int) -> list[str]:
    """The app under gunicorn on a loopback port, as ``kg serve`` runs it (uvicorn workers serving
    ``app:front``, the shared evaluator pool's hooks). The Flask app alone (``app:app``) answers
    no ``/sparql`` query: the front does (:mod:`kg.web.front`), so there is no other server to
    compare with."""
    from kg.cli import APP, WORKER_CLASS

    argv = [str(BIN / "gunicorn"), "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers)]
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


def commit(root: Path) -> str:
    """The short commit of a checkout ("" outside git), for the reports."""
    argv = ["git", "-C", str(root), "rev-parse", "--short", "HEAD"]
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# ---------------------------------------------------------------- a server as kg serve starts it


class Server:
    """The app of the checkout ``root`` started by that checkout's own ``kg serve`` (gunicorn with its
    production settings, the allocator preloaded), on a free loopback port, serving ``store``.

    Started from ``root`` as its working folder: gunicorn puts the working folder on ``sys.path``
    before its ``--chdir``, so started from elsewhere it would import the caller's ``kg`` (a
    before/after run would measure the same code twice). ``KG_*`` settings of the caller's
    environment pass through; its stderr (the access log) goes to ``log``, a file, not a pipe
    that would fill and stall it.
    """

    def __init__(self, root: Path, store: Path, base: str, workers: int, log: Path) -> None:
        self.root, self.store, self.base, self.workers, self.log = root, store, base, workers, log
        self.port = 0
        self.process: subprocess.Popen | None = None

    def kg(self) -> Path:
        own = BIN / "kg"
        return own if self.root.resolve() == ROOT and own.exists() else self.root / ".venv" / "bin" / "kg"

    def start(self, timeout: float = 120.0) -> None:
        kg = self.kg()
        if not kg.exists():
            raise SystemExit(f"no {kg}: run `make install` in {self.root} first")
        self.port = free_port()
        argv = [str(kg), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "KG_STORE": str(self.store), "KG_BASE_URI": self.base}
        with open(self.log, "ab") as sink:
            self.process = subprocess.Popen(
                [*argv, "--workers", str(self.workers)], env=env, cwd=self.root, stdout=sink, stderr=sink
            )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the server did not start: {tail}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn stops its workers, then the evaluator pool
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ProcessTree:
    """The CPU time of a process and its descendants (a server's master, workers and evaluators), so a
    figure says what the server spent whatever else the shared machine runs.

    :meth:`refresh` finds the processes (a scan of /proc: call it between requests, not around
    each); :meth:`ticks` reads only theirs. A process that appears between refreshes is counted
    from the next one; one that ends (an evaluator killed at the time limit) takes its CPU with it.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.pids: list[int] = [root]
        self.tick = os.sysconf("SC_CLK_TCK")

    def refresh(self) -> None:
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            fields = _stat_fields(stat)
            if fields:
                parents[int(stat.parent.name)] = int(fields[1])
        tree, grew = {self.root}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            grew, tree = bool(more), tree | more
        self.pids = sorted(tree)

    def ticks(self) -> dict[int, int]:
        """User + system clock ticks of each known process still running."""
        out = {}
        for pid in self.pids:
            fields = _stat_fields(Path(f"/proc/{pid}/stat"))
            if fields:
                out[pid] = int(fields[11]) + int(fields[12])
        return out

    def spent(self, before: dict[int, int], after: dict[int, int]) -> float:
        """CPU seconds between two :meth:`ticks`, over the processes seen in both."""
        return sum(after[pid] - before[pid] for pid in after if pid in before) / self.tick


def _stat_fields(path: Path) -> list[str]:
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


# ---------------------------------------------------------------- one client


class Client:
    """One kept-alive HTTP/1.1 connection, requests one after another (latency, not throughput)."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def get(self, path: str, accept: str) -> tuple[str, float, bytes]:
        """(status, milliseconds, body); status "timeout" when no answer came within the timeout, or
        "error" when the server closed the connection without one.

        A connection the server closed while it was idle (uvicorn's keep-alive ends after 5 s, e.g.
        while a new generation is written) is opened again and the request sent once more, timed
        anew, as HTTP clients do for a GET; a request that timed out is not sent again.
        """
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers={"Accept": accept})
            except OSError:  # the idle connection was closed: nothing was sent
                self.close()
                self.conn = self._connect()
                if attempt == 1:
                    continue
                return "error", (time.perf_counter() - started) * 1000, b""
            try:
                response = self.conn.getresponse()
                body, status = response.read(), str(response.status)
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                idle_close = isinstance(exc, http.client.RemoteDisconnected) and attempt == 1
                self.close()
                self.conn = self._connect()
                if idle_close:  # closed before it read the request (keep-alive ended)
                    continue
                body, status = b"", "timeout" if isinstance(exc, TimeoutError) else "error"
            return status, (time.perf_counter() - started) * 1000, body
        raise AssertionError("not reached")

    def close(self) -> None:
        self.conn.close()
