"""The catalogue pages' triples derived per node with each generation (kg.derived.descriptions).

A harvested DCAT-AP catalogue with what the CSV sample has none of (nested blank nodes, a member
linking another member, an agency's unit, a link back to the source's catalogue, a byte size)
is ingested into a real store, one member a page; every page's description is compared with
one worked out here from the store's own triples by the rules of kg.catalog.describe, after
the first ingest and again after a second source was ingested beside it (whose write copies the
first source's rows from the previous generation). And the rows of a subject met twice.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import EMBEDDED, make_settings
from rdflib import Graph
from rdflib.compare import isomorphic

from kg.catalog import BLANK_DEPTH, DESCRIBE_DEPTH, NOT_FOLLOWED, catalog_graph, source_graphs
from kg.catalog_records import record_iri
from kg.derived import descriptions
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.ingest.workers import unique_labels
from kg.store.generation import Generation
from kg.store.results import convert, parse_ntriples
from kg.vocab import DCAT
from kg.web.app import build_app

H = "https://h.example/"
HARVESTED = f"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix org: <http://www.w3.org/ns/org#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{H}cat> a dcat:Catalog ; dct:title "Harvested"@en ; dct:description "A catalogue"@en ;
  dct:publisher <{H}org/a> ; dcat:dataset <{H}ds/1>, <{H}ds/2> .
<{H}org/a> a foaf:Organization ; foaf:name "Ministry A"@en .
<{H}org/u> a foaf:Organization ; foaf:name "Unit U"@en ; org:unitOf <{H}org/a> .
<{H}ds/1> a dcat:Dataset ; dct:title "One"@en ; dct:description "First"@en ;
  dct:publisher <{H}org/u> ; dct:relation <{H}ds/2> ; dct:isPartOf <{H}cat> ;
  dcat:contactPoint [ a vcard:Kind ; vcard:fn "Desk" ;
    vcard:hasAddress [ a vcard:Address ; vcard:locality "Town" ] ] ;
  dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2020-01-01"^^xsd:date ] ;
  dcat:distribution <{H}dist/1> .
<{H}dist/1> a dcat:Distribution ; dcat:accessURL <{H}one.csv> ;
  dcat:byteSize "42"^^xsd:nonNegativeInteger .
<{H}ds/2> a dcat:Dataset ; dct:title "Two"@en ; dct:description "Second"@en ;
  dct:publisher <{H}org/a> .
"""
BYTE_SIZE = "<http://www.w3.org/ns/dcat#byteSize>"
XSD_INTEGER, XSD_NON_NEGATIVE = "XMLSchema#integer>", "XMLSchema#nonNegativeInteger>"
TYPE, CATALOG = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", "<http://www.w3.org/ns/dcat#Catalog>"


def expected_description(triples: set[tuple[str, str, str]], seeds: list[str], members: set[str]) -> set:
    """What kg.catalog.describe gives for ``seeds``, from the triples of the source graphs."""
    own = defaultdict(set)
    for s, p, o in triples:
        own[s].add((s, p, o))
    catalogs = {s for s, p, o in triples if p == TYPE and o == CATALOG}
    out: set = set()
    seen, frontier = set(seeds), list(seeds)
    for step in range(DESCRIBE_DEPTH):
        kept = [n for n in frontier if step == 0 or (n not in members and n not in catalogs)]
        found = {t for n in kept for t in own[n]}
        blanks, level = set(), {o for _, _, o in found if o.startswith("_:")}
        for _ in range(BLANK_DEPTH):
            level -= blanks
            blanks |= level
            level = {o for b in level for _, _, o in own[b] if o.startswith("_:")}
        found |= {t for b in blanks for t in own[b]}
        out |= found
        reached = {o for _, p, o in found if o.startswith("<") and p[1:-1] not in NOT_FOLLOWED} - seen
        seen |= reached
        frontier = sorted(reached)
    return out


def as_tuples(triples) -> set[tuple[str, str, str]]:
    return {(str(t.subject), str(t.predicate), str(t.object)) for t in triples}


def check_every_page(settings) -> int:
    """Each page's triples are its member's description plus the catalogue's own graph, the link,
    the vocabulary concepts and the paging; returns the pages checked."""
    store = store_for(settings)
    graphs = source_graphs(store, settings)
    data = {  # the store keeps integers as xsd:integer; DCAT-AP types a byte size
        (s, p, o.replace(XSD_INTEGER, XSD_NON_NEGATIVE) if p == BYTE_SIZE else o)
        for s, p, o in as_tuples(store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=graphs))
    }
    ours = as_tuples(store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=[catalog_graph(settings)]))
    client = build_app(settings).test_client()
    listing = client.get("/catalog.json").get_json()
    members = {f"<{item['iri']}>" for page in range(1, listing["pages"] + 1)
               for item in client.get(f"/catalog.json?page={page}").get_json()["items"]}  # fmt: skip
    for page in range(1, listing["pages"] + 1):
        (item,) = client.get(f"/catalog.json?page={page}").get_json()["items"]
        response = client.get(f"/catalog.nt?page={page}")
        assert response.status_code == 200
        got = as_tuples(parse_ntriples(response.data.decode("utf-8")))
        member = f"<{item['iri']}>"
        wanted = expected_description(data, [member], members)
        assert wanted <= got, (item["iri"], sorted(wanted - got)[:5])
        rest = {t for t in got - wanted - ours if t[1] != f"<{settings.base_uri}catalog>"}
        record = f"<{record_iri(settings, item['iri'])}>"  # our catalogue record of it (kg.catalog_records)
        for s, p, o in rest:  # the rest: the catalogue's link, the paging, the vocabularies' concepts
            assert (
                (s, o) == (f"<{settings.base_uri}catalog>", member)
                or (s, p, o) == (f"<{settings.base_uri}catalog>", f"<{DCAT.record}>", record)
                or "hydra" in p + o
                or (s not in {t[0] for t in data})
            ), (item["iri"], (s, p, o))
    return listing["pages"]


def without_paging(ntriples: bytes) -> Graph:
    """A page's triples less its Hydra paging (which another page count changes)."""
    graph = Graph().parse(data=ntriples, format="nt")
    for triple in list(graph):
        if any("hydra" in str(term) for term in triple):
            graph.remove(triple)
    return graph


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("harvested")
    source = folder / "catalogue.ttl"
    source.write_text(HARVESTED, encoding="utf-8")
    settings = make_settings(folder / "store", catalog_page_size=1)
    summary = ingest(str(source), settings=settings, source="harvested")
    assert summary.stored and summary.published >= 2, summary
    return settings


def test_pages_are_the_descriptions_the_rules_give(harvested):
    assert check_every_page(harvested) == 2
    client = build_app(harvested).test_client()
    body = client.get("/catalog.nt?page=1").data
    assert convert(body.decode("utf-8"), "nt") == body  # the lines as pyoxigraph writes them, not parsed
    first = body.decode("utf-8")
    assert '"Town"' in first  # two blank nodes deep
    assert '"42"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger>' in first  # the declared type
    assert "Unit U" in first and "Ministry A" not in first  # a unit's page is not its ministry's
    assert '"Two"@en' not in first and '"Harvested"@en' not in first  # a member, a catalogue: left out


def test_later_writes_keep_the_descriptions_right(harvested):
    """A second source beside the first (whose graph the write copies, by a dump and a load that
    names its blank nodes anew, or keeps, with their rows), then the first source again, changed."""
    client = build_app(harvested).test_client()
    before = without_paging(client.get("/catalog.nt?page=1").data)
    sample = Path(__file__).resolve().parents[1] / "kg" / "sample" / "csv"
    summary = ingest(str(sample), settings=harvested, source="sample")
    assert summary.stored and summary.published > 40
    assert check_every_page(harvested) > 40
    client = build_app(harvested).test_client()
    pages = client.get("/catalog.json").get_json()["pages"]
    after = [without_paging(client.get(f"/catalog.nt?page={n}").data) for n in range(1, pages + 1)]
    assert any(isomorphic(before, graph) for graph in after)
    changed = harvested.store.parent / "changed.ttl"
    changed.write_text(HARVESTED.replace('"Two"@en', '"Two, again"@en'), encoding="utf-8")
    assert ingest(str(changed), settings=harvested, source="harvested").stored
    assert check_every_page(harvested) == pages
    client = build_app(harvested).test_client()
    assert any(b"Two, again" in client.get(f"/catalog.nt?page={n}").data for n in range(1, pages + 1))


def test_an_update_naming_its_graph_keeps_every_page_right(tmp_path):
    """A SPARQL update that names its graph has the derived tables made again from that graph
    alone: a unit renamed there reaches the page of the dataset it publishes, and a keyword added
    to another dataset its place in the search."""
    source = tmp_path / "catalogue.ttl"
    source.write_text(HARVESTED, encoding="utf-8")
    settings = make_settings(tmp_path / "store", catalog_page_size=1)
    assert ingest(str(source), settings=settings, source="harvested").stored
    pages = check_every_page(settings)
    graph, name = f"{settings.base_uri}graph/harvested", "<http://xmlns.com/foaf/0.1/name>"
    store_for(settings).update(
        f"DELETE {{ GRAPH <{graph}> {{ <{H}org/u> {name} ?n }} }}"
        f' INSERT {{ GRAPH <{graph}> {{ <{H}org/u> {name} "Unit Quokka"@en }} }}'
        f" WHERE {{ GRAPH <{graph}> {{ <{H}org/u> {name} ?n }} }} ;"
        f' INSERT DATA {{ GRAPH <{graph}> {{ <{H}ds/2> <{DCAT.keyword}> "wombat"@en }} }}'
    )
    assert check_every_page(settings) == pages  # fails on a page that kept the unit's old name
    client = build_app(settings).test_client()
    text = b"".join(client.get(f"/catalog.nt?page={n}").data for n in range(1, pages + 1))
    assert b"Unit Quokka" in text and b'"Unit U"' not in text
    found = client.get("/datasets.json?q=wombat").get_json()["results"]
    assert [r["iri"] for r in found] == [f"{H}ds/2"]


def test_a_subject_met_twice_is_one_row(tmp_path):
    """A remote store need not give a subject's triples together: the later ones join its row."""
    db = sqlite3.connect(tmp_path / "d.sqlite")
    db.executescript(descriptions.SCHEMA)
    db.create_function("merged", 2, descriptions._merged, deterministic=True)
    lines = [
        f'<{H}a> <{H}p> "1" .\n',
        f"<{H}b> {TYPE} {CATALOG} .\n",
        f'<{H}a> <{H}p> "2" .\n',
        "_:x <{H}p> <{H}a> .\n".replace("{H}", H),
    ]
    descriptions.store_lines(db, lines, 7)
    page = descriptions.DerivedNodes(db)
    found = {n.key: n for n in page.nodes([f"{H}a", f"{H}b", "_:x"], catalogs=False)}
    assert found[f"{H}a"].ntriples == lines[0] + lines[2] and not found[f"{H}a"].catalog
    assert found[f"{H}b"].catalog and found[f"{H}b"].ntriples == ""  # a catalogue's, not asked for
    assert found["_:x"].ntriples == lines[3]
    assert page.nodes([f"{H}b"], catalogs=True)[0].ntriples == lines[1]


LABELLED = f"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<{H}cat> a dcat:Catalog ; dct:title "Harvested"@en ; dct:description "A catalogue"@en ;
  dct:publisher <{H}org/a> ; dcat:dataset <{H}ds/1>, <{H}ds/2>, <{H}ds/3> .
<{H}org/a> a foaf:Organization ; foaf:name "Ministry A"@en .
<{H}ds/1> a dcat:Dataset ; dct:title "One"@en ; dct:description "First"@en ; dct:publisher <{H}org/a> ;
  dcat:contactPoint _:desk ; dct:temporal _:when .
_:desk a vcard:Kind ; vcard:fn "Desk" ; vcard:hasAddress _:town .
_:town a vcard:Address ; vcard:locality "Town" .
_:when a dct:PeriodOfTime ; dcat:startDate "2020-01-01"^^xsd:date .
<{H}ds/2> a dcat:Dataset ; dct:title "Two"@en ; dct:description "Second"@en ; dct:publisher <{H}org/a> .
<{H}ds/3> a dcat:Dataset .
"""  # labelled blank nodes only; a dataset with no title the catalogue links (quarantined, held back)


def stored_rows(settings) -> dict[tuple[str, str], tuple[int, set[str], tuple]]:
    """Every row of the published generation's ``nodes``: (graph, key) -> (catalog, lines, links)."""
    folder = store_for(settings).folder()
    db = sqlite3.connect(folder / "search.sqlite")
    rows = db.execute(
        "SELECT g.graph, n.iri, n.catalog, n.ntriples FROM nodes n JOIN node_graphs g ON g.id = n.graph"
    )
    out = {}
    for graph, key, catalog, data in rows:
        text, *links = descriptions.decompress(data).split("\x00")
        out[(graph, key)] = (
            catalog,
            set(text.splitlines()),
            tuple(sorted(set(part.split("\n"))) for part in links),
        )
    db.close()
    return out


def read_back_rows(settings, graph: str) -> dict[tuple[str, str], tuple[int, set[str], tuple]]:
    """The rows of ``graph`` as reading the published store gives them (the rows' other way in)."""
    folder = store_for(settings).folder()
    generation = Generation(folder, None, set(), ox.Store.read_only(str(folder / "rdf")), ())
    db = sqlite3.connect(":memory:")
    db.executescript(descriptions.SCHEMA)
    db.create_function("merged", 2, descriptions._merged, deterministic=True)
    descriptions.store_lines(db, generation.graph_ntriples(graph), 1)
    out = {}
    for key, catalog, data in db.execute("SELECT iri, catalog, ntriples FROM nodes"):
        text, *links = descriptions.decompress(data).split("\x00")
        out[(graph, key)] = (
            catalog,
            set(text.splitlines()),
            tuple(sorted(set(part.split("\n"))) for part in links),
        )
    return out


def test_the_ingest_rows_are_what_the_store_holds(tmp_path):
    """The source graph's rows come from the workers' N-Triples, not from the store: they must be
    what reading the store gives, blank nodes (the store keeps the ingest's labels), the link to a
    quarantined dataset left out, the catalogue's links from every record merged into one row; and
    an ingest of the same file again gives byte-identical pages (labels made from the source's)."""
    source = tmp_path / "catalogue.ttl"
    source.write_text(LABELLED, encoding="utf-8")
    settings = make_settings(tmp_path / "store", catalog_page_size=1, **EMBEDDED)  # keeps the labels
    summary = ingest(str(source), settings=settings, source="harvested")
    assert summary.stored and summary.quarantined == 1 and summary.links_held_back >= 1, summary
    graph = f"{settings.base_uri}graph/harvested"
    rows = {key: row for key, row in stored_rows(settings).items() if key[0] == graph}
    assert rows == read_back_rows(settings, graph)
    assert any(key.startswith("_:") for _, key in rows)  # blank nodes, named as the store names them
    assert not any(f"<{H}ds/3>" in line for _, lines, _ in rows.values() for line in lines)
    assert check_every_page(settings) == 2
    client = build_app(settings).test_client()
    before = [client.get(f"/catalog.{fmt}?page=1").data for fmt in ("nt", "ttl")]
    assert b"_:" in before[0]
    assert ingest(str(source), settings=settings, source="harvested").stored
    client = build_app(settings).test_client()
    assert [client.get(f"/catalog.{fmt}?page=1").data for fmt in ("nt", "ttl")] == before


def test_unique_labels_are_the_sources_own():
    text = f'_:b0 <{H}p> _:b1 .\n<{H}s> <{H}p> "a _:b0 .\\n _:b1" .\n<{H}s> <{H}q> _:b0 .\n'
    one, again, other = (unique_labels(text, salt) for salt in ("g1", "g1", "g2"))
    assert one == again and one != other and unique_labels(text, "") == text
    lines = one.splitlines()
    assert lines[1] == f'<{H}s> <{H}p> "a _:b0 .\\n _:b1" .'  # a literal is left alone
    first, _, last = lines[0].split(" ", 2)
    assert first != "_:b0" and lines[2].endswith(f" {first} .") and last != "_:b1 ."
    assert int(first[2:], 16) < 1 << 128  # a number, as Oxigraph's own labels are
