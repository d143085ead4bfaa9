"""The store phase alone: an ingest's N-Triples files bulk-loaded into a fresh Oxigraph store.

Why: the store phase of a 100,000-dataset ingest wrote ~20 GB for a ~4.4 GB store, and what it
costs depends on how the files are cut and on RocksDB's compactions, not on the ingest's Python.
This loads the files an ingest would load (captured once per input: ``--capture``, which runs the
ingest with the store's loads replaced by copies) as :meth:`kg.store.generation.Writer.load` does, in pieces
of ``--piece-mb``, and reports CPU seconds, bytes written (``/proc/self/io``), what the RocksDB
compaction threads wrote and spent (``/proc/self/task/*``: threads named ``rocksdb:low``), the
store's size and the peak RSS. ``--graphs`` picks the files (e.g. leave the quality graph out to
see what the rest costs).

Measured (100,000 CSV datasets, 64 MB pieces, 2026-12-06, load 4): all public graphs 228 CPU s,
19.4 GB written, 4.39 GB; without the quality graph 66 CPU s, 4.9 GB, 1.41 GB (of the 5.05 GB
written, 3.35 GB by compaction).

Usage::

    .venv/bin/python bench/store_load.py --capture bench/out/n100000-seed1/csv --format csv
    .venv/bin/python bench/store_load.py --piece-mb 64 --graphs bench,vocabularies,catalog,report_bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASE_URI = "http://127.0.0.1:8000/"
FILES = ROOT / "bench" / "out" / "store-load"


def capture(location: str, fmt: str, folder: Path) -> None:
    """Run the ingest with every load of the store phase replaced by a copy of the file into ``folder``."""
    from kg.ingest.run import ingest
    from kg.settings import load_settings
    from kg.store import embedded, generation

    folder.mkdir(parents=True, exist_ok=True)

    def name(graph: str) -> Path:
        return folder / (graph.split("/graph/", 1)[-1].replace("/", "_") + ".nt")

    generation.Writer.load = lambda self, path, *, graph, fmt="nt": shutil.copyfile(path, name(graph))
    generation.Writer.load_text = lambda self, text, *, graph, fmt="nt": name(graph).write_text(text, "utf-8")
    embedded.Store._build_derived = lambda *args, **kwargs: None
    scratch = Path(tempfile.mkdtemp(prefix="kg-store-load-"))
    try:
        ingest(
            location,
            settings=load_settings({}, store=scratch / "store", base_uri=BASE_URI),
            fmt=fmt,
            source="bench",
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _io() -> int:
    values = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(values["write_bytes"]) - int(values["cancelled_write_bytes"])


def _threads() -> dict[str, list[float]]:
    """Bytes written (MB) and CPU seconds per thread name, of the live threads."""
    out: dict[str, list[float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            io = dict(line.split(": ") for line in Path(f"/proc/self/task/{tid}/io").read_text().splitlines())
            stat = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        row = out.setdefault(name, [0.0, 0.0])
        row[0] += int(io["write_bytes"]) / 2**20
        row[1] += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return {k: [round(v[0]), round(v[1], 1)] for k, v in out.items()}


def load(folder: Path, graphs: list[str], piece_mb: int) -> dict:
    import pyoxigraph as ox

    from kg.store.bulk_load import cut_points, read_pieces

    target = Path(tempfile.mkdtemp(prefix="kg-store-load-", dir=ROOT / "bench" / "out"))
    written, started, cpu = _io(), time.perf_counter(), os.times()
    store = ox.Store(str(target / "rdf"))
    for name in graphs:
        path = folder / f"{name}.nt"
        graph = ox.NamedNode(f"{BASE_URI}graph/{name.replace('_', '/')}")
        big = os.path.getsize(path) > piece_mb << 20
        cuts = cut_points(path, size=piece_mb << 20) if big else []
        if not cuts:
            store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        for piece in read_pieces(path, cuts) if cuts else ():
            store.bulk_load(input=piece, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
    threads = _threads()  # before the store closes: RocksDB's threads end with it
    store.flush()
    del store
    now = os.times()
    result = {
        "graphs": graphs,
        "piece_mb": piece_mb,
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(now.user + now.system - cpu.user - cpu.system, 1),
        "written_mb": round((_io() - written) / 2**20),
        "threads_mb_cpu_s": threads,
        "store_mb": round(sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 2**20),
        "peak_rss_mb": int(
            next(x for x in Path("/proc/self/status").read_text().splitlines() if "VmHWM" in x).split()[1]
        )
        // 1024,
        "load": os.getloadavg()[0],
    }
    shutil.rmtree(target, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capture", help="an ingest's input: capture its N-Triples files first")
    parser.add_argument("--format", help="the input's format (with --capture)")
    parser.add_argument("--files", type=Path, default=FILES, help="folder of the captured files")
    parser.add_argument("--graphs", default="bench,vocabularies,catalog,quality_bench,report_bench")
    parser.add_argument("--piece-mb", type=int, default=64)
    args = parser.parse_args(argv)
    if args.capture:
        capture(args.capture, args.format, args.files)
        print(f"captured into {args.files}: {sorted(p.name for p in args.files.glob('*.nt'))}")
        return 0
    graphs = [g.strip() for g in args.graphs.split(",") if g.strip()]
    print(json.dumps(load(args.files, graphs, args.piece_mb)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
