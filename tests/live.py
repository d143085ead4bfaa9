"""A live server for tests: the real app under gunicorn on a free loopback port.

Started as `kg serve` starts it (gunicorn, uvicorn workers, ``app:front``), on a
real on-disk store, and polled on /health until it answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import backend
from servers import STARTUP_TIMEOUT

from kg.cli import APP, WORKER_CLASS
from kg.ingest.run import ingest
from kg.malloc import serve_environment
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Live(str):
    """The server's base URL (a str), with the store folder it serves and its environment."""

    store: str
    env: dict[str, str]
    pid: int
    log: Path

    def __new__(cls, base: str, store: str, env: dict[str, str]) -> Live:
        obj = super().__new__(cls, base)
        obj.store = store
        obj.env = env
        obj.pid = 0
        return obj

    def ingest(self, path: Path | str, source: str) -> None:
        """What ``kg ingest PATH --source SOURCE`` does on this server's store, in this process: the
        same ingest on the same settings (read from the server's environment), without a Python start
        and the kg imports (~0.7 CPU-s a command). For data a test needs, not for another process's
        write (:meth:`kg`); the kg command is tested in test_cli."""
        summary = ingest(str(path), settings=load_settings(self.env), source=source)
        assert summary.stored, summary

    def kg(self, *args: object, check: bool = True) -> subprocess.CompletedProcess:
        """Run the `kg` command on this server's store."""
        done = subprocess.run([BIN / "kg", *map(str, args)], env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"kg {args} failed ({done.returncode}): {done.stderr}")
        return done


@contextmanager
def serve(
    store: Path, *, workers: int = 1, sample: bool = True, gunicorn: tuple[str, ...] = (), **settings: str
) -> Iterator[Live]:
    """The app under gunicorn as ``kg serve`` starts it (``gunicorn``: more options, e.g. ``--reload``).

    One worker unless a test asks for more (``kg serve`` starts two): a worker's start costs ~0.5
    CPU-s, and only the tests of what two workers do (each sees a new generation, one serves while
    the other retires) need the second; they pass ``workers=2``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    mark = backend.started()
    remote = {} if "KG_STORE_QUERY_URL" in settings else backend.env_for(store)  # {} when embedded
    env = {**os.environ, "KG_STORE": str(store), "KG_BASE_URI": base, "KG_WORKERS": "1", **remote, **settings}
    live = Live(base, str(store), env)
    if sample:  # what `kg ingest kg/sample/csv --source sample` does, in this process (Live.ingest)
        live.ingest(ROOT / "kg/sample/csv", "sample")
    Path(store).parent.mkdir(parents=True, exist_ok=True)  # made by the ingest, when there is one
    log = open(Path(store).parent / f"server-{port}.log", "wb")  # noqa: SIM115 - a file, not a pipe that fills
    live.log = Path(log.name)
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "--chdir",
            ROOT,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            WORKER_CLASS,
            "--config",
            "python:kg.gunicorn_conf",
            *gunicorn,
            APP,
        ],
        env=serve_environment(env.get("KG_MALLOC", "auto"), env),  # as kg serve
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    live.pid = server.pid
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                # a probe waits for its answer: one given up after a fixed few seconds stays queued in
                # the server, and on a store whose health check is slow (Virtuoso's ASK: ~2 s) the
                # abandoned probes piled up in front of the next ones (23 s to start, not 2)
                remaining = max(1.0, deadline - time.monotonic())
                with urllib.request.urlopen(base + "health", timeout=remaining) as r:
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not start: {Path(log.name).read_text(errors='replace')[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield live
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        backend.stop_from(mark)


class Headers(dict):
    """Response headers by name in any case: HTTP names are case-insensitive, and uvicorn sends them
    in lower case (gunicorn's gthread worker sent Flask's capitalised names)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in items)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def request(
    url: str, *, method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns (status, headers, body) for every status, errors included."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, Headers(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, Headers(e.headers.items()), e.read()
