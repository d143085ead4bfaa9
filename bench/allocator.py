"""What the memory allocator costs pyoxigraph: the endpoint benchmark's queries, evaluated and
serialized in one process on its store, under each allocator in turn (``KG_MALLOC``, kg/malloc.py).

    .venv/bin/python bench/allocator.py --n 100000 --seed 1 --count 40 --queries title-search,publisher

The store is the one ``bench/endpoint.py`` built (its native copy, opened read-only). Each
allocator runs in a fresh process (``LD_PRELOAD`` only works at start), the allocators take turns
``--rounds`` times, and every query's median over ``--count`` distinct requests is printed (slow
queries: ``--count 1``).
"""

from __future__ import annotations

import argparse
import ctypes.util
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def measure(store: str, n: int, seed: int, names: list[str], count: int) -> None:
    """In this process: each query's median wall time, evaluation and serialization, in ms."""
    import pyoxigraph as ox

    sys.path.insert(0, str(ROOT / "bench"))
    import endpoint

    queries = {q.name: q for q in endpoint.queries(n, seed)}
    db = ox.Store.read_only(store)
    for name in names:
        q, times = queries[name], []
        for i, value in enumerate((q.pool * count)[:count]):
            started = time.perf_counter()
            result = db.query(q.text(value) + f"\n# {i}", use_default_graph_as_union=True)
            if isinstance(result, ox.QueryTriples):
                result.serialize(io.BytesIO(), ox.RdfFormat.TURTLE)
            elif isinstance(result, ox.QuerySolutions):
                result.serialize(io.BytesIO(), ox.QueryResultsFormat.JSON)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {name}: median {statistics.median(times):.2f} ms over {len(times)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", default="title-search,publisher,describe")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child: the store's folder
    args = parser.parse_args()
    names = args.queries.split(",")
    if args.measure:
        measure(args.measure, args.n, args.seed, names, args.count)
        return 0
    store = OUT / f"endpoint-store-n{args.n}-seed{args.seed}-native" / "000001"
    if not store.is_dir():
        hint = f"run bench/endpoint.py --n {args.n} --seed {args.seed} first"
        print(f"no store at {store}: {hint}", file=sys.stderr)
        return 2
    libraries = {"glibc": ""} | {name: ctypes.util.find_library(name) for name in ("jemalloc", "mimalloc")}
    for _ in range(args.rounds):
        for name, library in libraries.items():
            if library is None:
                print(f"{name}: not installed", flush=True)
                continue
            print(name, flush=True)
            env = {**os.environ, "LD_PRELOAD": library}
            argv = [sys.executable, __file__, "--measure", str(store), *sys.argv[1:]]
            subprocess.run(argv, env=env, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
