"""Aggregate-page benchmark: p50/p95/max latency of every aggregate page and its JSON twin.

Pages: home (``/``, ``/index.json``), ``/quality`` (+ ``.json``, one source, one agency),
``/.well-known/void`` (in its four syntaxes), ``/catalog`` pages in every syntax (Turtle,
RDF/XML, JSON-LD, N-Triples, the HTML page and its JSON twin) and ``/agencies``
(+ ``.json``, filters, search). The store is an existing one (``--store``: e.g. a
``kg ingest`` of ``bench/generate.py --format csv`` output into ``bench/out/``), served as
``kg serve`` serves it (gunicorn, uvicorn workers, ``app:front``, the allocator preloaded),
with ``KG_BASE_URI`` the generator's base.

Requests are *distinct*: no URL is asked twice (different ``page=`` values and filters; a
page with one URL gets an unused ``r=N`` parameter, which no view reads), so no cache can
answer, and the first request of each page kind on a fresh server (whose workers have not
opened anything yet) counts like the others; it is also reported alone. One client sends
them one after another over a kept-alive connection (latency, not throughput), the page
kinds interleaved so that a slow kind does not warm the next one.

Usage::

    .venv/bin/python bench/aggregate_pages.py --store bench/out/store-after --requests 40
    .venv/bin/python bench/aggregate_pages.py --store bench/out/store-before --requests 10 --json before.json

Prints a table (and ``--json FILE`` writes the figures); it does not edit ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import free_port, generator, gunicorn_argv, serve_env  # noqa: E402

GEN = generator()
BASE = GEN.BASE
ACCEPT = {
    "html": "text/html",
    "json": "application/json",
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
}


def plans(
    rng: random.Random, count: int, datasets: int, catalog_size: int, page_size: int = 100
) -> dict[str, list[tuple[str, str]]]:
    """For each page kind, ``count`` distinct (path, Accept) requests."""
    quality_pages = max(1, datasets // 50)
    catalog_pages = max(1, -(-catalog_size // page_size))
    agencies = [f"{BASE}agency/{a['id']}" for a in GEN.AGENCIES]
    words = sorted(
        {w.lower() for a in GEN.AGENCIES for w in a["name"].replace(",", " ").split() if len(w) > 3}
    )
    # the directory refuses unknown parameters, so its requests differ by their filters: a word of the
    # names alone, with a type or with a kind of body, a type, a source, the whole tree
    filters: list[dict[str, str]] = [{}, {"type": "unit"}, {"type": "organisation"}, {"source": "bench"}]
    for word in words:
        filters += [{"q": word}, {"q": word, "type": "unit"}, {"q": word, "kind": "agency"}]
    rng.shuffle(filters)

    def pages(most: int, n: int) -> list[int]:
        chosen = {1, most, max(1, most // 2)}  # first, middle and last are always asked
        picks = list(range(1, most + 1))
        rng.shuffle(picks)
        chosen.update(picks[: max(0, n - len(chosen))])
        return sorted(chosen)[:n] if n >= 3 else [1, most][:n]

    def agency(i: int) -> str:
        return urllib.parse.urlencode({"agency": agencies[i % len(agencies)], "page": 1 + i // len(agencies)})

    out: dict[str, list[tuple[str, str]]] = {
        "home": [(f"/?r={i}", ACCEPT["html"]) for i in range(count)],
        "home-json": [(f"/index.json?r={i}", ACCEPT["json"]) for i in range(count)],
        "quality": [(f"/quality?page={p}", ACCEPT["html"]) for p in pages(quality_pages, count)],
        "quality-json": [(f"/quality.json?page={p}", ACCEPT["json"]) for p in pages(quality_pages, count)],
        "quality-source": [
            (f"/quality?source=bench&page={p}", ACCEPT["html"]) for p in pages(quality_pages, count)
        ],
        "quality-agency": [(f"/quality.json?{agency(i)}", ACCEPT["json"]) for i in range(count)],
        "void": [
            (f"/.well-known/void?r={i}", ACCEPT[("ttl", "rdf", "jsonld", "nt")[i % 4]]) for i in range(count)
        ],
        "agencies": [("/agencies?" + urllib.parse.urlencode(f), ACCEPT["html"]) for f in filters[:count]],
        "agencies-json": [
            ("/agencies.json?" + urllib.parse.urlencode(f), ACCEPT["json"])
            for f in filters[count : 2 * count]
        ],
    }
    for fmt in ("ttl", "rdf", "jsonld", "nt", "json"):
        out[f"catalog-{fmt}"] = [
            (f"/catalog.{fmt}?page={p}", ACCEPT[fmt]) for p in pages(catalog_pages, count)
        ]
    out["catalog-html"] = [(f"/catalog?page={p}", ACCEPT["html"]) for p in pages(catalog_pages, count)]
    return out


def serve(store: Path, workers: int, log: Path) -> tuple[subprocess.Popen, int]:
    """The app as ``kg serve`` starts it, on a free loopback port; waits for /health."""
    port = free_port()
    env = {**os.environ, "KG_STORE": str(store), "KG_BASE_URI": BASE}  # other KG_* settings pass through
    with open(log, "ab") as sink:
        server = subprocess.Popen(
            gunicorn_argv(port, workers), env=serve_env(env), stdout=subprocess.DEVNULL, stderr=sink
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return server, port
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"the server did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def run(port: int, todo: dict[str, list[tuple[str, str]]], timeout: float) -> dict[str, Any]:
    """Every request once, kinds interleaved; latencies in ms per kind."""
    times: dict[str, list[float]] = {kind: [] for kind in todo}
    statuses: dict[str, dict[str, int]] = {kind: {} for kind in todo}
    queue = [(i, kind, req) for kind, reqs in todo.items() for i, req in enumerate(reqs)]
    queue.sort(key=lambda item: item[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    for _, kind, (path, accept) in queue:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept": accept})
            response = conn.getresponse()
            response.read()
            status = str(response.status)
        except (TimeoutError, OSError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            status = "timeout"
        times[kind].append((time.perf_counter() - started) * 1000)
        statuses[kind][status] = statuses[kind].get(status, 0) + 1
        if status != "200" and statuses[kind][status] == 1:
            print(f"  {status} for {path}", flush=True)
    conn.close()
    return {kind: _row(times[kind], statuses[kind]) for kind in todo}


def _row(values: list[float], statuses: dict[str, int]) -> dict[str, Any]:
    first = values[0] if values else 0.0
    ordered = sorted(values)
    return {
        "requests": len(values),
        "p50_ms": round(_percentile(ordered, 50), 1),
        "p95_ms": round(_percentile(ordered, 95), 1),
        "max_ms": round(ordered[-1], 1) if ordered else 0.0,
        "first_ms": round(first, 1),
        "statuses": statuses,
    }


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="the store folder (KG_STORE) to serve")
    parser.add_argument(
        "--datasets", type=int, default=100_000, help="datasets in the store (for page numbers)"
    )
    parser.add_argument("--catalog", type=int, default=0, help="catalogue members (default: datasets + 1 %%)")
    parser.add_argument("--requests", type=int, default=40, help="distinct requests per page kind")
    parser.add_argument("--page-size", type=int, default=100, help="the server's KG_CATALOG_PAGE_SIZE")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout per request, seconds")
    parser.add_argument("--only", default="", help="comma-separated page kinds to run (default: all)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    todo = plans(rng, args.requests, args.datasets, args.catalog or int(args.datasets * 1.01), args.page_size)
    if args.only:
        todo = {k: v for k, v in todo.items() if k in args.only.split(",")}
    log = args.store.parent / "pages-server.log"
    server, port = serve(args.store.resolve(), args.workers, log)
    try:
        started = time.time()
        rows = run(port, todo, args.timeout)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"{'page':18} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'first':>8}  statuses")
    for kind, row in rows.items():
        print(f"{kind:18} {row['requests']:>4} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['max_ms']:>8} "
              f"{row['first_ms']:>8}  {row['statuses']}")  # fmt: skip
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {time.time() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps({"store": str(args.store), "workers": args.workers, "rows": rows,
                                         "load": load}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
