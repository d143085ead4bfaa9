"""``kg harvest``: the sources of a sources file, once or on their schedule, one line per source.

The exit code is the worst of the sources' (2: a source could not be fetched or read, 3: refused
by ``--strict``… as for ``kg ingest``), 0 when each was published or unchanged; a sources file
that cannot be used is refused whole (exit 2) before any source is fetched.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from kg.cli.output import Progress, changes_text
from kg.errors import InputError
from kg.harvest.run import Outcome, StopRequest, harvest_all, loop
from kg.harvest.sources import SourcesFileError, read_sources
from kg.settings import Settings, environment


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("harvest", help="fetch the sources of a sources file and ingest those that changed")
    p.add_argument(
        "sources", help="the sources file (TOML, one [[source]] table per source; docs/harvest.md)"
    )
    p.add_argument("--source", help="harvest this source of the file only")
    p.add_argument("--loop", action="store_true", help="run each source on its schedule until stopped")
    p.set_defaults(run=cmd_harvest)


def cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    specs = read_sources(args.sources, environment())
    if args.source:
        specs = [s for s in specs if s.name == args.source]
        if not specs:
            raise InputError(f"no source named {args.source!r} in the file", file=args.sources)
    outcomes: list[Outcome] = []

    progress = _PerSource()

    def report(outcome: Outcome) -> None:
        progress.next()
        outcomes.append(outcome)
        print_outcome(outcome)

    if not args.loop:
        harvest_all(specs, settings=settings, report=report, progress=progress)
    else:
        for index, spec in enumerate(specs, start=1):
            if not spec.every:
                raise SourcesFileError(
                    "--loop runs sources on their schedule; this one has none",
                    file=args.sources,
                    index=index,
                    name=spec.name,
                    field="schedule",
                )
        with _stop_on_signals() as stop:
            loop(specs, settings=settings, report=report, stop=stop, progress=progress)
        print("harvest stopped", file=sys.stderr)
    return max((o.exit_code for o in outcomes), default=0)


def print_outcome(outcome: Outcome) -> None:
    """One line: what happened to the source, and when it runs next."""
    after = f"; next run {outcome.next_run[:19].replace('T', ' ')} UTC" if outcome.next_run else ""
    if outcome.outcome == "failed":
        print(f"kg: {outcome.source}: failed, left as it was: {outcome.reason}{after}", file=sys.stderr)
        return
    counts = _counts(outcome)
    if outcome.outcome == "unchanged":
        print(f"{outcome.source}: unchanged, {outcome.reason}{counts}{after}", flush=True)
        return
    s = outcome.summary
    assert s is not None
    print(
        f"{outcome.source}: published {s.published} and quarantined {s.quarantined} of {s.read} records "
        f"in {outcome.seconds:.1f} s{counts}; written {s.write}{after}",
        flush=True,
    )


def _counts(outcome: Outcome) -> str:
    """ "; records added/changed/removed/unchanged a/c/r/u, m mapped and validated" when known."""
    if not outcome.changes:
        return ""
    text = f"; records added/changed/removed/unchanged {changes_text(outcome.changes)}"
    c = outcome.summary.changes if outcome.summary else None
    return text + (f", {c.mapped} mapped and validated" if c is not None else "")


class _PerSource:
    """The ingest's progress line, started afresh for each source (its rate is that source's)."""

    def __init__(self) -> None:
        self.current = Progress()

    def __call__(self, done: int) -> None:
        self.current(done)

    def next(self) -> None:
        self.current.done()
        self.current = Progress()


@contextmanager
def _stop_on_signals() -> Iterator[StopRequest]:
    """A stop requested by SIGINT or SIGTERM: the loop finishes the source it is on, then stops.

    The handler takes no lock: it sets a bool and writes its line with ``os.write``, since the main
    thread it interrupts may hold stderr's buffer (the progress line) or any other lock.
    """
    stop = StopRequest()
    owner = os.getpid()

    def handle(signum: int, frame: object) -> None:
        if os.getpid() != owner:  # an ingest worker forked with this handler: its parent decides
            return
        stop.set()
        os.write(2, f"kg: {signal.Signals(signum).name}: stopping after the current source\n".encode())

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
