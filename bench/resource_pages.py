"""Resource-page benchmark: p50/p95/max of every kind of per-resource page, distinct requests.

What it measures, on a store made by ``kg ingest`` of the generator's CSV folder
(:func:`bench.ui.ingested_store`: ``bench/out/ui-store-n<N>-seed<S>-ingested``),
with the app started as ``kg serve`` starts it (gunicorn, uvicorn workers,
``app:front``), one client sending requests one after another over a kept-alive
connection, no URL asked twice (so neither the client's ETag nor a worker's result
cache can answer):

* ``dataset``, ``distribution``, ``service``, ``agency`` (pages 1 and 2 of its
  datasets), ``resource`` (``/resource?uri=`` of the EU vocabulary concepts the
  datasets use: themes, file types, licences, languages …, each linked from
  thousands of datasets) and ``query`` (the SPARQL editor), as HTML and as their
  JSON twin (``Accept: application/json``); ``dataset`` and ``agency`` as Turtle
  and JSON-LD too;
* ``first-after-new-generation``: with ``--new-generation``, a one-triple graph is
  written (a new generation), then one request of each kind, the first each
  worker serves on it; the graph is removed again afterwards.

``--root`` serves the app of another checkout (its ``.venv``), e.g. the commit a
branch started from, on the same store, so that before and after are measured
alike. ``--profile`` instead builds each kind of page in this process and prints
every store query it makes with its time (wall and the page's CPU).

Usage::

    .venv/bin/python bench/resource_pages.py --n 100000 --seed 3                # this checkout
    .venv/bin/python bench/resource_pages.py --n 100000 --seed 3 --root ../base  # another one
    .venv/bin/python bench/resource_pages.py --n 100000 --seed 3 --profile

Prints a table and writes ``bench/out/pages-<time>.json``; never edits RESULTS.md.
Targets: p95 < 100 ms and p50 < 30 ms at 100,000 datasets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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

from bench.common import free_port, serve_env  # noqa: E402
from bench.ui import BASE, GEN, OUT, ingested_store, measure, stop  # noqa: E402

JSON, HTML = "application/json", "text/html"
VOCABULARIES = ("data-theme", "file-type", "licence", "language", "frequency", "access-right")


# ---------------------------------------------------------------- requests


def plans(store: Path, n: int, seed: int, count: int) -> dict[str, tuple[list[str], str]]:
    """Distinct paths per kind and format: {row name: (paths, Accept)}."""
    rng = random.Random(seed + 11)
    ids = rng.sample(range(n), min(n, 6 * count))
    chunks = [ids[i * count : (i + 1) * count] for i in range(6)]
    services = [s["id"] for s in GEN.iter_services(n, seed)]
    rng.shuffle(services)
    half = len(services) // 2
    agencies = [a["id"] for a in GEN.AGENCIES]
    paged = [f"/agency/{a}" for a in agencies] + [f"/agency/{a}?page=2" for a in agencies]
    concepts = used_concepts(store)
    rng.shuffle(concepts)
    cut = len(concepts) // 2
    resource = [f"/resource?uri={urllib.parse.quote(c, safe='')}" for c in concepts]
    return {
        "dataset": ([f"/dataset/{GEN.dataset_id(i)}" for i in chunks[0]], HTML),
        "dataset-json": ([f"/dataset/{GEN.dataset_id(i)}" for i in chunks[1]], JSON),
        "dataset-ttl": ([f"/dataset/{GEN.dataset_id(i)}" for i in chunks[2]], "text/turtle"),
        "dataset-jsonld": ([f"/dataset/{GEN.dataset_id(i)}" for i in chunks[3]], "application/ld+json"),
        "distribution": ([f"/distribution/{GEN.dataset_id(i)}-0" for i in chunks[4]], HTML),
        "distribution-json": ([f"/distribution/{GEN.dataset_id(i)}-0" for i in chunks[5]], JSON),
        "service": ([f"/service/{s}" for s in services[:half]][:count], HTML),
        "service-json": ([f"/service/{s}" for s in services[half:]][:count], JSON),
        "agency": (paged[:count], HTML),
        "agency-json": ([p + ("&" if "?" in p else "?") + "format=json" for p in paged][:count], JSON),
        "agency-ttl": ([f"/agency/{a}?format=ttl" for a in agencies][:count], "text/turtle"),
        "resource": (resource[:cut][:count], HTML),
        "resource-json": (resource[cut:][:count], JSON),
        "query": ([f"/query?n={i}" for i in range(count)], HTML),
        "query-json": ([f"/query.json?n={i}" for i in range(count)], JSON),
    }


def used_concepts(store: Path) -> list[str]:
    """The EU vocabulary concepts the catalogue's datasets and distributions point at."""
    from kg.store.embedded import Store

    eu = "http://publications.europa.eu/resource/authority/"
    rows = Store(store).query(
        f"""SELECT DISTINCT ?c WHERE {{ GRAPH <{BASE}graph/vocabularies> {{ ?c a ?k }}
          FILTER(STRSTARTS(STR(?c), "{eu}")) FILTER EXISTS {{ ?x ?p ?c }} }}"""
    )
    return sorted(r["c"].value for r in rows if r["c"].value[len(eu) :].split("/")[0] in VOCABULARIES)


# ---------------------------------------------------------------- server


def serve(store: Path, root: Path, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn as ``kg serve`` runs it, from the checkout ``root`` (its .venv and its code)."""
    import http.client

    from kg.cli import APP, WORKER_CLASS

    port = free_port()
    argv = [str(root / ".venv" / "bin" / "gunicorn"), "--chdir", str(root), "--bind", f"127.0.0.1:{port}"]
    argv += ["--workers", str(workers), "--worker-class", WORKER_CLASS, "--config", "python:kg.gunicorn_conf"]
    env = {**os.environ, "KG_STORE": str(store), "KG_BASE_URI": BASE}
    log = OUT / "pages-server.log"
    with open(log, "ab") as sink:
        # from the checkout's folder: gunicorn puts the working folder on sys.path before --chdir,
        # and this checkout's kg would be imported instead of that one's
        server = subprocess.Popen(
            [*argv, APP], env=serve_env(env), cwd=root, stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(
                    f"server did not start: {log.read_text(errors='replace')[-2000:]}"
                ) from None
            time.sleep(0.2)


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and its descendants (the server: master, workers, evaluators), so
    that a row says what its pages cost whatever else the machine was running."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew, tree = bool(more), tree | more
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def new_generation(store: Path) -> None:
    """Publish a generation with one more one-triple graph (the search index is updated with it)."""
    from kg.ingest import store_for
    from kg.settings import load_settings

    ttl = f'<{BASE}dataset/bench-pages-extra> <http://purl.org/dc/terms/title> "Extra" .\n'
    store_for(load_settings({}, store=store, base_uri=BASE)).put_graph(
        f"{BASE}graph/bench-pages", ttl.encode(), "ttl"
    )


def drop_generation_graph(store: Path) -> None:
    from kg.ingest import store_for
    from kg.settings import load_settings

    store_for(load_settings({}, store=store, base_uri=BASE)).delete_graph(f"{BASE}graph/bench-pages")


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    store, facts = ingested_store(args.n, args.seed)
    requests = plans(store, args.n, args.seed, args.requests)
    server, port = serve(store, args.root, args.workers)
    rows: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        rows["first-request"] = measure(port, ["/dataset/" + GEN.dataset_id(args.n - 1)], HTML)
        rows["first-request"]["seconds_after_start"] = round(time.perf_counter() - t0, 2)
        for name, (paths, accept) in requests.items():
            cpu = tree_cpu(server.pid)
            rows[name] = measure(port, paths, accept)
            spent = (tree_cpu(server.pid) - cpu) * 1000 / len(paths)
            killed = set(rows[name]["statuses"]) - {"200"}  # a 503's evaluator was killed, its CPU lost
            rows[name]["server_cpu_ms_per_request"] = None if killed else round(spent, 2)
            print(f"  {name}: {rows[name]}", flush=True)
        if args.new_generation:
            new_generation(store)
            try:
                for name, (paths, accept) in requests.items():
                    path = paths[-1] + ("&" if "?" in paths[-1] else "?") + "lang=en"  # not asked before
                    rows[f"{name}, first on a new generation"] = row = measure(port, [path], accept)
                    print(f"  {name}, first on a new generation: {row}", flush=True)
            finally:
                drop_generation_graph(store)
    finally:
        stop(server)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "root": str(args.root),
        "commit": _commit(args.root),
        "n": args.n,
        "seed": args.seed,
        "workers": args.workers,
        "store": facts,
        "load": os.getloadavg(),
        "rows": rows,
    }


def _commit(root: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip()


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['when']} {result['commit']} ({result['root']}): {result['n']:,} datasets, "
        f"{result['workers']} workers, load {', '.join(f'{x:.1f}' for x in result['load'])}",
        "",
        "| page | requests | p50 ms | p95 ms | max ms | server CPU ms/request | statuses |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for name, row in result["rows"].items():
        cpu = row.get("server_cpu_ms_per_request")
        lines.append(
            f"| {name} | {row['requests']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['max_ms']:.1f} "
            f"| {'-' if cpu is None else f'{cpu:.1f}'} | {row['statuses']} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- in-process profile


def profile(args: argparse.Namespace) -> None:
    """Build one page of each kind in this process, printing each store query and its time."""
    from kg.settings import load_settings
    from kg.web.app import build_app

    store, _ = ingested_store(args.n, args.seed)
    app = build_app(load_settings({}, store=store, base_uri=BASE))
    pages = app.extensions["kg_pages"]
    log: list[tuple[float, str]] = []
    query = pages.query

    def timed(sparql: str, **kwargs: Any):
        t0 = time.perf_counter()
        try:
            return query(sparql, **kwargs)
        finally:
            log.append(((time.perf_counter() - t0) * 1000, " ".join(sparql.split())))

    pages.query = timed
    client = app.test_client()
    for name, (paths, accept) in plans(store, args.n, args.seed, 3).items():
        for i, path in enumerate(paths[:3]):
            log.clear()
            cpu, t0 = time.process_time(), time.perf_counter()
            response = client.get(path, headers={"Accept": accept})
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - cpu) * 1000
            print(
                f"{name} {path}: {response.status_code}, {wall:.1f} ms ({cpu:.1f} ms CPU here), "
                f"{len(log)} queries, {sum(t for t, _ in log):.1f} ms in them"
            )
            if i == 1:  # the first may start the evaluators
                for ms, text in log:
                    print(f"    {ms:8.1f} ms  {text[:160]}")
    pages.query = query


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="datasets in the store")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100, help="requests per row (at most)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument(
        "--new-generation", action="store_true", help="also time the first requests on a new generation"
    )
    parser.add_argument("--profile", action="store_true", help="in-process: each page's queries, timed")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(args)
        return 0
    result = benchmark(args)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (OUT / f"pages-{stamp}.json").write_text(json.dumps(result, indent=1))
    print("\n" + table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
