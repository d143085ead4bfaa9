"""Per-resource pages at any size: bounded queries, the agency page's parts, findings, bad input.

Stores made by a real ingest of the benchmark generator's CSV catalogue (``bench/generate.py``,
seed 7: 50 agencies in three levels, one data service, ``ds-0000005`` quarantined) at 10 and
500 datasets, in temporary folders; pages through the Flask test client in-process, every
store query counted by a thin wrapper around the app's real :class:`kg.evaluation.page_store.TimedStore`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import rdflib
from conftest import ROOT, Counting, make_settings

from kg.describe import INBOUND_COUNT_LIMIT, INBOUND_LIMIT, Describer, cbd_pattern
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.web import agency_page
from kg.web.app import build_app

BASE = "http://kg.test/"
ENG = "http://publications.europa.eu/resource/authority/language/ENG"
HTML, JSON = {"Accept": "text/html"}, {"Accept": "application/json"}
PREFIXES = "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/> "
# the store queries each kind of page may make, whatever the size of the catalogue
BUDGET = {
    "dataset": 5,
    "dataset-json": 5,
    "dataset-ttl": 1,
    "distribution": 5,
    "service": 4,
    "ministry": 6,
    "unit": 6,
    "quarantined": 7,
    "concept": 3,
    "query": 0,
}
PAGES = {
    "dataset": ("/dataset/ds-0000003", HTML),
    "dataset-json": ("/dataset/ds-0000004", JSON),
    "dataset-ttl": ("/dataset/ds-0000003", {"Accept": "text/turtle"}),
    "distribution": ("/distribution/ds-0000003-0", HTML),
    "service": ("/service/svc-00000", HTML),
    "ministry": ("/agency/fin", HTML),
    "unit": ("/agency/fin-tax-stat", JSON),
    "quarantined": ("/dataset/ds-0000005", HTML),
    "concept": (f"/resource?uri={ENG}", HTML),
    "query": ("/query", HTML),
}


def generator():
    """``bench/generate.py``, which is not a package module."""
    spec = importlib.util.spec_from_file_location("bench_generate_pages", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def generated(root: Path, n: int):
    folder = generator().generate(n, 7, "csv", root / "csv")
    settings = make_settings(root / "store", base_uri=BASE)
    summary = ingest(str(folder), settings=settings, source="bench", fmt="csv")
    assert summary.stored and summary.quarantined >= 1
    return settings


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generated(tmp_path_factory.mktemp("pages-10"), 10)


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    return generated(tmp_path_factory.mktemp("pages-500"), 500)


def counting_client(settings):
    app = build_app(settings)
    counter = app.extensions["kg_pages"] = Counting(app.extensions["kg_pages"])
    return app.test_client(), counter


def rows(settings, sparql: str) -> list[dict[str, str]]:
    result = store_for(settings).query(PREFIXES + sparql)
    return [{k.value: row[k.value].value for k in result.variables} for row in result]


# ---------------------------------------------------------------- bounded


def test_each_kind_of_page_makes_the_same_few_queries_at_10_and_500_datasets(small, large):
    counts: dict[int, dict[str, int]] = {}
    for n, settings in ((10, small), (500, large)):
        client, counter = counting_client(settings)
        client.get("/health")
        counts[n] = {}
        for kind, (path, headers) in PAGES.items():
            counter.queries.clear()
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (n, kind, response.data[:300])
            counts[n][kind] = len(counter.queries)
    assert counts[10] == counts[500]
    assert {k: min(n, BUDGET[k]) for k, n in counts[500].items()} == counts[500], json.dumps(counts[500])


def test_no_page_query_reads_the_catalogue_without_a_bound(large):
    """Every query starts from the page's IRIs or has a LIMIT: no triple pattern of a page is
    a scan of the store (an unbound subject and object), and every list of links is limited."""
    client, counter = counting_client(large)
    for path, headers in PAGES.values():
        client.get(path, headers=headers)
    assert counter.queries
    for sparql in counter.queries:
        anchored = re.search(r"<http[^>]+>|VALUES", sparql)
        assert anchored, sparql
        assert "ORDER BY" not in sparql, sparql  # sorting every link to a theme cost seconds
        if re.search(r"\?s \?p <", sparql):  # links to the resource
            assert "LIMIT" in sparql, sparql


# ---------------------------------------------------------------- the agency page


def _own_counts(settings) -> dict[str, int]:
    found = rows(
        settings,
        "SELECT ?a (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a dcat:Dataset ; dct:publisher ?a } GROUP BY ?a",
    )
    return {r["a"]: int(r["n"]) for r in found}


def test_agency_tree_counts_and_summary_match_the_store(large):
    client = build_app(large).test_client()
    page = client.get("/agency/fin", headers=JSON).json
    own = _own_counts(large)
    family, stack = ["http://kg.test/agency/fin"], list(page["tree"]["children"])
    while stack:
        node = stack.pop()
        family.append(node["term"]["iri"])
        assert node["datasets"] == own.get(node["term"]["iri"], 0), node["term"]["iri"]
        stack += node["children"]
    assert {f.rsplit("/", 1)[1] for f in family} >= {"fin", "fin-tax", "fin-tax-stat", "fin-tax-data"}
    summary = page["summary"]
    assert summary["agencies"] == len(family) and summary["datasets"] == sum(own.get(a, 0) for a in family)
    quality = summary["quality"]  # as /quality?agency= counts it, for the agency and its units
    scored = rows(
        large,
        f"""PREFIX dqv: <http://www.w3.org/ns/dqv#> SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{
          VALUES ?a {{ {" ".join(f"<{a}>" for a in family)} }} ?d dct:publisher ?a .
          ?m dqv:computedOn ?d ; dqv:isMeasurementOf <https://w3id.org/agency-kg/quality#score> }}""",
    )
    assert quality["datasets_scored"] == int(scored[0]["n"]) > 0 and quality["average_score"] > 0
    assert quality["page"] == "/quality?agency=http%3A%2F%2Fkg.test%2Fagency%2Ffin"
    themes = summary["facets"]["theme"]
    values = " ".join(f"<{a}>" for a in family)
    truth = rows(
        large,
        f"""SELECT ?t (COUNT(DISTINCT ?d) AS ?n) WHERE {{ VALUES ?a {{ {values} }}
          ?d a dcat:Dataset ; dct:publisher ?a ; dcat:theme ?t }} GROUP BY ?t""",
    )
    assert (
        themes
        and {t["value"]["iri"]: t["count"] for t in themes}.items()
        <= {r["t"]: int(r["n"]) for r in truth}.items()
    )
    search = client.get(themes[0]["href"], headers=JSON).json  # the facet's link: those datasets
    assert search["total"] == themes[0]["count"]
    html = client.get("/agency/fin", headers=HTML).text
    assert (
        'href="/quality?agency=http%3A%2F%2Fkg.test%2Fagency%2Ffin"' in html
        and "Published by it and the" in html
    )
    assert re.search(
        r'fin-tax-stat".*?</a> <small class="tag">unit</small> <small class="count">\d+ dataset', html
    )


def test_agency_datasets_come_a_page_at_a_time(large, monkeypatch):
    monkeypatch.setattr(agency_page, "LIST_SIZE", 3)
    client = build_app(large).test_client()
    agency = "http://kg.test/agency/fin-tax-stat"
    truth = rows(
        large, f"SELECT ?d ?t WHERE {{ ?d a dcat:Dataset ; dct:publisher <{agency}> ; dct:title ?t }}"
    )
    assert len({r["d"] for r in truth}) > 6
    seen, number, pages = [], 1, None
    while True:
        page = client.get(f"/agency/fin-tax-stat?page={number}", headers=JSON).json
        pages = page["datasets_pages"]
        assert page["datasets_page"] == number and page["datasets_total"] == len({r["d"] for r in truth})
        assert (page["datasets_links"]["prev"] is None) == (number == 1)
        seen += [d["iri"] for d in page["datasets"]]
        if page["datasets_links"]["next"] is None:
            break
        assert page["datasets_links"]["next"] == f"/agency/fin-tax-stat?page={number + 1}"
        number += 1
    assert number == pages and len(seen) == len(set(seen)) == page["datasets_total"]
    assert set(seen) == {r["d"] for r in truth}
    titles = {r["d"]: r["t"] for r in truth}
    assert [titles[d].casefold() for d in seen] == sorted(titles[d].casefold() for d in seen)
    assert client.get(f"/agency/fin-tax-stat?page={pages + 1}", headers=JSON).status_code == 404
    html = client.get("/agency/fin-tax-stat?page=2&lang=fr", headers=HTML).text
    assert 'rel="next" href="/agency/fin-tax-stat?lang=fr&amp;page=3"' in html
    assert 'rel="prev" href="/agency/fin-tax-stat?lang=fr"' in html


def test_agency_links_by_publisher_are_its_datasets_not_its_inbound_links(large):
    client = build_app(large).test_client()
    page = client.get("/agency/fin-tax-stat", headers=JSON).json
    assert page["datasets"] and page["inbound_hidden"][0]["label"] == "dct:publisher"
    assert all(i["predicate"]["iri"] != "http://purl.org/dc/terms/publisher" for i in page["inbound"])
    assert any(i["predicate"]["label"] == "org:hasUnit" for i in page["inbound"])  # its agency's link
    assert "are listed above, not here" in client.get("/agency/fin-tax-stat", headers=HTML).text
    dataset = client.get("/dataset/ds-0000003", headers=JSON).json
    assert dataset["inbound_hidden"] == []


def test_agency_services_and_identifiers(large):
    client = build_app(large).test_client()
    service = rows(large, "SELECT ?s ?a WHERE { ?s a dcat:DataService ; dct:publisher ?a }")[0]
    page = client.get(service["a"].replace(BASE, "/"), headers=JSON).json
    assert [s["iri"] for s in page["services"]] == [service["s"]]
    assert page["identifiers"] and page["identifiers"][0]["value"].startswith("EX-GOV-")
    assert page["contact"][0]["emails"][0]["href"].startswith("mailto:info@")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/dataset/ds-9999999", 404),
        ("/dataset/ds-9999999.json", 404),
        ("/distribution/nothing", 404),
        ("/service/nothing", 404),
        ("/agency/nothing?page=2", 404),
        ("/agency/fin?page=0", 400),
        ("/agency/fin?page=abc", 400),
        ("/agency/fin?page=-1", 400),
        ("/agency/fin?page=1e3", 400),
        ("/agency/fin?page=999", 404),
        ("/dataset/ds-0000003?page=x", 400),
        ("/resource?uri=http://kg.test/agency/fin&page=2.5", 400),
        ("/resource?uri=no-scheme", 400),
        ("/resource?uri=http://kg.test/nothing", 404),
    ],
)
def test_bad_input(small, path, status):
    client = build_app(small).test_client()
    for headers in (JSON, HTML):
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.data[:300])
        if headers is JSON or path.split("?")[0].endswith(".json"):  # the address asks for JSON
            assert set(response.json) == {"error", "status", "detail"}
        else:
            assert b"<h1>" in response.data and b"Traceback" not in response.data


# ---------------------------------------------------------------- links, findings, RDF


def test_links_beyond_the_limits_are_counted_to_a_bound(seeded):
    target = "http://kg.test/dataset/vea-air-no2-hourly"
    links = "".join(
        f"<http://other.example/r{i}> <http://example.org/cites> <{target}> .\n" for i in range(1100)
    )
    store_for(seeded).put_graph("http://kg.test/graph/citations", links.encode(), "nt")
    client = build_app(seeded).test_client()
    page = client.get("/dataset/vea-air-no2-hourly", headers=JSON).json
    assert len(page["inbound"]) == INBOUND_LIMIT and page["inbound_total"] == INBOUND_COUNT_LIMIT == 1000
    assert page["inbound_total_exact"] is False
    keys = [(i["predicate"]["iri"], i["subject"]["iri"]) for i in page["inbound"]]
    assert keys == sorted(keys)
    assert (
        f"{INBOUND_LIMIT} of more than 1,000 shown."
        in client.get("/dataset/vea-air-no2-hourly", headers=HTML).text
    )
    small_page = client.get("/agency/vea-air", headers=JSON).json
    assert small_page["inbound_total_exact"] is True
    assert small_page["inbound_total"] == len(small_page["inbound"])


def test_findings_say_where_they_come_from(seeded):
    client = build_app(seeded).test_client()
    clean = client.get("/service/vea-air-quality-api", headers=JSON).json  # the ingest found nothing
    assert clean["findings"] == [] and clean["findings_status"] == "stored"
    assert client.get("/agency/vea", headers=JSON).json["findings_status"] == "stored"
    concept = client.get(f"/resource?uri={ENG}", headers=JSON).json
    assert concept["findings"] is None and concept["findings_status"] == "not-a-record"
    ttl = (
        "<http://kg.test/dataset/by-hand> a <http://www.w3.org/ns/dcat#Dataset> ;"
        ' <http://purl.org/dc/terms/title> "By hand" .'
    )
    store_for(seeded).put_graph("http://kg.test/graph/by-hand", ttl.encode(), "ttl")
    client = build_app(seeded).test_client()
    written = client.get("/dataset/by-hand", headers=JSON).json  # no ingest: no report, not validated
    assert written["findings"] is None and written["findings_status"] == "not-validated"
    assert "Not validated: this record was written" in client.get("/dataset/by-hand", headers=HTML).text


def test_a_quarantined_record_shows_its_report(small):
    page = build_app(small).test_client().get("/dataset/ds-0000005", headers=JSON).json
    assert page["status"] == "quarantined" and page["findings_status"] == "quarantined"
    assert any(f["severity"] == "violation" for f in page["findings"])


@pytest.mark.parametrize(
    "iri",
    [
        "http://kg.test/dataset/ds-0000003",
        "http://kg.test/agency/fin-tax",
        "http://kg.test/distribution/ds-0000003-0",
        ENG,
    ],
)
def test_the_description_read_while_locating_is_the_cbd(small, iri):
    describer = Describer(store_for(small), BASE)
    loc = describer.locate(iri, parts=True)
    got = rdflib.Graph()
    for t in describer.triples(loc):
        got.add(tuple(rdflib.util.from_n3(str(x)) for x in (t.subject, t.predicate, t.object)))
    where = cbd_pattern(f"VALUES ?root {{ <{iri}> }}")
    expected = rdflib.Graph().parse(
        data=_ntriples(store_for(small).query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}")), format="nt"
    )
    assert len(got) == len(expected) > 3 and set(got) == set(expected)


def _ntriples(triples) -> str:
    return "".join(f"{t.subject} {t.predicate} {t.object} .\n" for t in triples)


def test_a_dataset_page_shows_its_quality_from_the_derived_data(large):
    """The store keeps a dataset's score and its five dimensions; the points per indicator come
    from the generation's derived data, one lookup by IRI."""
    client = build_app(large).test_client()
    iri = rows(large, "SELECT ?d WHERE { ?d a dcat:Dataset } ORDER BY ?d LIMIT 1")[0]["d"]
    quality = client.get(iri.replace("http://kg.test", ""), headers=JSON).json["quality"]
    stored = rows(
        large,
        f"""PREFIX dqv: <http://www.w3.org/ns/dqv#> SELECT ?v WHERE {{ ?m dqv:computedOn <{iri}> ;
          dqv:isMeasurementOf <https://w3id.org/agency-kg/quality#score> ; dqv:value ?v }}""",
    )
    assert float(stored[0]["v"]) == quality["score"]
    assert round(sum(i["points"] for i in quality["indicators"]), 2) == quality["score"]
    html = client.get(iri.replace("http://kg.test", ""), headers=HTML).text
    assert f"{quality['score']} points" in html and "Points per indicator" in html


def test_a_description_deeper_than_the_first_read_is_read_whole(tmp_path):
    """The CBD is read three hops deep first; a record whose parts and blank nodes go on past that
    is read again six deep, so that its page shows what the single six-hop read showed."""
    settings = make_settings(tmp_path / "store", base_uri=BASE)
    store = store_for(settings)
    x, ex = f"{BASE}dataset/deep", "http://example.org/"
    chain = [f"<{x}#a>", f"<{x}#b>", "_:c", f"<{x}#d>", "_:e"]
    lines = [f'<{x}> a <http://www.w3.org/ns/dcat#Dataset> ; <{ex}title> "Deep" ; <{ex}p> {chain[0]} .']
    lines += [f"{a} <{ex}p> {b} ." for a, b in zip(chain, chain[1:], strict=False)]
    lines += [f'_:e <{ex}q> "five hops down" .', f'<{BASE}dataset/flat> <{ex}title> "Flat" .']
    store.put_graph(f"{BASE}graph/deep", "\n".join(lines).encode(), "ttl")
    counter = Counting(store)
    for iri, queries in ((x, 2), (f"{BASE}dataset/flat", 1)):
        counter.queries.clear()
        describer = Describer(counter, BASE)
        loc = describer.locate(iri, parts=True)
        assert len(counter.queries) == queries, iri
        got = {(str(t.subject), str(t.predicate), str(t.object)) for t in describer.triples(loc)}
        where = cbd_pattern(f"VALUES ?root {{ <{iri}> }}")
        expected = store.query(f"SELECT ?s ?p ?o WHERE {where}")
        assert got == {(str(r["s"]), str(r["p"]), str(r["o"])) for r in expected}
        assert ('"five hops down"' in {o for _, _, o in got}) == (iri == x)
