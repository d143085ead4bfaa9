"""The floor of a Python front that evaluates in its own process: what issue 19's item 3 would reach
without the evaluator process between the web worker and pyoxigraph.

    flock /tmp/bench.lock .venv/bin/python bench/front_floor.py --queries lookup,record --concurrency 1,8

An experiment, not a design: ``app`` below is the least an HTTP SPARQL front can do (read
``query``, evaluate on a read-only store opened once per worker, serialize the JSON results) under
the same gunicorn and uvicorn workers as ``kg serve``, with no guard, no row cap, no error body and
**no time limit**. Four servers take turns on ``bench/endpoint.py``'s store and distinct queries:

* **native**: ``oxigraph serve-read-only`` on a copy, as in the endpoint benchmark;
* **thread**: ``app``, evaluating in a worker thread (``asyncio.to_thread``): the loop stays free
  for other requests and for a timer, as a front with a deadline would need;
* **loop**: ``app``, evaluating on the event loop (one query at a time per worker);
* **ours**: ``kg serve`` (its front hands each query to an evaluator process it can kill).

Why it matters: pyoxigraph releases the GIL while it evaluates (while one thread ran a 2.2 s
ORDER BY, another woke every 10 ms throughout: 241 times in 3 s, the longest gap 73 ms), so a
thread can evaluate while the loop keeps serving; the gap between *thread* and *ours* is what the
process boundary and our front cost, not the engine.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_store = None


def _evaluate(text: str) -> bytes:
    import pyoxigraph as ox

    global _store
    if _store is None:
        _store = ox.Store.read_only(os.environ["FLOOR_RDF"])
    result = _store.query(text, use_default_graph_as_union=True)
    out = io.BytesIO()
    if isinstance(result, ox.QueryTriples):
        result.serialize(out, ox.RdfFormat.N_TRIPLES)
    elif isinstance(result, ox.QueryBoolean):
        return b'{"head":{},"boolean":%s}' % (b"true" if result else b"false")
    else:
        result.serialize(out, ox.QueryResultsFormat.JSON)
    return out.getvalue()


async def app(scope, receive, send) -> None:  # noqa: ANN001 - the ASGI callable
    """The least front: ``?query=`` (GET) or a form body (POST), 200 with the results."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    raw = scope["query_string"] if scope["method"] == "GET" else body
    text = urllib.parse.parse_qs(raw.decode())["query"][0]
    if os.environ.get("FLOOR_THREAD") == "1":
        data = await asyncio.to_thread(_evaluate, text)
    else:
        data = _evaluate(text)
    headers = [(b"content-type", b"application/sparql-results+json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _start_floor(endpoint, folder: Path, threaded: bool, log: Path):  # noqa: ANN001, ANN202
    from bench.common import free_port, serve_env

    port = free_port()
    flags = {"FLOOR_RDF": str(folder), "FLOOR_THREAD": "1" if threaded else "0"}
    env = serve_env({**os.environ, **flags, "PYTHONPATH": str(ROOT / "bench")})
    argv = [
        str(Path(sys.executable).parent / "gunicorn"),
        "front_floor:app",
        "-k",
        "uvicorn.workers.UvicornWorker",
    ]
    argv += ["-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    with open(log, "ab") as sink:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    server = endpoint.Server("thread" if threaded else "loop", f"http://127.0.0.1:{port}/sparql", process)
    endpoint._wait_ready(server, server.url + "?" + urllib.parse.urlencode({"query": "ASK {}"}), log)
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", default="lookup,record")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=6.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import endpoint

    out = ROOT / "bench" / "out"
    store = endpoint.build_store(100000, 1, out)
    log = out / "front-floor-servers.log"
    servers = [endpoint.start_native(endpoint.native_copy(store, out), log)]
    folder = (store / "current").resolve() / "rdf"
    servers += [_start_floor(endpoint, folder, True, log), _start_floor(endpoint, folder, False, log)]
    servers.append(endpoint.start_ours(store, 2, {"KG_QUERY_TIMEOUT": "120"}, log))
    wrk = argparse.Namespace(wrk_threads=1, quiet_wait=3.0)
    catalogue = {q.name: q for q in endpoint.queries(100000, 1)}
    try:
        for c in (int(v) for v in args.concurrency.split(",")):
            for name in args.queries.split(","):
                _rounds(endpoint, servers, catalogue[name], c, args, wrk)
    finally:
        for server in servers:
            server.stop()
    return 0


def _rounds(endpoint, servers, q, c: int, args, wrk) -> None:  # noqa: ANN001
    for server in servers:
        endpoint.prime(server, q)
    rps: dict[str, list[float]] = {s.name: [] for s in servers}
    cpu: dict[str, list[float]] = {s.name: [] for s in servers}
    for r in range(args.rounds):
        for server in servers if r % 2 == 0 else servers[::-1]:
            got = endpoint.measure(server, q, "distinct", c, args.duration, r, wrk)
            rps[server.name].append(endpoint.rate(got, c))
            cpu[server.name].append(got["cpu_ms_per_request"])
        print(
            f"{q.name} c={c} round {r + 1}: "
            + "; ".join(f"{k} {v[-1]:.0f}/s {cpu[k][-1]:.2f} ms" for k, v in rps.items())
        )
    native = statistics.median(rps["native"])
    medians = (
        f"{k} {statistics.median(v) / native:.2f}x, {statistics.median(cpu[k]):.2f} ms"
        for k, v in rps.items()
    )
    print(f"== {q.name} c={c} (requests/s over native's; CPU a request): " + "; ".join(medians), flush=True)


if __name__ == "__main__":
    sys.exit(main())
