"""What a small write costs on a large store: a SPARQL update and the Graph Store's PUT, POST and
DELETE of a few triples, on a copy of bench/endpoint.py's store (100,000 datasets by default).

Every write publishes a new generation with its derived tables (the catalogue pages' rows, VoID,
quality, the search index), made again from the graphs the write changed and copied for the rest:
what this measures is that cost, which a client of the endpoint waits for. The app runs in this
process (Flask's test client): the seconds are the write's, not HTTP's.

Reproduce (the store made first by ``bench/endpoint.py --n 100000``; its copy is made with
``kg backup`` / ``kg restore`` and removed after)::

    flock /tmp/bench.lock .venv/bin/python bench/write.py --n 100000 --rounds 2

Figures go to bench/RESULTS.md by hand ("Writes on a large store").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, commit, generator  # noqa: E402

BASE = generator().BASE
TOKEN = "bench"
DCT_TITLE = "http://purl.org/dc/terms/title"


def copy_store(source: Path, scratch: Path) -> Path:
    """A copy of ``source``'s published generation in ``scratch`` (kg backup, then kg restore)."""
    env = {**os.environ, "KG_BASE_URI": BASE}
    target = scratch / "store"
    for command, store in (("backup", source), ("restore", target)):
        argv = [BIN / "kg", command, scratch / "backup"]
        subprocess.run(argv, env={**env, "KG_STORE": str(store)}, check=True)
    shutil.rmtree(scratch / "backup")
    return target


KINDS = ("insert", "edit", "put", "post", "delete")  # the writes of one round, in this order


def writes(dataset: str, graph: str, round_: int) -> list[tuple[str, str, dict]]:
    """(name, method and path, request) of each write of :data:`KINDS`, in order."""
    new = f"http://bench.example/graph/extra-{round_}"
    edit = (
        f"DELETE {{ GRAPH <{graph}> {{ <{dataset}> <{DCT_TITLE}> ?t }} }}"
        f' INSERT {{ GRAPH <{graph}> {{ <{dataset}> <{DCT_TITLE}> "Edited {round_}"@en }} }}'
        f" WHERE {{ GRAPH <{graph}> {{ <{dataset}> <{DCT_TITLE}> ?t }} }}"
    )
    line = f'<http://bench.example/s> <http://bench.example/p> "{round_}" .'
    nt = {"data": (line + "\n").encode(), "headers": {"Content-Type": "application/n-triples"}}
    return [
        ("update: INSERT DATA into a new graph", "POST /sparql",
         {"data": {"update": f"INSERT DATA {{ GRAPH <{new}> {{ {line} }} }}"}}),
        ("update: a dataset's title edited in its source graph", "POST /sparql", {"data": {"update": edit}}),
        ("Graph Store PUT of one triple", f"PUT /store?graph={new}", nt),
        ("Graph Store POST (merge) of one triple", f"POST /store?graph={new}", nt),
        ("Graph Store DELETE of that graph", f"DELETE /store?graph={new}", {}),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="the endpoint bench store's size")
    parser.add_argument("--store", type=Path, help="the store to copy (bench/out/endpoint-store-n{n}-seed1)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writes", default=",".join(KINDS), help=f"of {','.join(KINDS)}")
    parser.add_argument("--scratch", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    source = args.store or ROOT / "bench" / "out" / f"endpoint-store-n{args.n}-seed1"
    if not (source / "current").exists():
        sys.exit(f"{source}: no store (make it with bench/endpoint.py --n {args.n})")
    from kg.factory import store_for
    from kg.settings import load_settings
    from kg.web.app import build_app

    with tempfile.TemporaryDirectory(dir=args.scratch, prefix="write-") as scratch:
        store = copy_store(source, Path(scratch))
        settings = load_settings({}, store=store, base_uri=BASE, update_token=TOKEN)
        row = next(iter(store_for(settings).query(
            "SELECT ?d ?g WHERE { GRAPH ?g { ?d a <http://www.w3.org/ns/dcat#Dataset> } } LIMIT 1"
        )))  # fmt: skip
        dataset, graph = row["d"].value, row["g"].value
        client = build_app(settings).test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        code = Path(sys.modules["kg"].__file__).resolve().parent.parent  # maybe another checkout's kg
        load = os.getloadavg()[0]
        print(f"kg {code} at {commit(code)}, store {source} ({args.n:,} datasets), load {load:.2f}")
        for round_ in range(1, args.rounds + 1):
            chosen = args.writes.split(",")
            for kind, (name, target, request) in zip(KINDS, writes(dataset, graph, round_), strict=True):
                if kind not in chosen:
                    continue
                method, path = target.split(" ", 1)
                headers = {**auth, **request.get("headers", {})}
                started, cpu = time.monotonic(), time.process_time()
                response = client.open(path, method=method, data=request.get("data"), headers=headers)
                wall, used = time.monotonic() - started, time.process_time() - cpu
                assert response.status_code < 300, (name, response.status_code, response.data[:300])
                load = os.getloadavg()[0]
                print(f"| {round_} | {name} | {wall:.2f} | {used:.2f} | {load:.2f} |", flush=True)


if __name__ == "__main__":
    main()
