"""kg/quality.py (MQA-style indicators as DQV) and /quality (kg/web/quality_views.py).

The store for the page tests holds the bundled sample plus one record that breaks a
mandatory rule, ingested for real: the DQV measurements in the graph, the points per
indicator and the rule counts in the derived data the page reads (kg/derived/quality.py).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SAMPLE_CSV, make_settings
from rdflib import Graph, Literal, URIRef

from kg import quality
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.mapping.eu_vocabularies import vocabulary_graph
from kg.mapping.mapped import MappedRecord
from kg.mapping.ntriples import nt_line
from kg.quality import INDICATORS, measure, rule_counts_triples
from kg.records import Origin
from kg.settings import Settings
from kg.validation.report import Finding, RecordReport
from kg.vocab import (
    ACCESS_RIGHT,
    DCAT,
    DCT,
    DQV,
    FILE_TYPE,
    IANA_MEDIA_TYPES,
    KGO,
    LICENCE,
    QUALITY,
    RDF,
    SH,
    SKOS,
)
from kg.web.app import build_app

ONTOLOGIES = Path(__file__).resolve().parents[1] / "ontologies"
DS = URIRef("http://kg.test/dataset/d")
CSV_MEDIA = URIRef(IANA_MEDIA_TYPES + "text/csv")
XSD_NS = "http://www.w3.org/2001/XMLSchema#"  # (rdflib's XSD namespace object upsets doctest collection)
BROKEN = '<script>alert("x")</script> broken'


# ---------------------------------------------------------------- hand-built records


def dataset_record(*, distributions: int = 2, drop: tuple = (), dist: dict | None = None) -> MappedRecord:
    """A dataset meeting every assessable indicator; ``drop`` leaves out predicates,
    ``dist`` replaces the values of distribution predicates."""
    values = {
        DCT.format: [FILE_TYPE.CSV],
        DCAT.mediaType: [CSV_MEDIA],
        DCAT.downloadURL: [URIRef("https://example.org/file.csv")],
        DCAT.accessURL: [URIRef("https://example.org/file.csv")],
        DCT.license: [LICENCE.CC_BY_4_0],
        DCT.rights: [URIRef("http://kg.test/dataset/d#rights")],
        DCAT.byteSize: [Literal(10, datatype=URIRef(XSD_NS + "nonNegativeInteger"))],
        DCT.issued: [Literal("2024-01-01", datatype=URIRef(XSD_NS + "date"))],
        DCT.modified: [Literal("2024-02-01", datatype=URIRef(XSD_NS + "date"))],
    } | (dist or {})
    triples = [
        (DS, RDF.type, DCAT.Dataset),
        (DS, DCT.title, Literal("D")),
        (DS, DCAT.keyword, Literal("air")),
        (DS, DCAT.theme, URIRef("http://publications.europa.eu/resource/authority/data-theme/ENVI")),
        (DS, DCT.spatial, URIRef("http://publications.europa.eu/resource/authority/country/IRL")),
        (DS, DCT.temporal, URIRef(f"{DS}#temporal")),
        (DS, DCT.accessRights, ACCESS_RIGHT.PUBLIC),
        (DS, DCAT.contactPoint, URIRef(f"{DS}#contact")),
        (DS, DCT.publisher, URIRef("http://kg.test/agency/a")),
        (DS, DCT.issued, Literal("2024-01-01", datatype=URIRef(XSD_NS + "date"))),
        (DS, DCT.modified, Literal("2024-02-01", datatype=URIRef(XSD_NS + "date"))),
    ]
    for n in range(distributions):
        d = URIRef(f"http://kg.test/distribution/d-{n}")
        triples += [(DS, DCAT.distribution, d), (d, RDF.type, DCAT.Distribution)]
        triples += [(d, p, o) for p, objects in values.items() for o in objects]
    triples = [t for t in triples if t[1] not in drop]
    return MappedRecord(str(DS), "dataset", Origin("datasets.csv", line=2), "D", triples)


def report(*findings: Finding) -> RecordReport:
    return RecordReport(str(DS), "dataset", "datasets.csv, line 2", "D", list(findings))


def points(record: MappedRecord, rep: RecordReport | None = None) -> dict[str, float]:
    return quality.score(quality.facts(record, (rep or report()).publishable))


VIOLATION = Finding("violation", str(DS), str(DCT.issued), "bad date", "https://w3id.org/agency-kg/shapes#x")

# variant -> the indicators that must drop to 0 (all others keep their full points)
VARIANTS = {
    "no keyword": (dict(drop=(DCAT.keyword,)), {"keywordAvailability"}),
    "no theme": (dict(drop=(DCAT.theme,)), {"categoryAvailability"}),
    "no spatial": (dict(drop=(DCT.spatial,)), {"spatialAvailability"}),
    "no temporal": (dict(drop=(DCT.temporal,)), {"temporalAvailability"}),
    "no download URL": (dict(drop=(DCAT.downloadURL,)), {"downloadUrlAvailability"}),
    "no format": (dict(drop=(DCT.format,)), {"formatAvailability"}),
    "no media type": (dict(drop=(DCAT.mediaType,)), {"mediaTypeAvailability"}),
    "format outside the vocabulary": (
        dict(dist={DCT.format: [FILE_TYPE.CSV, URIRef("http://example.org/formats/csv")]}),
        {"formatMediaTypeVocabularyAlignment"},
    ),
    "proprietary format": (
        dict(dist={DCT.format: [FILE_TYPE.XLSX], DCAT.mediaType: []}),
        {"formatMediaTypeNonProprietary", "mediaTypeAvailability"},
    ),
    "not machine-readable": (
        dict(
            dist={DCT.format: [FILE_TYPE.PDF], DCAT.mediaType: [URIRef(IANA_MEDIA_TYPES + "application/pdf")]}
        ),
        {"formatMediaTypeMachineInterpretable"},
    ),
    "no licence": (dict(drop=(DCT.license,)), {"licenceAvailability", "knownLicence"}),
    "unknown licence": (dict(dist={DCT.license: [URIRef("https://example.org/licence")]}), {"knownLicence"}),
    "no access rights": (
        dict(drop=(DCT.accessRights,)),
        {"accessRightsAvailability", "accessRightsVocabularyAlignment"},
    ),
    "no contact point": (dict(drop=(DCAT.contactPoint,)), {"contactPointAvailability"}),
    "no publisher": (dict(drop=(DCT.publisher,)), {"publisherAvailability"}),
    "no rights": (dict(drop=(DCT.rights,)), {"rightsAvailability"}),
    "no byte size": (dict(drop=(DCAT.byteSize,)), {"byteSizeAvailability"}),
    "no issued": (dict(drop=(DCT.issued,)), {"dateIssuedAvailability"}),
    "no modified": (dict(drop=(DCT.modified,)), {"dateModifiedAvailability"}),
}


def test_points_sum_to_405_in_five_dimensions() -> None:
    assert quality.MAX_POINTS == 405
    by_dimension = Counter()
    for i in INDICATORS:
        by_dimension[i.dimension] += i.points
    assert by_dimension == {
        "findability": 100,
        "accessibility": 100,
        "interoperability": 110,
        "reusability": 75,
        "contextuality": 20,
    }
    assert [i.name for i in INDICATORS if not i.assessed] == ["accessUrlStatusCode", "downloadUrlStatusCode"]
    assert quality.ASSESSABLE_POINTS == 325
    assert len({i.name for i in INDICATORS}) == len(INDICATORS) == 23


def test_every_assessed_indicator_is_met_by_a_complete_record() -> None:
    got = points(dataset_record())
    assert got == {i.name: float(i.points) for i in INDICATORS if i.assessed}
    assert sum(got.values()) == 325 and quality.rating(325) == "excellent"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_indicator_turns_off(variant: str) -> None:
    kwargs, zeroed = VARIANTS[variant]
    got = points(dataset_record(**kwargs))
    assert {name for name, value in got.items() if value == 0} == zeroed
    for i in INDICATORS:
        if i.assessed and i.name not in zeroed:
            assert got[i.name] == i.points, i.name


def test_compliance_is_the_validation_outcome() -> None:
    assert points(dataset_record(), report(VIOLATION))["dcatApCompliance"] == 0
    warning = Finding("warning", str(DS), "", "should", "https://w3id.org/agency-kg/shapes#w")
    assert points(dataset_record(), report(warning))["dcatApCompliance"] == 30


def test_distribution_indicators_earn_the_share_of_distributions() -> None:
    record = dataset_record(distributions=3)
    d0 = URIRef("http://kg.test/distribution/d-0")
    record.triples = [t for t in record.triples if not (t[0] == d0 and t[1] == DCAT.downloadURL)]
    assert points(record)["downloadUrlAvailability"] == round(20 * 2 / 3, 2)
    bare = points(dataset_record(distributions=0))
    assert bare["formatAvailability"] == bare["licenceAvailability"] == bare["downloadUrlAvailability"] == 0
    assert bare["dateIssuedAvailability"] == 5  # the dataset alone has its date
    assert bare["keywordAvailability"] == 30


def test_ratings_follow_the_mqa_bands_scaled_to_the_assessable_maximum() -> None:
    scaled = {p: quality.rating(p * 325 / 405) for p in (405, 351, 350, 221, 220, 121, 120, 0)}
    assert scaled == {405: "excellent", 351: "excellent", 350: "good", 221: "good", 220: "sufficient",
                      121: "sufficient", 120: "bad", 0: "bad"}  # fmt: skip


def test_format_lists_name_file_types_of_our_vocabulary() -> None:
    known = {
        str(s).rsplit("/", 1)[1]
        for s in vocabulary_graph().subjects(SKOS.inScheme, URIRef(str(FILE_TYPE)[:-1]))
    }
    assert known >= quality.NON_PROPRIETARY and known >= quality.MACHINE_READABLE


# ---------------------------------------------------------------- DQV triples


def test_measure_gives_a_lean_dqv_graph() -> None:
    """Six measurements of three triples: the score and the points in each dimension; the points per
    indicator go to the derived data (summary_line), not into the graph."""
    record = dataset_record(drop=(DCAT.keyword,))
    triples = measure(record, report())
    graph = Graph().parse(data="".join(map(nt_line, triples)), format="nt")
    nodes = set(graph.subjects(DQV.computedOn, DS))
    assert len(nodes) == 6 and len(graph) == 3 * 6 == len(triples)
    assert not list(graph.subjects(RDF.type, DQV.QualityMeasurement))  # implied by the properties' domains
    for node in nodes:
        assert str(node).startswith(f"{DS}#quality-")
    by_metric = {graph.value(n, DQV.isMeasurementOf): graph.value(n, DQV.value) for n in nodes}
    assert by_metric[QUALITY.score].toPython() == 295 and by_metric[QUALITY.score].datatype == URIRef(
        XSD_NS + "decimal"
    )
    assert {m: v.toPython() for m, v in by_metric.items() if m != QUALITY.score} == {
        QUALITY.findabilityScore: 70,
        QUALITY.accessibilityScore: 20,
        QUALITY.interoperabilityScore: 110,
        QUALITY.reusabilityScore: 75,
        QUALITY.contextualityScore: 20,
    }
    assert sum(v.toPython() for m, v in by_metric.items() if m != QUALITY.score) == 295
    measurements, line = quality.quality_texts(record, report())
    assert measurements == "".join(map(nt_line, triples))
    found = json.loads(line)
    assert found["d"] == str(DS) and len(found["p"]) == 21 and sum(found["p"]) == 295
    points = dict(zip((i.name for i in quality.ASSESSED), found["p"], strict=True))
    assert points["keywordAvailability"] == 0 and points["categoryAvailability"] == 30


def test_measure_skips_other_records_and_blank_nodes() -> None:
    record = dataset_record()
    assert (
        measure(
            MappedRecord("http://kg.test/agency/a", "agency", record.origin, "A", record.triples), report()
        )
        == []
    )
    assert measure(MappedRecord("_:b0", "dataset", record.origin, "B", []), report()) == []
    hashed = MappedRecord("http://ex.org/doc#it", "dataset", record.origin, "H", [])
    assert str(measure(hashed, report())[0][0]) == "http://ex.org/doc#it-quality-score"
    assert quality.quality_texts(MappedRecord("_:b0", "dataset", record.origin, "B", []), report()) == (
        "",
        "",
    )


def test_rule_counts_become_measurements_of_the_run() -> None:
    rules = Counter({("violation", "https://w3id.org/agency-kg/shapes#a", "bad date"): 3,
                     ("info", "kgo:mapping", "kept as text"): 1})  # fmt: skip
    run = "http://kg.test/run/sample/1"
    graph = Graph().parse(
        data="".join(map(nt_line, rule_counts_triples(SimpleNamespace(rules=rules), run))), format="nt"
    )
    nodes = sorted(graph.subjects(RDF.type, DQV.QualityMeasurement))
    assert len(nodes) == 2 and all(str(n).startswith(f"{run}#rule-") for n in nodes)
    values = {str(graph.value(n, SH.resultMessage)): graph.value(n, DQV.value).toPython() for n in nodes}
    assert values == {"bad date": 3, "kept as text": 1}
    assert (None, KGO.rule, URIRef("https://w3id.org/agency-kg/shapes#a")) in graph
    assert (None, KGO.rule, Literal("kgo:mapping")) in graph
    many = Counter({("warning", f"https://x/{i}", "m"): i for i in range(quality.MAX_RULE_TALLIES + 5)})
    kept = rule_counts_triples(SimpleNamespace(rules=many), run)
    assert len(kept) == 7 * quality.MAX_RULE_TALLIES


def test_quality_ttl_defines_every_metric_and_dimension() -> None:
    graph = Graph().parse(ONTOLOGIES / "quality.ttl", format="turtle")
    for i in INDICATORS:
        assert (i.iri, RDF.type, DQV.Metric) in graph
        assert graph.value(i.iri, DQV.inDimension) == QUALITY[i.dimension]
        assert graph.value(i.iri, QUALITY.points).toPython() == i.points
        assert graph.value(i.iri, QUALITY.assessed).toPython() is i.assessed
        assert graph.value(i.iri, SKOS.prefLabel) == Literal(i.label, lang="en")
        assert graph.value(i.iri, SKOS.definition)
    for name in quality.DIMENSIONS:
        assert (QUALITY[name], RDF.type, DQV.Dimension) in graph and graph.value(
            QUALITY[name], SKOS.definition
        )
    declared = {s for s in graph.subjects(RDF.type, None) if str(s).startswith(str(QUALITY))}
    assert declared == {QUALITY[name] for name in dir(QUALITY)}


# ---------------------------------------------------------------- the store and the page


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled sample plus one quarantined dataset, with its quality measurements."""
    folder = tmp_path_factory.mktemp("quality")
    shutil.copytree(SAMPLE_CSV, folder / "sample")
    with open(folder / "sample" / "datasets.csv", "a", encoding="utf-8") as out:
        title = BROKEN.replace('"', '""')
        # no description (mandatory): quarantined; its keyword must not show on the quality page
        out.write(f'broken-dates,"{title}",,vea-air,Impossible date,,2021-13-45' + "," * 23 + "\n")
    settings = make_settings(folder / "store")
    ingest(str(folder / "sample"), settings=settings, source="sample")
    return settings


@pytest.fixture
def client(scored: Settings):
    return build_app(scored).test_client()


def test_measurements_are_queryable_with_sparql(scored: Settings) -> None:
    store = store_for(scored)
    rows = list(
        store.query(f"""PREFIX dqv: <{DQV}> PREFIX kgq: <{QUALITY}>
        SELECT ?dim (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?m dqv:computedOn ?d ; dqv:isMeasurementOf ?metric .
          ?metric dqv:inDimension ?dim }} GROUP BY ?dim""")
    )
    assert {r["dim"].value: int(r["n"].value) for r in rows} == {
        str(QUALITY[d]): 44 for d in quality.DIMENSIONS
    }
    worst = next(
        iter(
            store.query(f"""PREFIX dqv: <{DQV}> PREFIX kgq: <{QUALITY}>
        SELECT ?d ?v WHERE {{ ?m dqv:isMeasurementOf kgq:score ; dqv:computedOn ?d ; dqv:value ?v }}
        ORDER BY ?v LIMIT 1""")
        )
    )
    assert worst["d"].value == "http://kg.test/dataset/vea-inspection-reports"


def test_page_shows_sources_agencies_scores_and_quarantine(client) -> None:
    response = client.get("/quality")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1 and "Results by rule: sample" in html
    assert '<a href="/dataset/vea-inspection-reports">' in html
    assert "Impossible date" not in html and "&lt;script&gt;" in html and "<script>alert" not in html
    assert "A dataset needs a description" in html and "not assessed" in html
    assert response.headers["ETag"] and "Accept" in response.headers["Vary"]
    again = client.get("/quality", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_json_twin_lists_worst_first(client) -> None:
    data = client.get("/quality.json").get_json()
    assert data == client.get("/quality", headers={"Accept": "application/json"}).get_json()
    items = data["datasets"]["items"]
    assert data["datasets"]["total"] == len(items) == 44 and data["summary"]["datasets_scored"] == 44
    scores = [d["score"] for d in items]
    assert scores == sorted(scores) and items[0]["page"] == "/dataset/vea-inspection-reports"
    assert "Download URL" in items[0]["gaps"]
    (source,) = data["sources"]
    assert (source["source"], source["read"], source["published"], source["quarantined"]) == (
        "sample",
        56,
        55,
        1,
    )
    assert source["violations"] >= 1 and any(r["severity"] == "violation" for r in source["rules"])
    (held,) = data["quarantined"]["items"]
    assert held["record"] == "http://kg.test/dataset/broken-dates" and held["title"] == BROKEN
    assert held["violations"] and held["source"] == "sample"
    air = next(a for a in data["agencies"] if a["agency"] == "http://kg.test/agency/vea-air")
    assert air["quarantined"] == 1 and air["datasets"] > 0 and air["average_score"] > 0
    averages = [a["average_score"] for a in data["agencies"]]
    assert averages == sorted(averages)
    assert sum(d["points"] for d in data["dimensions"]) == 405
    assert json.dumps(data)  # plain JSON all the way down


def test_pages_of_datasets(client, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.web import quality_views

    monkeypatch.setattr(quality_views, "PAGE_SIZE", 10)
    first = client.get("/quality.json").get_json()["datasets"]
    second = client.get(first["next"]).get_json()["datasets"]
    assert first["pages"] == 5 and first["prev"] is None and second["page"] == 2
    assert first["items"][-1]["score"] <= second["items"][0]["score"]
    last = client.get("/quality.json?page=5").get_json()["datasets"]
    assert len(last["items"]) == 4 and last["next"] is None
    assert client.get("/quality?page=6").status_code == 404


@pytest.mark.parametrize(
    ("query", "status"),
    [("page=0", 400), ("page=abc", 400), ("page=-1", 400), ("page=1e3", 400), ("page=9999999", 400),
     ("qpage=x", 400), ("page=2", 404), ("qpage=2", 404), ("page=", 400)],
)  # fmt: skip
def test_bad_page_parameters(client, query: str, status: int) -> None:
    html = client.get(f"/quality?{query}")
    assert html.status_code == status and html.mimetype == "text/html"
    body = client.get(f"/quality.json?{query}")
    assert body.status_code == status and body.get_json()["status"] == status


def test_page_links(client) -> None:
    from kg.web.search_views import page_link  # the one rule for links, used by /quality

    with client.application.test_request_context("/quality"):
        assert page_link("http://kg.test/dataset/x") == "/dataset/x"
        assert (
            page_link("https://other.example/d?a=1")
            == "/resource?uri=https%3A%2F%2Fother.example%2Fd%3Fa%3D1"
        )
        assert page_link("javascript:alert(1)") is None and page_link(None) is None


def test_empty_store_renders(settings: Settings) -> None:
    client = build_app(settings).test_client()
    assert "No source has been ingested yet" in client.get("/quality").get_data(as_text=True)
    data = client.get("/quality.json").get_json()
    assert data["datasets"]["total"] == 0 and data["summary"]["average_score"] is None


def test_served_over_http(tmp_path: Path) -> None:
    from live import request, serve

    with serve(tmp_path / "store", workers=1) as base:
        status, headers, body = request(base + "quality")
        assert (
            status == 200
            and headers["Content-Type"].startswith("text/html")
            and b"<h1>Metadata quality" in body
        )
        status, _, body = request(base + "quality.json")
        assert status == 200 and json.loads(body)["sources"][0]["source"] == "sample"
        status, _, body = request(base + "quality?page=x", headers={"Accept": "application/json"})
        assert status == 400 and json.loads(body)["status"] == 400


def test_one_datasets_points_per_indicator_for_its_page(scored: Settings) -> None:
    """The points per indicator are not in the graph; a dataset page reads them from the derived data."""
    from kg.derived.quality import dataset_quality
    from kg.derived.tables import open_derived

    db = open_derived(store_for(scored)).db()
    found = dataset_quality(db, "http://kg.test/dataset/vea-inspection-reports")
    assert found is not None and len(found["indicators"]) == 21
    assert round(sum(i["points"] for i in found["indicators"]), 2) == found["score"]
    assert found["dimensions"] == quality.dimension_points(
        {i["name"]: i["points"] for i in found["indicators"]}
    )
    assert found["rating"] == quality.rating(found["score"])
    by_name = {i["name"]: i for i in found["indicators"]}
    assert (
        by_name["downloadUrlAvailability"]["points"] == 0 and by_name["downloadUrlAvailability"]["of"] == 20
    )
    assert dataset_quality(db, "http://kg.test/dataset/broken-dates") is None  # quarantined: not measured


def test_views_of_one_source_and_one_agency(client) -> None:
    whole = client.get("/quality.json").get_json()
    source = client.get("/quality.json?source=sample").get_json()
    assert source["scope"] == {"source": "sample", "agency": None}
    assert source["summary"] == whole["summary"] and source["datasets"]["total"] == 44
    assert [s["source"] for s in source["sources"]] == ["sample"] and source["sources"][0][
        "view"
    ] == "/quality?source=sample"
    air = client.get("/quality.json?agency=http://kg.test/agency/vea-air").get_json()
    (row,) = air["agencies"]
    assert row["agency"] == "http://kg.test/agency/vea-air" and row["quarantined"] == 1
    assert air["summary"]["datasets_scored"] == row["scored"] == air["datasets"]["total"] == 7
    assert air["summary"]["average_score"] == row["average_score"]
    assert [q["record"] for q in air["quarantined"]["items"]] == ["http://kg.test/dataset/broken-dates"]
    scores = [d["score"] for d in air["datasets"]["items"]]
    assert scores == sorted(scores)
    pages = client.get("/quality?agency=http://kg.test/agency/vea-air").get_data(as_text=True)
    assert "Air Monitoring Unit" in pages and 'href="/quality"' in pages
    assert client.get("/quality.json?source=nope").status_code == 404
    assert client.get("/quality.json?agency=http://kg.test/agency/nope").status_code == 404
    assert client.get("/quality.json?agency=not-an-iri").status_code == 400
    assert client.get("/quality.json?source=sample&agency=http://kg.test/agency/vea").status_code == 400
