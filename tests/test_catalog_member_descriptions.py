"""Each catalogue member's description kept as one row (kg.derived.member_descriptions).

Real stores, real ingests. Two harvested sources: source A's dataset a1 has a page (a document) that
only source B describes, a2 reaches only what A describes. A second write of B must walk a1 again
(its document's title changed under it) and may copy a2's row; every page stays the description the
rules give (tests/test_catalog_descriptions.check_every_page, from the store's own triples). A page
of several members is the union of their rows. And a store whose derived data version 4 made
(no such rows) is upgraded by kg.derived.build.upgrade and serves the same pages.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import make_settings
from rdflib import Graph
from rdflib.compare import isomorphic
from test_catalog_descriptions import check_every_page, without_paging

from kg.catalog import Node
from kg.derived import member_descriptions
from kg.derived.build import upgrade
from kg.derived.descriptions import DerivedNodes
from kg.derived.member_descriptions import describe_each
from kg.derived.tables import open_derived
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.search.tables import INDEX_FILE
from kg.web.app import build_app

H = "https://h.example/"
PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
"""
SOURCE_A = f"""{PREFIXES}
<{H}cat-a> a dcat:Catalog ; dct:title "A"@en ; dct:description "Catalogue A"@en ;
  dct:publisher <{H}org/y> ; dcat:dataset <{H}ds/a1>, <{H}ds/a2> .
<{H}org/y> a foaf:Organization ; foaf:name "Agency Y"@en .
<{H}ds/a1> a dcat:Dataset ; dct:title "A one"@en ; dct:description "First of A"@en ;
  dct:publisher <{H}org/y> ; foaf:page <{H}doc/x> ; dcat:contactPoint [ a vcard:Kind ; vcard:fn "Desk A" ] .
<{H}ds/a2> a dcat:Dataset ; dct:title "A two"@en ; dct:description "Second of A"@en ;
  dct:publisher <{H}org/y> .
"""


def source_b(name: str) -> str:
    return f"""{PREFIXES}
<{H}cat-b> a dcat:Catalog ; dct:title "B"@en ; dct:description "Catalogue B"@en ;
  dct:publisher <{H}org/x> ; dcat:dataset <{H}ds/b1> .
<{H}org/x> a foaf:Organization ; foaf:name "Agency X"@en .
<{H}doc/x> a foaf:Document ; dct:title "{name}"@en .
<{H}ds/b1> a dcat:Dataset ; dct:title "B one"@en ; dct:description "First of B"@en ;
  dct:publisher <{H}org/x> .
"""


def ingest_text(settings, name: str, text: str) -> None:
    path = Path(settings.store).parent / f"{name}.ttl"
    path.write_text(text, encoding="utf-8")
    summary = ingest(str(path), settings=settings, source=name)
    assert summary.stored and summary.published >= 1, summary


def page_of(client, iri: str) -> bytes:
    pages = client.get("/catalog.json").get_json()["pages"]
    for number in range(1, pages + 1):
        (item,) = client.get(f"/catalog.json?page={number}").get_json()["items"]
        if item["iri"] == iri:
            return client.get(f"/catalog.nt?page={number}").data
    raise AssertionError(f"{iri} is on no page")


@pytest.fixture()
def two_sources(tmp_path: Path):
    settings = make_settings(tmp_path / "store", catalog_page_size=1)
    ingest_text(settings, "a", SOURCE_A)
    ingest_text(settings, "b", source_b("Document X"))
    return settings


def test_a_row_reaching_a_changed_graph_is_walked_again_and_the_rest_copied(two_sources, monkeypatch):
    client = build_app(two_sources).test_client()
    assert b'"Document X"@en' in page_of(client, f"{H}ds/a1")
    walked: list[str] = []

    def recording(data, seeds):
        walked.extend(seeds)
        return describe_each(data, seeds)

    monkeypatch.setattr(member_descriptions, "describe_each", recording)
    ingest_text(two_sources, "b", source_b("Document X, renamed"))
    # a1 reaches doc/x, which B describes: walked again; a2 reaches only A's nodes: copied
    assert f"{H}ds/a1" in walked and f"{H}ds/b1" in walked
    assert f"{H}ds/a2" not in walked
    client = build_app(two_sources).test_client()
    first = page_of(client, f"{H}ds/a1")
    assert b'"Document X, renamed"@en' in first and b'"Document X"@en' not in first
    assert b'"Agency Y"@en' in page_of(client, f"{H}ds/a2")
    assert check_every_page(two_sources) == 3


def test_every_member_has_its_row_as_a_fresh_walk_gives_it(two_sources):
    ingest_text(two_sources, "b", source_b("Document X, renamed"))
    db = open_derived(store_for(two_sources)).db()
    members = [iri for (iri,) in db.execute("SELECT iri FROM member_order ORDER BY position")]
    rows = dict(db.execute("SELECT iri, data FROM member_order JOIN member_descriptions USING (position)"))
    assert sorted(rows) == sorted(members) and len(members) == 3
    nodes = DerivedNodes(db)
    fresh = describe_each(nodes, members)
    for iri in members:  # its own lines and the shared nodes' are the walk's; the same names, blanks
        own, used, blanks, shared = member_descriptions.decompress(rows[iri]).split("\x00")
        keys = shared.split("\n") if shared else []
        texts = dict(
            db.execute(f"SELECT * FROM shared_nodes WHERE iri IN ({','.join('?' * len(keys))})", keys)
        )
        assert sorted(texts) == sorted(keys)  # each named node's text, as the nodes table has it
        assert all(
            set(texts[k].splitlines())
            == {x for n in nodes.nodes([k], catalogs=True) for x in n.ntriples.splitlines()}
            for k in keys
        )
        lines = set((own + "".join(texts.values())).splitlines())
        assert lines == set("".join(n.ntriples for n in fresh[iri]).splitlines()) and len(lines) > 3
        assert set(used.split("\n")) == {iri} | {x for n in fresh[iri] for x in (*n.followed, *n.unfollowed)}
        assert set(blanks.split("\n")) - {""} == {b for n in fresh[iri] for b in n.blanks}


def test_nodes_several_members_reach_are_named_not_copied():
    """Walked together, two members reaching one agency name it; the page reads it once."""
    agency = Node("https://h.example/org/a", False, '<https://h.example/org/a> <p> "A" .\n')
    one = Node("https://h.example/ds/1", False, '<https://h.example/ds/1> <p> "1" .\n', (agency.key,))
    two = Node("https://h.example/ds/2", False, '<https://h.example/ds/2> <p> "2" .\n', (agency.key,))
    walked = {one.key: [one, agency], two.key: [two, agency]}
    assert member_descriptions._shared(walked) == {agency.key}
    text = member_descriptions._row_text(one.key, [one, agency], {agency.key})
    own, used, blanks, named = text.split("\x00")
    assert own == one.ntriples and named == agency.key and used == f"{one.key}\n{agency.key}" and blanks == ""
    alone = member_descriptions._row_text(one.key, [one, agency], set())
    assert alone.split("\x00")[0] == one.ntriples + agency.ntriples


def test_a_page_of_several_members_is_the_union_of_their_pages(two_sources):
    one = build_app(two_sources).test_client()
    single = Graph()
    for number in (1, 2, 3):
        single += without_paging(one.get(f"/catalog.nt?page={number}").data)
    whole = make_settings(two_sources.store, catalog_page_size=10)
    body = build_app(whole).test_client().get("/catalog.nt?page=1").data
    assert isomorphic(without_paging(body), single)


def _as_version_4(settings) -> None:
    """The published generation's file as version 4 wrote it: no member_descriptions."""
    path = Path(settings.store) / "current" / INDEX_FILE
    db = sqlite3.connect(path)
    db.execute("DROP TABLE member_descriptions")
    db.execute("UPDATE meta SET value = '4' WHERE key = 'derived'")
    db.commit()
    db.close()


def test_a_store_of_version_4_is_upgraded_to_the_same_pages(two_sources, tmp_path):
    client = build_app(two_sources).test_client()
    before = {fmt: [client.get(f"/catalog.{fmt}?page={n}").data for n in (1, 2, 3)] for fmt in ("nt", "ttl")}
    shutil.copytree(two_sources.store, tmp_path / "older", symlinks=True)  # a store no process opened
    older = make_settings(tmp_path / "older", catalog_page_size=1)
    _as_version_4(older)
    assert build_app(older).test_client().get("/catalog.nt?page=1").status_code == 503
    assert upgrade(store_for(older)) == "4"
    client = build_app(older).test_client()
    for fmt, pages in before.items():
        for number, body in zip((1, 2, 3), pages, strict=True):
            after = client.get(f"/catalog.{fmt}?page={number}")
            assert after.status_code == 200
            assert isomorphic(
                Graph().parse(data=after.data, format=fmt), Graph().parse(data=body, format=fmt)
            )
    assert check_every_page(older) == 3
