"""The first request of each page kind: after ``kg serve`` starts (on a cold page cache with
``--cold``), and after a new generation (``--new-generation``).

A harvester or a person does not wait for a server to warm up: the first page after a start or
after an ingest counts (issue 17). ``bench/ui.py``'s "first" column is the first request of a row
in a mix whose other kinds ran before it; here one request of each kind is sent, one after another
in a fixed order (home, dataset, agency, ``/agencies``, a catalogue page in Turtle, search,
``/quality``), each the first of its kind, and timed with its status and the server's CPU.

``--cold``: ``sync`` and ``echo 3 > /proc/sys/vm/drop_caches`` (root) after the requests are drawn
and before the server starts, so that the store's files are read from disk. It empties the page
cache of the whole machine: run it under the bench lock only. ``--new-generation`` writes a
one-triple graph (it writes to the store: use one of your own) and then sends a second request of
each kind, the first on it; the graph is removed afterwards. The server's start (``kg serve`` until
``/health`` answers, its upgrade of the derived data included) is timed too.

Usage::

    flock /tmp/bench.lock .venv/bin/python bench/first.py --store DIR --n 100000 --seed 7 --cold
    flock /tmp/bench.lock .venv/bin/python bench/first.py --store DIR --n 1000000 --root ../base --cold
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Client, ProcessTree, Server, commit  # noqa: E402
from bench.ui_routes import Row, plans  # noqa: E402
from bench.ui_store import BASE, drop_generation_graph, settings_for, store_facts, write_generation  # noqa: E402

KINDS = ("home", "dataset", "agency", "agencies", "catalog-ttl", "search", "quality")


def drop_page_cache() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def first_requests(client: Client, tree: ProcessTree, rows: list[Row], which: int) -> list[str]:
    """Request ``which`` of each row, one after another; a line per row."""
    lines = []
    for row in rows:
        if which >= len(row.requests):
            continue
        path, accept = row.requests[which]
        tree.refresh()
        before = tree.ticks()
        status, ms, _ = client.get(path, accept)
        cpu = tree.spent(before, tree.ticks()) * 1000
        lines.append(f"  {row.name:12} {status:>7} {ms:9.1f} ms  server CPU {cpu:8.1f} ms  {path[:70]}")
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="the store to serve")
    parser.add_argument("--n", type=int, required=True, help="datasets the store was generated with")
    parser.add_argument("--seed", type=int, default=7, help="seed of the requests drawn")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is served")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="client timeout per request, s")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before the start")
    parser.add_argument("--new-generation", action="store_true", help="then the first on a new one")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    store = args.store.resolve()
    facts = store_facts(store)
    rows = {r.name: r for r in plans(args.n, args.seed, 3, facts, settings_for(store).catalog_page_size)}
    chosen = [rows[name] for name in KINDS if name in rows and not rows[name].skipped]
    print(f"commit {commit(args.root.resolve())}, store {store}, load {os.getloadavg()}", flush=True)
    if args.cold:
        drop_page_cache()
    args.out.mkdir(parents=True, exist_ok=True)
    server = Server(args.root.resolve(), store, BASE, args.workers, args.out / "first-server.log")
    started = time.perf_counter()
    server.start(timeout=900)
    print(f"start: {time.perf_counter() - started:.1f} s until /health answered", flush=True)
    client = Client(server.port, args.timeout)
    try:
        first_requests(client, ProcessTree(server.process.pid), chosen, 0)
        if args.new_generation:
            print(f"new generation written in {write_generation(store):.1f} s", flush=True)
            try:
                first_requests(client, ProcessTree(server.process.pid), chosen, 1)
            finally:
                drop_generation_graph(store)
    finally:
        client.close()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
