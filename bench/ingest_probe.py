"""Where an ingest's time, bytes and memory go: counters of a whole process tree, and steps.

``bench/ingest.py --steps`` runs :func:`kg.ingest.run.ingest` with these probes (one process, its
workers forked from it):

* :func:`tree` reads, for this process and every live descendant, the CPU seconds (user + sys),
  the bytes written to the block layer (``write_bytes`` of ``/proc/<pid>/io``, less
  ``cancelled_write_bytes``: a temporary file deleted before the kernel wrote it back costs no
  disk write), the RSS and the PSS. A process's own counters include those of the children it
  has waited for, so the sum is continuous when a worker exits.
* :class:`Steps` wraps the steps of the main process (reading, the store's writes, the
  builders) and of the workers (map, repair, validate, write N-Triples...) and adds up, per
  step, CPU seconds and bytes: the main process's steps from ``/proc/self`` (its threads, the
  store's background threads, included), the workers' from ``time.process_time`` in each worker,
  written to a folder after every batch and summed at the end.

A wrapped function that calls another wrapped one is charged only its own part (a stack of
steps per process). Nothing here changes what the ingest does; the wrappers cost a few
microseconds per call (per record or per batch, never per triple).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_cpu(pid: int | str, *, children: bool) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: waited-for children
    return ticks / TICK


def _io(pid: int | str) -> tuple[int, int]:
    """(bytes written to storage less those cancelled, bytes cancelled) of a process."""
    try:
        with open(f"/proc/{pid}/io", "rb") as f:
            values = dict(line.split(b": ") for line in f.read().splitlines())
    except (OSError, ValueError):
        return 0, 0
    written, cancelled = int(values[b"write_bytes"]), int(values[b"cancelled_write_bytes"])
    return written - cancelled, cancelled


def _memory(pid: int | str) -> tuple[int, int]:
    """(RSS, PSS) in bytes."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            rss = int(f.read().split()[1]) * PAGE
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
    except (OSError, IndexError, ValueError):
        pass
    return rss, pss


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def tree(pid: int | None = None, *, memory: bool = True, family: list[int] | None = None) -> dict[str, float]:
    """CPU seconds, bytes written (and cancelled), RSS and PSS of a process and its live
    descendants (``family``: the process and its descendants, when the caller has listed them)."""
    pid = pid or os.getpid()
    family = family or [pid, *descendants(pid)]
    cpu = _stat_cpu(pid, children=True) + sum(_stat_cpu(p, children=True) for p in family[1:])
    ios = [_io(p) for p in family]
    out = {
        "cpu_s": cpu,
        "written": sum(w for w, _ in ios),
        "cancelled": sum(c for _, c in ios),
    }
    if memory:
        mems = [_memory(p) for p in family]
        out["rss"] = sum(r for r, _ in mems)
        out["pss"] = sum(p for _, p in mems)
    return out


def own() -> tuple[float, int]:
    """This process's CPU seconds (all its threads) and bytes written, children excluded."""
    return _stat_cpu("self", children=False), _io("self")[0]


class Steps:
    """Per-step wall seconds, CPU seconds and bytes written, exclusive of nested steps.

    ``folder``: where each worker writes its totals (``<pid>.json``) after every batch.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
        self.stack: list[list[float]] = []  # per open step: [time spent in nested steps, cpu nested, bytes]
        self.marks: list[tuple[str, float, float]] = []  # (step, start, end) of the main process
        self.main = os.getpid()
        self.noise: Callable[[], float] = lambda: 0.0  # CPU of a thread not to count (a sampler)

    def _clock(self) -> tuple[float, float, int]:
        if os.getpid() == self.main:  # the store's threads count: the whole process
            cpu, written = own()
            return time.perf_counter(), cpu - self.noise(), written
        return time.perf_counter(), time.process_time(), 0

    def wrap(self, name: str, function: Callable, *, flush: bool = False) -> Callable:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.stack.append([0.0, 0.0, 0])
            start = self._clock()
            try:
                return function(*args, **kwargs)
            finally:
                end = self._clock()
                self._add(name, start, end)
                if flush:
                    self.flush()

        return timed

    def wrap_iterator(self, name: str, function: Callable[..., Iterator]) -> Callable:
        """A generator function whose every ``next`` is charged to ``name``."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Iterator:
            inner = function(*args, **kwargs)
            while True:
                self.stack.append([0.0, 0.0, 0])
                start = self._clock()
                try:
                    item = next(inner)
                except StopIteration:
                    self._add(name, start, self._clock())
                    return
                self._add(name, start, self._clock())
                yield item

        return timed

    def _add(self, name: str, start: tuple, end: tuple) -> None:
        nested = self.stack.pop()
        wall, cpu, written = (end[0] - start[0]), (end[1] - start[1]), (end[2] - start[2])
        row = self.totals[name]
        row[0] += wall - nested[0]
        row[1] += cpu - nested[1]
        row[2] += written - nested[2]
        row[3] += 1
        if self.stack:
            outer = self.stack[-1]
            outer[0] += wall
            outer[1] += cpu
            outer[2] += written
        if os.getpid() == self.main and name.startswith("store"):  # not one per record read
            self.marks.append((name, start[0], end[0]))

    def flush(self) -> None:
        """A worker's totals so far, to its file (workers exit without running atexit hooks)."""
        path = self.folder / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(self.totals)), encoding="utf-8")
        tmp.replace(path)

    def workers(self) -> dict[str, list[float]]:
        summed: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0])
        for path in self.folder.glob("*.json"):
            for name, row in json.loads(path.read_text(encoding="utf-8")).items():
                for i, v in enumerate(row):
                    summed[name][i] += v
        return dict(summed)


def instrument(steps: Steps) -> None:
    """Wrap the ingest's steps (call in the process that will run the ingest, before it forks)."""
    import kg.factory as factory
    import kg.search.build as search
    from kg.ingest import run, workers
    from kg.store import embedded, writer
    from kg.validation import batch, rudof_engine

    # workers: per record or per batch
    workers.map_record = steps.wrap("worker: map", workers.map_record)
    workers.reader_notes = steps.wrap("worker: map", workers.reader_notes)
    workers.repair_record = steps.wrap("worker: repair", workers.repair_record)
    workers._validated = steps.wrap("worker: validate", workers._validated)
    workers._leave_out_invalid_values = steps.wrap(
        "worker: validate again", workers._leave_out_invalid_values
    )
    batch.batch_triples = steps.wrap("worker: validate: data graph", batch.batch_triples)
    rudof_engine.ntriples = steps.wrap("worker: validate: rudof's N-Triples", rudof_engine.ntriples)
    workers.summarize = steps.wrap("worker: search summaries", workers.summarize)
    workers.quality_texts = steps.wrap("worker: quality", workers.quality_texts)
    workers._map_and_validate = steps.wrap(
        "worker: N-Triples text and the rest", workers._map_and_validate, flush=True
    )
    # main process
    run.read_source = steps.wrap_iterator("main: read", run.read_source)
    run.hold_back_links = steps.wrap("main: hold back links", run.hold_back_links)
    run.published_elsewhere = steps.wrap("main: other sources' IRIs", run.published_elsewhere)
    embedded.Store._next_generation = steps.wrap(
        "store: open the next generation", embedded.Store._next_generation
    )
    writer.Writer.load = _per_graph(steps, writer.Writer.load)
    writer.Writer.load_text = _per_graph(steps, writer.Writer.load_text)
    writer.Writer.update = steps.wrap("store: updates", writer.Writer.update)
    embedded.Store._build_derived = steps.wrap("store: builders (the rest)", embedded.Store._build_derived)
    search.build_index = steps.wrap("store: builder: search index", search.build_index)
    factory.build_index = search.build_index  # the name store_for registers
    embedded.publish = steps.wrap("store: publish", embedded.publish)
    embedded.collect_garbage = steps.wrap("store: old generations removed", embedded.collect_garbage)


def _per_graph(steps: Steps, method: Callable) -> Callable:
    """``Writer.load*`` charged to a step named after the graph's last path segments."""
    wrapped: dict[str, Callable] = {}

    @functools.wraps(method)
    def load(self, source, *, graph: str, **kwargs: Any) -> None:
        kind = graph.rstrip("/").split("/graph/", 1)[-1].split("/")[0]
        name = f"store: load {kind}"
        if name not in wrapped:
            wrapped[name] = steps.wrap(name, method)
        return wrapped[name](self, source, graph=graph, **kwargs)

    return load
