"""Harvest benchmark: a data.json of N generated datasets served on 127.0.0.1, harvested into a store
on disk as the source changes, each step in a fresh process as ``kg harvest`` runs it.

=====  ===============================================================================
step   what the server has, and what the harvest should do
=====  ===============================================================================
a      the generated catalogue: a first harvest (every record mapped and validated)
b      what the last harvest got, answered ``304 Not Modified``: nothing read
c      the records of the last step but b and c, indented (new bytes, new ETag): read and
       hashed, nothing mapped, nothing written
r      the same records in reverse order: nothing mapped, but the graphs are written
       (a quarantined record's report says where it stands in the file)
d      1 % of the datasets retitled and 0.5 % removed: those mapped, the rest reused,
       the source's graphs written anew
e      the same records reversed again, with :data:`kg.ingest.memo.MEMO_VERSION` bumped in
       the harvesting process (a new mapping/shapes recipe): a full run
f      the records of ``d`` again (new bytes) harvested as before change detection (``reuse`` off:
       nothing reused, nothing kept): today's full ingest, to compare ``e`` with
=====  ===============================================================================

Each step prints a JSON line: the outcome, the counts, seconds in total and per phase
("read, map and validate", "store" from the ingest's summary), peak RSS of the process tree,
and the load average before it. ``--steps`` runs some of them on the store ``--work`` keeps, so
that the whole can be split between two holds of the bench lock::

    flock /tmp/bench.lock .venv/bin/python bench/harvest.py --n 100000 --steps a,b,c,d
    flock /tmp/bench.lock .venv/bin/python bench/harvest.py --n 100000 --steps e

Results go to ``bench/RESULTS.md`` under "Harvest", by hand, with the commit and the load.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, commit, generator  # noqa: E402

# The harvest as `kg harvest SOURCES.toml` does it, in its own process, printing its outcome as JSON;
# argv: store, sources file, "bump" to change the recipe (as a change of the mapping code would).
HARVEST = """
import cProfile, json, os, resource, sys, time
import kg.ingest.memo as memo
if sys.argv[3] == "bump":
    memo.MEMO_VERSION += 1
import functools
import kg.harvest.run
from kg.harvest.run import client_for, harvest_source
if sys.argv[3] == "plain":  # the ingest as it was before change detection: nothing reused or kept
    kg.harvest.run.ingest = functools.partial(kg.harvest.run.ingest, reuse=False)
from kg.harvest.sources import read_sources
from kg.settings import environment, load_settings
settings = load_settings()
(spec,) = read_sources(sys.argv[2], environment())
profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
t0 = time.perf_counter()
if profile:
    profile.enable()
out = harvest_source(spec, settings=settings, client=client_for(settings))
if profile:
    profile.disable()
    profile.dump_stats(os.environ["BENCH_PROFILE"])
wall = time.perf_counter() - t0
s = out.summary
cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
          for f in ("ru_utime", "ru_stime"))
print(json.dumps({
    "outcome": out.outcome, "reason": out.reason, "changes": out.changes, "seconds": round(wall, 1),
    "phases": {k: round(v, 1) for k, v in (s.seconds.items() if s else ())},
    "read": s.read if s else None, "mapped": s.changes.mapped if s and s.changes else None,
    "change_detection_s": round(s.changes.seconds, 1) if s and s.changes else None,
    "cpu_s": round(cpu, 1), "write": s.write if s else None,
}))
"""


MODES = {"e": "bump", "f": "plain"}  # how the harvesting process is set up, by step
PLAIN, INDENTED = None, 1  # json.dumps's indent of the document served


class Server:
    """One document at ``/data.json`` with an ETag; a matching ``If-None-Match`` gets a 304."""

    def __init__(self, port: int = 0) -> None:
        self.body, self.etag = b"", ""
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.send_header("ETag", server.etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.send_header("ETag", server.etag)
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.json"

    def serve(self, doc: dict, indent: int | None = PLAIN) -> None:
        self.body = json.dumps(doc, ensure_ascii=False, indent=indent).encode("utf-8")
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def variants(doc: dict, seed: int) -> dict[str, dict]:
    """The document each step serves (see the module docstring)."""
    datasets = doc["dataset"]
    reversed_ = {**doc, "dataset": datasets[::-1]}
    rng = random.Random(seed)
    changed = [dict(d) for d in datasets]
    for i in rng.sample(range(len(changed)), len(changed) // 100):
        changed[i]["title"] += " (revised)"
    gone = set(rng.sample(range(len(changed)), len(changed) // 200))
    edited = {**doc, "dataset": [d for i, d in enumerate(changed) if i not in gone]}
    return {
        "a": doc,
        "b": doc,
        "r": reversed_,
        "d": edited,
        "e": {**edited, "dataset": edited["dataset"][::-1]},
        "f": edited,
    }


def run_step(step: str, work: Path, sources: Path, env: dict[str, str]) -> dict:
    load = os.getloadavg()
    argv = [sys.executable, "-c", HARVEST, str(work / "store"), str(sources), MODES.get(step, "-")]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(step=step, process_seconds=round(time.perf_counter() - started, 1))
    result["load_before"] = [round(x, 2) for x in load]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", default="a,b,c,d,e")
    parser.add_argument(
        "--profile", type=Path, help="write each step's cProfile of the harvesting process to PROFILE.<step>"
    )
    parser.add_argument(
        "--work", type=Path, help="folder of the input and store (default bench/out/harvest-n<N>)"
    )
    args = parser.parse_args(argv)
    work = args.work or ROOT / "bench" / "out" / f"harvest-n{args.n}-seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    source = work / "input" / "data.json"
    if not source.is_file():
        generator().generate(args.n, args.seed, "data.json", work / "input")
    doc = json.loads(source.read_bytes())
    docs = variants(doc, args.seed)
    del doc
    # one port per work folder: the source's URL is in its quarantined records' reports, so a new one
    # would make the next harvest write them again
    saved = work / "port"
    server = Server(int(saved.read_text()) if saved.is_file() else 0)
    saved.write_text(str(server.httpd.server_address[1]))
    sources = work / "sources.toml"
    sources.write_text(f'[[source]]\nname = "bench"\nurl = "{server.url}"\nformat = "data.json"\n', "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(KG_STORE=str(work / "store"), KG_HTTP_HOST_INTERVAL="0", NO_PROXY="127.0.0.1")
    env.pop("BENCH_PROFILE", None)
    print(
        json.dumps(
            {"commit": commit(ROOT), "n": args.n, "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        )
    )
    for step in args.steps.split(","):
        if step in ("b", "c"):  # the records the last harvest got: the same bytes (a 304), or indented
            last, indented = _last(work)
            indented = step == "c" or (step == "b" and indented)  # b: the very bytes c served
            server.serve(docs[last], INDENTED if indented else PLAIN)
            (work / "last-step").write_text(f"{last} {int(indented)}")
        else:
            server.serve(docs[step])
            (work / "last-step").write_text(f"{step} 0")
        profiled = {"BENCH_PROFILE": f"{args.profile}.{step}"} if args.profile else {}
        print(json.dumps(run_step(step, work, sources, {**env, **profiled})), flush=True)
    server.httpd.shutdown()
    return 0


def _last(work: Path) -> tuple[str, bool]:
    """The step whose records the last harvest got, and whether indented (step c's bytes)."""
    path = work / "last-step"
    step, _, indented = (path.read_text().strip() if path.is_file() else "a 0").partition(" ")
    return step, indented == "1"


if __name__ == "__main__":
    sys.exit(main())
