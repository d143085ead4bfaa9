"""Where a distinct query's time goes at concurrency: the native server, pyoxigraph alone, our app.

    .venv/bin/python bench/engine.py --queries title-search --concurrency 1,8 --rounds 4

``bench/endpoint.py`` compares our app with ``oxigraph serve-read-only``. When a row falls short,
the gap has two parts, which this script separates by measuring, in turns within one run:

* **native**: the native server under wrk, as in the endpoint benchmark;
* **engine**: pyoxigraph with no HTTP and no pool: ``--procs`` processes (default: as many as our
  evaluators) each open the published generation read-only and evaluate and serialize distinct
  queries back to back, under the allocator ``kg serve`` preloads. Its ratio to native is the
  engine's part, which our code cannot change (same Oxigraph version, a different build);
* **ours**: our app under gunicorn, as ``kg serve`` runs it. Its ratio to the engine is the part of
  our HTTP front, evaluator pool and protocol.

Each prints requests a second and CPU milliseconds a request (every process of the server, or of
the engine run), and per query and concurrency the medians of the rounds: the ratios and each
one's CPU a request. The store is ``bench/endpoint.py``'s (``--n``, ``--seed``), built there first.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ENGINE_PROCS = 4  # the default of KG_EVALUATORS, the evaluator processes the server had until branch inthread


def engine_run(folder: str, n: int, seed: int, name: str, procs: int, seconds: float) -> None:
    """In this process: ``procs`` forked evaluators, each on its own read-only store, for ``seconds``;
    prints ``requests cpu_seconds``."""
    import pyoxigraph as ox

    sys.path.insert(0, str(ROOT / "bench"))
    import endpoint

    q = {x.name: x for x in endpoint.queries(n, seed)}[name]
    read, write = os.pipe()
    children = []
    for k in range(procs):
        pid = os.fork()
        if pid == 0:
            os.close(read)
            db = ox.Store.read_only(folder)
            rng = random.Random(k)
            for value in q.pool[:8]:  # warm the caches as the servers' warm-up does
                list(db.query(q.text(value), use_default_graph_as_union=True))
            started, done = time.process_time(), 0
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                result = db.query(
                    f"# {k}.{done}\n" + q.text(rng.choice(q.pool)), use_default_graph_as_union=True
                )
                if isinstance(result, ox.QueryTriples):
                    result.serialize(io.BytesIO(), ox.RdfFormat.TURTLE)
                else:
                    result.serialize(io.BytesIO(), ox.QueryResultsFormat.JSON)
                done += 1
            os.write(write, f"{done} {time.process_time() - started}\n".encode())
            os._exit(0)
        children.append(pid)
    os.close(write)
    for pid in children:
        os.waitpid(pid, 0)
    with os.fdopen(read) as lines:
        rows = [line.split() for line in lines]
    print(sum(int(r[0]) for r in rows), sum(float(r[1]) for r in rows))


def engine(args: argparse.Namespace, folder: Path, name: str, procs: int) -> dict[str, float]:
    """One engine run in a fresh process started as ``kg serve`` starts gunicorn (the allocator)."""
    from bench.common import serve_env

    argv = [
        sys.executable,
        __file__,
        "--engine-run",
        str(folder),
        "--n",
        str(args.n),
        "--seed",
        str(args.seed),
    ]
    argv += ["--queries", name, "--procs", str(procs), "--duration", str(args.duration)]
    done = subprocess.run(argv, env=serve_env(dict(os.environ)), capture_output=True, text=True, check=True)
    requests, cpu = done.stdout.split()
    return {"rps": int(requests) / args.duration, "cpu_ms_per_request": float(cpu) * 1000 / int(requests)}


def rounds(args, endpoint, native, ours, folder: Path, name: str, c: int, procs: int) -> None:
    """``--rounds`` rounds of one query at concurrency ``c``, the three in alternating order; prints
    each round and the medians (ratios of requests/s, and each one's CPU ms a request)."""
    q = {x.name: x for x in endpoint.queries(args.n, args.seed)}[name]
    for server in (native, ours):
        endpoint.prime(server, q)
    wrk = argparse.Namespace(wrk_threads=1, quiet_wait=args.quiet_wait)
    ratios: dict[str, list[float]] = {"engine/native": [], "ours/engine": [], "ours/native": []}
    cpu: dict[str, list[float]] = {"native": [], "engine": [], "ours": []}
    for r in range(args.rounds):
        got = {}
        for what in ("native", "engine", "ours") if r % 2 == 0 else ("ours", "engine", "native"):
            if what == "engine":
                endpoint.wait_quiet(args.quiet_wait)
                got[what] = engine(args, folder, name, procs)
            else:
                server = native if what == "native" else ours
                got[what] = endpoint.measure(server, q, "distinct", c, args.duration, r, wrk)
            cpu[what].append(got[what]["cpu_ms_per_request"])
        for pair in ratios:
            top, bottom = pair.split("/")
            ratios[pair].append(got[top]["rps"] / got[bottom]["rps"])
        print(
            f"{name} c={c} round {r + 1}: "
            + "; ".join(f"{k} {v['rps']:.1f}/s {v['cpu_ms_per_request']:.2f} ms" for k, v in got.items())
            + " | "
            + ", ".join(f"{k} {v[-1]:.2f}" for k, v in ratios.items()),
            flush=True,
        )
    print(
        f"{name} c={c} medians: "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in ratios.items())
        + "; CPU ms/req "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in cpu.items()),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", default="title-search")
    parser.add_argument("--concurrency", default="8", help="e.g. 1,8")
    parser.add_argument(
        "--procs", type=int, default=0, help=f"engine processes (default: c, at most {ENGINE_PROCS})"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before a run, wait up to this long for a quiet machine",
    )
    parser.add_argument("--engine-run", help=argparse.SUPPRESS)  # the child: the RocksDB folder
    args = parser.parse_args()
    if args.engine_run:
        engine_run(args.engine_run, args.n, args.seed, args.queries, args.procs, args.duration)
        return 0
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import endpoint

    store = endpoint.build_store(args.n, args.seed, OUT)
    folder = (store / "current").resolve() / "rdf"
    timeout = {"KG_QUERY_TIMEOUT": "120"}
    log = OUT / "engine-servers.log"
    native = endpoint.start_native(endpoint.native_copy(store, OUT), log)
    ours = endpoint.start_ours(store, 2, timeout, log)
    print(f"{args.n:,} datasets; {args.duration:g} s runs; ours: {' '.join(ours.argv)}", flush=True)
    try:
        for c in (int(v) for v in args.concurrency.split(",")):
            procs = args.procs or min(c, ENGINE_PROCS)
            print(f"c={c}; engine: {procs} processes", flush=True)
            for name in args.queries.split(","):
                rounds(args, endpoint, native, ours, folder, name, c, procs)
    finally:
        native.stop()
        ours.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
