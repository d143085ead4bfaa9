"""Wall and CPU seconds of every test, for finding what makes ``make test`` slow. Not loaded by default.

As a pytest plugin (each xdist worker writes its own file)::

    PYTHONPATH=bench PYTEST_CPU_DIR=/tmp/cpu PYTEST_ADDOPTS="-p pytest_cpu" make test

writes one line per test (setup, call and teardown together): node id, wall seconds, CPU seconds of
the test process (its threads: the in-process servers too) and CPU seconds of the child processes
it reaped meanwhile (``kg`` commands, gunicorn, ``oxigraph serve``, Virtuoso, Chromium; a child kept
for a module is counted at the test that stopped it). Then ``python bench/pytest_cpu.py /tmp/cpu``
sums them per file and half.
"""

from __future__ import annotations

import collections
import os
import resource
import sys
import time
from pathlib import Path

_out = None


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _hookwrapper(function):  # pytest is imported only where the plugin runs
    import pytest

    return pytest.hookimpl(hookwrapper=True)(function)


@_hookwrapper
def pytest_runtest_protocol(item, nextitem):  # noqa: ANN001, ANN201 - pytest's hook
    global _out
    if _out is None:
        folder = Path(os.environ.get("PYTEST_CPU_DIR", "pytest-cpu"))
        folder.mkdir(parents=True, exist_ok=True)
        half = os.environ.get("KG_TEST_STORE") or "embedded"
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _out = open(folder / f"{half}-{worker}-{os.getpid()}.tsv", "a", buffering=1)  # noqa: SIM115
    started, (own, children) = time.monotonic(), _cpu()
    yield
    wall, (own2, children2) = time.monotonic() - started, _cpu()
    _out.write(f"{item.nodeid}\t{wall:.3f}\t{own2 - own:.3f}\t{children2 - children:.3f}\n")


def summary(folder: Path, top: int = 25) -> None:
    for path_half in sorted({p.name.split("-", 1)[0] for p in folder.glob("*.tsv")}):
        files: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        for path in folder.glob(f"{path_half}-*.tsv"):
            for line in path.read_text().splitlines():
                node, wall, own, children = line.split("\t")[:4]
                row = files[node.split("::")[0]]
                row[0] += 1
                row[1] += float(wall)
                row[2] += float(own)
                row[3] += float(children)
        total = sum(r[2] + r[3] for r in files.values())
        print(f"{path_half}: {sum(r[0] for r in files.values())} tests, {total:.0f} CPU-s")
        print(f"  {'file':48} {'tests':>5} {'wall':>7} {'own':>7} {'children':>8}")
        ranked = sorted(files.items(), key=lambda kv: -(kv[1][2] + kv[1][3]))
        for name, (n, wall, own, children) in ranked[:top]:
            print(f"  {name:48} {n:5} {wall:7.1f} {own:7.1f} {children:8.1f}")


if __name__ == "__main__":
    summary(Path(sys.argv[1]))
