"""A real ``kg`` process SIGKILLed at a named point of its work, for the tests of a killed write.

A kill timed as a fraction of a run lands where the clock puts it: to land inside the write, the run
must be long (a big input, ~4 CPU-s a run), and a narrow window (between the new generation's
rename and its publication) is almost never hit. Here the process kills itself when it reaches the
point, with the same signal a person or the OOM killer sends: ``python -c KILLER`` wraps the named
function, then runs ``kg.cli.main`` as the ``kg`` command does. The run must end by the kill
(returncode -9), so a point the run never reaches fails the test instead of testing nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

KILLER = """
import importlib, os, signal, sys
target, when, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
module, _, path = target.partition(":")
owner = importlib.import_module(module)
*parents, name = path.split(".")
for parent in parents:
    owner = getattr(owner, parent)
real, calls = getattr(owner, name), []

def killed_at_the_point(*args, **kwargs):
    calls.append(1)
    if when == "before" and len(calls) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    result = real(*args, **kwargs)
    if when == "after" and len(calls) == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(owner, name, killed_at_the_point)
from kg.cli import main
sys.exit(main(sys.argv[4:]))
"""


@dataclass(frozen=True)
class Point:
    """Where a run is killed: ``when`` ("before" or "after") the ``nth`` call of ``target``
    ("module:attribute", e.g. ``kg.store.writer:Writer.load``); ``name`` says what it is for."""

    name: str
    target: str
    when: str = "after"
    nth: int = 1


# the points of a write, in the order a run reaches them (KG_WORKERS=1: the workers' batches are
# mapped and validated in the main process); before the last, the store must serve what it did
WRITE_POINTS = (
    Point("validating: a batch checked, nothing written yet", "kg.ingest.workers:validate_batch"),
    Point("writing: a graph loaded into the new generation", "kg.store.writer:Writer.load"),
    Point("deriving: the derived files being built", "kg.store.embedded:Store._build_derived", "before"),
    Point("renamed: the generation complete, not published", "kg.store.embedded:publish", "before"),
)
PUBLISHED = Point("published: current switched, the run not yet ended", "kg.store.embedded:publish")


def run_killed(
    point: Point, args: Sequence[str], env: Mapping[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """Run ``kg *args`` until it reaches ``point``; assert that it died there."""
    done = subprocess.run(
        [sys.executable, "-c", KILLER, point.target, point.when, str(point.nth), *map(str, args)],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    ended = f"{point.name}: the run ended ({done.returncode}) before the point: {done.stderr!r}"
    assert done.returncode == -9, ended
    return done
