"""Load benchmark: a mixed read workload from concurrent clients while a 10,000-record ingest runs.

The app runs as ``tests/live.py`` and ``kg serve`` run it (gunicorn, ``--workers 2``
uvicorn workers serving ``app:front``) on
loopback, on a fresh store holding the
bundled sample, with ``KG_QUERY_TIMEOUT=2`` so that heavy queries are cut.
``--clients`` threads (keep-alive ``http.client`` connections, nothing but
127.0.0.1) send a weighted mix of requests:

=================  ======  ==================================================================
kind               weight  request
=================  ======  ==================================================================
search-html        16      ``/datasets?q=<word(s)>[&theme=…][&format=…]``
search-json        10      the same, ``/datasets.json``
dataset-html       14      ``/dataset/<id>``, ``Accept: text/html`` (sample ids; generated ids
                           too once the ingested data is visible)
dataset-ttl        8       the same, ``Accept: text/turtle``
select-json        14      ``/sparql`` SELECT (titles, LIMIT 50 OFFSET k), SPARQL JSON
select-csv         10      ``/sparql`` SELECT (datasets of a theme, OFFSET k), ``text/csv``
construct-ttl      10      ``/sparql`` CONSTRUCT (title and publisher of 200 datasets), Turtle
describe-ttl       8       ``/sparql`` DESCRIBE of one dataset IRI, Turtle
expensive          4       a GROUP BY over every triple, keyword counts over every dataset,
                           or a quadratic self-join of titles (cut at KG_QUERY_TIMEOUT)
=================  ======  ==================================================================

Queries get a random ``OFFSET`` (and the expensive ones a comment with a
nonce) so that the per-generation result cache does not answer them all.
A 503 "Query stopped" is the time limit doing its job: counted as an
*intended limit*, apart from errors (any other non-2xx/304, a connection
error, or no answer within 30 s).

``--ingest-at`` seconds into the run, ``kg ingest`` of ``--n-ingest`` records
(``bench/generate.py``, CSV, seeded) starts in a subprocess, against the
served store; from then on a probe sends ``ASK { <one new dataset> a
dcat:Dataset }`` every 100 ms, and the time the answer turns true is compared
with the ingest's exit (a negative delay: visible before the process has
exited). The load runs at least ``--duration`` seconds and until the new data
has been visible for ``--tail`` seconds (30), at most ``--max-duration`` seconds
(an ingest still running then is stopped) and ``--max-requests`` requests.

Usage::

    .venv/bin/python bench/load.py --duration 60 --clients 8

Prints a table per kind and per phase (before / during / after the ingest);
writes ``<out>/load-<time>.json`` and replaces the "## Load" section of
``bench/RESULTS.md`` (other sections untouched; ``--no-write`` leaves it alone).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BIN,
    cpu_model,
    free_port,
    generator,
    gunicorn_argv,
    memory,
    package_version,
    serve_env,
)

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Load"
SAMPLE = ROOT / "kg" / "sample" / "csv"
EU = "http://publications.europa.eu/resource/authority/"
PREFIXES = (
    "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
    "PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
)
REQUEST_TIMEOUT = 30.0
PROBE_EVERY = 0.1


GEN = generator()

WEIGHTS = {
    "search-html": 16,
    "search-json": 10,
    "dataset-html": 14,
    "dataset-ttl": 8,
    "select-json": 14,
    "select-csv": 10,
    "construct-ttl": 10,
    "describe-ttl": 8,
    "expensive": 4,
}
PHASES = ("before ingest", "during ingest", "after ingest")


# ---------------------------------------------------------------- the workload


class Workload:
    """Builds requests: (method, path, headers) for a kind, from a seeded random source."""

    def __init__(self, base: str, n_ingest: int, visible: threading.Event) -> None:
        self.base = base
        self.n = n_ingest
        self.visible = visible
        with open(SAMPLE / "datasets.csv", encoding="utf-8", newline="") as f:
            self.sample_ids = [row["id"] for row in csv.DictReader(f)]
        words = {"air", "water", "quality", "traffic", "road", "bathing", "budget", "energy", "noise"}
        for domain in GEN.DOMAINS:
            words.update(subject.split()[0] for subject in domain[4])
        self.words = sorted(words)
        self.measures = sorted({m.split()[0] for m in GEN.MEASURES})
        self.themes = GEN.ALL_THEMES
        self.formats = sorted({row[3] for row in GEN.FORMAT_TABLE})

    def dataset_id(self, rng: random.Random) -> str:
        if self.visible.is_set() and rng.random() < 0.5:
            return GEN.dataset_id(rng.randrange(self.n))
        return rng.choice(self.sample_ids)

    def search(self, rng: random.Random, suffix: str) -> str:
        params: list[tuple[str, str]] = [("q", rng.choice(self.words))]
        if rng.random() < 0.4:
            params[0] = ("q", f"{params[0][1]} {rng.choice(self.measures)}")
        if rng.random() < 0.5:
            params.append(("theme", f"{EU}data-theme/{rng.choice(self.themes)}"))
        if rng.random() < 0.3:
            params.append(("format", f"{EU}file-type/{rng.choice(self.formats)}"))
        return f"/datasets{suffix}?{urlencode(params)}"

    def sparql(self, query: str) -> str:
        return "/sparql?" + urlencode({"query": query})

    def request(self, kind: str, rng: random.Random) -> tuple[str, dict[str, str]]:
        """The path and headers of one request of ``kind``."""
        if kind == "search-html":
            return self.search(rng, ""), {"Accept": "text/html"}
        if kind == "search-json":
            return self.search(rng, ".json"), {"Accept": "application/json"}
        if kind == "dataset-html":
            return f"/dataset/{self.dataset_id(rng)}", {"Accept": "text/html"}
        if kind == "dataset-ttl":
            return f"/dataset/{self.dataset_id(rng)}", {"Accept": "text/turtle"}
        if kind == "select-json":
            query = (
                f"{PREFIXES}SELECT ?d ?title WHERE {{ ?d a dcat:Dataset ; dct:title ?title }} "
                f"LIMIT 50 OFFSET {rng.randrange(0, 2000, 10)}"
            )
            return self.sparql(query), {"Accept": "application/sparql-results+json"}
        if kind == "select-csv":
            theme = f"<{EU}data-theme/{rng.choice(self.themes)}>"
            query = (
                f"{PREFIXES}SELECT ?d ?title ?modified WHERE {{ ?d dcat:theme {theme} ; dct:title ?title . "
                f"OPTIONAL {{ ?d dct:modified ?modified }} }} LIMIT 100 OFFSET {rng.randrange(0, 500, 10)}"
            )
            return self.sparql(query), {"Accept": "text/csv"}
        if kind == "construct-ttl":
            query = (
                f"{PREFIXES}CONSTRUCT {{ ?d dct:title ?t ; dct:publisher ?p . ?p foaf:name ?n }} WHERE {{ "
                "?d a dcat:Dataset ; dct:title ?t ; dct:publisher ?p . OPTIONAL { ?p foaf:name ?n } } "
                f"LIMIT 200 OFFSET {rng.randrange(0, 2000, 10)}"
            )
            return self.sparql(query), {"Accept": "text/turtle"}
        if kind == "describe-ttl":
            iri = f"{self.base}dataset/{self.dataset_id(rng)}"
            return self.sparql(f"DESCRIBE <{iri}>"), {"Accept": "text/turtle"}
        if kind == "expensive":
            nonce = f"# load {rng.getrandbits(48):x}\n"  # a cache miss every time
            query = rng.choice(
                [
                    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n)",
                    f"{PREFIXES}SELECT ?kw (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d dcat:keyword ?kw }} "
                    "GROUP BY ?kw ORDER BY DESC(?n) LIMIT 20",
                    f"{PREFIXES}SELECT (COUNT(*) AS ?n) WHERE {{ ?a dct:title ?t1 . ?b dct:title ?t2 "
                    "FILTER(STR(?t1) < STR(?t2)) }",
                ]
            )
            return self.sparql(nonce + query), {"Accept": "application/sparql-results+json"}
        raise ValueError(kind)


@dataclass
class Sample:
    kind: str
    start: float  # seconds since the load began
    ms: float
    status: int
    outcome: str  # ok | limit | error


def classify(status: int, body: bytes) -> str:
    if status in (200, 304):
        return "ok"
    if status == 503 and b"Query stopped" in body:
        return "limit"
    return "error"


class Clients:
    """``count`` client threads, each on its own kept-alive connection, until ``stop`` is set."""

    def __init__(self, port: int, workload: Workload, count: int, seed: int, max_requests: int) -> None:
        self.port = port
        self.workload = workload
        self.count = count
        self.seed = seed
        self.max_requests = max_requests
        self.samples: list[Sample] = []
        self.errors: dict[tuple[str, int], str] = {}
        self.stop = threading.Event()
        self.t0 = 0.0
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.t0 = time.monotonic()
        for i in range(self.count):
            thread = threading.Thread(
                target=self._run, args=(random.Random(self.seed * 1000 + i),), daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(REQUEST_TIMEOUT + 5)

    def _run(self, rng: random.Random) -> None:
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        conn: http.client.HTTPConnection | None = None
        while not self.stop.is_set():
            kind = rng.choices(kinds, weights)[0]
            path, headers = self.workload.request(kind, rng)
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                status, body = 0, f"{type(exc).__name__}: {exc}".encode()
                if conn is not None:
                    conn.close()
                conn = None
            ended = time.monotonic()
            outcome = classify(status, body)
            if outcome == "error":
                self.errors.setdefault((kind, status), f"{path[:150]} → {body[:200]!r}")
            self.samples.append(Sample(kind, started - self.t0, (ended - started) * 1000, status, outcome))
            if len(self.samples) >= self.max_requests:
                self.stop.set()
        if conn is not None:
            conn.close()


class Probe:
    """Asks every 100 ms whether one dataset of the new source is in the published graph."""

    def __init__(self, port: int, iri: str, visible: threading.Event) -> None:
        query = f"ASK {{ <{iri}> a <http://www.w3.org/ns/dcat#Dataset> }}"
        self.path = "/sparql?" + urlencode({"query": query})
        self.port = port
        self.visible = visible
        self.seen_at: float | None = None  # time.monotonic()
        self.asked = 0
        self.failed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def ask(self) -> bool | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", self.path, headers={"Accept": "application/sparql-results+json"})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                return None
            return bool(json.loads(body)["boolean"])
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            return None
        finally:
            conn.close()

    def _run(self) -> None:
        while not self.stop.is_set() and self.seen_at is None:
            tick = time.monotonic()
            answer = self.ask()
            self.asked += 1
            if answer is None:
                self.failed += 1
            elif answer:
                self.seen_at = time.monotonic()
                self.visible.set()
                return
            self.stop.wait(max(0.0, PROBE_EVERY - (time.monotonic() - tick)))


# ---------------------------------------------------------------- server and ingest


def kg_env(store: Path, base: str, query_timeout: float, ingest_workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(
        KG_STORE=str(store),
        KG_BASE_URI=base,
        KG_QUERY_TIMEOUT=str(query_timeout),
        KG_WORKERS=str(ingest_workers),
    )
    return env


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    argv = gunicorn_argv(port, workers)
    with open(log, "ab") as sink:  # a file, not a pipe: a full pipe would stall the server
        server = subprocess.Popen(argv, env=serve_env(env), stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_process(server)
            raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def stop_process(process: subprocess.Popen, wait: float = 15) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ingest_input(out: Path, n: int, seed: int) -> tuple[Path, str]:
    """The generated CSV folder (made once per n and seed) and the id of a dataset that will be published."""
    folder = out / f"input-n{n}-seed{seed}"
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        GEN.generate(n, seed, "csv", folder)
    manifest = json.loads(manifest_path.read_text())
    broken = {i for ids in manifest["broken"].values() for i in ids}
    probe = next(GEN.dataset_id(i) for i in range(n - 1, -1, -1) if GEN.dataset_id(i) not in broken)
    return folder / "csv", probe


def load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def warm(port: int, workload: Workload, count: int) -> None:
    """Every kind of request a few times, concurrently, so that each worker has opened the store and
    the search index and started its evaluator processes before anything is measured."""
    rng = random.Random(0)

    def one() -> None:
        for kind in WEIGHTS:
            if kind == "expensive":
                continue
            path, headers = workload.request(kind, rng)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            try:
                conn.request("GET", path, headers=headers)
                conn.getresponse().read()
            finally:
                conn.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"input: {args.n_ingest:,} generated records (seed {args.seed}, CSV)", flush=True)
    source, probe_id = ingest_input(out, args.n_ingest, args.seed)

    store = out / "store"
    shutil.rmtree(store, ignore_errors=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = kg_env(store, base, args.query_timeout, args.ingest_workers)
    sample = subprocess.run(
        [str(BIN / "kg"), "ingest", str(SAMPLE), "--source", "sample"],
        env=env,
        capture_output=True,
        text=True,
    )
    if sample.returncode != 0:
        raise RuntimeError(f"loading the sample failed: {sample.stderr}")
    log = out / "server.log"
    log.write_bytes(b"")
    server = start_server(env, port, args.workers, log)
    visible = threading.Event()
    workload = Workload(base, args.n_ingest, visible)
    probe = Probe(port, f"{base}dataset/{probe_id}", visible)
    if probe.ask() is not False:
        stop_process(server)
        raise RuntimeError(f"the probe does not answer false before the ingest ({base}dataset/{probe_id})")
    clients = Clients(port, workload, args.clients, args.seed, args.max_requests)
    ingest: subprocess.Popen | None = None
    ingest_log = out / "ingest.log"
    timeline = {"ingest_start": None, "ingest_exit": None}
    loads: list[float] = []
    stopped_ingest = False
    try:
        warm(port, workload, 4 * args.workers)
        print(
            f"load: {args.clients} clients on 127.0.0.1:{port} (gunicorn, {args.workers} workers); "
            f"ingest at +{args.ingest_at:.0f} s",
            flush=True,
        )
        clients.start()
        next_report = 10.0
        while True:
            now = time.monotonic() - clients.t0
            if ingest is None and now >= args.ingest_at:
                with open(ingest_log, "w") as sink:
                    ingest = subprocess.Popen(
                        [str(BIN / "kg"), "ingest", str(source), "--source", "bench"],
                        env=env,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                timeline["ingest_start"] = now
                probe.thread.start()
                print(f"  +{now:5.1f} s  ingest started (pid {ingest.pid})", flush=True)
            if ingest is not None and timeline["ingest_exit"] is None and ingest.poll() is not None:
                timeline["ingest_exit"] = now
                print(f"  +{now:5.1f} s  ingest exited ({ingest.returncode})", flush=True)
            exited = timeline["ingest_exit"]
            if exited is None:
                done = False
            elif probe.seen_at is not None:  # visible: keep the load on for --tail seconds more
                done = now >= max(exited, probe.seen_at - clients.t0) + args.tail
            else:  # exited, never visible (a failed ingest): give the probe a minute
                done = now >= exited + 60
            if clients.stop.is_set() or (now >= args.duration and done) or now >= args.max_duration:
                break
            if now >= next_report:
                loads.append(load_average())
                n = len(clients.samples)
                print(f"  +{now:5.1f} s  {n:,} requests, load {loads[-1]:.1f}", flush=True)
                next_report += 10.0
            time.sleep(0.05)
        if ingest is not None and ingest.poll() is None:  # --max-duration reached: bounded in time
            stopped_ingest = True
            stop_process(ingest, wait=30)
    finally:
        clients.join()
        probe.stop.set()
        elapsed = time.monotonic() - clients.t0 if clients.t0 else 0.0
        stop_process(server)
        if ingest is not None and ingest.poll() is None:
            stop_process(ingest, wait=30)
    return report(
        args,
        clients,
        probe,
        timeline,
        elapsed,
        ingest_returncode=None if ingest is None else ingest.returncode,
        ingest_text=ingest_log.read_text(errors="replace") if ingest_log.is_file() else "",
        stopped_ingest=stopped_ingest,
        loads=loads,
        probe_iri=f"{base}dataset/{probe_id}",
        server_log=log,
    )


# ---------------------------------------------------------------- figures


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sorted list."""
    if not sorted_values:
        return float("nan")
    index = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def summarize(samples: list[Sample], seconds: float) -> dict[str, Any]:
    times = sorted(s.ms for s in samples)
    return {
        "requests": len(samples),
        "per_s": round(len(samples) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(times, 50), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "errors": sum(s.outcome == "error" for s in samples),
        "limits": sum(s.outcome == "limit" for s in samples),
    }


def phase_of(sample: Sample, timeline: dict[str, float | None]) -> str:
    start, end = timeline["ingest_start"], timeline["ingest_exit"]
    if start is None or sample.start < start:
        return PHASES[0]
    if end is None or sample.start < end:
        return PHASES[1]
    return PHASES[2]


def ingest_figures(text: str) -> dict[str, Any]:
    """What ``kg ingest`` printed: records, published, quarantined and its own timing."""
    figures: dict[str, Any] = {}
    match = re.search(r"^(\d+) \(.*?\)\s+(\d+)\s+(\d+)", text, re.M)
    if match:
        figures.update(read=int(match[1]), published=int(match[2]), quarantined=int(match[3]))
    match = re.search(r"read, map and validate ([\d.]+) s, store ([\d.]+) s", text)
    if match:
        figures.update(validate_s=float(match[1]), store_s=float(match[2]))
    return figures


def versions() -> dict[str, str]:
    names = ("pyoxigraph", "rdflib", "pyshacl", "flask", "gunicorn")
    return {"python": platform.python_version(), **{n: package_version(n, "?") for n in names}}


def machine() -> dict[str, str]:
    cpu, ram = cpu_model() or "?", memory() or "?"
    return {"cores": str(os.cpu_count()), "cpu": cpu, "memory": ram, "system": platform.platform()}


def report(args, clients: Clients, probe: Probe, timeline, elapsed: float, **facts) -> dict[str, Any]:
    samples = clients.samples
    kinds = {kind: summarize([s for s in samples if s.kind == kind], elapsed) for kind in WEIGHTS}
    start, end = timeline["ingest_start"], timeline["ingest_exit"]
    bounds = {
        PHASES[0]: (0.0, start if start is not None else elapsed),
        PHASES[1]: (start, end if end is not None else elapsed) if start is not None else (0.0, 0.0),
        PHASES[2]: (end, elapsed) if end is not None else (0.0, 0.0),
    }
    phases = {
        name: {
            **summarize([s for s in samples if phase_of(s, timeline) == name], hi - lo),
            "seconds": round(hi - lo, 1),
        }
        for name, (lo, hi) in bounds.items()
    }
    by_phase_and_kind = {
        name: {
            kind: summarize([s for s in samples if s.kind == kind and phase_of(s, timeline) == name], hi - lo)
            for kind in WEIGHTS
        }
        for name, (lo, hi) in bounds.items()
    }
    seen = probe.seen_at - clients.t0 if probe.seen_at is not None else None
    ingest = {
        "records_requested": args.n_ingest,
        "returncode": facts["ingest_returncode"],
        "stopped_at_max_duration": facts["stopped_ingest"],
        "started_s": None if start is None else round(start, 2),
        "exited_s": None if end is None else round(end, 2),
        "duration_s": None if start is None or end is None else round(end - start, 2),
        "visible_s": None if seen is None else round(seen, 2),
        "visible_after_start_s": None if seen is None or start is None else round(seen - start, 2),
        "visible_after_exit_s": None if seen is None or end is None else round(seen - end, 2),
        "probe": {"iri": facts["probe_iri"], "asked": probe.asked, "unanswered": probe.failed},
        **ingest_figures(facts["ingest_text"]),
    }
    server_log = facts["server_log"].read_text(errors="replace")
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/load.py", *sys.argv[1:]]),
        "settings": {
            "clients": args.clients,
            "duration": args.duration,
            "max_duration": args.max_duration,
            "workers": args.workers,
            "query_timeout": args.query_timeout,
            "ingest_workers": args.ingest_workers,
            "ingest_at": args.ingest_at,
            "seed": args.seed,
        },
        "elapsed_s": round(elapsed, 1),
        "total": summarize(samples, elapsed),
        "kinds": kinds,
        "phases": phases,
        "phases_by_kind": by_phase_and_kind,
        "ingest": ingest,
        "errors": {f"{kind} {status}": text for (kind, status), text in sorted(clients.errors.items())},
        "server_log_internal_errors": server_log.count("ERROR in errors: internal error"),
        "load_average_max": max(facts["loads"], default=float("nan")),
        "machine": machine(),
        "versions": versions(),
    }


def _ms(value: float) -> str:
    return "-" if value != value else f"{value:,.1f}"  # NaN: no requests


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| kind | requests | req/s | p50 ms | p99 ms | errors | intended limits |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    rows = [*result["kinds"].items(), ("**all**", result["total"])]
    for name, row in rows:
        lines.append(
            f"| {name} | {row['requests']:,} | {row['per_s']:,.1f} | {_ms(row['p50_ms'])} | "
            f"{_ms(row['p99_ms'])} | {row['errors']:,} | {row['limits']:,} |"
        )
    lines += [
        "",
        "| phase | seconds | requests | req/s | p50 ms | p99 ms | errors | intended limits |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in result["phases"].items():
        lines.append(
            f"| {name} | {row['seconds']:,.1f} | {row['requests']:,} | {row['per_s']:,.1f} | "
            f"{_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} | {row['errors']:,} | {row['limits']:,} |"
        )
    return lines


def ingest_sentence(result: dict[str, Any]) -> str:
    ing = result["ingest"]
    if ing["started_s"] is None:
        return "The ingest did not start."
    workers = result["settings"]["ingest_workers"]
    text = f"Ingest of {ing['records_requested']:,} generated records (`kg ingest`, CSV, {workers} workers)"
    if "read" in ing:
        text += f": {ing['read']:,} records read, {ing['published']:,} published, "
        text += f"{ing['quarantined']:,} quarantined"
    if ing["duration_s"] is not None:
        text += f"; it ran {ing['duration_s']:,.1f} s under load (exit code {ing['returncode']})"
        if "validate_s" in ing:
            text += f", of which read, map and validate {ing['validate_s']} s and store {ing['store_s']} s"
    elif ing["stopped_at_max_duration"]:
        text += "; stopped unfinished at --max-duration"
    text += ". "
    if ing["visible_s"] is None:
        text += "The new data never became visible to the probe."
    else:
        after = ing["visible_after_exit_s"]
        when = "before the process exited" if after is not None and after < 0 else "after the process exited"
        text += (
            f"New data visible (`ASK` on `{ing['probe']['iri'].rsplit('/', 2)[-2]}/"
            f"{ing['probe']['iri'].rsplit('/', 1)[-1]}`, polled every 100 ms) "
            f"{ing['visible_after_start_s']:,.2f} s after the ingest started"
        )
        if after is not None:
            text += f", {abs(after):.2f} s {when}"
        text += f" ({ing['probe']['asked']:,} probes, {ing['probe']['unanswered']} unanswered)."
    return text


def section(result: dict[str, Any]) -> str:
    m, v, s = result["machine"], result["versions"], result["settings"]
    lines = [
        HEADING,
        "",
        f"`{result['command']}`, {result['when']}.",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, {m['system']}; "
        f"Python {v['python']}, pyoxigraph {v['pyoxigraph']}, rdflib {v['rdflib']}, pyshacl {v['pyshacl']}, "
        f"Flask {v['flask']}, gunicorn {v['gunicorn']}.",
        "",
        f"`kg serve`'s gunicorn, {s['workers']} uvicorn workers, on loopback, store = "
        f"the bundled sample; `KG_QUERY_TIMEOUT={s['query_timeout']:g}`. {s['clients']} client "
        f"threads (kept-alive connections, no think time) for {result['elapsed_s']:,.1f} s, the "
        f"weighted mix of the docstring of `bench/load.py`; the ingest started at +{s['ingest_at']:g} s. "
        'Latencies are of every answered request of the kind; *intended limits* are 503 "Query '
        'stopped" (the time limit cutting a heavy query), *errors* everything else that is not '
        f"200/304. Clients, server, evaluators and the ingest share the {m['cores']} cores (highest "
        f"1-minute load average seen: {result['load_average_max']:.1f}).",
        "",
        *table(result),
        "",
        ingest_sentence(result),
    ]
    if result["errors"]:
        lines += ["", "First error of each kind and status:", ""]
        lines += [f"- {key}: `{text}`" for key, text in result["errors"].items()]
    lines += ["", f"Internal errors in the server log: {result['server_log_internal_errors']}."]
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], path: Path = RESULTS) -> None:
    """Replace the "## Load" section (or append it); every other section is left as it is."""
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    new = section(result)
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: new + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + new
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load at least (default 60)")
    parser.add_argument(
        "--max-duration", type=float, default=900, help="seconds of load at most (default 900)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--n-ingest", type=int, default=10_000, help="records to ingest (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "load"), help="working folder")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--query-timeout", type=float, default=2.0, help="KG_QUERY_TIMEOUT (default 2)")
    parser.add_argument("--ingest-workers", type=int, default=2, help="KG_WORKERS of the ingest (default 2)")
    parser.add_argument(
        "--ingest-at", type=float, default=10, help="start the ingest after this many seconds"
    )
    parser.add_argument("--tail", type=float, default=30, help="seconds of load once the new data is visible")
    parser.add_argument("--max-requests", type=int, default=500_000, help="stop after this many requests")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.max_duration < args.duration or args.n_ingest < 1:
        parser.error("need --clients >= 1, --n-ingest >= 1 and 0 < --duration <= --max-duration")
    result = run(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (Path(args.out) / f"load-{stamp}.json").write_text(json.dumps(result, indent=1))
    print("\n" + section(result))
    if not args.no_write:
        write_results(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
