"""The records' history step alone (:func:`kg.ingest.history.update_history`) at N records: a first
run (every record added), then 1 % of the records changed and 0.5 % removed; no store, no mapping.

Why apart from ``bench/harvest.py``: that one costs ~10 minutes a step at 100,000 datasets on this
machine, and the history is a few seconds of it; this isolates them. The records files are
synthetic (two triples a record, pickled as :mod:`kg.ingest.memo` keeps a result)::

    flock /tmp/bench.lock .venv/bin/python bench/history.py --n 100000

Results go to ``bench/RESULTS.md`` under "History", by hand, with the commit and the load.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sqlite3
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

from kg.ingest.history import update_history


def records_file(path: Path, n: int, changed: set[int], gone: set[int]) -> dict[str, bytes]:
    """A memo records file of ``n`` datasets (``changed`` retitled, ``gone`` left out); the digests."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE records (ident TEXT, digest BLOB, result BLOB, key TEXT, kind TEXT, publishable INT)"
    )
    rows = []
    for i in (i for i in range(n) if i not in gone):
        title = f"t{i} (v2)" if i in changed else f"t{i}"
        lines = f'<http://x/d/{i}> <http://purl.org/dc/terms/title> "{title}" .\n'
        lines += f'<http://x/d/{i}> <http://purl.org/dc/terms/identifier> "{i}" .\n'
        blob = zlib.compress(pickle.dumps((None, None, (lines,))), 1)
        rows.append((f"Dataset:{i}", title.encode(), blob, f"http://x/d/{i}", "dataset", 1))
    db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return {ident: digest for ident, digest, *_ in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    n = parser.parse_args().n
    folder = Path(tempfile.mkdtemp(prefix="kg-bench-history-"))
    print(f"load average {os.getloadavg()[0]:.1f}, {n:,} records")
    seen = records_file(folder / "r1.sqlite", n, set(), set())
    t0 = time.perf_counter()
    lines = update_history(
        None, folder / "h1.db", None, folder / "r1.sqlite", seen, "http://x/run/1", datetime.now(UTC)
    )
    size = os.path.getsize(folder / "h1.db") / 1e6
    took, triples = time.perf_counter() - t0, lines.count("\n")
    print(f"first run: {took:.2f} s, {triples:,} PROV-O triples, file {size:.1f} MB")
    changed, gone = set(range(0, n, 100)), set(range(1, n, 200))
    seen = records_file(folder / "r2.sqlite", n, changed, gone)
    t0 = time.perf_counter()
    lines = update_history(
        folder / "h1.db", folder / "h2.db", folder / "r1.sqlite", folder / "r2.sqlite", seen, "http://x/run/2",
        datetime.now(UTC),
    )  # fmt: skip
    took, triples = time.perf_counter() - t0, lines.count("\n")
    print(f"1 % changed, 0.5 % removed: {took:.2f} s, {triples:,} PROV-O triples")


if __name__ == "__main__":
    main()
