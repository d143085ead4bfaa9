"""Catalogues as public bodies publish them: what the official shapes accept is published, what is
mechanically broken is repaired (never silently), and one bad record never refuses a file.

Each test is one of the cases of issue 16, built as a small file of its own so that it runs
without ../shared; the real files themselves are judged by tests/test_official_agreement.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BASE, kg_command, open_store, run_kg, snapshot
from in_process import kg_here
from pyshacl import validate
from rdflib import Graph, URIRef

from kg.catalog import export
from kg.errors import ValidatorError
from kg.factory import store_for
from kg.ingest import workers as ingest_workers
from kg.ingest.run import ingest
from kg.vocab import DCAT, DCT, KGO

SHAPES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dcat-ap-shapes"

# The hand-written catalogue of the issue: agencies named by foaf:name only, typed foaf:Organization;
# a licence from the EU table; contact points that are IRIs typed vcard:Organization and described as
# their own subjects; a modified date "R/P1D" (DCAT-US) and a CDC-style period; a language literal
# holding the EU IRI. The official shapes accept it (given vCard's class hierarchy).
ACCEPTED = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
<https://h.example/cat> a dcat:Catalog ; dct:title "Harvested"@en ; dct:description "A catalogue"@en ;
  dct:publisher <https://h.example/org/a> ;
  dcat:dataset <https://h.example/ds/1>, <https://h.example/ds/2>, <https://h.example/ds/3> .
<https://h.example/org/a> a foaf:Organization ; foaf:name "Agency A"@en .
<https://h.example/org/b> a foaf:Organization ; foaf:name "Agency B"@en .
<https://h.example/cp/a> a vcard:Organization ; vcard:fn "Data desk" ;
  vcard:hasEmail <mailto:desk@h.example> .
<https://h.example/ds/1> a dcat:Dataset ; dct:title "One"@en ; dct:description "First"@en ;
  dct:publisher <https://h.example/org/a> ; dcat:contactPoint <https://h.example/cp/a> ;
  dct:modified "R/P1D" ; dct:language "http://publications.europa.eu/resource/authority/language/DEU" ;
  dcat:distribution <https://h.example/dist/1> .
<https://h.example/dist/1> a dcat:Distribution ; dcat:accessURL <https://h.example/one.csv> ;
  dct:license <http://publications.europa.eu/resource/authority/licence/CC_BY_4_0> .
<https://h.example/ds/2> a dcat:Dataset ; dct:title "Two"@en ; dct:description "Second"@en ;
  dct:publisher <https://h.example/org/b> ; dcat:contactPoint <https://h.example/cp/a> ;
  dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2019-2020, 2020-2021" ] .
<https://h.example/ds/3> a dcat:Dataset ; dct:title "Three"@en ; dct:description "Third"@en ;
  dct:publisher <https://h.example/org/b> .
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_what_the_official_shapes_accept_is_published_and_the_export_stays_valid(settings, tmp_path):
    summary = ingest(str(write(tmp_path, "accepted.ttl", ACCEPTED)), settings=settings, source="harvest")
    assert (summary.published, summary.quarantined) == (summary.read, 0), summary.quarantined_reports
    assert summary.kinds["dataset"] == 3
    # the repairs are said, by kind, and each value is in its record's report
    assert summary.repairs == {"kgo:repair/language": 1, "kgo:left-out/date": 2}, summary.repairs
    store = open_store(settings)
    about = f"<https://h.example/ds/1> <{KGO.findings}> ?f"
    (findings,) = [
        row["f"].value
        for row in store.query(
            f"SELECT ?f WHERE {{ GRAPH <{BASE}graph/report/harvest> {{ {about} }} }}",
            default_graphs=[],
            private=True,
        )
    ]
    assert "R/P1D" in findings and "kgo:left-out/date" in findings
    assert store.query("ASK { <https://h.example/ds/1> <http://purl.org/dc/terms/language> "
                       "<http://publications.europa.eu/resource/authority/language/DEU> }")  # fmt: skip
    if not SHAPES.is_dir():
        pytest.skip(f"official DCAT-AP shapes not found at {SHAPES}")
    out = tmp_path / "export.ttl"
    with open(out, "wb") as f:
        export(store_for(settings), settings, f, fmt="ttl")
    data = Graph().parse(out, format="turtle")
    assert (URIRef("https://h.example/cat"), DCT.publisher, URIRef("https://h.example/org/a")) in data
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        shapes.parse(SHAPES / name, format="turtle")
    conforms, _, text = validate(data, shacl_graph=shapes, inference="none")
    assert conforms, text


def test_a_catalogue_whose_publisher_is_quarantined_waits_with_it(settings, tmp_path):
    broken = ACCEPTED.replace('<https://h.example/org/a> a foaf:Organization ; foaf:name "Agency A"@en .',
                              "<https://h.example/org/a> a foaf:Organization .")  # fmt: skip
    summary = ingest(str(write(tmp_path, "held.ttl", broken)), settings=settings, source="harvest")
    held = {r.key: r for r in summary.quarantined_reports}
    assert set(held) == {"https://h.example/org/a", "https://h.example/cat"}
    (finding,) = held["https://h.example/cat"].findings
    assert finding.rule == "kgo:publisher-quarantined" and finding.value == "https://h.example/org/a"
    store = open_store(settings)
    assert not store.query("ASK { <https://h.example/cat> ?p ?o }")  # not published, so no export
    assert store.query("ASK { <https://h.example/ds/2> a <http://www.w3.org/ns/dcat#Dataset> }")


def test_records_that_reuse_an_identifier_are_kept_apart(settings, tmp_path):
    item = {"title": "Survey", "description": "Waves", "identifier": "NCES_1", "accessLevel": "public",
            "keyword": ["a"], "modified": "2020-01-01", "publisher": {"name": "NCES"},
            "distribution": [{"downloadURL": "https://d.example/a.csv", "mediaType": "text/csv"},
                             {"accessURL": "https://d.example/a.csv", "format": "API"}]}  # fmt: skip
    doc = {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [item, dict(item)]}
    doc["dataset"][1]["title"] = "Survey, second wave"
    summary = ingest(str(write(tmp_path, "reuse.data.json", json.dumps(doc))), settings=settings, source="us")
    assert summary.published == summary.read == 3 and not summary.quarantined
    assert summary.repairs["kgo:repair/identity"] == 3  # the second record, and one URL shared in each
    store = open_store(settings)
    titles = {
        row["d"].value: row["t"].value
        for row in store.query(f"SELECT ?d ?t WHERE {{ ?d a <{DCAT.Dataset}> ; <{DCT.title}> ?t }}")
    }
    assert titles == {f"{BASE}dataset/NCES_1": "Survey", f"{BASE}dataset/NCES_1-2": "Survey, second wave"}
    for dataset in titles:  # each keeps the identifier its source gave, and two distributions
        assert store.query(f'ASK {{ <{dataset}> <{DCT.identifier}> "NCES_1" }}')
        count = f"SELECT (COUNT(?x) AS ?n) WHERE {{ <{dataset}> <{DCAT.distribution}> ?x }}"
        assert int(next(iter(store.query(count)))["n"].value) == 2


def test_a_record_the_validator_cannot_check_is_quarantined_and_the_rest_published(
    settings, tmp_path, monkeypatch
):
    """Fault injection: the engine fails on any batch holding one record (as rudof did on a lone
    surrogate): that record is quarantined with the reason, the others are judged as usual."""
    original = ingest_workers.validate_batch

    def failing(records, *, engine="pyshacl"):
        if any(r.key == "https://h.example/ds/2" for r in records):
            raise ValidatorError("the engine cannot read this record")
        return original(records, engine=engine)

    monkeypatch.setattr(ingest_workers, "validate_batch", failing)
    summary = ingest(str(write(tmp_path, "one.ttl", ACCEPTED)), settings=settings, source="harvest")
    (held,) = summary.quarantined_reports
    assert held.key == "https://h.example/ds/2" and summary.validator_failures == 1
    assert "cannot read this record" in held.findings[0].message
    assert summary.published == summary.read - 1


def test_a_validator_that_fails_on_every_record_stops_the_ingest_with_exit_5(settings, tmp_path, monkeypatch):
    def broken(records, *, engine="pyshacl"):
        raise ValidatorError("the engine is broken")

    monkeypatch.setattr(ingest_workers, "validate_batch", broken)
    before = snapshot(settings) if Path(settings.store).exists() else None
    with pytest.raises(ValidatorError, match="could not check any") as caught:
        ingest(str(write(tmp_path, "all.ttl", ACCEPTED)), settings=settings, source="harvest")
    assert caught.value.exit_code == 5
    assert (snapshot(settings) if Path(settings.store).exists() else None) == before


def test_blank_node_datasets_are_stored(settings, tmp_path):
    """A catalogue whose datasets are blank nodes (the Swedish SOCH file): the catalogue's link to
    each was written as an IRI ``<_:…>``, which no store can load (exit 4)."""
    text = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <https://s.example/cat> a dcat:Catalog ; dcat:dataset [ a dcat:Dataset ; dct:title "Blank"@sv ;
      dct:description "A dataset without an IRI"@sv ] ."""
    summary = ingest(str(write(tmp_path, "blank.ttl", text)), settings=settings, source="blank")
    assert summary.stored and summary.kinds["dataset"] == 1
    assert open_store(settings).query(f'ASK {{ ?d a <{DCAT.Dataset}> ; <{DCT.title}> "Blank"@sv }}')


def test_nothing_but_our_report_reaches_the_terminal(kg_env, tmp_path):
    """rdflib's "does not look like a valid URI" and its traceback for a date it cannot read said,
    in its words, what the report says; only the report is printed."""
    text = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    @prefix vcard: <http://www.w3.org/2006/vcard/ns#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    <https://q.example/ds> a dcat:Dataset ; dct:title "Quiet"@en ; dct:description "d"@en ;
      dct:issued "2021-01-28 GMT 01:51:03.34919300"^^xsd:dateTime ; dct:modified ""^^xsd:date ;
      dcat:contactPoint [ a vcard:Kind ; vcard:hasEmail <mailto:a@q.example,%20b@q.example> ] ."""
    doc = {"dataset": [{"title": "T", "description": "D", "identifier": "t1", "accessLevel": "public",
                        "contactPoint": {"fn": "x", "hasEmail": "mailto:{{orgContactEmail}}"}}]}  # fmt: skip
    for path in (write(tmp_path, "quiet.ttl", text), write(tmp_path, "quiet.data.json", json.dumps(doc))):
        result = run_kg("validate", path, env=kg_env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == ""
        assert result.stdout.startswith("source ") and "Traceback" not in result.stdout
        assert "does not look like a valid URI" not in result.stdout
        assert "repaired before validation" in result.stdout


def test_a_long_list_of_findings_ends_with_how_many_more(kg_env, tmp_path):
    lines = ["@prefix dcat: <http://www.w3.org/ns/dcat#> ."]
    lines += [f"<https://l.example/ds/{i}> a dcat:Dataset ." for i in range(30)]  # no title, no description
    result = kg_here("validate", write(tmp_path, "long.ttl", "\n".join(lines)), env=kg_env)
    assert result.returncode == 1
    listed = [li for li in result.stdout.splitlines() if li.startswith("  ") and "long.ttl" in li]
    assert len(listed) == 20
    assert "… and 40 more (kg sources, the quality page, or --verbose)" in result.stdout
    everything = kg_here("validate", "--verbose", tmp_path / "long.ttl", env=kg_env)
    assert sum("long.ttl" in li and "needs a title" in li for li in everything.stdout.splitlines()) == 30


def test_kg_command_exists():
    assert subprocess.run([str(kg_command()), "--help"], capture_output=True).returncode == 0


def test_repairs_show_on_the_record_page_and_on_the_quality_page(settings, tmp_path):
    from kg.web.app import build_app

    ingest(str(write(tmp_path, "accepted.ttl", ACCEPTED)), settings=settings, source="harvest")
    client = build_app(settings).test_client()
    quality = client.get("/quality.json").get_json()
    (source,) = quality["sources"]
    repairs = {r["rule"]: r for r in source["rules"] if r["rule"].startswith("kgo:")}
    assert repairs["kgo:repair/language"]["severity"] == "info"
    assert repairs["kgo:repair/language"]["message"].startswith("language literals")
    assert repairs["kgo:left-out/date"]["count"] == 2
    html = client.get("/quality").get_data(as_text=True)
    assert "kgo:repair/language" in html and "language literals, codes and retired" in html
    page = client.get("/resource?uri=https://h.example/ds/1", headers={"Accept": "application/json"})
    findings = page.get_json()["findings"]
    repaired = [f for f in findings if f["severity"] == "info" and "→" in f["message"]]
    deu = "http://publications.europa.eu/resource/authority/language/DEU"
    assert any(f["value"] == deu for f in repaired)
    assert any(f["value"] == "R/P1D" and "left out" in f["message"] for f in findings)
