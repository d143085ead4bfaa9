"""kg.derived: the aggregate pages' data, derived once per store generation.

The derived data must say what the scans the pages used to run said. The *old scans* below are
those queries, kept here as the reference: run on the store, their answers are compared with
the derived tables, on the bundled sample and on sources made by ``bench/generate.py`` (CSV,
whose datasets are our catalogue's members, and Turtle, which keeps its own IRIs and its own
catalogue). Then: a write updates only what it touched and gives the same tables as a build
from scratch; a removed or re-ingested source is reflected; the points per indicator of the
lean quality graph are those the ingest computed.
"""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_CSV, make_settings

from kg import quality
from kg.derived.tables import open_derived
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.ingest.sources import remove_source
from kg.ingest.workers import process
from kg.iris import Minter
from kg.readers import read_source
from kg.search.tables import INDEX_FILE
from kg.settings import Settings
from kg.vocab import DCAT, DCT, FOAF, KGO, ORG, PROV

N = 120  # datasets per generated source


def _generator():
    if "bench_generate" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_generate"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_generate"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated sources: N datasets as a CSV folder and as Turtle (seed 4)."""
    folder = tmp_path_factory.mktemp("generated")
    gen = _generator()
    return {fmt: gen.generate(N, 4, fmt, folder / fmt) for fmt in ("csv", "ttl")}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, inputs: dict[str, Path]) -> Settings:
    """The sample, a generated CSV source and a generated Turtle source, in one store."""
    settings = make_settings(tmp_path_factory.mktemp("mixed") / "store")
    ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    ingest(str(inputs["csv"]), settings=settings, source="gen-csv")
    ingest(str(inputs["ttl"]), settings=settings, source="gen-ttl")
    return settings


def _copy(settings: Settings, tmp_path: Path) -> Settings:
    target = tmp_path / "store"
    shutil.copytree(settings.store, target, symlinks=True)
    return make_settings(target)


# ---------------------------------------------------------------- the old scans, as the reference


def rows(store, query: str, **kwargs) -> list[dict[str, str | None]]:
    result = store.query(query, **kwargs)
    names = [v.value for v in result.variables]
    return [{n: (r[n].value if r[n] is not None else None) for n in names} for r in result]


def old_counts(store) -> dict[str, int]:
    classes = {"datasets": DCAT.Dataset, "distributions": DCAT.Distribution, "services": DCAT.DataService}
    out = {
        name: int(rows(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) {{ ?x a <{c}> }}")[0]["n"])
        for name, c in classes.items()
    }
    out["agencies"] = int(
        rows(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) {{ ?x a <{ORG.Organization}> }}")[0]["n"]
    )
    return out


def expected_counts(store) -> dict[str, int]:
    """The old counts, with the units typed only org:OrganizationalUnit (the generator's Turtle
    writes its units so) among the agencies: ORG makes a unit an organisation."""
    (row,) = rows(
        store,
        f"""SELECT (COUNT(DISTINCT ?a) AS ?n) {{ ?a a <{ORG.OrganizationalUnit}>
        FILTER NOT EXISTS {{ ?a a <{ORG.Organization}> }} }}""",
    )
    old = old_counts(store)
    return {**old, "agencies": old["agencies"] + int(row["n"])}


def old_home_agencies(store) -> list[dict]:
    found = rows(
        store,
        f"""SELECT ?agency (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?d) AS ?datasets) WHERE {{
        ?agency a <{ORG.Organization}> ; <{FOAF.name}> ?label .
        OPTIONAL {{ ?d <{DCT.publisher}> ?agency ; a <{DCAT.Dataset}> }}
      }} GROUP BY ?agency ORDER BY DESC(?datasets) ?name LIMIT 50""",
    )
    return [{"agency": r["agency"], "name": r["name"], "datasets": int(r["datasets"] or 0)} for r in found]


def old_themes(store) -> dict[str, int]:
    found = rows(
        store,
        f"""SELECT ?theme (COUNT(DISTINCT ?d) AS ?datasets) WHERE {{
        ?d a <{DCAT.Dataset}> ; <{DCAT.theme}> ?theme }} GROUP BY ?theme""",
    )
    return {r["theme"]: int(r["datasets"] or 0) for r in found}


def old_recent(store) -> list[tuple[str, str | None]]:
    found = rows(
        store,
        f"""SELECT ?dataset (MAX(?m) AS ?modified) WHERE {{
        ?dataset a <{DCAT.Dataset}> ; <{DCT.title}> ?t . OPTIONAL {{ ?dataset <{DCT.modified}> ?m }}
      }} GROUP BY ?dataset ORDER BY DESC(?modified) LIMIT 10""",
    )
    return [r["modified"] for r in found]


def old_members(store, settings: Settings) -> list[tuple[str, str]]:
    catalog = Minter(settings.base_uri).catalog()
    vocab, quality_prefix = Minter(settings.base_uri).vocabulary_graph(), f"{settings.base_uri}graph/quality/"
    graphs = [g for g in store.data_graphs() if g != vocab and not g.startswith(quality_prefix)]
    found = rows(
        store,
        f"""SELECT DISTINCT ?m ?p WHERE {{ <{catalog}> ?p ?m
            FILTER(?p IN (<{DCAT.dataset}>, <{DCAT.service}>) && isIRI(?m)) }}""",
        default_graphs=graphs,
    )
    pairs = sorted({(r["p"] == str(DCAT.service), r["m"]) for r in found})
    return [(iri, "service" if service else "dataset") for service, iri in pairs]


def old_void(store, settings: Settings) -> dict:
    (row,) = rows(
        store,
        """SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
        (COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT ?p) AS ?properties) WHERE { ?s ?p ?o }""",
    )
    (entities,) = rows(
        store,
        f"""SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s ?p ?o
            FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{settings.base_uri}")) }}""",
    )
    classes = {
        r["c"]: int(r["n"])
        for r in rows(store, "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) { ?s a ?c FILTER(isIRI(?c)) } GROUP BY ?c")
    }
    properties = [r["p"] for r in rows(store, "SELECT DISTINCT ?p WHERE { ?s ?p ?o }")]
    (ended,) = rows(
        store,
        f"""SELECT (MAX(?e) AS ?m) {{ GRAPH <{Minter(settings.base_uri).provenance_graph()}> {{
            ?r <{PROV.endedAtTime}> ?e }} }}""",
        default_graphs=[],
        private=True,
    )

    def namespace(iri: str) -> str:
        cut = max(iri.rfind("#"), iri.rfind("/"))
        return iri[: cut + 1] if cut > 0 else iri

    sizes = store.graph_sizes()
    return {
        **{k: int(row[k]) for k in ("triples", "subjects", "objects", "properties")},
        "entities": int(entities["n"]),
        "classes": classes,
        "vocabularies": sorted({namespace(i) for i in [*properties, *classes]}),
        "subsets": {g: sizes[g] for g in store.data_graphs()},
        "modified": ended["m"],
    }


def old_agency_names(store) -> dict[str, str]:
    """Every IRI typed an agency class, with its foaf:name (one of them)."""
    found = rows(
        store,
        f"""SELECT ?a (SAMPLE(?n) AS ?name) WHERE {{
        VALUES ?c {{ <{ORG.Organization}> <{ORG.OrganizationalUnit}> }} ?a a ?c
        OPTIONAL {{ ?a <{FOAF.name}> ?n }}
        FILTER(isIRI(?a)) }} GROUP BY ?a""",
    )
    return {r["a"]: r["name"] for r in found}


def expected_points(location: Path, fmt: str, settings: Settings) -> dict[str, dict[str, float]]:
    """The points per indicator of each published dataset, worked out again from the source."""
    out = {}
    iris = Minter(settings.base_uri)
    for mapped, report in process(read_source(str(location), fmt=fmt), iris, batch=50, workers=1):
        points = quality.assess(mapped, report)
        if points is not None and report.publishable:
            out[mapped.key] = points
    return out


def derived_tables(settings: Settings) -> dict[str, list[tuple]]:
    """Every row of every derived table of the published generation, sorted."""
    from kg.derived import agencies, catalog, quality, quarantine, void

    db = sqlite3.connect(store_for(settings).folder() / INDEX_FILE)
    tables = ("derived", *agencies.TABLES, *catalog.TABLES, *void.TABLES, *quarantine.TABLES, *quality.TABLES)
    out = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    db.close()
    return out


# ---------------------------------------------------------------- equal to the old scans


def test_counts_home_and_void_equal_the_old_scans(mixed: Settings) -> None:
    store, tables = store_for(mixed), open_derived(store_for(mixed))
    home = tables.value("home")
    assert home["counts"] == tables.value("counts") == expected_counts(store)
    assert expected_counts(store)["agencies"] == old_counts(store)["agencies"] + 30  # the Turtle's units
    named = {row["agency"]: row for row in old_home_agencies(store)}
    for row in home["agencies"]:  # the old list, with the units the old one missed
        if row["agency"] in named:
            assert row == named[row["agency"]], row
        else:
            assert row["agency"] in old_agency_names(store)
    counts = [row["datasets"] for row in home["agencies"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == max(r["datasets"] for r in named.values())
    assert {row["theme"]: row["datasets"] for row in home["themes"]} == dict(
        sorted(old_themes(store).items(), key=lambda kv: -kv[1])[:20]
    )
    assert all(row["label"] for row in home["themes"])  # the EU themes' English labels
    assert [row["modified"] for row in home["recent"]] == old_recent(store)
    assert tables.value("void") == old_void(store, mixed)


def test_members_in_page_order_equal_the_old_scan(mixed: Settings) -> None:
    from kg.derived.catalog import member_count, member_page

    store, tables = store_for(mixed), open_derived(store_for(mixed))
    expected = old_members(store, mixed)
    # the sample's 48, and the published datasets and services of both generated sources (every reader's
    # records are linked to our catalogue; the Turtle's own catalogue is another one)
    assert member_count(tables.db()) == len(expected) > 48 + N
    assert member_page(tables.db(), 0, len(expected) + 5) == expected
    assert member_page(tables.db(), 10, 7) == expected[10:17]


def _quarantined(settings: Settings, source: str) -> int:
    from kg.ingest.sources import list_sources

    return next(int(s["quarantined"]) for s in list_sources(settings=settings) if s["source"] == source)


def test_agency_directory(mixed: Settings) -> None:
    store, tables = store_for(mixed), open_derived(store_for(mixed))
    names = old_agency_names(store)
    query = (
        "SELECT a.iri, a.name, p.iri, a.unit, a.kind, a.datasets, a.with_units FROM agencies a "
        "LEFT JOIN agencies p ON p.id = a.parent"
    )
    found = {row[0]: row[1:] for row in tables.rows(query)}
    assert set(found) == set(names) and len(found) == 7 + 50 + 50
    for iri, name in names.items():
        assert found[iri][0] == name
    per_publisher = {
        r["a"]: int(r["n"])
        for r in rows(
            store,
            f"""SELECT ?a (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT.Dataset}> ;
            <{DCT.publisher}> ?a FILTER(isIRI(?d)) }} GROUP BY ?a""",
        )
    }
    up = f"<{ORG.subOrganizationOf}>|<{ORG.unitOf}>"
    for iri, (_, parent, unit, _kind, datasets, total) in found.items():
        assert datasets == per_publisher.get(iri, 0), iri
        (row,) = rows(
            store,
            f"""SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?a ({up})* <{iri}> .
            ?d a <{DCAT.Dataset}> ; <{DCT.publisher}> ?a FILTER(isIRI(?d)) }}""",
        )
        assert total == int(row["n"]), iri  # its own datasets and those of every unit below it
        parents = {r["p"] for r in rows(store, f"SELECT ?p WHERE {{ <{iri}> {up} ?p }}")}
        assert (parent in parents) if parents else parent is None, iri
        assert unit == bool(store.query(f"ASK {{ <{iri}> a <{ORG.OrganizationalUnit}> }}"))
    assert found["http://kg.test/agency/mei"][3:] == ("ministry", 4, 44)
    assert found["http://kg.test/agency/vea-air"][2:4] == (1, "unit")
    sources = dict(tables.rows("SELECT source, count(*) FROM agency_sources GROUP BY source"))
    assert sources == {"sample": 7, "gen-csv": 50, "gen-ttl": 50}


def test_scores_are_the_ingests_points(mixed: Settings, inputs: dict[str, Path]) -> None:
    tables = open_derived(store_for(mixed))
    names = ["iri", "score", *(f"i_{i.name}" for i in quality.ASSESSED)]
    stored = {}
    for graph, *values in tables.rows(f"SELECT graph, {', '.join(names)} FROM scores"):
        stored[(graph.rsplit("/", 1)[-1], values[0])] = values[1:]
    for source, (location, fmt) in {"sample": (SAMPLE_CSV, "csv"), "gen-csv": (inputs["csv"], "csv"),
                                    "gen-ttl": (inputs["ttl"], "ttl")}.items():  # fmt: skip
        expected = expected_points(location, fmt, mixed)
        assert len(expected) > 40
        for iri, points in expected.items():
            score, *mine = stored.pop((source, iri))
            assert mine == [points[i.name] for i in quality.ASSESSED], iri
            assert score == round(sum(points.values()), 2)
    assert not stored


def test_quarantine_and_runs_equal_the_old_scans(mixed: Settings) -> None:
    from kg.ingest.sources import list_sources

    tables = open_derived(store_for(mixed))
    runs = {
        r[0]: r[1:]
        for r in tables.rows("SELECT source, read, published, quarantined, violations, warnings FROM runs")
    }
    for source in list_sources(settings=mixed):
        expected = tuple(
            int(source[k]) for k in ("read", "published", "quarantined", "violations", "warnings")
        )
        assert runs.pop(source["source"]) == expected
    assert not runs
    held = rows(
        store_for(mixed),
        f"""SELECT ?g ?key WHERE {{ GRAPH ?g {{ ?r a <{KGO.QuarantinedRecord}> ; <{KGO.recordKey}> ?key }} }}
        ORDER BY ?g STR(?key)""",
        default_graphs=[],
        private=True,
    )
    assert [(g, key) for g, key in tables.rows("SELECT graph, record FROM quarantine ORDER BY position")] == [
        (r["g"], r["key"]) for r in held
    ]
    assert len(held) == _quarantined(mixed, "gen-csv") + _quarantined(mixed, "gen-ttl") > 0


# ---------------------------------------------------------------- kept up to date


def test_a_write_updates_only_what_it_touched_and_equals_a_full_build(
    mixed: Settings, tmp_path: Path
) -> None:
    """The tables after incremental writes are those a build from the store alone gives (a SPARQL
    update's change is unknown, so every table is derived again, the points from the triples)."""
    settings = _copy(mixed, tmp_path)
    before = derived_tables(settings)
    store_for(settings).update("DELETE DATA { <urn:kg:nothing> <urn:kg:nothing> <urn:kg:nothing> }")
    after = derived_tables(settings)
    assert after == before


def test_removing_and_reingesting_a_source(mixed: Settings, inputs: dict[str, Path], tmp_path: Path) -> None:
    settings = _copy(mixed, tmp_path)
    assert remove_source("gen-csv", settings=settings)
    store, tables = store_for(settings), open_derived(store_for(settings))
    assert tables.value("counts") == expected_counts(store) and expected_counts(store)["agencies"] == 7 + 50
    assert tables.value("void") == old_void(store, settings)
    assert not tables.rows("SELECT 1 FROM scores WHERE graph LIKE '%/gen-csv'")
    assert not tables.rows("SELECT 1 FROM quality_totals WHERE source = 'gen-csv'")
    assert not tables.rows("SELECT 1 FROM runs WHERE source = 'gen-csv'")
    assert not tables.rows("SELECT 1 FROM agency_sources WHERE source = 'gen-csv'")
    assert [r[0] for r in tables.rows("SELECT iri FROM member_order ORDER BY position")] == [
        iri for iri, _ in old_members(store, settings)
    ]
    smaller = tmp_path / "smaller"
    shutil.copytree(inputs["csv"], smaller)
    lines = (smaller / "datasets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (smaller / "datasets.csv").write_text("".join(lines[:31]), encoding="utf-8")  # 30 datasets
    keep = {line.split(",", 1)[0] for line in lines[1:31]}
    dists = (smaller / "distributions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (smaller / "distributions.csv").write_text(
        "".join([dists[0], *(d for d in dists[1:] if d.split(",", 1)[0] in keep)]), encoding="utf-8"
    )
    (smaller / "services.csv").unlink()
    ingest(str(smaller), settings=settings, source="gen-csv")
    tables = open_derived(store_for(settings))
    published = tables.rows("SELECT published FROM runs WHERE source = 'gen-csv'")[0][0]
    assert tables.rows("SELECT count(*) FROM scores WHERE graph LIKE '%/gen-csv'")[0][0] == published - 50
    assert (
        tables.value("counts") == expected_counts(store) and expected_counts(store)["agencies"] == 7 + 50 + 50
    )
    assert tables.value("void") == old_void(store, settings)
    fresh = derived_tables(settings)
    store_for(settings).update("DELETE DATA { <urn:kg:nothing> <urn:kg:nothing> <urn:kg:nothing> }")
    assert derived_tables(settings) == fresh


def test_void_of_a_small_write_is_updated_by_difference(
    mixed: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small source's ingest and removal never pass over the whole store for VoID, and the counts
    stay those of the old scan (the sample's agencies again, under another source: shared terms)."""
    from kg.derived import void

    settings = _copy(mixed, tmp_path)

    def no_full_pass(b):
        raise AssertionError("a pass over the whole store")

    monkeypatch.setattr(void, "_full", no_full_pass)
    small = tmp_path / "small"
    small.mkdir()
    for name in ("agencies.csv", "datasets.csv", "distributions.csv"):
        lines = (SAMPLE_CSV / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (small / name).write_text("".join(lines if name == "agencies.csv" else lines[:1]), encoding="utf-8")
    ingest(str(small), settings=settings, source="small")
    store = store_for(settings)
    assert open_derived(store).value("void") == old_void(store, settings)
    assert remove_source("small", settings=settings)
    assert open_derived(store).value("void") == old_void(store, settings)


def test_an_empty_store_and_a_store_without_derived_data(settings: Settings, tmp_path: Path) -> None:
    assert open_derived(store_for(settings)) is None  # nothing written yet
    ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    store = store_for(settings)
    db = sqlite3.connect(store.folder() / INDEX_FILE)
    db.execute("DELETE FROM meta WHERE key = 'derived'")  # as a generation written before them
    db.commit()
    db.close()
    from kg.derived.tables import _open
    from kg.errors import StoreError

    _open.clear()
    with pytest.raises(StoreError, match="derived data of generation .* is missing"):
        open_derived(store)
    from kg.web.app import build_app

    client = build_app(settings).test_client()
    response = client.get("/index.json")
    assert response.status_code == 503 and "next write" in response.get_json()["detail"]
