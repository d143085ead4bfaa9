"""Browsing-UI benchmark: p50/p95 latency of dataset search and dataset pages at 100,000 datasets.

The store: N synthetic datasets (``bench/generate.py``, Turtle, seeded) loaded
into one generation with :meth:`kg.store.Store.write`, the way an ingest
leaves it without the SHACL pass (source graph ``{base}graph/bench``, the
controlled vocabularies, the catalogue description), with the search-index
builder (:func:`kg.search.build_index`) registered, so ``search.sqlite`` is
built exactly as on ingest; its build time and size are reported. The store
is cached under ``bench/out/ui-store-n<N>-seed<S>`` (the Turtle of
``bench/endpoint.py`` is reused when it is there: same generator, same bytes).

With ``--ingested`` the store is made by the real pipeline instead:
``kg.ingest.ingest`` of the generator's CSV folder (read, map, SHACL, quarantine,
quality, the per-record findings in the report graph), cached under
``bench/out/ui-store-n<N>-seed<S>-ingested``. That is what a deployment serves:
a dataset page shows the findings the ingest stored. Without it, the store has
no stored findings and every dataset page validates its record on demand.

The app runs as ``tests/live.py`` and ``kg serve`` run it: gunicorn, uvicorn workers
serving ``app:front`` (``--threads N``: the former gthread workers of ``app:app``), on
loopback, ``KG_BASE_URI`` = the generator's base so dataset IRIs are served
by this app. One client sends the requests one after another over a kept-alive
connection (latency, not throughput), after a warm-up that lets every worker
open the index:

* **search**: ``/datasets?q=<subject> <measure>&theme=<t>&format=<f>``, no two
  requests alike (the per-process cache of text matches never answers);
* **search-broad**: ``/datasets?q=<one common word>``, relevance-ranked, no
  facet, successive pages: the widest text matches (10 to 32 % of the datasets, and
  "published", found in every description, in one request out of 13);
* **dataset-page**: ``GET /dataset/ds-…`` with ``Accept: text/html``, random
  datasets (skipped with a note while the dataset page is not there yet).

Usage::

    .venv/bin/python bench/ui.py                       # 100,000 datasets, 300 requests each
    .venv/bin/python bench/ui.py --n 10000 --requests 100 --no-write

Results go to ``bench/RESULTS.md`` under "UI" (that section only is replaced;
``--no-write`` leaves the file alone) and, in full, to ``bench/out/ui-<time>.json``.
Target: p95 under 100 ms for search and for the dataset page.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import free_port, generator, gunicorn_argv, serve_env  # noqa: E402

OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## UI"
TARGET_MS = 100.0
EU = "http://publications.europa.eu/resource/authority/"


GEN = generator()
BASE = GEN.BASE


# ---------------------------------------------------------------- store


def build_store(n: int, seed: int, out: Path = OUT) -> tuple[Path, dict[str, Any]]:
    """The store for (n, seed) with its search index, built once; returns it and the index facts."""
    from kg.catalog import catalog_graph, catalog_ntriples
    from kg.ingest import vocabulary_ntriples
    from kg.iris import Minter
    from kg.search import INDEX_FILE, build_index
    from kg.settings import load_settings
    from kg.store import Store

    folder = out / f"ui-store-n{n}-seed{seed}"
    facts_file = folder / "index-build.json"
    store = Store(folder)
    if store.version() and (store.folder() / INDEX_FILE).is_file() and facts_file.is_file():
        return folder, json.loads(facts_file.read_text())
    ttl = out / f"endpoint-input-n{n}-seed{seed}" / "catalog.ttl"
    if not ttl.is_file():
        started = time.perf_counter()
        ttl = GEN.generate(n, seed, "ttl", out / f"ui-input-n{n}-seed{seed}")
        print(f"  generated {n:,} datasets in {time.perf_counter() - started:.1f}s: {ttl}", flush=True)
    timing: dict[str, float] = {}

    def timed(generation) -> None:
        t0 = time.perf_counter()
        build_index(generation)
        timing["index_seconds"] = time.perf_counter() - t0

    store.add_builder(timed)
    settings = load_settings({}, store=folder, base_uri=BASE)
    started = time.perf_counter()
    with store.write() as writer:
        writer.load(ttl, graph=f"{BASE}graph/bench", fmt="ttl")
        writer.load_text(vocabulary_ntriples(), graph=Minter(BASE).vocabulary_graph())
        writer.load_text(catalog_ntriples(settings), graph=catalog_graph(settings))
    total = time.perf_counter() - started
    index = store.folder() / INDEX_FILE
    facts = {
        "n": n,
        "seed": seed,
        "load_and_index_seconds": round(total, 1),
        "index_seconds": round(timing["index_seconds"], 1),
        "index_bytes": index.stat().st_size,
    }
    facts_file.write_text(json.dumps(facts, indent=1))
    print(f"  stored in {total:.1f}s, of which the search index {timing['index_seconds']:.1f}s", flush=True)
    return folder, facts


def ingested_store(n: int, seed: int, out: Path = OUT) -> tuple[Path, dict[str, Any]]:
    """The store for (n, seed) made by a real ingest of the generated CSV folder, built once."""
    from kg.ingest import ingest
    from kg.search import INDEX_FILE
    from kg.settings import load_settings
    from kg.store import Store

    folder = out / f"ui-store-n{n}-seed{seed}-ingested"
    facts_file = folder / "ingest.json"
    store = Store(folder)
    if store.version() and (store.folder() / INDEX_FILE).is_file() and facts_file.is_file():
        return folder, json.loads(facts_file.read_text())
    csv = out / f"ui-input-n{n}-seed{seed}-csv"
    if not (csv / "datasets.csv").is_file():
        csv = GEN.generate(n, seed, "csv", csv)
    started = time.perf_counter()
    settings = load_settings({}, store=folder, base_uri=BASE)
    summary = ingest(str(csv), settings=settings, source="bench", fmt="csv")
    total = time.perf_counter() - started
    facts = {
        "n": n,
        "seed": seed,
        "ingested": True,
        "ingest_seconds": round(total, 1),
        "published": summary.published,
        "quarantined": summary.quarantined,
        "index_bytes": (Store(folder).folder() / INDEX_FILE).stat().st_size,
    }
    facts_file.write_text(json.dumps(facts, indent=1))
    print(f"  ingested in {total:.1f}s: {summary.published:,} published, {summary.quarantined:,} quarantined")
    return folder, facts


def incremental_update(folder: Path) -> dict[str, Any]:
    """Time the index update when one small source is written next to the big one (then removed)."""
    from kg.search import build_index
    from kg.store import Store

    store = Store(folder)
    timing: list[float] = []

    def timed(generation) -> None:
        t0 = time.perf_counter()
        build_index(generation)
        timing.append(time.perf_counter() - t0)

    store.add_builder(timed)
    graph = f"{BASE}graph/bench-small"
    ttl = (
        f"<{BASE}dataset/bench-extra> a <http://www.w3.org/ns/dcat#Dataset> ; "
        '<http://purl.org/dc/terms/title> "Extra benchmark dataset"@en .\n'
    )
    store.put_graph(graph, ttl.encode(), "ttl")
    store.delete_graph(graph)
    return {"add_one_dataset_seconds": round(timing[0], 2), "remove_it_seconds": round(timing[1], 2)}


# ---------------------------------------------------------------- requests


def search_paths(n: int, seed: int, count: int) -> list[str]:
    """Distinct search requests: a subject and a measure word, a theme and a format of that domain."""
    rng = random.Random(seed)
    formats = [row[3] for row in GEN.FORMAT_TABLE]
    combos = [
        (subject, measure, theme)
        for domain in GEN.DOMAINS
        for subject in domain[4]
        for measure in GEN.MEASURES
        for theme in domain[2][:1]
    ]
    rng.shuffle(combos)
    paths = []
    for subject, measure, theme in combos[:count]:
        query = [
            ("q", f"{subject.split()[0]} {measure.split()[0]}"),
            ("theme", f"{EU}data-theme/{theme}"),
            ("format", f"{EU}file-type/{rng.choice(formats)}"),
        ]
        paths.append("/datasets?" + urllib.parse.urlencode(query))
    return paths


def broad_paths(count: int) -> list[str]:
    """One common word each (10,000 to 32,000 matches; "published" is in every description)."""
    words = sorted({m.split()[0] for m in GEN.MEASURES} | {"published", "region", "data"})
    return [f"/datasets?q={words[i % len(words)]}&page={1 + i // len(words)}" for i in range(count)]


def dataset_paths(n: int, seed: int, count: int) -> list[str]:
    rng = random.Random(seed + 1)
    return [f"/dataset/{GEN.dataset_id(rng.randrange(n))}" for _ in range(count)]


def measure(port: int, paths: list[str], accept: str) -> dict[str, Any]:
    """Latencies (ms) of the requests, one after another on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, statuses = [], {}
    for path in paths:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept": accept})
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - t0) * 1000)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.status != 200 and statuses[response.status] == 1:
            print(f"  {response.status} for {path}: {body[:200]!r}", flush=True)
    conn.close()
    times.sort()
    return {
        "requests": len(times),
        "p50_ms": round(_percentile(times, 50), 2),
        "p95_ms": round(_percentile(times, 95), 2),
        "max_ms": round(times[-1], 2),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def probe(port: int, paths: list[str], limit: float = 20.0) -> str | None:
    """None if the dataset page answers 200 within ``limit`` seconds, else why it is not measured."""
    for path in paths:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=limit)
        try:
            conn.request("GET", path, headers={"Accept": "text/html"})
            response = conn.getresponse()
            response.read()
        except TimeoutError:
            return f"not measured: {path} took more than {limit:.0f} s"
        finally:
            conn.close()
        if response.status != 200:
            return f"not measured: {path} answered {response.status}"
    return None


def _percentile(sorted_values: list[float], p: float) -> float:
    index = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


# ---------------------------------------------------------------- server


def serve(store: Path, workers: int, threads: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "KG_STORE": str(store), "KG_BASE_URI": BASE}
    argv = gunicorn_argv(port, workers, threads)
    log = OUT / "ui-server.log"  # a file, not a pipe: a full pipe would stall the server's access log
    with open(log, "ab") as sink:
        server = subprocess.Popen(argv, env=serve_env(env), stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(
                    f"server did not start: {log.read_text(errors='replace')[-2000:]}"
                ) from None
            time.sleep(0.2)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    print(f"store of {args.n:,} datasets (seed {args.seed})", flush=True)
    store, facts = (ingested_store if args.ingested else build_store)(args.n, args.seed)
    if args.incremental:
        facts.update(incremental_update(store))
    server, port = serve(store, args.workers, args.threads)
    rows: dict[str, Any] = {}
    try:
        warm = [f"/datasets?q=warm{i}" for i in range(4 * args.workers)]
        t0 = time.perf_counter()
        measure(port, warm[:1], "text/html")
        first_ms = (time.perf_counter() - t0) * 1000
        measure(port, warm, "text/html")
        plans = {
            "search": (search_paths(args.n, args.seed, args.requests), "text/html"),
            "search-json": (search_paths(args.n, args.seed + 7, args.requests), "application/json"),
            "search-broad": (broad_paths(args.requests), "text/html"),
        }
        for name, (paths, accept) in plans.items():
            rows[name] = measure(port, paths, accept)
            print(f"  {name}: {rows[name]}", flush=True)
        why = probe(port, dataset_paths(args.n, 99, 2 * args.workers))  # last: a slow page may hog a worker
        if why is None:
            rows["dataset-page"] = measure(port, dataset_paths(args.n, args.seed, args.requests), "text/html")
        else:
            rows["dataset-page"] = {"skipped": why}
        print(f"  dataset-page: {rows['dataset-page']}", flush=True)
    finally:
        stop(server)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "n": args.n,
        "seed": args.seed,
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads"
        if args.threads
        else f"kg serve: gunicorn, {args.workers} uvicorn workers",
        "first_request_ms": round(first_ms, 1),
        "index": facts,
        "rows": rows,
        "machine": {"nproc": str(os.cpu_count()), "python": platform.python_version()},
    }


# ---------------------------------------------------------------- report


def section(result: dict[str, Any]) -> str:
    facts = result["index"]
    lines = [
        HEADING,
        "",
        f"`bench/ui.py`, {result['when']}: {result['n']:,} datasets, {result['server']}, "
        f"one client, requests one after another; {result['machine']['nproc']} cores, "
        f"Python {result['machine']['python']}. Target: p95 < {TARGET_MS:.0f} ms.",
        "",
        "| request | what | requests | p50 ms | p95 ms | max ms | target |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    what = {
        "search": "`/datasets?q=<2 words>&theme=…&format=…` (HTML)",
        "search-json": "the same as JSON (`Accept: application/json`)",
        "search-broad": "`/datasets?q=<one common word>` (10-100 % of the datasets match)",
        "dataset-page": "`GET /dataset/<id>`, `Accept: text/html`",
    }
    for name, row in result["rows"].items():
        if "skipped" in row:
            lines.append(f"| {name} | {what[name]} | - | - | - | - | {row['skipped']} |")
            continue
        verdict = "met" if row["p95_ms"] < TARGET_MS else "MISSED"
        lines.append(
            f"| {name} | {what[name]} | {row['requests']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} "
            f"| {row['max_ms']:.1f} | {verdict} |"
        )
    if facts.get("ingested"):
        store = (
            f"Store: made by `kg.ingest.ingest` of the generated CSV folder in {facts['ingest_seconds']} s "
            f"({facts['published']:,} records published, {facts['quarantined']:,} quarantined; the "
            f"dataset pages show the findings the ingest stored); search index "
            f"{facts['index_bytes'] / 1e6:.0f} MB"
        )
    else:
        store = (
            f"Store: the generated Turtle bulk-loaded without the SHACL pass (no stored findings: a "
            f"dataset page validates its record on demand). Search index (`search.sqlite`, SQLite FTS5): "
            f"built in {facts['index_seconds']} s ({facts['index_bytes'] / 1e6:.0f} MB), within a "
            f"{facts['load_and_index_seconds']} s store write"
        )
    flag = " --ingested" if facts.get("ingested") else ""
    lines += [
        "",
        f"{store}; first request of a fresh worker (opens the index) {result['first_request_ms']} ms.",
        "",
        f"Reproduce: `.venv/bin/python bench/ui.py{flag}` (the store is built once and cached under "
        "`bench/out/`; add `--no-write` to leave this file alone).",
    ]
    if "add_one_dataset_seconds" in facts:
        lines[-1] += (
            f" Incremental update for a one-dataset source written beside the {result['n']:,}: "
            f"{facts['add_one_dataset_seconds']} s (removing it again: {facts['remove_it_seconds']} s)."
        )
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], path: Path = RESULTS) -> None:
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    new = section(result)
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(lambda _: new + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + new
    )
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="datasets in the store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300, help="requests per kind")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=0, help="gthread threads per worker (0, default: kg serve's workers)"
    )
    parser.add_argument("--incremental", action="store_true", help="also time an incremental index update")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument(
        "--ingested", action="store_true", help="serve a store made by kg.ingest (stored findings)"
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    result = benchmark(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (OUT / f"ui-{stamp}.json").write_text(json.dumps(result, indent=1))
    print("\n" + section(result))
    if not args.no_write:
        write_results(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
