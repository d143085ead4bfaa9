"""Browsing-UI benchmark: p50/p95/max latency of every page kind and its JSON twin, distinct requests.

Every route a person or a harvester reads (:mod:`bench.ui_routes`): home, search (with facets,
with a sort, common words only, no words), dataset, distribution, data service and agency pages
(HTML, JSON, and the Turtle and JSON-LD their IRIs negotiate), ``/resource?uri=``,
``/agencies``, ``/quality`` (the store, a source, an agency), ``/catalog`` pages in every syntax,
VoID in its syntaxes and the query editor. No URL is asked twice, so no cache answers; the first
request of each kind on the fresh server counts like the others and is also shown alone.

The store (:mod:`bench.ui_store`): ``--store DIR``, an existing one; else N generated datasets
bulk-loaded (the default: fast, but nothing validated or measured, so ``/quality`` is empty) or
made by a real ingest (``--ingested``), cached under ``bench/out/``. Either way its layout is
checked against this code's (a store made before the derived data is refused).

The server is the one ``kg serve`` starts, run by the served checkout's own ``kg serve`` (``--root``:
another checkout, e.g. the commit a branch started from, for before/after runs on the same store),
``KG_BASE_URI`` = the generator's base. One client sends the requests one after another over a
kept-alive connection (latency, not throughput), the kinds interleaved (one request of each kind
per round), so that no kind warms the caches for its own next request more than a mixed audience
would. Beside each row: the server's CPU per request (master, workers and evaluators, from
/proc), which says what a page costs whatever else the machine runs.

``--new-generation``: after the rounds, a one-triple graph is written (a new generation, as an
ingest while the app serves), then one request of each kind, each the first of its kind on it;
the graph is removed again afterwards (it writes to the store: use a copy of someone else's).
``--profile`` instead builds three pages of each kind in this process and prints every store
query a page makes, with its time.

Usage::

    .venv/bin/python bench/ui.py --ingested                      # 100,000 datasets, real ingest
    .venv/bin/python bench/ui.py --ingested --n 1000000 --requests 100
    .venv/bin/python bench/ui.py --store DIR --n 100000 --root ../base --no-write   # before/after
    .venv/bin/python bench/ui.py --n 2000 --requests 20 --new-generation --no-write

Prints a table per row; results go to ``bench/RESULTS.md`` under "UI" (that section only is
replaced; ``--no-write`` leaves the file alone) and, in full, to ``bench/out/ui-<time>.json``.
Targets: at 100,000 datasets p95 < 100 ms and p50 < 30 ms; at 1,000,000 p95 < 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Client, ProcessTree, Server, commit, cpu_model, memory, percentile  # noqa: E402
from bench.ui_routes import Row, plans  # noqa: E402
from bench.ui_store import (  # noqa: E402
    BASE,
    OUT,
    bulk_store,
    drop_generation_graph,
    ingested_store,
    require_current,
    settings_for,
    store_facts,
    write_generation,
)

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## UI"


def targets(n: int) -> tuple[float | None, float]:
    """(p50, p95) targets in ms for a catalogue of ``n`` datasets."""
    return (30.0, 100.0) if n <= 100_000 else (None, 250.0)


# ---------------------------------------------------------------- running


def make_store(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    if args.store:
        folder = args.store.resolve()
        known = next(
            (folder / name for name in ("ingest.json", "bulk.json") if (folder / name).is_file()), None
        )
        facts = json.loads(known.read_text()) if known else {"made": "given"}
    else:
        print(f"store of {args.n:,} datasets (seed {args.seed})", flush=True)
        folder, facts = (ingested_store if args.ingested else bulk_store)(args.n, args.seed, args.out)
    require_current(folder)
    return folder, {**facts, "path": str(folder)}


def chosen(args: argparse.Namespace, rows: list[Row]) -> list[Row]:
    """The rows ``--only`` names (a row, or a kind: ``catalog`` is every ``catalog-…`` row)."""
    wanted = [w for w in args.only.split(",") if w]
    return [r for r in rows if not wanted or any(r.name == w or r.name.startswith(w + "-") for w in wanted)]


def rounds(client: Client, rows: list[Row], tree: ProcessTree) -> dict[str, dict[str, Any]]:
    """Every measured request once, one of each kind per round; latency, status and server CPU."""
    log: dict[str, dict[str, list]] = {r.name: {"ms": [], "statuses": [], "cpu": []} for r in rows}
    for i in range(max((len(r.measured) for r in rows), default=0)):
        tree.refresh()
        for row in rows:
            if i < len(row.measured):
                path, accept = row.measured[i]
                before = tree.ticks()
                status, ms, _ = client.get(path, accept)
                spent = tree.spent(before, tree.ticks())
                entry = log[row.name]
                entry["ms"].append(ms)
                entry["statuses"].append(status)
                entry["cpu"].append(spent)
                if status != "200" and entry["statuses"].count(status) == 1:
                    print(f"  {status} for {path} ({accept})", flush=True)
        if i % 20 == 19:
            print(f"  round {i + 1}", flush=True)
    return {name: summary(entry) for name, entry in log.items()}


def summary(entry: dict[str, list]) -> dict[str, Any]:
    times = sorted(entry["ms"])
    statuses: dict[str, int] = {}
    for status in entry["statuses"]:
        statuses[status] = statuses.get(status, 0) + 1
    killed = {"503", "timeout", "error"} & set(statuses)  # a killed evaluator took its CPU with it
    cpu = None if killed or not times else round(sum(entry["cpu"]) * 1000 / len(times), 1)
    return {
        "requests": len(times),
        "first_ms": round(entry["ms"][0], 1) if times else None,
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "max_ms": round(times[-1], 1) if times else 0.0,
        "server_cpu_ms_per_request": cpu,
        "statuses": statuses,
    }


def first_on_new_generation(client: Client, rows: list[Row], store: Path) -> dict[str, Any]:
    """Write a new generation, then the held-back request of each kind: the first on it."""
    out: dict[str, Any] = {"write_seconds": round(write_generation(store), 2), "rows": {}}
    try:
        for row in rows:
            if row.held_back:
                status, ms, _ = client.get(*row.held_back)
                out["rows"][row.name] = {"ms": round(ms, 1), "status": status}
    finally:
        out["remove_seconds"] = round(drop_generation_graph(store), 2)
    return out


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    store, facts = make_store(args)
    known = store_facts(store)
    if not 0.9 * args.n <= known.datasets <= args.n:
        print(f"  warning: the store has {known.datasets:,} datasets for --n {args.n:,}", flush=True)
    rows = chosen(args, plans(args.n, args.seed, args.requests, known, settings_for(store).catalog_page_size))
    for row in rows:
        if row.skipped:
            print(f"  {row.name}: skipped, {row.skipped}", flush=True)
    live = [r for r in rows if not r.skipped]
    load = os.getloadavg()
    server = Server(args.root, store, BASE, args.workers, args.out / "ui-server.log")
    server.start()
    client = Client(server.port, args.timeout)
    try:
        started = time.perf_counter()
        measured = rounds(client, live, ProcessTree(server.process.pid))
        seconds = time.perf_counter() - started
        fresh = first_on_new_generation(client, live, store) if args.new_generation else None
    finally:
        client.close()
        server.stop()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "root": str(args.root),
        "commit": commit(args.root),
        "n": args.n,
        "seed": args.seed,
        "workers": args.workers,
        "store": facts,
        "store_datasets": known.datasets,
        "rows": {r.name: {"what": r.what, **(measured.get(r.name) or {"skipped": r.skipped})} for r in rows},
        "new_generation": fresh,
        "seconds": round(seconds, 1),
        "load": {"before": load, "after": os.getloadavg()},
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "memory": memory(),
            "python": platform.python_version(),
        },
    }


# ---------------------------------------------------------------- report


def verdict(row: dict[str, Any], n: int) -> str:
    if not row["requests"]:  # nothing answered is no evidence that the target holds
        return "MISSED: no request measured"
    p50, p95 = targets(n)
    missed = [f"p95 ≥ {p95:.0f}"] if row["p95_ms"] >= p95 else []
    if p50 is not None and row["p50_ms"] >= p50:
        missed.append(f"p50 ≥ {p50:.0f}")
    bad = {s: c for s, c in row["statuses"].items() if s != "200"}
    if bad:
        missed.append(f"statuses {bad}")
    return "met" if not missed else "MISSED: " + ", ".join(missed)


def table(result: dict[str, Any]) -> list[str]:
    n = result["n"]
    lines = [
        "| page | what | requests | first ms | p50 ms | p95 ms | max ms | server CPU ms/request | target |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name, row in result["rows"].items():
        if "skipped" in row:
            lines.append(f"| {name} | {row['what']} | - | - | - | - | - | - | skipped: {row['skipped']} |")
            continue
        cpu = row["server_cpu_ms_per_request"]
        figures = [row[k] for k in ("requests", "first_ms", "p50_ms", "p95_ms", "max_ms")]
        cells = [name, row["what"], *figures, "-" if cpu is None else cpu, verdict(row, n)]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    fresh = result.get("new_generation")
    if fresh:
        lines += [
            "",
            f"First request of each kind on a new generation (a one-triple graph written in "
            f"{fresh['write_seconds']} s while serving; removed again in {fresh['remove_seconds']} s):",
            "",
            "| page | ms | status |",
            "|---|--:|---|",
            *(f"| {name} | {r['ms']} | {r['status']} |" for name, r in fresh["rows"].items()),
        ]
    return lines


def store_line(result: dict[str, Any]) -> str:
    facts = result["store"]
    made, rss = facts.get("made"), facts.get("peak_rss_mb", {})
    if made == "ingested":
        what = (
            f"made by `kg.ingest.run.ingest` of the generated CSV folder in {facts['ingest_seconds']} s "
            f"({facts['published']:,} published, {facts['quarantined']:,} quarantined), peak RSS "
            f"{rss['main']:,} MB (largest worker {rss['largest_worker']:,} MB)"
        )
    elif made == "bulk":
        what = (
            "the generated Turtle bulk-loaded without the SHACL pass in "
            f"{facts['load_and_derive_seconds']} s (no findings, no quality data)"
        )
    else:
        what = f"given (`{facts['path']}`)"
    return f"Store: {result['store_datasets']:,} datasets in the search index, {what}."


def section(result: dict[str, Any]) -> str:
    p50, p95 = targets(result["n"])
    target = f"p95 < {p95:.0f} ms" + (f" and p50 < {p50:.0f} ms" if p50 else "")
    load = ", ".join(f"{x:.1f}" for x in result["load"]["before"])
    machine = result["machine"]
    lines = [
        HEADING,
        "",
        f"`bench/ui.py`, {result['when']}, commit {result['commit']}: {result['n']:,} datasets, "
        f"`kg serve` with {result['workers']} workers, one client, requests one after another, kinds "
        f"interleaved, no URL twice; {machine['nproc']} cores ({machine['cpu']}), {machine['memory']}, "
        f"Python {machine['python']}, load average before {load}. Target: {target}.",
        "",
        *table(result),
        "",
        store_line(result),
        "",
        f"Reproduce: `{result['command']}` (add `--no-write` to leave this file alone).",
    ]
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], path: Path = RESULTS) -> None:
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    new = section(result)
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: new + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + new
    path.write_text(text)


# ---------------------------------------------------------------- in-process profile


def profile(args: argparse.Namespace) -> None:
    """Three pages of each kind built in this process, each store query of the second one timed."""
    from kg.web.app import build_app

    store, _ = make_store(args)
    rows = chosen(
        args, plans(args.n, args.seed, 3, store_facts(store), settings_for(store).catalog_page_size)
    )
    app = build_app(settings_for(store))
    pages = app.extensions["kg_pages"]
    log: list[tuple[float, str]] = []
    query = pages.query

    def timed(sparql: str, **kwargs: Any):
        started = time.perf_counter()
        try:
            return query(sparql, **kwargs)
        finally:
            log.append(((time.perf_counter() - started) * 1000, " ".join(sparql.split())))

    pages.query = timed
    client = app.test_client()
    for row in rows:
        for i, (path, accept) in enumerate(row.measured):
            log.clear()
            cpu, started = time.process_time(), time.perf_counter()
            response = client.get(path, headers={"Accept": accept})
            wall, cpu = (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000
            print(
                f"{row.name} {path}: {response.status_code}, {wall:.1f} ms ({cpu:.1f} ms CPU here), "
                f"{len(log)} store queries, {sum(t for t, _ in log):.1f} ms in them"
            )
            if i == 1:  # the first may start the evaluators
                for ms, text in log:
                    print(f"    {ms:8.1f} ms  {text[:160]}")
    pages.query = query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="datasets generated (of --store: its N)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed, and of the requests drawn")
    parser.add_argument("--requests", type=int, default=200, help="distinct requests per row (at most)")
    parser.add_argument("--workers", type=int, default=2, help="kg serve --workers")
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
    parser.add_argument(
        "--only", default="", help="comma-separated rows or kinds (e.g. catalog,dataset-json)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument(
        "--store", type=Path, help="serve this existing store (made from the generator's data)"
    )
    parser.add_argument(
        "--ingested", action="store_true", help="make the store by a real ingest, not a bulk load"
    )
    parser.add_argument(
        "--new-generation", action="store_true", help="also time the first requests on a new generation"
    )
    parser.add_argument("--profile", action="store_true", help="in-process: each page's store queries, timed")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--out", type=Path, default=OUT, help="where stores, inputs, the log and the JSON go")
    args = parser.parse_args(argv)
    args.root = args.root.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(args)
        return 0
    result = benchmark(args)
    given = argv if argv is not None else sys.argv[1:]
    result["command"] = " ".join([".venv/bin/python bench/ui.py", *(a for a in given if a != "--no-write")])
    path = args.out / f"ui-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=1))
    print("\n" + section(result))
    print(f"in full: {path}")
    if not args.no_write:
        write_results(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
