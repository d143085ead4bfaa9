"""The search index (kg.search) and /datasets: built on ingest, queried safely, kept in step with writes."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import BASE, SAMPLE_CSV
from live import request, serve

from kg.factory import store_for
from kg.ingest.run import ingest
from kg.search.build import build_index
from kg.search.query import Index, Query, open_index, parse_query
from kg.search.tables import FACETS, INDEX_FILE, ORDERS, bitset
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.generation import Generation
from kg.vocab import DCAT, DCT, RDF
from kg.web.app import build_app
from kg.web.search_views import page_link

EU = "http://publications.europa.eu/resource/authority/"
ENVI, TRAN, HEAL = (f"{EU}data-theme/{code}" for code in ("ENVI", "TRAN", "HEAL"))
CSV_FORMAT = f"{EU}file-type/CSV"
PATTERNS = {  # the SPARQL meaning of each facet, written independently of kg.search
    "theme": f"?d <{DCAT.theme}> ?v",
    "publisher": f"?d <{DCT.publisher}> ?v",
    "format": f"?d <{DCAT.distribution}>/<{DCT.format}> ?v",
    "licence": f"{{ ?d <{DCAT.distribution}>/<{DCT.license}> ?v }} UNION {{ ?d <{DCT.license}> ?v }}",
    "keyword": f"?d <{DCAT.keyword}> ?k BIND(LCASE(STR(?k)) AS ?v)",
    "language": f"?d <{DCT.language}> ?v",
}


def search(store: Store, facet_limit: int = 1000, **params: str | list[str]):
    args = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return open_index(store).search(parse_query(args), facet_limit=facet_limit)


def iris(result) -> list[str]:
    return [hit.iri for hit in result.hits]


def sparql_count(store: Store, where: str) -> int:
    query = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT.Dataset}> . {where} }}"
    return int(next(iter(store.query(query)))["n"].value)


@pytest.fixture
def store(seeded_shared: Settings) -> Store:
    """The sample's store, shared by the tests of this file that only read it."""
    return store_for(seeded_shared)


@pytest.fixture(scope="module")
def client(seeded_shared: Settings):
    return build_app(seeded_shared).test_client()


@pytest.fixture
def own_store(seeded: Settings) -> Store:
    """The sample's store, this test's own: for a test that writes."""
    return store_for(seeded)


def put_other(store: Store, turtle: str, graph: str = f"{BASE}graph/other") -> None:
    """Another source, written as the Graph Store Protocol writes it (the index updates incrementally)."""
    prefixes = f"@prefix dcat: <{DCAT}> . @prefix dct: <{DCT}> .\n"
    store.put_graph(graph, (prefixes + turtle).encode(), "ttl")


# ---------------------------------------------------------------- index contents


def test_index_is_built_on_ingest_and_facets_count_like_sparql(store: Store) -> None:
    assert (store.folder() / INDEX_FILE).is_file()
    result = search(store)
    assert result.total == sparql_count(store, "") == 44
    for facet in FACETS:
        where = f"?d a <{DCAT.Dataset}> . {PATTERNS[facet]}"
        rows = store.query(f"SELECT ?v (COUNT(DISTINCT ?d) AS ?n) WHERE {{ {where} }} GROUP BY ?v")
        expected = {row["v"].value: int(row["n"].value) for row in rows}
        assert {v.value: v.count for v in result.facets[facet]} == expected, facet
    labels = {v.value: v.label for v in result.facets["theme"]}
    assert labels[ENVI] == "Environment"
    publishers = {v.label for v in result.facets["publisher"]}
    assert "Air Monitoring Unit" in publishers  # the agency's foaf:name


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nitrogen dioxide", "vea-air-no2-hourly"),
        ("air quality", "vea-air-annual-report"),
        ("baignade", "vea-water-bathing-quality"),  # only in a French title
        ("qualite", "vea-water-bathing-quality"),  # "Qualité" without its accent
        ("QUALITÉ", "vea-water-bathing-quality"),
        ("énergie", "mei-stats-energy-consumption"),
        ("energie", "mei-stats-energy-consumption"),
    ],
)
def test_words_from_the_sample_are_found(store: Store, q: str, expected: str) -> None:
    assert f"{BASE}dataset/{expected}" in iris(search(store, q=q, size="100"))


def test_all_words_must_match_and_results_show_what_matched(store: Store) -> None:
    both = search(store, q="nitrogen dioxide")
    assert both.total == 2 < search(store, q="nitrogen").total + search(store, q="dioxide").total + 1
    hit = both.hits[0]
    assert hit.title == "Hourly nitrogen dioxide concentrations"
    assert ("nitrogen", True) in hit.snippet and hit.modified.startswith("2026-")
    assert [p.label for p in hit.publishers] == ["Air Monitoring Unit"]
    assert {"CSV", "JSON"} <= {f.label for f in hit.formats}


def test_a_title_match_beats_a_description_only_match(own_store: Store) -> None:
    store = own_store
    put_other(
        store,
        f"""<{BASE}dataset/z-desc> a dcat:Dataset ; dct:title "Crossing counts"@en ;
              dct:description "Counts at every zebra crossing, a zebra a day"@en .
            <{BASE}dataset/z-title> a dcat:Dataset ; dct:title "Zebra crossings"@en ;
              dct:description "Where people cross roads"@en .""",
    )
    assert iris(search(store, q="zebra")) == [f"{BASE}dataset/z-title", f"{BASE}dataset/z-desc"]


# ---------------------------------------------------------------- facets, paging, sorting


def test_facets_combine_and_across_or_within(store: Store) -> None:
    envi = search(store, theme=ENVI)
    assert envi.total == sparql_count(store, f"?d <{DCAT.theme}> <{ENVI}>")
    both = search(store, theme=ENVI, format=CSV_FORMAT)
    assert both.total == sparql_count(
        store, f"?d <{DCAT.theme}> <{ENVI}> ; <{DCAT.distribution}>/<{DCT.format}> <{CSV_FORMAT}>"
    )
    assert 0 < both.total < envi.total
    either = search(store, theme=[ENVI, TRAN])
    assert either.total == sparql_count(store, f"?d <{DCAT.theme}> ?t FILTER(?t IN (<{ENVI}>, <{TRAN}>))")
    # counts follow the other facets' selection; a facet's own values stay choosable
    publishers_all = {v.value: v.count for v in search(store).facets["publisher"]}
    publishers_envi = {v.value: v.count for v in envi.facets["publisher"]}
    assert publishers_envi != publishers_all and sum(publishers_envi.values()) == envi.total
    themes = {v.value: (v.count, v.selected) for v in envi.facets["theme"]}
    assert themes[ENVI] == (envi.total, True) and themes[TRAN][0] > 0


def test_keyword_values_ignore_case_and_unknown_values_match_nothing(store: Store) -> None:
    keyword = search(store, keyword="AIR QUALITY")
    assert keyword.total == sparql_count(
        store, f'?d <{DCAT.keyword}> ?k FILTER(LCASE(STR(?k)) = "air quality")'
    )
    with_text = search(store, q="nitrogen", keyword="air quality")
    assert 0 < with_text.total < keyword.total
    assert search(store, publisher="http://nowhere.example/x").total == 0


def test_values_without_a_bitset_are_counted_too(own_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.search.build

    store = own_store
    monkeypatch.setattr(kg.search.build, "BITSET_TERMS", 3)
    store.update(f"INSERT DATA {{ GRAPH <{BASE}graph/x> {{ <{BASE}x> <{BASE}y> 1 }} }}")  # a full rebuild
    index = open_index(store)
    assert len(index.bits) == 3 < len(index.terms)
    for facet in ("publisher", "keyword", "format"):
        result = search(store, theme=TRAN)
        where = f"?d <{DCAT.theme}> <{TRAN}> . {PATTERNS[facet]}"
        rows = store.query(
            f"SELECT ?v (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT.Dataset}> . {where} }} GROUP BY ?v"
        )
        assert {v.value: v.count for v in result.facets[facet]} == {
            r["v"].value: int(r["n"].value) for r in rows
        }
    rare = next(v for v in search(store).facets["keyword"] if v.count == 1)
    assert search(store, keyword=rare.value).total == 1
    shown = search(store, facet_limit=1, keyword=rare.value).facets["keyword"]
    assert (rare.value, 1, True) in [(v.value, v.count, v.selected) for v in shown]


def test_paging_covers_every_result_once(store: Store) -> None:
    everything = iris(search(store, size="100"))
    pages = [iris(search(store, size="7", page=str(p))) for p in range(1, 8)]
    assert [i for page in pages for i in page] == everything and len(set(everything)) == 44
    assert search(store, size="7").pages == 7


@pytest.mark.parametrize("sort", ["title", "modified"])
def test_a_filtered_page_is_the_sorted_list_filtered(store: Store, sort: str) -> None:
    """A facet-filtered page, paged in each sort order, is the whole sorted list with the other
    publishers' datasets taken out, page by page (the page is selected with numpy)."""
    whole = search(store, sort=sort, size="100").hits
    publisher = whole[0].publishers[0].value
    expected = [h.iri for h in whole if publisher in {p.value for p in h.publishers}]
    assert 2 < len(expected) < len(whole)
    pages = [iris(search(store, sort=sort, publisher=publisher, size="2", page=str(p))) for p in range(1, 30)]
    assert [i for page in pages for i in page] == expected
    past = search(store, sort=sort, publisher=publisher, size="2", page=str(len(expected) // 2 + 2))
    assert past.hits == () and past.total == len(expected)


def test_facet_limit_zero_counts_no_facet(store: Store) -> None:
    publisher = search(store).facets["publisher"][0].value
    counted = search(store, facet_limit=5, publisher=publisher)
    plain = search(store, facet_limit=0, publisher=publisher)
    assert counted.facets["theme"] and all(values == () for values in plain.facets.values())
    assert iris(plain) == iris(counted) and plain.total == counted.total


def test_titles_only_hits_are_the_same_hits_without_the_rest(store: Store) -> None:
    """The agency page's list reads IRIs, titles and dates only: the same hits, in the same order."""
    publisher = search(store).facets["publisher"][0].value
    query = Query(filters=(("publisher", (publisher,)),), sort="title", page=2, size=3)
    full = open_index(store).search(query, facet_limit=0)
    brief = open_index(store).search(query, facet_limit=0, titles_only=True)
    assert len(full.hits) == 3 and (brief.total, brief.pages) == (full.total, full.pages)

    def key(result) -> list[tuple[str, str, str]]:
        return [(h.iri, h.title, h.modified) for h in result.hits]

    assert key(brief) == key(full)
    assert all(h.snippet == h.publishers == h.themes == () for h in brief.hits)
    assert all(h.publishers for h in full.hits)


def test_sorting(store: Store) -> None:
    titles = [h.title for h in search(store, sort="title", size="100").hits]
    assert titles == sorted(titles, key=str.casefold)
    modified = [h.modified for h in search(store, size="100").hits]  # the default without words
    assert modified == sorted(modified, reverse=True)
    ranked = search(store, q="air quality")
    assert ranked.query.sort == "relevance"
    by_title = search(store, q="air quality", sort="title")
    assert sorted(iris(ranked)) == sorted(iris(by_title)) and iris(ranked) != iris(by_title)


def test_the_sort_orders_are_written_with_the_index_and_read_by_key(own_store: Store, tmp_path: Path) -> None:
    """Each order is a row of the index file, the ids as ``datasets`` sorts them; an index written
    before the rows existed is sorted when opened, with the same pages."""
    path = own_store.folder() / INDEX_FILE
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    stored = dict(db.execute("SELECT sort, ids FROM orders"))
    assert set(stored) == set(ORDERS)
    for sort, keys in ORDERS.items():
        ids = [i for (i,) in db.execute(f"SELECT id FROM datasets ORDER BY {keys}")]
        assert len(ids) > 40 and np.frombuffer(stored[sort], dtype="<u4").tolist() == ids
    db.close()
    older = tmp_path / INDEX_FILE
    shutil.copyfile(path, older)
    with sqlite3.connect(older) as old:
        old.execute("DROP TABLE orders")
    for sort in ("title", "modified"):
        query = parse_query({"sort": [sort], "size": ["100"]})
        assert Index(older).search(query).hits == open_index(own_store).search(query).hits
    assert (
        Index(older).all
        == open_index(own_store).all
        == bitset(range(1, open_index(own_store).top + 1), open_index(own_store).top)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"page": ["-1"]},
        {"page": ["0"]},
        {"page": ["1.5"]},
        {"page": ["٣"]},
        {"size": ["10000"]},
        {"sort": ["nonsense"]},
        {"colour": ["red"]},
        {"q": ["a", "b"]},
        {"q": ["x" * 501]},
        {"q": [" ".join(f"w{i}" for i in range(21))]},
        {"theme": [f"t{i}" for i in range(21)]},
    ],
)
def test_bad_parameters_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        parse_query(params)


# ---------------------------------------------------------------- the page and its JSON twin


def test_page_has_form_facets_and_links(client) -> None:
    response = client.get(f"/datasets?q=air+quality&theme={ENVI}&size=3")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<label for="q">' in html and html.count("<h1>") == 1
    assert f'name="theme" value="{ENVI}" checked' in html
    assert 'href="/dataset/vea-air-annual-report"' in html
    assert "<mark>" in html and 'rel="next"' in html
    assert "AND" in html and "OR" in html  # how facets combine is said on the page


def test_json_twin(client) -> None:
    by_suffix = client.get("/datasets.json?q=air&size=2&page=2")
    by_accept = client.get("/datasets?q=air&size=2&page=2", headers={"Accept": "application/json"})
    assert by_suffix.mimetype == by_accept.mimetype == "application/json"
    data = by_suffix.get_json()
    assert data == by_accept.get_json()
    assert data["query"] == {
        "q": "air",
        "sort": "relevance",
        "page": 2,
        "size": 2,
        "filters": {},
        "combining": data["query"]["combining"],
    }
    assert data["total"] > 4 and len(data["results"]) == 2
    first = data["results"][0]
    assert set(first) == {"iri", "page", "title", "snippet", "publisher", "modified", "formats", "themes"}
    assert first["publisher"]["label"] and first["formats"][0]["iri"].startswith(EU)
    assert set(data["facets"]) == set(FACETS) and all("count" in v for v in data["facets"]["theme"])
    assert data["links"]["next"] == "/datasets.json?q=air&size=2&page=3"
    assert data["links"]["prev"] == "/datasets.json?q=air&size=2"


HOSTILE = [
    '"',
    '""',
    "*",
    "air*",
    "NEAR(",
    "NEAR(air quality, 2)",
    ")",
    "(",
    "air OR",
    "AND",
    "NOT air",
    "title:air",
    "{title}: air",
    "^air",
    "-air",
    "'; DROP TABLE datasets; --",
    "<script>alert(1)</script>",
    "x" * 500,
    "é" * 400,
    "日本語のデータ",
    "💨 air",
    "\u0000\u0001",
    "a\u0301ir",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_input_is_data(client, q: str) -> None:
    for path in ("/datasets", "/datasets.json"):
        response = client.get(path, query_string={"q": q, "theme": q, "keyword": q, "sort": "title"})
        assert response.status_code in (200, 400), (q, response.status_code)
    html = client.get("/datasets", query_string={"q": q}).get_data(as_text=True)
    assert "<script>alert" not in html


def test_bad_requests_get_the_shaped_error(client) -> None:
    for query in ("page=-1", "size=10000", "sort=nonsense", "colour=red", "page=999"):
        response = client.get(f"/datasets.json?{query}")
        assert response.status_code in (400, 404), query
        assert set(response.get_json()) == {"error", "status", "detail"}
    assert "404" in client.get("/datasets?page=999").get_data(as_text=True)
    assert client.get("/datasets?q=%ED%A0%80%FF").status_code == 200  # not UTF-8: replaced, not a 500


def test_page_link() -> None:
    base = "http://kg.test/"
    assert page_link(f"{base}dataset/x", base) == "/dataset/x"
    assert (
        page_link("https://elsewhere.example/d?a=1", base)
        == "/resource?uri=https%3A%2F%2Felsewhere.example%2Fd%3Fa%3D1"
    )
    assert page_link("javascript:alert(1)", base) is None
    assert page_link("", base) is None


# ---------------------------------------------------------------- keeping the index in step with writes


def test_reingest_of_a_changed_source_updates_the_index(seeded: Settings, tmp_path: Path) -> None:
    store = store_for(seeded)
    put_other(store, f'<{BASE}dataset/other-one> a dcat:Dataset ; dct:title "Lighthouse positions"@en .')
    put_other(  # a sample dataset described by a second source too: still one hit
        store,
        f'<{BASE}dataset/vea-noise-maps> a dcat:Dataset ; dcat:keyword "acoustics"@en .',
        f"{BASE}graph/more",
    )
    assert iris(search(store, q="acoustics")) == [f"{BASE}dataset/vea-noise-maps"]
    assert search(store, q="noise maps").total == 1 and search(store).total == 45
    before = search(store, q="waste", size="100")
    changed = tmp_path / "csv"
    shutil.copytree(SAMPLE_CSV, changed)
    for name, column in (("datasets.csv", "id"), ("distributions.csv", "dataset")):
        path = changed / name
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if r[column] not in ("vea-noise-maps", "vea-waste-statistics"))
    ingest(str(changed), settings=seeded, source="sample")
    gone = f"{BASE}dataset/vea-waste-statistics"
    assert gone in iris(before) and gone not in iris(search(store, q="waste", size="100"))  # its only source
    assert iris(search(store, q="lighthouse")) == [f"{BASE}dataset/other-one"]  # other sources stay
    assert iris(search(store, q="acoustics")) == [f"{BASE}dataset/vea-noise-maps"]  # still in graph/more
    assert search(store, q="noise maps").total == 0  # its sample title went with the sample
    assert search(store).total == 44


def test_sparql_update_rebuilds_the_index(seeded: Settings) -> None:
    app = build_app(dataclasses.replace(seeded, update_token="secret"))
    client = app.test_client()
    update = f"""DELETE WHERE {{ GRAPH <{BASE}graph/sample> {{ <{BASE}dataset/vea-noise-maps> ?p ?o }} }} ;
        INSERT DATA {{ GRAPH <{BASE}graph/sample> {{
          <{BASE}dataset/vea-air-stations> <{DCAT.keyword}> "Quokka"@en }} }}"""
    response = client.post("/sparql", data={"update": update}, headers={"Authorization": "Bearer secret"})
    assert response.status_code == 204
    data = client.get("/datasets.json?q=quokka").get_json()
    assert [r["iri"] for r in data["results"]] == [f"{BASE}dataset/vea-air-stations"]
    assert client.get("/datasets.json?q=strategic+noise").get_json()["total"] == 0
    assert client.get("/datasets.json").get_json()["total"] == 43


@pytest.mark.embedded_only  # writes a generation without the index builder
def test_empty_store_and_missing_index(settings: Settings) -> None:
    client = build_app(settings).test_client()
    assert client.get("/datasets.json").get_json()["total"] == 0  # nothing published yet
    with Store(settings.store).write() as writer:  # a generation written without the builder
        writer.load_text(f"<{BASE}dataset/a> <{RDF.type}> <{DCAT.Dataset}> .\n", graph=f"{BASE}graph/x")
    response = client.get("/datasets.json")
    assert response.status_code == 503 and "search index" in response.get_json()["detail"]
    store = store_for(settings)
    store.update("INSERT DATA { GRAPH <http://kg.test/graph/x> { <http://kg.test/a> <http://kg.test/b> 1 } }")
    assert client.get("/datasets.json").get_json()["total"] == 1  # the next write built it


def test_query_defaults() -> None:
    assert parse_query({}) == Query()
    query = parse_query({"q": [" Air  air AIR quality "], "keyword": ["NO2", "no2"], "theme": [ENVI]})
    assert query.words() == ["Air", "quality"] and query.sort == "relevance"
    assert query.filters == (("theme", (ENVI,)), ("keyword", ("no2",)))


# ---------------------------------------------------------------- over a real socket


def test_http_over_a_real_socket(tmp_path: Path) -> None:
    with serve(tmp_path / "store") as base:
        status, headers, body = request(f"{base}datasets?q=nitrogen+dioxide", headers={"Accept": "text/html"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"Hourly nitrogen dioxide concentrations" in body
        status, headers, body = request(
            f"{base}datasets?q=air&theme={ENVI}", headers={"Accept": "application/json"}
        )
        data = json.loads(body)
        assert status == 200 and data["total"] > 0 and data["query"]["filters"] == {"theme": [ENVI]}
        assert data["results"][0]["page"].startswith("/dataset/")
        again_headers = {"Accept": "application/json", "If-None-Match": headers["ETag"]}
        status, _, again = request(f"{base}datasets?q=air&theme={ENVI}", headers=again_headers)
        assert status == 304 and again == b""
        status, headers, body = request(f"{base}datasets.json?sort=nonsense")
        assert status == 400 and json.loads(body)["status"] == 400
        status, _, body = request(f"{base}datasets?q=%22NEAR(%20*%20)")
        assert status == 200


# ---------------------------------------------------------------- the ingest's summaries


def _index_content(path: Path) -> dict[str, object]:
    """What an index holds, without its row ids (they follow the order datasets were indexed in);
    the values of one property, joined with line breaks in a text column, as a sorted list."""
    db = sqlite3.connect(path)
    try:
        ids = dict(db.execute("SELECT id, iri FROM datasets"))
        terms = {
            row[0]: row[1:] for row in db.execute("SELECT id, facet, value, label, iri, count FROM terms")
        }
        facets: dict[str, set] = {}
        for term, dataset in db.execute("SELECT term, dataset FROM facets"):
            facets.setdefault(ids[dataset], set()).add(terms[term])
        rows = db.execute("SELECT rowid, title, keywords, description, tags FROM text")
        text = {
            ids[rowid]: (*(sorted(column.split("\n")) for column in columns), sorted(tags.split()) != [])
            for rowid, *columns, tags in rows
        }
        return {
            "datasets": {
                r[0]: r[1:] for r in db.execute("SELECT iri, title, description, modified FROM datasets")
            },
            "sources": sorted((g, ids[d]) for g, d in db.execute("SELECT graph, dataset FROM sources")),
            "terms": sorted(terms.values()),
            "facets": facets,
            "text": text,
        }
    finally:
        db.close()


def _rebuilt_from_the_store(store: Store, folder: Path) -> Path:
    """The published generation's index built again, every dataset read from the store by SPARQL."""
    import pyoxigraph as ox

    published = store.folder()
    folder.mkdir()
    if getattr(store, "remote", False):
        from kg.store.remote_derived import RemoteGeneration

        generation = RemoteGeneration(folder, None, set(), store)
    else:
        generation = Generation(
            folder, None, set(), ox.Store.read_only(str(published / "rdf")), store.private_graphs
        )
    try:
        build_index(generation)
    finally:
        generation.close()
    return folder / INDEX_FILE


EDGE_CASES = f"""@prefix dcat: <{DCAT}> . @prefix dct: <{DCT}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{BASE}dataset/e1> a dcat:Dataset ; dct:title "Tide gauges"@EN-GB, "Pegel"@de ;
  dct:description "Sea level\\u0007 readings\\n every   hour"@en ;
  dct:modified "2024-05-31T12:00:00+00:00"^^xsd:dateTime ;
  dcat:keyword "Tide", "tide"@en, "tide"@EN ;
  dct:license <http://example.org/licence/a> ;
  dcat:distribution <{BASE}dataset/e1/d1>, [ a dcat:Distribution ; dcat:accessURL <http://example.org/f> ;
    dct:format <{CSV_FORMAT}> ; dct:license <http://example.org/licence/a> ] .
<{BASE}dataset/e1/d1> a dcat:Distribution ; dcat:accessURL <http://example.org/g> ;
  dct:format <{CSV_FORMAT}> ; dct:license <http://example.org/licence/b> .
<{BASE}dataset/e2> a dcat:Dataset ; dct:title "Buoys" ; dct:description "Where they float" ;
  dct:modified "2020-01-01"^^xsd:date ; dct:license [ a dct:LicenseDocument ] .
<{BASE}dataset/e3> a dcat:Dataset ; dct:title "Shared files" ; dct:description "Files of e1" ;
  dcat:distribution <{BASE}dataset/e1/d1> .
<{BASE}dataset/e4> a dcat:Dataset ; dct:title "Typed title"^^xsd:string ; dct:description "Typed" ;
  dct:modified "2024-01-01T00:00:00.000Z"^^xsd:dateTime .
"""


def test_the_index_from_the_ingest_s_summaries_is_the_index_from_the_store(
    seeded: Settings, tmp_path: Path
) -> None:
    """The ingest hands the index builder the workers' summaries of its datasets; the index must
    be what reading the store gives: canonical dates, distinct terms, lower-case language tags,
    blank-node values and distributions shared between records (read from the store), triples
    about the datasets in other graphs (the union), links held back with a quarantined record."""
    store = store_for(seeded)
    source = tmp_path / "edge.ttl"
    source.write_text(EDGE_CASES, encoding="utf-8")
    put_other(store, f'<{BASE}dataset/e3> dcat:keyword "from another graph" .', f"{BASE}graph/more")
    broken = tmp_path / "csv"  # an agency breaks a rule: its datasets' publisher links are held back
    shutil.copytree(SAMPLE_CSV, broken)
    agencies = (broken / "agencies.csv").read_text(encoding="utf-8").splitlines()
    header = agencies[0].split(",")
    cells = next(csv.reader([agencies[1]]))
    cells[header.index("homepage")] = "not a url at all"
    cells[header.index("name")] = cells[header.index("name@fr")] = ""  # no name at all: Agent-name
    out = [agencies[0], ",".join(f'"{c}"' for c in cells), *agencies[2:]]
    (broken / "agencies.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    summary = ingest(str(broken), settings=seeded, source="sample")
    assert summary.quarantined and summary.links_held_back
    ingest(str(source), settings=seeded, source="edge")  # last: a blank node keeps its name in the store
    expected = _index_content(_rebuilt_from_the_store(store, tmp_path / "rebuilt"))
    got = _index_content(store.folder() / INDEX_FILE)
    assert got == expected
    e1 = expected["datasets"][f"{BASE}dataset/e1"]
    # the BEL character no RDF/XML text may hold is U+FFFD since kg.mapping.repairs (with a note)
    assert e1[2] == "2024-05-31T12:00:00Z" and e1[1] == "Sea level\ufffd readings every hour"
    assert expected["datasets"][f"{BASE}dataset/e4"][2] == "2024-01-01T00:00:00Z"
    assert {f"{BASE}dataset/e{i}" for i in range(1, 5)} <= set(expected["datasets"])


def test_summaries_of_mapped_records_stand_alone() -> None:
    """The summaries of mapped records (CSV, data.json, CKAN) never need the store, so the ingest
    indexes them without a query; a blank-node value or a distribution of another record does."""
    from kg.iris import Minter
    from kg.mapping import map_record
    from kg.readers import read_source
    from kg.search.summaries import summarize

    mapped = [map_record(r, Minter(BASE)) for r in read_source(str(SAMPLE_CSV), fmt="csv")]
    lines = [
        json.loads(line) for text in summarize([m.triples for m in mapped]) for line in text.splitlines()
    ]
    assert len(lines) == 44 and not any(line.get("u") for line in lines)
    assert all(line["d"].startswith(f"{BASE}dataset/") for line in lines)
    rdf = [m.triples for m in map(lambda r: map_record(r, Minter(BASE)), _edge_records())]
    flagged = {
        json.loads(line)["d"]: bool(json.loads(line).get("u"))
        for t in summarize(rdf)
        for line in t.splitlines()
    }
    assert flagged == {f"{BASE}dataset/e{i}": i in (2, 3) for i in range(1, 5)}


def _edge_records() -> list:
    import tempfile

    from kg.readers import read_source

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "edge.ttl"
        path.write_text(EDGE_CASES, encoding="utf-8")
        return list(read_source(str(path), fmt="ttl"))
