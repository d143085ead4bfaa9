"""kg.ingest through the Python API: idempotence, changed sources, formats agree, real samples, notes."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
import rdflib
from conftest import BASE, SAMPLE_CSV, SAMPLE_DATA_JSON, make_settings, open_store, snapshot
from rdflib.compare import isomorphic

from kg.errors import InputError, StrictRefusal
from kg.ingest.run import ingest
from kg.ingest.sources import list_sources
from kg.settings import Settings
from kg.vocab import DCAT, DCT, KGO

DATASET = str(DCAT.Dataset)


def graph_of(settings: Settings, name: str) -> rdflib.Graph:
    """One named graph of the store, as an rdflib graph (blank nodes as stored)."""
    out = io.BytesIO()
    open_store(settings).dump(out, fmt="nt", graph=name)
    return rdflib.Graph().parse(data=out.getvalue().decode("utf-8"), format="nt")


def ground_ntriples(graph: rdflib.Graph) -> list[str]:
    """Sorted N-Triples lines without blank nodes (those are compared by isomorphism)."""
    return sorted(
        f"{s.n3()} {p.n3()} {o.n3()} ."
        for s, p, o in graph
        if not isinstance(s, rdflib.BNode) and not isinstance(o, rdflib.BNode)
    )


def subjects(graph: rdflib.Graph, cls: str | None = None) -> set[str]:
    if cls is None:
        return {str(s) for s in graph.subjects() if isinstance(s, rdflib.URIRef)}
    return {str(s) for s in graph.subjects(rdflib.RDF.type, rdflib.URIRef(cls))}


def copy_sample(tmp_path: Path) -> Path:
    folder = tmp_path / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    return folder


def drop_rows(path: Path, column: str, value: str) -> int:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    kept = [r for r in rows if r[column] != value]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(kept)
    return len(rows) - len(kept)


# ---------------------------------------------------------------- idempotence


def test_ingesting_the_same_source_twice_gives_the_same_graph(settings):
    first = ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    graph1 = graph_of(settings, f"{BASE}graph/sample")
    before = snapshot(settings)
    second = ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    graph2 = graph_of(settings, f"{BASE}graph/sample")

    assert (first.read, first.published, first.quarantined) == (55, 55, 0)
    assert (second.read, second.published, second.quarantined) == (55, 55, 0)
    assert first.run != second.run
    assert len(graph1) == len(graph2) > 2000
    assert ground_ntriples(graph1) == ground_ntriples(graph2)
    assert isomorphic(graph1, graph2)
    assert subjects(graph1) == subjects(graph2)
    assert snapshot(settings) == before, "every graph but provenance is the same"
    sources = list_sources(settings=settings)
    assert [s["source"] for s in sources] == ["sample"], "one current run per source"


def test_rdf_with_blank_nodes_is_idempotent(settings, tmp_path):
    path = tmp_path / "catalogue.ttl"
    path.write_text(
        """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
        @prefix vcard: <http://www.w3.org/2006/vcard/ns#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        @prefix foaf: <http://xmlns.com/foaf/0.1/> .
        <http://example.org/d1> a dcat:Dataset ; dct:title "Rivers"@en ; dct:description "Rivers."@en ;
            dct:publisher <http://example.org/agency> ;
            dcat:contactPoint [ a vcard:Kind ; vcard:fn "Desk" ; vcard:hasEmail <mailto:desk@example.org> ] ;
            dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2020-01-01"^^xsd:date ] ;
            dcat:distribution [ a dcat:Distribution ; dcat:accessURL <http://example.org/rivers.csv> ] .
        <http://example.org/agency> a foaf:Agent ; foaf:name "Agency"@en .
        """,
        encoding="utf-8",
    )
    ingest(str(path), settings=settings, source="rdf")
    graph1 = graph_of(settings, f"{BASE}graph/rdf")
    ingest(str(path), settings=settings, source="rdf")
    graph2 = graph_of(settings, f"{BASE}graph/rdf")
    assert any(isinstance(o, rdflib.BNode) for o in graph1.objects())
    assert len(graph1) == len(graph2)
    assert ground_ntriples(graph1) == ground_ntriples(graph2)
    assert isomorphic(graph1, graph2)


# ---------------------------------------------------------------- changed source


def test_a_changed_source_replaces_what_it_had(settings, tmp_path):
    folder = copy_sample(tmp_path)
    ingest(str(folder), settings=settings, source="agency")
    gone = f"{BASE}dataset/vea-land-cover"
    gone_distributions = {
        f"{BASE}distribution/vea-land-cover-zip",
        f"{BASE}distribution/vea-land-cover-pdf",
    }
    store = open_store(settings)

    def anywhere(iri: str) -> bool:
        query = f"ASK {{ GRAPH ?g {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }} }}"
        return bool(store.query(query, default_graphs=[]))

    assert store.query(f"ASK {{ <{gone}> a <{DATASET}> }}")
    assert all(anywhere(iri) for iri in gone_distributions)

    kept_distribution = f"{BASE}distribution/mei-budget-csv"
    assert anywhere(f"{BASE}distribution/mei-budget-xlsx") and anywhere(kept_distribution)
    assert drop_rows(folder / "datasets.csv", "id", "vea-land-cover") == 1
    assert drop_rows(folder / "distributions.csv", "dataset", "vea-land-cover") == 2
    assert drop_rows(folder / "distributions.csv", "id", "mei-budget-xlsx") == 1  # one of two
    summary = ingest(str(folder), settings=settings, source="agency")
    assert (summary.read, summary.published) == (54, 54)

    for iri in {gone, f"{BASE}distribution/mei-budget-xlsx"} | gone_distributions:
        assert not anywhere(iri), f"{iri} is still in the store"
    assert anywhere(kept_distribution)
    graph = graph_of(settings, f"{BASE}graph/agency")
    datasets = subjects(graph, DATASET)
    assert len(datasets) == 43
    assert f"{BASE}dataset/vea-noise-maps" in datasets


def test_a_fixed_record_leaves_quarantine(settings, tmp_path):
    folder = copy_sample(tmp_path)
    text = (folder / "datasets.csv").read_text(encoding="utf-8")
    untitled = text.replace("vea-noise-maps,Strategic noise maps", "vea-noise-maps,")  # no title
    (folder / "datasets.csv").write_text(untitled)
    broken = ingest(str(folder), settings=settings, source="agency")
    assert (broken.published, broken.quarantined) == (54, 1)
    assert broken.quarantined_reports[0].key == f"{BASE}dataset/vea-noise-maps"
    store = open_store(settings)
    quarantine = f"{BASE}graph/quarantine/agency"
    assert store.count(quarantine) > 0

    fixed = ingest(str(SAMPLE_CSV), settings=settings, source="agency")
    assert (fixed.published, fixed.quarantined) == (55, 0)
    assert store.count(quarantine) == 0
    assert store.query(f"ASK {{ <{BASE}dataset/vea-noise-maps> a <{DATASET}> }}")


def test_strict_refusal_and_input_errors_leave_the_store_as_it_was(seeded, tmp_path):
    settings = seeded
    version, before = open_store(settings).version(), snapshot(settings)
    folder = copy_sample(tmp_path)
    text = (folder / "datasets.csv").read_text(encoding="utf-8")
    untitled = text.replace("vea-noise-maps,Strategic noise maps", "vea-noise-maps,")  # no title
    (folder / "datasets.csv").write_text(untitled)
    with pytest.raises(StrictRefusal, match="1 of 55"):
        ingest(str(folder), settings=settings, source="sample", strict=True)
    (folder / "agencies.csv").write_text("id,name\n", encoding="utf-8")
    with pytest.raises(InputError, match="publisher"):
        ingest(str(folder), settings=settings, source="sample")
    assert open_store(settings).version() == version
    assert snapshot(settings) == before


# ---------------------------------------------------------------- formats agree


def test_csv_and_data_json_forms_of_the_sample_agree(settings, tmp_path):
    # two stores: in one, the second source's datasets would be held back as duplicates
    other = make_settings(tmp_path / "other-store")  # on a remote store: a server of its own
    from_csv = ingest(str(SAMPLE_CSV), settings=settings, source="from-csv")
    from_json = ingest(str(SAMPLE_DATA_JSON), settings=other, source="from-json")
    assert (from_csv.fmt, from_json.fmt) == ("csv", "data.json")
    assert from_csv.kinds["dataset"] == from_json.kinds["dataset"] == 44

    def titles(source: str, where) -> dict[str, str]:
        graph = graph_of(where, f"{BASE}graph/{source}")
        return {
            str(d): str(t)
            for d in graph.subjects(rdflib.RDF.type, rdflib.URIRef(DATASET))
            for t in graph.objects(d, rdflib.URIRef(str(DCT.title)))
            if t.language in (None, "en")
        }

    csv_titles, json_titles = titles("from-csv", settings), titles("from-json", other)
    assert len(csv_titles) == 44
    assert csv_titles == json_titles


# ---------------------------------------------------------------- real samples

SHARED_SAMPLES = {  # file: (format, read, published, quarantined, kinds, rules that quarantined records)
    "ckan_dataset_multilingual.json": ("ckan", 1, 1, 0, {"dataset": 1}, set()),
    "ckan_full_dataset_dcat_ap.json": ("ckan", 2, 2, 0, {"agency": 1, "dataset": 1}, set()),
    "collection-2-parent-4-children.data.json": ("data.json", 7, 7, 0, {"agency": 1, "dataset": 6}, set()),
    "data.gov.hk.package_show.json": ("ckan", 2, 2, 0, {"agency": 1, "dataset": 1}, set()),
    "usda.gov.data.json": ("data.json", 5, 5, 0, {"agency": 2, "dataset": 3}, set()),
    # datos.gob.es: the access URL is a plain string, the language the literal "es", the byte size a
    # decimal (repaired); the publisher is typed skos:Concept, the theme and the format are not described
    # (left out of the published record, kept in its report): every record published
    "dataset_gob_es.ttl": (
        "rdf",
        3,
        3,
        0,
        {"agency": 1, "dataset": 1, "other": 1},
        set(),
    ),
    # the Swedish (Nobel) catalogue: untyped dates, formats and frequency outside the EU lists (repaired);
    # the dataset's distribution has two formats (a violation that leaving a value out cannot mend)
    "dataset_sweden.rdf": (
        "rdf",
        3,
        2,
        1,
        {"catalog": 1, "dataset": 1, "other": 1},
        {"Distribution-format"},
    ),
}


@pytest.mark.parametrize(
    "name",
    sorted(SHARED_SAMPLES),
)
def test_real_portal_samples_ingest(name, shared, settings):
    path = shared / "data" / "samples" / name
    fmt, read, published, quarantined, kinds, rules = SHARED_SAMPLES[name]
    summary = ingest(str(path), settings=settings)
    assert summary.stored
    assert summary.fmt == fmt
    assert (summary.read, summary.published, summary.quarantined) == (read, published, quarantined)
    assert dict(summary.kinds) == kinds
    broken = {
        f.rule.rsplit("#", 1)[-1]
        for report in summary.quarantined_reports
        for f in report.findings
        if f.severity == "violation"
    }
    assert rules <= broken
    sources = list_sources(settings=settings)
    assert [(s["source"], s["published"], s["quarantined"]) for s in sources] == [
        (summary.source, str(published), str(quarantined))
    ]
    store = open_store(settings)
    assert store.count(f"{BASE}graph/{summary.source}") > 0
    assert (store.count(f"{BASE}graph/quarantine/{summary.source}") > 0) == bool(quarantined)


def test_the_shared_samples_are_all_covered(shared):
    files = {p.name for p in (shared / "data" / "samples").iterdir() if p.name != "SOURCES.md"}
    assert files == set(SHARED_SAMPLES)


def test_a_description_with_line_breaks_is_stored(settings, tmp_path):
    path = tmp_path / "package.json"
    path.write_text(
        json.dumps(
            {
                "id": "multi-line",
                "title": "Multi-line",
                "notes": 'First paragraph.\n\nSecond "quoted" paragraph.\r\nEnd.',
                "organization": {"id": "o", "name": "o", "title": "Office"},
                "resources": [{"id": "r", "url": "https://example.org/a.csv", "format": "CSV"}],
            }
        ),
        encoding="utf-8",
    )
    summary = ingest(str(path), settings=settings)
    assert summary.stored
    graph = graph_of(settings, f"{BASE}graph/package")
    notes = graph.value(rdflib.URIRef(f"{BASE}dataset/multi-line"), rdflib.URIRef(str(DCT.description)))
    assert str(notes) == 'First paragraph.\n\nSecond "quoted" paragraph.\r\nEnd.'


# ---------------------------------------------------------------- without storing, notes


def test_store_it_false_leaves_no_store(settings):
    summary = ingest(str(SAMPLE_CSV), settings=settings, store_it=False)
    assert (summary.read, summary.published, summary.quarantined) == (55, 55, 0)
    assert not summary.stored and summary.run == ""
    assert not settings.store.exists()


def test_mapping_notes_are_info_findings_and_the_value_is_kept(settings, tmp_path):
    unknown_licence = "https://example.org/licences/our-own-licence"
    path = tmp_path / "ocean.json"
    path.write_text(
        json.dumps(
            {
                "id": "sea-temperature",
                "title": "Sea surface temperature",
                "notes": "Daily sea surface temperature grids.",
                "organization": {"id": "ocean-office", "name": "ocean-office", "title": "Ocean Office"},
                "license_url": unknown_licence,
                "frequency": "every full moon",
                "metadata_created": "2019-06-27 12:41:27",
                "resources": [
                    {"id": "grid", "url": "https://example.org/files/sst.nc", "format": "nc "},
                    {"id": "other", "url": "https://example.org/files/sst.bin", "format": "Undefined"},
                ],
            }
        ),
        encoding="utf-8",
    )
    summary = ingest(str(path), settings=settings, source="ocean")
    assert (summary.read, summary.published, summary.quarantined) == (2, 2, 0)
    infos = {
        (f.path, f.value): f.message
        for report in summary.reports
        for f in report.findings
        if f.severity == "info" and f.rule == "kgo:mapping"
    }
    assert (str(KGO.unmappedFormat), "Undefined") in infos
    assert (str(KGO.unmappedFrequency), "every full moon") in infos
    assert (str(DCT.license), unknown_licence) in infos
    assert "not in the EU" in infos[(str(DCT.license), unknown_licence)]
    assert not any(value == "nc " or value == "nc" for _, value in infos), "'nc ' is NetCDF"
    assert summary.severities["info"] >= 3

    graph = graph_of(settings, f"{BASE}graph/ocean")
    grid, other = (rdflib.URIRef(f"{BASE}distribution/{k}") for k in ("grid", "other"))
    dataset = rdflib.URIRef(f"{BASE}dataset/sea-temperature")
    file_type = "http://publications.europa.eu/resource/authority/file-type/"
    assert graph.value(grid, rdflib.URIRef(str(DCT.format))) == rdflib.URIRef(file_type + "NETCDF")
    assert graph.value(other, rdflib.URIRef(str(KGO.unmappedFormat))) == rdflib.Literal("Undefined")
    assert graph.value(other, rdflib.URIRef(str(DCT.format))) is None
    assert graph.value(dataset, rdflib.URIRef(str(KGO.unmappedFrequency))) == rdflib.Literal(
        "every full moon"
    )
    assert graph.value(grid, rdflib.URIRef(str(DCT.license))) == rdflib.URIRef(unknown_licence)
    issued = graph.value(dataset, rdflib.URIRef(str(DCT.issued)))
    assert issued == rdflib.Literal("2019-06-27T12:41:27", datatype=rdflib.XSD.dateTime)


def test_ingest_publishes_quality_measurements(seeded_shared):
    """Every published dataset gets its DQV score in the source's quality graph, queryable over SPARQL:
    six measurements of three triples (kg.quality keeps the graph lean)."""
    store = open_store(seeded_shared)
    query = f"""PREFIX dqv: <http://www.w3.org/ns/dqv#>
        SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ GRAPH <{BASE}graph/quality/sample> {{
            ?m dqv:computedOn ?d ;
               dqv:isMeasurementOf <https://w3id.org/agency-kg/quality#score> ; dqv:value ?v }} }}"""
    assert int(next(iter(store.query(query, default_graphs=[])))["n"].value) == 44
    assert store.count(f"{BASE}graph/quality/sample") == 44 * 6 * 3


def test_reports_do_not_depend_on_the_batch_size():
    """A record's findings are its own whatever else shares its pyshacl batch: an agency's address
    is the agency's part even when a dataset of the same batch has the agency as context."""
    from kg.ingest.workers import process
    from kg.iris import Minter
    from kg.readers import read_source

    def reports(batch: int) -> dict:
        records = read_source(str(SAMPLE_CSV), fmt="csv")
        return {r.key: r.findings for _, r in process(records, Minter(BASE), batch=batch, workers=1)}

    one, some, all_ = reports(1), reports(7), reports(1000)
    assert one == some == all_
    assert any(f.focus.endswith("#address") for findings in one.values() for f in findings)


def test_a_quarantine_report_is_the_shacl_results_as_n_triples():
    """report_ntriples writes text directly (no rdflib terms, for speed): the same graph as the terms."""
    from rdflib import Literal, URIRef

    from kg.ingest.provenance import SEVERITY_IRIS, report_ntriples
    from kg.iris import Minter, short_hash
    from kg.validation.report import Finding, RecordReport
    from kg.vocab import RDF, SH

    findings = [
        Finding("violation", f"{BASE}dataset/a", str(DCT.title), 'A "title"\nis needed', f"{BASE}shapes#T"),
        Finding("warning", "_:b0", "dct:spatial / skos:prefLabel", "tab\there", "kgo:mapping", "x\\y"),
        Finding("info", "row 7", "", "a note", "", ""),
        Finding("violation", f"{BASE}dataset/a b", "http://x.test/p", "é ünïcode", "rule", "ʺvalueʺ"),
    ]
    for key in (f"{BASE}dataset/a", "agencies.csv:7"):
        report = RecordReport(key, "dataset", "datasets.csv:3", "A", findings)
        iris = Minter(BASE)
        got = rdflib.Graph().parse(data=report_ntriples(report, iris, "src"), format="nt")
        node = URIRef(f"{iris.quarantine_graph('src')}#{short_hash(key)}")
        want = rdflib.Graph()
        want.add((node, RDF.type, KGO.QuarantinedRecord))
        want.add((node, KGO.recordKey, URIRef(key) if key.startswith("http") else Literal(key)))
        want.add((node, KGO.sourceLocation, Literal("datasets.csv:3")))
        for i, f in enumerate(findings):
            r = URIRef(f"{node}-{i}")
            want.add((node, KGO.report, r))
            want.add((r, RDF.type, SH.ValidationResult))
            want.add((r, SH.resultSeverity, SEVERITY_IRIS[f.severity]))
            want.add((r, SH.resultMessage, Literal(f.message)))
            want.add(
                (
                    r,
                    SH.focusNode,
                    URIRef(f.focus.replace(" ", "%20")) if f.focus[:4] == "http" else Literal(f.focus),
                )
            )
            if f.path:
                path = URIRef(f.path) if ":" in f.path and " " not in f.path else Literal(f.path)
                want.add((r, SH.resultPath, path))
            if f.rule:
                want.add((r, SH.sourceShape, URIRef(f.rule) if ":" in f.rule else Literal(f.rule)))
            if f.value:
                want.add((r, SH.value, Literal(f.value)))
        assert set(got) == set(want), set(got) ^ set(want)


def test_links_to_a_quarantined_record_wait_in_quarantine_and_nowhere_else(settings, tmp_path):
    """An agency that breaks a rule is quarantined; the links of the published records to it are
    left out of the published graph as it loads and stored in the quarantine graph instead."""
    folder = copy_sample(tmp_path)
    agencies = folder / "agencies.csv"
    with open(agencies, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns, rows = list(reader.fieldnames or []), list(reader)
    broken = rows[1]  # not the root: its parent keeps its children's links
    broken["name"] = broken["name@fr"] = ""  # no name at all: quarantined
    with open(agencies, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    summary = ingest(str(folder), settings=settings, source="held")
    agency = next(r.key for r in summary.quarantined_reports if r.key.endswith(f"/{broken['id']}"))
    published, quarantine = (
        graph_of(settings, f"{BASE}graph/held"),
        graph_of(settings, f"{BASE}graph/quarantine/held"),
    )
    into_published = list(published.triples((None, None, rdflib.URIRef(agency))))
    into_quarantine = list(quarantine.triples((None, None, rdflib.URIRef(agency))))
    assert summary.links_held_back >= 2 and not into_published
    records = {r.key for r in summary.quarantined_reports}  # their own triples, and reports, are no links
    links = [(s, p) for s, p, _ in into_quarantine if str(s) not in records and f"{BASE}graph/" not in s]
    with open(folder / "datasets.csv", newline="", encoding="utf-8") as f:
        theirs = {f"{BASE}dataset/{r['id']}" for r in csv.DictReader(f) if r["publisher"] == broken["id"]}
    assert theirs and {str(s) for s, p in links if p == DCT.publisher} == theirs
    assert len(theirs) <= summary.links_held_back <= len(links)  # the rest: the agency's own record's
    assert all((rdflib.URIRef(d), DCT.title, None) in published for d in theirs)  # themselves published


def test_a_findings_line_is_the_findings_triple_as_n_triples() -> None:
    """The report graph's line written as text (kg.ingest.provenance.findings_line) is the rdflib
    triple's, whatever a message holds: quotes, a backslash, a line break, accents; and a blank
    node's or an origin's record still gets the triple's own line."""
    from kg.ingest.provenance import findings_line, findings_triple
    from kg.mapping.ntriples import nt_line
    from kg.validation.report import Finding, RecordReport

    tricky = Finding("warning", "http://e.org/d", "http://e.org/p", 'a "quoted" \\ back\nslash é', "r", "v")
    graph = f"{BASE}graph/report/x"
    for key in ("http://e.org/d", "http://e.org/a b", "_:b0", ""):
        report = RecordReport(key, "dataset", "file.json:3", "a dataset", [tricky])
        assert findings_line(report, graph) == nt_line(findings_triple(report, graph))
        parsed = rdflib.Graph().parse(data=findings_line(report, graph), format="nt")
        (literal,) = parsed.objects()
        assert json.loads(str(literal))[0][3] == tricky.message
