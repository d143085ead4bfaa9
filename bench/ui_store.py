"""The store ``bench/ui.py`` serves: made once per (N, seed) and cached, or given; its layout checked;
what the routes need to know of it; a new generation written beside it.

Two ways to make one, both with the builders ``kg ingest`` registers (the search index, then the
pages' derived data: :func:`kg.factory.store_for`):

* **bulk** (the default): the generator's Turtle loaded into one generation without the SHACL
  pass, cached under ``bench/out/ui-store-n<N>-seed<S>``. Fast (minutes at 1,000,000), but
  nothing was validated or measured: the pages show no findings, ``/quality`` has no scores;
* **ingested** (``--ingested``): :func:`kg.ingest.run.ingest` of the generator's CSV folder (read,
  map, repair, SHACL, quarantine, quality), cached under ``…-ingested``: what a deployment
  serves. Its peak memory (this process, and the largest worker) is kept with its facts.

The generator streams (its memory stays flat at any N), so the input costs only disk: about
0.9 GB of CSV or 2.4 GB of Turtle at 1,000,000 datasets.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import generator  # noqa: E402

OUT = ROOT / "bench" / "out"
GEN = generator()
BASE = GEN.BASE
EU = "http://publications.europa.eu/resource/authority/"
VOCABULARIES = ("data-theme", "file-type", "licence", "language", "frequency", "access-right")
EXTRA_GRAPH = f"{BASE}graph/bench-ui-generation"


def settings_for(folder: Path):
    """The settings of the benchmark's store: the caller's ``KG_*`` with this store and base."""
    from kg.settings import load_settings

    return load_settings(store=folder, base_uri=BASE)


def _peak_rss_mb() -> dict[str, int]:
    """Peak resident memory so far of this process and of its largest finished child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return {"main": own, "largest_worker": child}


def bulk_store(n: int, seed: int, out: Path = OUT) -> tuple[Path, dict[str, Any]]:
    """The generated Turtle in one generation, without the SHACL pass; built once."""
    from kg.catalog import catalog_graph, catalog_ntriples
    from kg.factory import store_for
    from kg.iris import Minter
    from kg.mapping.eu_vocabularies import vocabulary_ntriples

    folder = out / f"ui-store-n{n}-seed{seed}"
    facts_file = folder / "bulk.json"
    if facts_file.is_file():
        return folder, json.loads(facts_file.read_text())
    if (folder / "current").exists():
        raise SystemExit(f"{folder} was made by an older bench/ui.py (no {facts_file.name}): delete it")
    ttl = out / f"endpoint-input-n{n}-seed{seed}" / "catalog.ttl"  # bench/endpoint.py's: the same bytes
    if not ttl.is_file():
        started = time.perf_counter()
        ttl = GEN.generate(n, seed, "ttl", out / f"ui-input-n{n}-seed{seed}")
        print(f"  generated {n:,} datasets in {time.perf_counter() - started:.1f}s: {ttl}", flush=True)
    settings = settings_for(folder)
    started = time.perf_counter()
    with store_for(settings).write() as writer:
        writer.load(ttl, graph=f"{BASE}graph/bench", fmt="ttl")
        writer.load_text(vocabulary_ntriples(), graph=Minter(BASE).vocabulary_graph())
        writer.load_text(catalog_ntriples(settings), graph=catalog_graph(settings))
    facts = {
        "n": n,
        "seed": seed,
        "made": "bulk",
        "load_and_derive_seconds": round(time.perf_counter() - started, 1),
    }
    facts |= {"index_bytes": _index(folder).stat().st_size, "peak_rss_mb": _peak_rss_mb()}
    facts_file.write_text(json.dumps(facts, indent=1))
    print(f"  stored in {facts['load_and_derive_seconds']} s", flush=True)
    return folder, facts


def ingested_store(n: int, seed: int, out: Path = OUT) -> tuple[Path, dict[str, Any]]:
    """The store made by a real ingest of the generated CSV folder (source ``bench``); built once."""
    from kg.ingest.run import ingest

    folder = out / f"ui-store-n{n}-seed{seed}-ingested"
    facts_file = folder / "ingest.json"
    if facts_file.is_file():
        return folder, json.loads(facts_file.read_text())
    csv = out / f"ui-input-n{n}-seed{seed}-csv"
    if not (csv / "datasets.csv").is_file():
        started = time.perf_counter()
        csv = GEN.generate(n, seed, "csv", csv)
        print(f"  generated {n:,} datasets in {time.perf_counter() - started:.1f}s: {csv}", flush=True)
    started = time.perf_counter()
    summary = ingest(str(csv), settings=settings_for(folder), source="bench", fmt="csv")
    facts = {
        "n": n,
        "seed": seed,
        "made": "ingested",
        "ingest_seconds": round(time.perf_counter() - started, 1),
        "published": summary.published,
        "quarantined": summary.quarantined,
        "index_bytes": _index(folder).stat().st_size,
        "peak_rss_mb": _peak_rss_mb(),
    }
    facts_file.write_text(json.dumps(facts, indent=1))
    print(
        f"  ingested in {facts['ingest_seconds']} s: {summary.published:,} published, "
        f"{summary.quarantined:,} quarantined; peak RSS {facts['peak_rss_mb']} MB",
        flush=True,
    )
    return folder, facts


def _index(folder: Path) -> Path:
    from kg.search.tables import INDEX_FILE

    return folder / "current" / INDEX_FILE


# ---------------------------------------------------------------- is it this code's layout?


def layout_problems(folder: Path) -> list[str]:
    """Why the store is not laid out as this checkout's ingest lays it out (empty when it is): a
    store made before the derived data (or by another version of it) lacks tables or columns the
    pages read, and its pages would fail or measure something else."""
    from kg.derived import agencies, catalog, quality, quarantine, tables, void
    from kg.search import tables as search

    index = _index(folder)
    if not index.is_file():
        return [f"{index} is missing (no published generation, or not a store)"]
    want = sqlite3.connect(":memory:")
    want.executescript(search.SCHEMA + tables.SCHEMA)
    for module in (agencies, catalog, quarantine, quality, void):
        want.executescript(module.SCHEMA)
    have = sqlite3.connect(f"file:{index}?mode=ro&immutable=1", uri=True)
    try:
        meta = dict(have.execute("SELECT key, value FROM meta").fetchall())
        problems = [
            f"meta {key} is {meta.get(key)!r}, this code writes {value!r}"
            for key, value in (("schema", search.SCHEMA_VERSION), ("derived", tables.VERSION))
            if meta.get(key) != value
        ]
        missing = []
        for (table,) in want.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            if table.startswith("text"):
                continue  # the FTS5 table and its shadow tables
            columns = [row[1] for row in want.execute(f"PRAGMA table_info({table})")]
            found = [row[1] for row in have.execute(f"PRAGMA table_info({table})")]
            if not found:
                missing.append(table)
            elif found != columns:
                problems.append(f"table {table} has the columns {found}, this code {columns}")
        if missing:
            problems.append(f"tables missing: {', '.join(missing)}")
    finally:
        have.close()
    return problems


def require_current(folder: Path) -> None:
    problems = layout_problems(folder)
    if problems:
        raise SystemExit(
            f"{folder} was not made by this code's ingest:\n  " + "\n  ".join(problems) + "\n"
            "make one with it (--ingested, or kg ingest of bench/generate.py --format csv), or delete "
            "a cached bench/out/ui-store-* folder to have it made again"
        )


# ---------------------------------------------------------------- what the routes need


@dataclass
class StoreFacts:
    """What the request plans read of the store, so that every URL asks for something that exists."""

    datasets: int = 0  # published, in the search index
    agency_datasets: dict[str, int] = field(default_factory=dict)  # agency IRI -> its own datasets
    agency_facets: dict[str, list] = field(default_factory=dict)  # the directory's filters
    agency_names: list[str] = field(default_factory=list)
    catalog_members: int = 0
    quality_sources: list[str] = field(default_factory=list)  # sources with a quality run
    quality_lengths: dict[str, tuple[int, int]] = field(default_factory=dict)  # scope -> scored, quarantined
    concepts: list[str] = field(default_factory=list)  # EU concepts the catalogue uses
    index: Path | None = None  # the search index, to tell published datasets (None: all are)

    def published(self, iris: list[str]) -> set[str]:
        """Those of ``iris`` the search index holds: the ingest quarantines some generated
        datasets, whose pages are (correct) 404s that a row of pages must not draw."""
        if self.index is None:
            return set(iris)
        db = sqlite3.connect(f"file:{self.index}?mode=ro&immutable=1", uri=True)
        try:
            found: set[str] = set()
            for start in range(0, len(iris), 500):
                part = iris[start : start + 500]
                sql = f"SELECT iri FROM datasets WHERE iri IN ({','.join('?' * len(part))})"
                found.update(i for (i,) in db.execute(sql, part))
            return found
        finally:
            db.close()


def store_facts(folder: Path) -> StoreFacts:
    """Read from the published generation's derived tables (indexed reads) and one SPARQL query."""
    db = sqlite3.connect(f"file:{_index(folder)}?mode=ro&immutable=1", uri=True)
    try:
        facts = StoreFacts(datasets=db.execute("SELECT count(*) FROM datasets").fetchone()[0])
        facts.index = _index(folder)
        facts.agency_datasets = dict(
            db.execute("SELECT value, count FROM terms WHERE facet = 'publisher' ORDER BY value").fetchall()
        )
        facets = db.execute("SELECT value FROM derived WHERE key = 'agency_facets'").fetchone()
        facts.agency_facets = json.loads(facets[0]) if facets else {}
        facts.agency_names = [name for (name,) in db.execute("SELECT name FROM agencies ORDER BY id")]
        facts.catalog_members = db.execute("SELECT count(*) FROM member_order").fetchone()[0]
        facts.quality_sources = [s for (s,) in db.execute("SELECT source FROM runs ORDER BY source")]
        facts.quality_lengths = _quality_lengths(db, facts.quality_sources, list(facts.agency_datasets))
    finally:
        db.close()
    facts.concepts = used_concepts(folder)
    return facts


def _quality_lengths(db: sqlite3.Connection, sources: list[str], agencies: list[str]) -> dict:
    """Datasets scored and records quarantined of the whole store, each source and each agency,
    as the quality page counts them (the last rank or position of each list)."""
    from kg.derived.tables import Layout

    layout = Layout(BASE)

    def last(sql: str, *params: str) -> int:
        return db.execute(sql, params).fetchone()[0] or 0

    out = {"": (last("SELECT max(rank) FROM scores"), last("SELECT max(position) FROM quarantine"))}
    for s in sources:
        out[f"source={s}"] = (
            last("SELECT max(source_rank) FROM scores WHERE graph = ?", layout.quality_prefix + s),
            last("SELECT max(source_position) FROM quarantine WHERE graph = ?", layout.quarantine_prefix + s),
        )
    for a in agencies:
        out[f"agency={a}"] = (
            last("SELECT max(rank) FROM agency_scores WHERE agency = ?", a),
            last("SELECT max(agency_position) FROM quarantine WHERE publisher = ?", a),
        )
    return out


def used_concepts(folder: Path) -> list[str]:
    """The EU vocabulary concepts the catalogue's datasets and distributions point at (each linked
    from thousands of them: the heaviest ``/resource?uri=`` pages)."""
    from kg.iris import Minter
    from kg.store.embedded import Store

    rows = Store(folder).query(
        f"""SELECT DISTINCT ?c WHERE {{ GRAPH <{Minter(BASE).vocabulary_graph()}> {{ ?c a ?k }}
          FILTER(STRSTARTS(STR(?c), "{EU}")) FILTER EXISTS {{ ?x ?p ?c }} }}"""
    )
    return sorted(r["c"].value for r in rows if r["c"].value[len(EU) :].split("/")[0] in VOCABULARIES)


# ---------------------------------------------------------------- a new generation


def write_generation(folder: Path) -> float:
    """Publish a generation with one more one-triple graph, as a small ingest would while the app
    serves (the search index and the derived data are updated with it); its seconds."""
    from kg.factory import store_for

    ttl = f'<{BASE}dataset/bench-ui-extra> <http://purl.org/dc/terms/title> "Extra" .\n'
    started = time.perf_counter()
    store_for(settings_for(folder)).put_graph(EXTRA_GRAPH, ttl.encode(), "ttl")
    return time.perf_counter() - started


def drop_generation_graph(folder: Path) -> float:
    """Remove that graph again (another generation); its seconds."""
    from kg.factory import store_for

    started = time.perf_counter()
    store_for(settings_for(folder)).delete_graph(EXTRA_GRAPH)
    return time.perf_counter() - started
