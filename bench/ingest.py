"""Ingest benchmark: records/s of read, map, validate and store, and peak memory.

For every N and input format it generates N synthetic datasets with
``bench/generate.py`` (seeded, reused when already there) and measures, each
phase in a fresh subprocess so that its peak memory is its own:

=========== ===================================================================
phase       what runs
=========== ===================================================================
read        iterate :func:`kg.readers.read_source`
map         read + :func:`kg.mapping.map_record` per record (agencies mapped
            for the context, as :func:`kg.ingest.workers.process` does); the row shows
            the map time alone (this phase minus ``read``)
validate    :func:`kg.ingest.workers.process` with ``--workers`` / ``--batch`` (read +
            map + SHACL); the row shows this phase minus ``read`` and ``map``
process     the same phase as a whole (read + map + validate)
ingest      :func:`kg.ingest.run.ingest` into a fresh store: three rows, from the
            phases the summary records ("read, map and validate", "store") and
            the wall time of the call ("total")
=========== ===================================================================

Records are everything the reader yields (datasets, agencies, services), so
records/s is comparable across formats. ``--validator`` picks the SHACL engine
(``KG_VALIDATOR``: rudof, the default, or pyshacl); rows of another engine than pyshacl
say so in the "workers, batch" column. Memory: the peak RSS of the phase's
main process (``getrusage(RUSAGE_SELF)``), of its largest worker
(``RUSAGE_CHILDREN``) and the peak of their sum, sampled from ``/proc`` every
0.1 s (an upper bound: pages shared after ``fork`` count once per process),
and the peak of the sum of their PSS (a shared page split among its sharers: the
memory the ingest occupies). CPU seconds of main and workers are reported too (``--json``).

The ``ingest`` phase also prints a ledger (and ``--json`` adds it): wall seconds, CPU seconds of
the whole process tree, peak PSS, bytes written to storage (``/proc/<pid>/io``, those cancelled
before write-back left out), the store's size per part and triples per graph; then each step's
CPU, bytes and peak memory: the main process's (read, the loads per graph, the builders, the
RocksDB background work they leave), the workers' (map, repair, validate, quality, summaries,
N-Triples), from :mod:`bench.ingest_probe`.

Usage::

    .venv/bin/python bench/ingest.py --n 10000                 # all four formats
    .venv/bin/python bench/ingest.py --n 100000 --formats csv,data.json --json
    .venv/bin/python bench/ingest.py --n 10000 --formats csv --phases ingest --validator rudof

Results go to ``bench/RESULTS.md`` under "Ingest" (rows of earlier runs with
another format or N are kept; ``--no-write`` leaves the file alone). Nothing
touches the network: every input is a local file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ingest_probe as probe  # noqa: E402
from bench.common import cpu_model, generator, memory, package_version  # noqa: E402
from bench.store_layout import uncompressed_mb  # noqa: E402

FORMATS = ("csv", "data.json", "ckan", "ttl")
READ_FORMAT = {"csv": "csv", "data.json": "data.json", "ckan": "ckan", "ttl": "ttl"}  # --format for kg
PHASES = ("read", "map", "process", "ingest")
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Ingest"
MARKER = "<!-- ingest-results"
NOTES, NOTES_END = "<!-- notes: kept by bench/ingest.py -->", "<!-- /notes -->"
BASE_URI = "http://127.0.0.1:8000/"
MB = 1024 * 1024


# ---------------------------------------------------------------- inputs


def inputs(n: int, seed: int, fmt: str, out: Path) -> Path:
    """The generated input of ``fmt`` for (n, seed), made unless already there."""
    gen = generator()
    folder = out / f"n{n}-seed{seed}"
    target = folder / gen.OUTPUT_NAMES[fmt]
    manifest = folder / "manifest.json"
    if target.exists() and manifest.exists():
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("n") == n and meta.get("seed") == seed:
            return target
    started = time.perf_counter()
    path = gen.generate(n, seed, fmt, folder)
    print(f"  generated {fmt} n={n} seed={seed} in {time.perf_counter() - started:.1f}s: {path}", flush=True)
    return path


# ---------------------------------------------------------------- memory


class Sampler:
    """Samples, every ``interval`` s, the RSS of this process and of its descendants, the sum
    of their PSS (proportional set size: a page shared after fork counts once, split among its
    sharers, where the RSS sum counts it in each), this process's CPU time and the process
    tree's CPU time and bytes written (:func:`bench.ingest_probe.tree`); keeps the series, so
    that sub-phases get their own peaks.

    The sampler's own CPU (reading ``/proc``, ``smaps_rollup`` above all) is charged to this
    process by the kernel: it is measured (:attr:`own_cpu`) and taken off every CPU figure.
    Sampling every 0.1 s with a scan of ``/proc`` each time cost ~7 % of a core, 100 CPU s of a
    100,000-dataset ingest; the family is now listed every 2 s and sampled every 0.25 s.
    """

    def __init__(self, interval: float = 0.25, cap_mb: float = 0.0) -> None:
        self.interval = interval
        self.cap = cap_mb * MB
        # (t, RSS sum, RSS main, CPU main, PSS sum, CPU tree, bytes written by the tree)
        self.series: list[tuple[float, int, int, float, int, float, int]] = []
        self.own_cpu = 0.0  # seconds of the sampling thread
        self._family: list[int] = []
        self._listed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            total = self.sample()
            self.own_cpu = time.thread_time()
            if self.cap and total > self.cap:
                print(f"memory cap exceeded ({total / MB:.0f} MB): aborting", file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def sample(self) -> int:
        me = os.getpid()
        now = time.perf_counter()
        if now - self._listed > 2.0 or not all(os.path.exists(f"/proc/{p}") for p in self._family):
            self._family, self._listed = probe.descendants(me), now
        family = [me, *self._family]
        main = _rss(me)
        total = main + sum(_rss(p) for p in family[1:])
        times = os.times()
        pss = sum(_pss(p) for p in family)
        tree = probe.tree(me, memory=False, family=family)
        mine = self.own_cpu
        self.series.append(
            (now, total, main, times.user + times.system - mine, pss, tree["cpu_s"] - mine, tree["written"])
        )
        return total

    def window(self, start: float, end: float) -> dict[str, float]:
        """Peak RSS (sum and main), CPU seconds (main, tree) and bytes written between two
        ``perf_counter`` times."""
        inside = [s for s in self.series if start <= s[0] <= end] or self.series[-1:]
        before = [s for s in self.series if s[0] <= start] or self.series[:1]
        return {
            "rss_total_mb": max(s[1] for s in inside) / MB,
            "pss_total_mb": max(s[4] for s in inside) / MB,
            "rss_main_now_mb": max(s[2] for s in inside) / MB,
            "cpu_main_s": inside[-1][3] - before[-1][3],
            "cpu_tree_s": inside[-1][5] - before[-1][5],
            "written_mb": (inside[-1][6] - before[-1][6]) / MB,
        }


SAMPLER: Sampler | None = None  # the phase's, so that its own CPU can be taken off


def _pss(pid: int) -> int:
    """The process's proportional set size (``Pss`` of /proc/<pid>/smaps_rollup), 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


# ---------------------------------------------------------------- phases (run in a subprocess)


def run_phase(
    phase: str, location: str, fmt: str, workers: int, batch: int, cap_mb: float, validator: str = "rudof"
) -> dict[str, Any]:
    from kg.mapping import eu_vocabularies
    from kg.validation.batch import check_engine
    from kg.validation.shapes import validator_shapes

    # what every phase needs anyway, outside the timings (workers fork after it)
    validator_shapes()
    eu_vocabularies.vocabulary_graph()
    check_engine(validator)
    if validator == "rudof" and workers <= 1:  # in-process: the session too (workers make their own)
        from kg.validation.rudof_engine import session

        session()
    result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    global SAMPLER
    with Sampler(cap_mb=cap_mb) as sampler:
        SAMPLER = sampler
        started = time.perf_counter()
        result.update(_PHASES[phase](location, fmt, workers, batch, validator))
        ended = time.perf_counter()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.update(
        seconds=ended - started,
        load_after=os.getloadavg()[0],
        rss_main_mb=own.ru_maxrss / 1024,
        rss_worker_mb=children.ru_maxrss / 1024,
        rss_total_mb=sampler.window(started, ended)["rss_total_mb"],
        pss_total_mb=sampler.window(started, ended)["pss_total_mb"],
        cpu_main_s=own.ru_utime + own.ru_stime - own0.ru_utime - own0.ru_stime - sampler.own_cpu,
        sampler_cpu_s=sampler.own_cpu,
        cpu_workers_s=children.ru_utime + children.ru_stime,
    )
    if phase == "ingest":  # the summary's two phases, each with its own peaks
        t0, t1 = result.pop("t0"), result.pop("t1")
        result["windows"] = {
            "rmv": sampler.window(t0, t0 + result["rmv_s"]),
            "store": sampler.window(t1 - result["store_s"], t1),
        }
        peaks: dict[str, float] = {}
        for name, start, end in result.pop("marks"):
            peaks[name] = max(peaks.get(name, 0.0), sampler.window(start, end)["pss_total_mb"])
        result["step_pss_mb"] = peaks
    return result


def _read(location: str, fmt: str, workers: int, batch: int, validator: str) -> dict[str, Any]:
    from kg.readers import read_source

    return {"records": sum(1 for _ in read_source(location, fmt=fmt))}


def _map(location: str, fmt: str, workers: int, batch: int, validator: str) -> dict[str, Any]:
    from kg.ingest.workers import _context
    from kg.iris import Minter
    from kg.mapping import map_record
    from kg.mapping.agencies import map_agency
    from kg.readers import read_source
    from kg.records import AgencyRecord

    iris = Minter(BASE_URI)
    agencies: dict[str, list] = {}
    records = triples = 0
    for record in read_source(location, fmt=fmt):
        if isinstance(record, AgencyRecord):
            agencies[record.key] = map_agency(record, iris).triples
        context = _context(record, agencies, iris)
        mapped = map_record(record, iris)
        mapped.context.extend(context)
        records += 1
        triples += len(mapped.triples)
    return {"records": records, "triples": triples}


def _process(location: str, fmt: str, workers: int, batch: int, validator: str) -> dict[str, Any]:
    """What ``ingest`` runs before it stores: map + validate on the workers, N-Triples back."""
    from kg.ingest.workers import deferred, process_ntriples
    from kg.iris import Minter
    from kg.readers import read_source

    records = published = triples = 0
    source = deferred(read_source, location, fmt=fmt)
    for _, report, text in process_ntriples(
        source, Minter(BASE_URI), batch=batch, workers=workers, validator=validator
    ):
        records += 1
        published += report.publishable
        triples += (text[0] if isinstance(text, tuple) else text).count("\n")
    return {"records": records, "published": published, "triples": triples}


def _ingest(location: str, fmt: str, workers: int, batch: int, validator: str) -> dict[str, Any]:
    from kg.ingest.run import ingest
    from kg.settings import load_settings

    scratch = Path(tempfile.mkdtemp(prefix="kg-bench-store-"))
    steps = probe.Steps(Path(tempfile.mkdtemp(prefix="kg-bench-steps-")))
    steps.noise = lambda: SAMPLER.own_cpu if SAMPLER else 0.0
    probe.instrument(steps)
    try:
        settings = load_settings({}, store=scratch / "store", base_uri=BASE_URI)
        settings = dataclasses.replace(settings, workers=workers, validation_batch=batch, validator=validator)
        mine = SAMPLER.own_cpu if SAMPLER else 0.0
        before = probe.tree()
        t0 = time.perf_counter()
        summary = ingest(location, settings=settings, fmt=fmt, source="bench")
        t1 = time.perf_counter()
        after = probe.tree()
        after["cpu_s"] -= (SAMPLER.own_cpu if SAMPLER else 0.0) - mine
        return {
            "t0": t0,
            "t1": t1,
            "records": summary.read,
            "published": summary.published,
            "quarantined": summary.quarantined,
            "violations": summary.severities["violation"],
            "warnings": summary.severities["warning"],
            "infos": summary.severities["info"],
            "rmv_s": summary.seconds.get("read, map and validate", 0.0),
            "store_s": summary.seconds.get("store", 0.0),
            "total_s": t1 - t0,
            "store_mb": _disk(scratch) / MB,
            "parts_mb": _parts(scratch / "store"),
            "graphs": _graph_sizes(settings),
            "cpu_tree_s": after["cpu_s"] - before["cpu_s"],
            "written_mb": (after["written"] - before["written"]) / MB,
            "cancelled_mb": (after["cancelled"] - before["cancelled"]) / MB,
            "steps_main": {k: v for k, v in steps.totals.items() if not k.startswith("worker")},
            "steps_workers": steps.workers(),
            "marks": steps.marks,
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(steps.folder, ignore_errors=True)


def _parts(store: Path) -> dict[str, float]:
    """MB on disk of each part of the published generation (the two Oxigraph stores, derived files),
    and of each Oxigraph store the MB of SST files without compression."""
    current = (store / "current").resolve()
    out = {}
    for part in sorted(current.iterdir()):
        out[part.name] = (_disk(part) if part.is_dir() else part.stat().st_size) / MB
        if part.is_dir():  # what compactions wrote, uncompressed (bench/store_layout.py)
            out[f"{part.name} uncompressed"] = uncompressed_mb(part)
    return out


def _graph_sizes(settings: Any) -> dict[str, int]:
    from kg.factory import store_for

    return {g.split("/graph/", 1)[-1]: n for g, n in store_for(settings).graph_sizes().items()}


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


_PHASES = {"read": _read, "map": _map, "process": _process, "ingest": _ingest}


def spawn_phase(phase: str, location: Path, fmt: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Run one phase in a fresh interpreter; its result, or None (it failed or timed out)."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--location",
        str(location),
        "--read-format",
        READ_FORMAT[fmt],
        "--workers",
        str(args.workers),
        "--batch",
        str(args.batch),
        "--max-rss-mb",
        str(args.max_rss_mb),
        "--validator",
        args.validator,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, env=env, cwd=ROOT, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"    {phase}: timed out after {args.timeout:.0f}s", flush=True)
        return None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n      ".join(done.stderr.strip().splitlines()[-5:])
        print(f"    {phase}: failed (exit {done.returncode})\n      {tail}", flush=True)
        return None
    return json.loads(lines[-1])


# ---------------------------------------------------------------- the run


def measure(n: int, fmt: str, location: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every phase for one (format, N): the table's rows."""
    got: dict[str, dict[str, Any]] = {}
    for phase in args.phases:
        print(f"  {fmt} n={n}: {phase} ...", flush=True)
        result = spawn_phase(phase, location, fmt, args)
        if result:
            got[phase] = result
            print(f"    {phase}: {result['seconds']:.1f}s", flush=True)
    rows: list[dict[str, Any]] = []
    base = {
        "format": fmt,
        "n": n,
        "workers": args.workers,
        "batch": args.batch,
        "validator": args.validator,
        "seed": args.seed,
    }
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def row(name: str, phase: str, minus: str | None = None, **extra: Any) -> None:
        """A row from a phase, less an earlier phase (time and CPU) when ``minus`` is given."""
        data, less = got.get(phase), got.get(minus) if minus else {}
        if data is None or less is None:
            rows.append({**base, "phase": name, "seconds": None, "date": stamp})
            return
        values = {k: data[k] for k in ("seconds", "cpu_main_s", "cpu_workers_s", "rss_total_mb")}
        values.update({k: data.get(k, 0.0) for k in ("rss_main_mb", "rss_worker_mb", "pss_total_mb")})
        values.update(extra)
        if minus:
            for k in ("seconds", "cpu_main_s", "cpu_workers_s"):
                values[k] = max(0.0, values[k] - less[k])
        seconds, records = values["seconds"], data.get("records", 0)
        rows.append(
            {
                **base,
                "phase": name,
                "seconds": round(seconds, 3),
                "records": records,
                "records_per_s": round(records / seconds, 1) if seconds > 0 else None,
                "cpu_main_s": round(values["cpu_main_s"], 1),
                "cpu_workers_s": round(values["cpu_workers_s"], 1),
                "rss_main_mb": round(values["rss_main_mb"]),
                "rss_worker_mb": round(values["rss_worker_mb"]),
                "rss_total_mb": round(values["rss_total_mb"]),
                "pss_total_mb": round(values["pss_total_mb"]),
                "load": round(max(data["load_before"], data["load_after"]), 1),
                "date": stamp,
                **{k: v for k, v in extra.items() if k not in values or k in ("published", "quarantined")},
            }
        )

    if "read" in args.phases:
        row("read", "read")
    if "map" in args.phases:
        row("map", "map", "read")
    if "process" in args.phases:
        row("validate", "process", "map")
        row("read+map+validate", "process")
    elif "ingest" in got and "map" in got:  # no process phase: validate from the ingest's own split
        data, rmv = got["ingest"], got["ingest"]["windows"]["rmv"]
        row(
            "validate (ingest's read, map and validate - map)",
            "ingest",
            "map",
            seconds=data["rmv_s"],
            cpu_main_s=rmv["cpu_main_s"],
            rss_main_mb=rmv["rss_main_now_mb"],
            rss_total_mb=rmv["rss_total_mb"],
            pss_total_mb=rmv["pss_total_mb"],
        )
    if "ingest" in args.phases:
        data = got.get("ingest")
        if data is not None:
            LEDGERS.append(ledger(fmt, n, data))
            print(ledger_text(LEDGERS[-1]), flush=True)
        if data is None:
            for name in ("read, map and validate", "store", "total"):
                rows.append({**base, "phase": f"ingest: {name}", "seconds": None, "date": stamp})
        else:
            rmv, store = data["windows"]["rmv"], data["windows"]["store"]
            counts = {k: data[k] for k in ("published", "quarantined", "violations", "warnings")}
            row(
                "ingest: read, map and validate",
                "ingest",
                seconds=data["rmv_s"],
                cpu_main_s=rmv["cpu_main_s"],
                rss_main_mb=rmv["rss_main_now_mb"],
                rss_total_mb=rmv["rss_total_mb"],
                pss_total_mb=rmv["pss_total_mb"],
                **counts,
            )
            row(
                "ingest: store",
                "ingest",
                seconds=data["store_s"],
                cpu_main_s=store["cpu_main_s"],
                cpu_workers_s=0.0,
                rss_main_mb=store["rss_main_now_mb"],
                rss_worker_mb=0.0,
                rss_total_mb=store["rss_total_mb"],
                pss_total_mb=store["pss_total_mb"],
                store_mb=round(data["store_mb"]),
            )
            row("ingest: total", "ingest", seconds=data["total_s"])
    return rows


LEDGERS: list[dict[str, Any]] = []  # one per ingest measured: totals and steps


def ledger(fmt: str, n: int, data: dict[str, Any]) -> dict[str, Any]:
    """An ingest's totals (wall, CPU of the process tree, peak PSS, bytes written, store size) and
    its steps (CPU, bytes, peak memory), from the ``ingest`` phase's result."""
    rmv, store = data["windows"]["rmv"], data["windows"]["store"]
    steps = []
    for name, (wall, cpu, written, calls) in sorted(data["steps_main"].items()):
        pss = data["step_pss_mb"].get(name)
        steps.append([name, round(wall, 1), round(cpu, 1), round(written / MB), pss and round(pss), calls])
    main = data["steps_main"]
    rest = rmv["cpu_main_s"] - sum(main[k][1] for k in main if k.startswith("main"))
    steps.append(
        ["main: the rest (batches out, results in, temporary files)", None, round(rest, 1), None, None, 0]
    )
    stored = sum(v[1] for k, v in main.items() if k.startswith("store"))
    stored_wall = sum(v[0] for k, v in main.items() if k.startswith("store"))
    steps.append(
        [
            "store: the rest (flush, close, compaction)",
            round(data["store_s"] - stored_wall, 1),
            round(store["cpu_tree_s"] - stored, 1),
            None,
            None,
            0,
        ]
    )
    for name, (wall, cpu, _, calls) in sorted(data["steps_workers"].items()):
        steps.append([name, round(wall, 1), round(cpu, 1), None, None, calls])
    return {
        "format": fmt,
        "n": n,
        "wall_s": round(data["total_s"], 1),
        "cpu_s": round(data["cpu_tree_s"], 1),
        "pss_peak_mb": round(max(rmv["pss_total_mb"], store["pss_total_mb"])),
        "written_mb": round(data["written_mb"]),
        "cancelled_mb": round(data["cancelled_mb"]),
        "store_mb": round(data["store_mb"]),
        "parts_mb": {k: round(v, 1) for k, v in data["parts_mb"].items()},
        "graphs": data["graphs"],
        "phases": {
            "read, map and validate": [
                round(data["rmv_s"], 1),
                round(rmv["cpu_tree_s"], 1),
                round(rmv["written_mb"]),
                round(rmv["pss_total_mb"]),
            ],
            "store": [
                round(data["store_s"], 1),
                round(store["cpu_tree_s"], 1),
                round(store["written_mb"]),
                round(store["pss_total_mb"]),
            ],
        },
        "steps": steps,
        "load": round(max(data["load_before"], data["load_after"]), 1),
    }


def ledger_text(led: dict[str, Any]) -> str:
    """The ledger as Markdown: one line of totals, the two phases, then the steps."""
    lines = [
        f"{led['format']} n={led['n']:,}: wall {led['wall_s']} s (load {led['load']}), CPU {led['cpu_s']} s, "
        f"peak PSS {led['pss_peak_mb']:,} MB, written {led['written_mb']:,} MB "
        f"(+{led['cancelled_mb']:,} MB cancelled), store {led['store_mb']:,} MB {led['parts_mb']}",
        f"  triples per graph: {led['graphs']}",
        "",
        "| phase or step | wall s | CPU s | MB written | peak PSS MB | calls |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, (wall, cpu, written, pss) in led["phases"].items():
        lines.append(f"| **{name}** | {wall} | {cpu} | {written:,} | {pss:,} | |")
    for name, wall, cpu, written, pss, calls in led["steps"]:
        cells = [
            f"{written:,}" if written is not None else "",
            f"{pss:,}" if pss else "",
            f"{calls:,}" if calls else "",
        ]
        lines.append(
            f"| {name} | {'' if wall is None else wall} | {cpu} | {cells[0]} | {cells[1]} | {cells[2]} |"
        )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| format | N | workers, batch | phase | seconds | records/s | CPU s main + workers "
        "| peak RSS MB main / worker / sum (PSS sum) | load |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        engine = "" if r.get("validator", "pyshacl") == "pyshacl" else f", {r['validator']}"
        if r.get("seconds") is None:
            lines.append(
                f"| {r['format']} | {r['n']:,} | {r['workers']}, {r['batch']}{engine} | {r['phase']} "
                "| failed / timed out | | | | |"
            )
            continue
        pss = f" ({r['pss_total_mb']:,})" if r.get("pss_total_mb") else ""  # rows before PSS: none
        lines.append(
            f"| {r['format']} | {r['n']:,} | {r['workers']}, {r['batch']}{engine} | {r['phase']} "
            f"| {r['seconds']:.1f} | {r['records_per_s']:,.0f} "
            f"| {r['cpu_main_s']:.1f} + {r['cpu_workers_s']:.1f} "
            f"| {r['rss_main_mb']:,} / {r['rss_worker_mb']:,} / {r['rss_total_mb']:,}{pss} "
            f"| {r['load']:.1f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- RESULTS.md


def machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "ram": memory(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "pyoxigraph": package_version("pyoxigraph"),
        "pyshacl": package_version("pyshacl"),
        "pyrudof": package_version("pyrudof"),
        "rdflib": package_version("rdflib"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def write_results(rows: list[dict[str, Any]], path: Path = RESULTS) -> None:
    """Replace the "Ingest" section of RESULTS.md, keeping rows of other (format, N, phase)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    before, section, after = _split(text)
    old: list[dict[str, Any]] = []
    if m := re.search(re.escape(MARKER) + r"\n(.*?)\n-->", section, re.S):
        old = json.loads(m.group(1))
    notes = re.search(re.escape(NOTES) + r".*?" + re.escape(NOTES_END), section, re.S)

    def key(r: dict[str, Any]) -> tuple:
        return (r["format"], r["n"], r["phase"], r["workers"], r["batch"], r.get("validator", "pyshacl"))

    new_keys = {key(r) for r in rows}
    merged = [r for r in old if key(r) not in new_keys] + rows
    order = {f: i for i, f in enumerate(FORMATS)}
    merged.sort(
        key=lambda r: (r["n"], order.get(r["format"], 9), r["workers"], r["batch"], r.get("validator", ""))
    )
    m = machine()
    body = f"""{HEADING}

`.venv/bin/python bench/ingest.py --n 10000,100000 --formats …` (seed {merged[0]["seed"]}).
Machine: {m["nproc"]} cores ({m["cpu"]}), {m["ram"]} RAM,
Python {m["python"]}, pyoxigraph {m["pyoxigraph"]}, pyshacl {m["pyshacl"]}, pyrudof {m["pyrudof"]},
rdflib {m["rdflib"]};
written {m["date"]}.

Records = everything the reader yields (datasets + 50 agencies + a few services; each dataset has
1-3 distributions). Each phase runs in its own process; *map* and *validate* are derived:
(read+map) - read and (read+map+validate) - (read+map), in time and CPU. The *ingest* rows come
from one `kg.ingest.run.ingest` call into a fresh store (the summary's "read, map and validate" and
"store" seconds, and the wall time of the call). CPU: seconds of the main process + of the worker
processes. Peak RSS: main process, largest worker, and the peak of their sum (sampled every 0.1 s;
an upper bound, pages shared after fork count twice), and in brackets the peak of the sum of their
PSS (proportional set size: a page shared by n processes counts 1/n in each; rows measured since
2026-11-25 19:55 UTC). Load: the 1-minute load average around the
phase; above ~2 other processes were competing for the 2 cores and wall times are inflated (CPU
seconds much less so). Target: 100,000 datasets end to end in under 300 s with peak memory under 1 GB.

{table(merged)}

{notes.group(0) if notes else NOTES + chr(10) + NOTES_END}

{MARKER}
[
{("," + chr(10)).join(json.dumps(r, ensure_ascii=False) for r in merged)}
]
-->
"""
    path.write_text(before + body + (("\n" + after) if after else ""), encoding="utf-8")


def _split(text: str) -> tuple[str, str, str]:
    """(before, the Ingest section, after) of a Markdown file with ``## `` headings."""
    start = text.find(HEADING + "\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n", "", ""
    nxt = re.search(r"^## ", text[start + len(HEADING) :], re.M)
    end = start + len(HEADING) + nxt.start() if nxt else len(text)
    return text[:start], text[start:end], text[end:]


# ---------------------------------------------------------------- CLI


def _numbers(values: list[str]) -> list[int]:
    out = []
    for value in values:
        out.extend(int(v.replace("_", "")) for v in value.split(",") if v.strip())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", action="append", default=[], help="datasets; repeatable or a comma list")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma list of " + ", ".join(FORMATS))
    parser.add_argument("--phases", default=",".join(PHASES), help="comma list of " + ", ".join(PHASES))
    parser.add_argument("--workers", type=int, help="KG_WORKERS (default: the setting, 2)")
    parser.add_argument("--batch", type=int, help="KG_VALIDATION_BATCH (default: the setting)")
    parser.add_argument(
        "--validator", choices=("pyshacl", "rudof"), help="KG_VALIDATOR (default: the setting, rudof)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="generated inputs (reused)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per phase")
    parser.add_argument("--max-rss-mb", type=float, default=8192, help="abort a phase above this RSS sum")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--location", help=argparse.SUPPRESS)
    parser.add_argument("--read-format", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:  # a child: one phase, one JSON line
        result = run_phase(
            args.phase,
            args.location,
            args.read_format,
            args.workers,
            args.batch,
            args.max_rss_mb,
            args.validator or "rudof",
        )
        print(json.dumps(result), flush=True)
        return 0

    from kg.settings import load_settings

    # the engine first: the default batch follows it (kg.settings.BATCH_BY_VALIDATOR)
    engine = {"validator": args.validator} if args.validator else {}
    defaults = load_settings(store=args.out / "unused", **engine)
    args.workers = args.workers or defaults.workers
    args.batch = args.batch or defaults.validation_batch
    args.validator = args.validator or defaults.validator
    ns = _numbers(args.n) or [10000]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    for bad in [f for f in formats if f not in FORMATS] + [p for p in args.phases if p not in PHASES]:
        parser.error(f"unknown format or phase {bad!r}")
    rows: list[dict[str, Any]] = []
    for n in ns:
        for fmt in formats:
            location = inputs(n, args.seed, fmt, args.out)
            rows.extend(measure(n, fmt, location, args))
    print()
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=1))
        print(json.dumps(LEDGERS, indent=1))
    if not args.no_write:
        write_results(rows, args.results)
        print(f"\nwritten to {args.results}")
    return 0 if all(r.get("seconds") is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
