"""/catalog (paged DCAT-AP for harvesters), /.well-known/void and /dump.nq.

The real app on a real on-disk store holding the bundled sample (44 datasets, 4 data services),
with a page size of 10: the Flask test client for the views, gunicorn over a real socket
(tests/live.py) for a harvester's walk. The merged pages are checked with the official DCAT-AP
3.0.1 shapes from ../shared (skipped with a message where it is absent).
"""

from __future__ import annotations

import dataclasses
import io
import re
import urllib.parse
from pathlib import Path

import pytest
from asgi import FrontClient
from conftest import BASE, make_settings, seed
from live import request as http
from live import serve
from pyshacl import validate
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

from kg import vocab
from kg.catalog import export
from kg.factory import store_for
from kg.store.results import convert
from kg.vocab import DCAT, DCT, HYDRA, PROV, VOID
from kg.web.app import build_app

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT.parent / "shared" / "data" / "dcat-ap-shapes"
MDR = Namespace("http://data.europa.eu/r5r#")
CATALOG = URIRef(BASE + "catalog")
SIZE = 10
RDF_SUFFIXES = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld", "nt": "nt"}
MEDIA = {
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
}


@pytest.fixture(scope="module")
def paged(tmp_path_factory, seeded_template):
    """The sample in a store of this module's own, paged 10 a page, evaluated in-process."""
    store = tmp_path_factory.mktemp("catalog") / "store"
    return seed(make_settings(store, catalog_page_size=SIZE), seeded_template)


@pytest.fixture(scope="module")
def client(paged):
    return build_app(paged).test_client()


def page_path(iri: str) -> str:
    assert iri.startswith(BASE), iri
    return "/" + iri[len(BASE) :]


def parse(body: bytes, fmt: str = "turtle") -> Graph:
    return Graph().parse(data=body, format=fmt)


def walk(
    client, start: str = "/catalog", rel=HYDRA.next, accept: str = "text/turtle"
) -> list[tuple[str, Graph]]:
    """Follow ``rel`` from ``start`` as a harvester does: (page IRI, page graph) in order."""
    pages, url = [], start
    while url:
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 200, (url, response.data[:300])
        graph = parse(response.data)
        (view,) = graph.subjects(RDF.type, HYDRA.PartialCollectionView)
        pages.append((str(view), graph))
        assert len(pages) < 50, "the walk does not end"
        following = graph.value(view, rel)
        url = page_path(str(following)) if following is not None else None
    return pages


# ---------------------------------------------------------------- content negotiation


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/turtle"),
        ("*/*", "text/turtle"),
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples", "application/n-triples"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/json", "application/json"),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", "text/turtle"),
        ("image/png", "text/turtle"),
    ],
)
def test_catalog_by_accept(client, accept, expected):
    response = client.get("/catalog", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("suffix", [*RDF_SUFFIXES, "json"])
def test_catalog_by_suffix(client, suffix):
    response = client.get(f"/catalog.{suffix}?page=2", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == (MEDIA.get(suffix) or "application/json")
    assert f'</catalog.{suffix}?page=3>; rel="next"' in response.headers["Link"]


def test_every_page_parses_in_every_syntax(client):
    for number in range(1, 6):
        graphs = {
            suffix: parse(client.get(f"/catalog.{suffix}?page={number}").data, fmt)
            for suffix, fmt in RDF_SUFFIXES.items()
        }
        assert len(graphs["ttl"]) > 100
        for suffix, graph in graphs.items():
            assert isomorphic(graph, graphs["ttl"]), f"page {number} as .{suffix} differs from Turtle"


def test_pages_are_what_a_checking_parse_of_their_ntriples_gives(client):
    """A page's Turtle, RDF/XML and JSON-LD are converted from its N-Triples without checking the
    IRIs again (they are pyoxigraph's own lines): byte for byte what a checking parse gives, for
    the first, a middle and the last page."""
    last = int(re.search(rb'page=(\d+)>; rel="last"', client.get("/catalog.nt").headers["Link"].encode())[1])
    for number in sorted({1, (last + 1) // 2, last}):
        ntriples = client.get(f"/catalog.nt?page={number}").data.decode("utf-8")
        for suffix in ("ttl", "rdf", "jsonld"):
            served = client.get(f"/catalog.{suffix}?page={number}").data
            assert served == convert(ntriples, suffix, prefixes=vocab.PREFIXES), (number, suffix)
            assert isomorphic(parse(served, RDF_SUFFIXES[suffix]), parse(ntriples.encode(), "nt"))


def test_a_checking_convert_refuses_a_bad_iri_that_a_written_one_takes():
    bad = "<http://example.org/a b> <http://example.org/p> <http://example.org/o> .\n"
    with pytest.raises(SyntaxError):
        convert(bad, "ttl")
    assert b"a b" in convert(bad, "ttl", written=True)


# ---------------------------------------------------------------- Hydra paging


def test_walking_next_reaches_every_dataset_exactly_once(client):
    pages = walk(client)
    assert [iri for iri, _ in pages] == [f"{CATALOG}?page={n}" for n in range(1, 6)]
    datasets = [d for _, g in pages for d in g.objects(CATALOG, DCAT.dataset)]
    services = [s for _, g in pages for s in g.objects(CATALOG, DCAT.service)]
    assert len(datasets) == len(set(datasets)) == 44
    assert len(services) == len(set(services)) == 4
    in_order = [d for _, g in pages for d in sorted(g.objects(CATALOG, DCAT.dataset))]
    assert in_order == sorted(datasets), "pages follow each other in IRI order"
    for number, (view, graph) in enumerate(pages, start=1):
        view = URIRef(view)
        assert graph.value(CATALOG, HYDRA.totalItems) == Literal(48)
        assert (CATALOG, HYDRA.view, view) in graph and (CATALOG, RDF.type, DCAT.Catalog) in graph
        assert graph.value(view, HYDRA.first) == URIRef(f"{CATALOG}?page=1")
        assert graph.value(view, HYDRA.last) == URIRef(f"{CATALOG}?page=5")
        members = set(graph.objects(CATALOG, DCAT.dataset)) | set(graph.objects(CATALOG, DCAT.service))
        assert len(members) == (SIZE if number < 5 else 8)
        for member in members:  # each member is described on its page
            assert graph.value(member, DCT.title) is not None, member
    first = pages[0][1]
    assert first.value(URIRef(pages[0][0]), HYDRA.previous) is None


def test_previous_from_last_walks_back_through_the_same_pages(client):
    forward = walk(client)
    last = forward[0][1].value(URIRef(forward[0][0]), HYDRA.last)
    backward = walk(client, page_path(str(last)), rel=HYDRA.previous)
    assert [iri for iri, _ in backward] == [iri for iri, _ in reversed(forward)]
    assert backward[0][1].value(URIRef(backward[0][0]), HYDRA.next) is None


def test_merged_pages_are_the_export(client, paged):
    """The union of the pages is the export (`kg export`), plus the Hydra paging."""
    merged = Graph()
    for _, graph in walk(client):
        merged += graph
    for triple in list(merged):
        if str(triple[1]).startswith(str(HYDRA)) or triple[2] in (
            HYDRA.Collection,
            HYDRA.PartialCollectionView,
        ):
            merged.remove(triple)
    out = io.BytesIO()
    export(store_for(paged), paged, out, fmt="nt")
    assert isomorphic(merged, parse(out.getvalue(), "nt"))


# ---------------------------------------------------------------- official DCAT-AP shapes


def _top_level_violations(data: Graph, shapes: Graph) -> list[tuple]:
    _conforms, report, _text = validate(data, shacl_graph=shapes, inference="none")
    return [
        tuple(
            report.value(r, p)
            for p in (SH.focusNode, SH.resultPath, SH.sourceShape, SH.sourceConstraintComponent)
        )
        + (str(report.value(r, SH.resultMessage)),)
        for rep in report.subjects(RDF.type, SH.ValidationReport)
        for r in report.objects(rep, SH.result)
        if report.value(r, SH.resultSeverity) == SH.Violation
    ]


def _corporate_body_rule(shapes: Graph, found: tuple) -> bool:
    """The mdr rule that a publisher is in the EU corporate-body table (as tests/test_conformance.py)."""
    _focus, path, shape, component, _message = found
    return (
        path == DCT.publisher
        and component == SH.NodeConstraintComponent
        and (shape, SH.node, MDR.CorporateBodyRestriction) in shapes
        and (shape, SH.path, DCT.publisher) in shapes
    )


def test_merged_pages_meet_the_official_shapes(client):
    if not (OFFICIAL / "shapes.ttl").exists():
        pytest.skip(f"the official DCAT-AP 3.0.1 shapes are not at {OFFICIAL} (../shared is absent)")
    merged = Graph()
    for _, graph in walk(client):
        merged += graph
    core = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        core.parse(OFFICIAL / name, format="turtle")
    found = _top_level_violations(merged, core)
    assert not found, f"shapes.ttl + range.ttl: {found[:10]}"
    mdr = Graph().parse(OFFICIAL / "mdr-vocabularies.shape.ttl", format="turtle")
    found = [f for f in _top_level_violations(merged, mdr) if not _corporate_body_rule(mdr, f)]
    assert not found, f"mdr-vocabularies.shape.ttl (corporate-body rule excepted): {found[:10]}"


# ---------------------------------------------------------------- bad parameters, caching


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=0", 404),
        ("page=6", 404),
        ("page=-1", 404),
        ("page=99999999999999999999", 404),
        ("page=abc", 400),
        ("page=1.5", 400),
        ("page=", 400),
        ("page=%00", 400),
        ("page=1&page=2", 400),
    ],
)
def test_bad_page_parameters(client, query, status):
    for path in ("/catalog", "/catalog.ttl", "/catalog.json"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == status, (path, query)
        assert b"Traceback" not in response.data
    body = client.get(f"/catalog.json?{query}").get_json()
    assert body["status"] == status and body["detail"]


def test_unknown_suffix_is_404(client):
    assert client.get("/catalog.xyz").status_code == 404
    assert client.get("/catalog.html").status_code == 404


def test_etag_follows_the_store_generation(seeded):
    settings = dataclasses.replace(seeded, catalog_page_size=SIZE)
    client = build_app(settings).test_client()
    first = client.get("/catalog.ttl")
    etag = first.headers["ETag"]
    assert client.get("/catalog.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/catalog.ttl?page=2").headers["ETag"] != etag
    store_for(settings).update(
        f"INSERT DATA {{ GRAPH <{BASE}graph/extra> {{ <{CATALOG}> <{DCAT.dataset}> <{BASE}dataset/zzz> }} }}"
    )
    again = client.get("/catalog.ttl", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert parse(again.data).value(CATALOG, HYDRA.totalItems) == Literal(49)


# ---------------------------------------------------------------- HTML and its JSON twin


def test_html_page_lists_the_page_with_paging_and_downloads(client):
    html = client.get("/catalog?page=2", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert html.count("<h1>") == 1
    assert 'href="/catalog?page=1" rel="first"' in html and 'href="/catalog?page=3" rel="next"' in html
    assert 'href="/catalog?page=5" rel="last"' in html and 'href="/catalog?page=1" rel="prev"' in html
    for suffix in RDF_SUFFIXES:
        assert f'href="/catalog.{suffix}?page=2"' in html
    assert 'href="/dump.nq"' in html and 'href="/.well-known/void"' in html
    data = client.get("/catalog.json?page=2").get_json()
    assert (
        data["page"] == 2 and data["pages"] == 5 and data["total_items"] == 48 and data["page_size"] == SIZE
    )
    assert len(data["items"]) == SIZE
    for item in data["items"]:
        assert item["kind"] == "dataset" and item["title"]
        assert item["link"] == page_path(item["iri"])
        assert f'href="{item["link"]}"' in html and item["title"] in html
    assert data["links"] == {
        "first": "/catalog.json?page=1",
        "previous": "/catalog.json?page=1",
        "next": "/catalog.json?page=3",
        "last": "/catalog.json?page=5",
    }


def test_hostile_titles_and_iris_are_escaped(seeded):
    settings = dataclasses.replace(seeded, catalog_page_size=100)
    hostile = "javascript:alert(1)"
    store_for(settings).update(
        f"""INSERT DATA {{ GRAPH <{BASE}graph/hostile> {{
            <{CATALOG}> <{DCAT.dataset}> <{hostile}> , <{BASE}dataset/x> .
            <{hostile}> <{DCT.title}> "<script>alert('t')</script>" .
            <{BASE}dataset/x> <{DCT.title}> "<img src=x onerror=alert(1)>" }} }}"""
    )
    client = build_app(settings).test_client()
    html = client.get("/catalog", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html
    assert "<td>&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;</td>" in html  # shown, not linked


def test_empty_store_has_one_empty_page(tmp_path):
    client = build_app(make_settings(tmp_path / "empty")).test_client()
    graph = parse(client.get("/catalog").data)
    assert graph.value(CATALOG, HYDRA.totalItems) == Literal(0)
    assert client.get("/catalog?page=2").status_code == 404
    assert client.get("/catalog", headers={"Accept": "text/html"}).status_code == 200


# ---------------------------------------------------------------- VoID and the dump


def count(client, query: str) -> int:
    """A count by ``/sparql``, which the app's ASGI front answers (driven in process here)."""
    response = FrontClient(client.application).get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"}
    )
    assert response.status_code == 200, response.data
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


def test_void_numbers_equal_sparql_counts(client, paged):
    response = client.get("/.well-known/void")
    assert response.mimetype == "text/turtle"
    void = parse(response.data)
    (dataset,) = void.subjects(VOID.sparqlEndpoint, None)

    def value(prop) -> int:
        return int(void.value(dataset, prop))

    assert value(VOID.triples) == count(client, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    assert value(VOID.distinctSubjects) == count(client, "SELECT (COUNT(DISTINCT ?s) AS ?n) { ?s ?p ?o }")
    assert value(VOID.distinctObjects) == count(client, "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }")
    assert value(VOID.properties) == count(client, "SELECT (COUNT(DISTINCT ?p) AS ?n) { ?s ?p ?o }")
    assert value(VOID.classes) == count(client, "SELECT (COUNT(DISTINCT ?c) AS ?n) { ?s a ?c }")
    assert value(VOID.entities) == count(
        client,
        f'SELECT (COUNT(DISTINCT ?s) AS ?n) {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}")) }}',
    )
    partitions = {
        void.value(p, VOID["class"]): int(void.value(p, VOID.entities))
        for p in void.objects(dataset, VOID.classPartition)
    }
    assert partitions[DCAT.Dataset] == 44 and partitions[DCAT.DataService] == 4
    subsets = {s: int(void.value(s, VOID.triples)) for s in void.objects(dataset, VOID.subset)}
    assert {str(s) for s in subsets} == set(store_for(paged).data_graphs())
    for graph, n in subsets.items():
        assert n == count(client, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"), graph
    assert void.value(dataset, VOID.sparqlEndpoint) == URIRef(BASE + "sparql")
    assert void.value(dataset, VOID.dataDump) == URIRef(BASE + "dump.nq")
    assert void.value(dataset, VOID.uriSpace) == Literal(BASE)
    vocabularies = {str(v) for v in void.objects(dataset, VOID.vocabulary)}
    assert {
        str(DCAT),
        str(DCT),
        "http://www.w3.org/ns/org#",
        "http://www.w3.org/2004/02/skos/core#",
    } <= vocabularies
    last_run = f"SELECT (MAX(?e) AS ?n) {{ GRAPH <{BASE}graph/provenance> {{ ?r <{PROV.endedAtTime}> ?e }} }}"
    (row,) = store_for(paged).query(last_run, private=True)  # ingest runs are private graphs
    ended = Literal(row["n"].value, datatype=vocab.XSD.dateTime)
    assert void.value(dataset, DCT.modified).toPython() == ended.toPython()


@pytest.mark.parametrize("suffix", ["rdf", "jsonld", "nt"])
def test_void_in_other_syntaxes(client, suffix):
    response = client.get("/.well-known/void", headers={"Accept": MEDIA[suffix]})
    assert response.mimetype == MEDIA[suffix]
    assert isomorphic(parse(response.data, RDF_SUFFIXES[suffix]), parse(client.get("/.well-known/void").data))


def test_dump_holds_the_data_graphs_with_their_names(client, paged):
    response = client.get("/dump.nq")
    assert response.mimetype == "application/n-quads"
    dataset = Dataset()
    dataset.parse(data=response.data, format="nquads")
    store = store_for(paged)
    sizes = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
    assert sizes == {g: store.graph_sizes()[g] for g in store.data_graphs()}
    assert not any("provenance" in g or "quarantine" in g for g in sizes)


# ---------------------------------------------------------------- the vocabulary contract


def test_terms_ttl_lists_the_hydra_and_void_terms():
    text = (ROOT / "ontologies" / "terms.ttl").read_text(encoding="utf-8")
    for prefix, namespace in (("hydra", HYDRA), ("void", VOID)):
        for term in dir(namespace):
            assert re.search(rf"(?<![\w:]){prefix}:{re.escape(term)}(?![\w-])", text), f"{prefix}:{term}"


# ---------------------------------------------------------------- over a real socket


def test_harvest_over_a_real_socket(tmp_path):
    """gunicorn serving the sample: a harvester walks `next` with urllib and reads the VoID."""
    with serve(tmp_path / "store", KG_CATALOG_PAGE_SIZE="10") as live:
        url, seen, pages = live + "catalog", [], 0
        while url:
            status, headers, body = http(url, headers={"Accept": "text/turtle"})
            assert status == 200 and headers["Content-Type"].startswith("text/turtle")
            graph = parse(body)
            catalog = URIRef(live + "catalog")
            seen += list(graph.objects(catalog, DCAT.dataset))
            (view,) = graph.subjects(RDF.type, HYDRA.PartialCollectionView)
            following = graph.value(view, HYDRA.next)
            url = str(following) if following is not None else None
            pages += 1
        assert pages == 5 and len(seen) == len(set(seen)) == 44
        status, headers, body = http(live + ".well-known/void", headers={"Accept": "application/ld+json"})
        assert status == 200 and headers["Content-Type"].startswith("application/ld+json")
        void = parse(body, "json-ld")
        assert (None, VOID.sparqlEndpoint, URIRef(live + "sparql")) in void
        status, headers, body = http(live + "catalog?page=abc", headers={"Accept": "application/json"})
        assert status == 400 and b'"status":400' in body.replace(b" ", b"")
        status, headers, body = http(live + "catalog?" + urllib.parse.urlencode({"page": 7}))
        assert status == 404
        status, headers, body = http(live + "dump.nq")
        assert status == 200 and body.count(b"\n") > 6000


def test_the_vocabulary_terms_held_in_memory_bring_what_probing_every_iri_brings(paged):
    """A page looks up only the IRIs among the vocabulary's terms (held once per generation):
    the concepts it carries are those that probing each of its IRIs finds."""
    from kg.derived.catalog import concept_ntriples, vocabulary_terms
    from kg.derived.tables import open_derived
    from kg.factory import store_for

    db = open_derived(store_for(paged)).db()
    terms = vocabulary_terms(db)
    assert terms == {iri for (iri,) in db.execute("SELECT iri FROM vocabulary")} and len(terms) > 10
    used = sorted({iri for (iri,) in db.execute("SELECT iri FROM member_order")} | set(list(terms)[::3]))
    assert concept_ntriples(db, used, terms) == concept_ntriples(db, used) != ""
