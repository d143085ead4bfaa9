"""The change feed and ``/catalog?modified_since=`` at N datasets: request times on a real store.

Why apart from ``bench/history.py`` (the history's writing step alone): what a downstream
harvester costs the server is the read side, ``/changes`` and ``/catalog?modified_since=``, which
read every source's history file and then the store for the catalogue's members.

The store: a bench store made by ``bench/ui_store.py`` (``bench/out/ui-store-n100000-seed1-ingested``:
read only, its current generation hard-linked into a new store folder, which no one writes in
place; the pages' tables made again if an older version made them: a new generation), with a
history file for its N datasets written by :func:`kg.ingest.history.update_history`
from synthetic records files (the dataset IRIs of the store): a first run (every one added), then 1 %
changed and 0.5 % removed. The app is the real Flask app in-process (test client)::

    flock /tmp/bench.lock .venv/bin/python bench/history_feed.py \
        --store bench/out/ui-store-n100000-seed1-ingested

Results go to ``bench/RESULTS.md`` under "History", by hand, with the commit and the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kg.derived.build import upgrade
from kg.factory import store_for
from kg.history import FOLDER, history_name
from kg.ingest.history import update_history
from kg.iris import Minter
from kg.settings import Settings, load_settings
from kg.vocab import DCAT
from kg.web.app import build_app

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import generator  # noqa: E402
from bench.history import records_file  # noqa: E402

BASE = generator().BASE


def linked_store(source: Path, folder: Path) -> Path:
    """A new store folder whose current generation is ``source``'s, hard-linked (never written)."""
    generation = (source / "current").resolve()
    target = folder / "generations" / generation.name
    target.parent.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(generation), str(target)], check=True)
    (folder / "current").symlink_to(Path("generations") / generation.name)
    return target


def dataset_iris(settings: Settings) -> list[str]:
    found = store_for(settings).query(f"SELECT ?d WHERE {{ ?d a <{DCAT.Dataset}> }}")
    return sorted(r["d"].value for r in found)


def histories(generation: Path, iris: list[str], scratch: Path) -> tuple[str, str]:
    """The history of the datasets as one source's: added at T0, 1 % changed, 0.5 % removed at T1."""
    n = len(iris)
    first = records_file(scratch / "r1.sqlite", n, set(), set())
    _rekey(scratch / "r1.sqlite", iris)
    t0 = datetime.now(UTC)
    update_history(None, scratch / "h1.db", None, scratch / "r1.sqlite", first, "http://x/run/1", t0)
    time.sleep(0.01)
    changed, gone = set(range(0, n, 100)), set(range(1, n, 200))
    second = records_file(scratch / "r2.sqlite", n, changed, gone)
    _rekey(scratch / "r2.sqlite", iris)
    t1 = datetime.now(UTC)
    update_history(scratch / "h1.db", scratch / "h2.db", scratch / "r1.sqlite", scratch / "r2.sqlite",
                   second, "http://x/run/2", t1)  # fmt: skip
    (generation / FOLDER).mkdir(exist_ok=True)
    shutil.copyfile(scratch / "h2.db", generation / FOLDER / history_name("bench"))
    return f"{t0:%Y-%m-%dT%H:%M:%S.%fZ}", f"{t1:%Y-%m-%dT%H:%M:%S.%fZ}"


def _rekey(path: Path, iris: list[str]) -> None:
    """The synthetic records' keys made the store's dataset IRIs (record i is dataset i)."""
    db = sqlite3.connect(path)
    db.execute("CREATE INDEX by_ident ON records (ident)")
    rows = [(iris[int(ident.split(":")[1])], ident) for (ident,) in db.execute("SELECT ident FROM records")]
    db.executemany("UPDATE records SET key = ? WHERE ident = ?", rows)
    db.commit()
    db.close()


def timed(client, url: str, runs: int) -> tuple[float, int, int]:  # noqa: ANN001
    """Median milliseconds of ``runs`` requests (after one to warm), the status and the body's size."""
    answer = client.get(url)
    print(f"  warm: {url}", flush=True)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), answer.status_code, len(answer.get_data())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a bench store (read only)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="kg-bench-feed-"))
    try:
        linked_store(args.store.resolve(), scratch / "store")
        settings = load_settings(store=scratch / "store", base_uri=BASE, catalog_page_size=100)
        t = time.perf_counter()
        upgraded = upgrade(store_for(settings))  # the pages' tables of an older version made again
        print(f"derived data made again ({upgraded}): {time.perf_counter() - t:.0f} s", flush=True)
        generation = (scratch / "store" / "current").resolve()
        iris = dataset_iris(settings)
        t0, t1 = histories(generation, iris, scratch)
        client = build_app(settings).test_client()
        print(f"load average {os.getloadavg()[0]:.1f}, {len(iris):,} datasets; T0 {t0}, T1 {t1}", flush=True)
        record = Minter(BASE).record(iris[0]).removeprefix(BASE.rstrip("/"))
        gone = iris[1].removeprefix(BASE.rstrip("/"))
        for url in (
            f"/changes.json?since={t1}",
            f"/changes.json?since={t1}&page=15",
            f"/changes.ttl?since={t1}",
            f"/changes.json?since={t0}",
            f"/changes.json?since={t0}&page=990",
            f"/catalog.json?modified_since={t1}",
            f"/catalog.ttl?modified_since={t1}",
            f"/catalog.json?modified_since={t0}",
            f"/catalog.ttl?modified_since={t0}&page=500",
            f"{record}.json",
            f"{record}.ttl",
            f"{gone}.json",
        ):
            ms, status, size = timed(client, url, args.runs)
            print(f"{ms:9.1f} ms  {status}  {size:>9,} B  {url}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
