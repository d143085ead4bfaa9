"""Our catalogue records' IRIs dereference, and what a source removed answers 410 Gone.

A real on-disk store: Florida DEP's data.json (7 records, /work/shared/data/real-portals) by ``kg
ingest`` (in-process) twice, the second time with one dataset's description changed and another
dataset gone; read through the real Flask app (test client): a catalogue record named by
``/catalog`` as a page, its JSON twin and RDF in every syntax (by ``Accept`` and by suffix), the
record alone against the official DCAT-AP 3.0.1 shapes; the removed dataset and its catalogue
record (410 with a page, a JSON twin and the PROV-O of the removal) beside IRIs never seen (404);
bad input (400); and a history file of the first layout brought forward with its records' keys.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import BASE, make_settings
from rdflib import Graph, Literal, URIRef

from kg import history
from kg.ingest.history import update_history
from kg.ingest.run import ingest
from kg.iris import Minter, record_key
from kg.vocab import DCAT, DCT, FOAF, KGO, PROV, RDF
from kg.web.app import build_app

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FLORIDA = SHARED / "real-portals" / "data-json" / "floridadep.gov-rossi.data.json"
OFFICIAL = SHARED / "dcat-ap-shapes"
SYNTAXES = {"ttl": "text/turtle", "jsonld": "application/ld+json", "rdf": "application/rdf+xml"}
SYNTAXES["nt"] = "application/n-triples"
PARSERS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml", "nt": "nt"}


def path_of(iri: str) -> str:
    return iri.removeprefix(BASE.rstrip("/"))


@pytest.fixture(scope="module")
def florida(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Florida ingested, then again with its first dataset's description changed and its last gone."""
    if not FLORIDA.is_file():
        pytest.skip(f"the real portal files are absent ({FLORIDA})")
    folder = tmp_path_factory.mktemp("records")
    settings = make_settings(folder / "store")
    doc = json.loads(FLORIDA.read_bytes())
    path = folder / "florida.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert ingest(str(path), settings=settings, source="fl").stored
    between = history.stamp(datetime.now(UTC))
    gone = doc["dataset"].pop()
    doc["dataset"][0]["description"] = "Another description."
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert ingest(str(path), settings=settings, source="fl").stored
    client = build_app(settings).test_client()
    items = client.get(f"/changes.json?since={between}").get_json()["items"]
    changes = {i["iri"]: i for i in items if i["kind"] == "dataset"}
    (removed,) = [iri for iri, i in changes.items() if i["change"] == "removed"]
    (changed,) = [iri for iri, i in changes.items() if i["change"] == "changed"]
    assert gone["identifier"] in removed
    return {"client": client, "changes": changes, "removed": removed, "changed": changed, "folder": folder}


def _catalogued_record(client, member: str) -> str:  # noqa: ANN001
    """The record ``/catalog`` names for ``member``: the IRI a harvester would follow."""
    graph = Graph().parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    (record,) = graph.subjects(FOAF.primaryTopic, URIRef(member))
    assert (URIRef(BASE + "catalog"), DCAT.record, record) in graph
    return str(record)


def test_a_catalogue_record_dereferences_as_a_page_and_its_json_twin(florida: dict) -> None:
    client, member = florida["client"], florida["changed"]
    record = _catalogued_record(client, member)
    page = client.get(path_of(record), headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "Catalogue record" in html and f'href="{path_of(member)}"' in html and "/changes?since=" in html
    assert page.headers["Vary"] == "Accept, Accept-Language" and 'rel="alternate"' in page.headers["Link"]
    again = client.get(path_of(record), headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304
    for twin in (
        client.get(f"{path_of(record)}.json"),
        client.get(path_of(record), headers={"Accept": "application/json"}),
    ):
        view = twin.get_json()
        assert twin.status_code == 200 and view["kind"] == "record" and view["iri"] == record
        assert [t["iri"] for t in view["primary_topic"]] == [member]
        assert view["modified"]["value"] == florida["changes"][member]["time"]  # its last change here
        assert view["issued"]["value"] == view["history"]["first_seen"] < view["modified"]["value"]
        assert view["history"]["iri"] == member and view["source"]["value"] == "fl"


@pytest.mark.parametrize("fmt", sorted(SYNTAXES))
def test_a_catalogue_record_in_every_rdf_syntax(florida: dict, fmt: str) -> None:
    client, member = florida["client"], florida["changed"]
    record, change = URIRef(_catalogued_record(client, member)), florida["changes"][member]
    for answer in (
        client.get(path_of(record), headers={"Accept": SYNTAXES[fmt]}),
        client.get(f"{path_of(record)}.{fmt}"),
    ):
        assert answer.status_code == 200 and answer.content_type.startswith(SYNTAXES[fmt])
        graph = Graph().parse(data=answer.get_data(as_text=True), format=PARSERS[fmt])
        assert (record, RDF.type, DCAT.CatalogRecord) in graph
        assert graph.value(record, FOAF.primaryTopic) == URIRef(member)
        assert graph.value(record, DCT.modified).toPython() == datetime.fromisoformat(change["time"])
        assert graph.value(record, KGO.source) == Literal("fl")
        version = URIRef(change["version"])  # the way into its history: the version /changes names
        assert graph.value(version, PROV.specializationOf) == URIRef(member)


def test_the_record_is_what_the_catalogue_says_and_meets_the_official_shapes(florida: dict) -> None:
    from test_catalog_views import _top_level_violations

    client, member = florida["client"], florida["changed"]
    record = URIRef(_catalogued_record(client, member))
    mine = Graph().parse(data=client.get(f"{path_of(record)}.ttl").get_data(as_text=True), format="turtle")
    listed = Graph().parse(data=client.get("/catalog.ttl").get_data(as_text=True), format="turtle")
    assert set(listed.triples((record, None, None))) <= set(mine)
    if not (OFFICIAL / "shapes.ttl").exists():
        pytest.skip(f"the official DCAT-AP 3.0.1 shapes are not at {OFFICIAL}")
    shapes = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        shapes.parse(OFFICIAL / name, format="turtle")
    # as a harvester that follows the record to its member: the two descriptions together, the
    # record's findings (the member's neighbours are described at their own IRIs)
    member_rdf = client.get(f"{path_of(member)}.ttl").get_data(as_text=True)
    both = Graph().parse(data=member_rdf, format="turtle") + mine
    assert not [f for f in _top_level_violations(both, shapes) if f[0] == record]
    both.remove((record, DCT.modified, None))  # the check can fail: dct:modified is mandatory
    assert [f[1] for f in _top_level_violations(both, shapes) if f[0] == record] == [DCT.modified]


def test_a_removed_dataset_answers_410_with_when_by_which_run_and_its_history(florida: dict) -> None:
    client, iri = florida["client"], florida["removed"]
    change = florida["changes"][iri]
    page = client.get(path_of(iri))
    assert page.status_code == 410 and page.content_type.startswith("text/html")
    html = page.get_data(as_text=True)
    assert "Removed by its source" in html and change["time"] in html and path_of(change["run"]) in html
    twin = client.get(f"{path_of(iri)}.json")
    view = twin.get_json()
    assert twin.status_code == 410 and view["kind"] == "gone" and view["iri"] == iri
    assert (view["removed"], view["removed_by"]["iri"], view["source"]) == (
        change["time"],
        change["run"],
        "fl",
    )
    assert view["history"]["first_seen"] < view["removed"] == view["history"]["removed"]
    turtle = client.get(path_of(iri), headers={"Accept": "text/turtle"})
    assert turtle.status_code == 410 and turtle.content_type.startswith("text/turtle")
    graph = Graph().parse(data=turtle.get_data(as_text=True), format="turtle")
    version = URIRef(change["version"])
    assert graph.value(version, PROV.specializationOf) == URIRef(iri)
    assert graph.value(version, PROV.wasInvalidatedBy) == URIRef(change["run"])
    assert graph.value(version, PROV.invalidatedAtTime).toPython() == datetime.fromisoformat(change["time"])


def test_the_catalogue_record_of_a_removed_dataset_answers_410(florida: dict) -> None:
    client, iri = florida["client"], florida["removed"]
    record = Minter(BASE).record(iri)
    listed = client.get("/catalog.ttl").get_data(as_text=True)
    assert record not in listed  # the catalogue names it no more
    page = client.get(path_of(record))
    assert page.status_code == 410 and f'href="{path_of(iri)}"' in page.get_data(as_text=True)
    view = client.get(path_of(record), headers={"Accept": "application/json"}).get_json()
    assert view["record_of"]["iri"] == iri and view["removed"] == florida["changes"][iri]["time"]
    answer = client.get(f"{path_of(record)}.nt")
    assert answer.status_code == 410
    graph = Graph().parse(data=answer.get_data(as_text=True), format="nt")
    assert graph.value(URIRef(record), FOAF.primaryTopic) == URIRef(iri)
    assert graph.value(URIRef(record), DCT.modified).toPython() == datetime.fromisoformat(view["removed"])


@pytest.mark.parametrize(
    "path",
    [
        "/dataset/never-seen",
        "/record/0123456789abcdef",
        "/record/not-a-key",
        "/record/0123456789abcdef.ttl",
    ],
)
def test_an_iri_never_seen_stays_404(florida: dict, path: str) -> None:
    for headers in ({"Accept": "application/json"}, {"Accept": "text/turtle"}):
        answer = florida["client"].get(path, headers=headers)
        assert answer.status_code == 404


def test_no_record_for_what_is_not_in_the_catalogue(florida: dict) -> None:
    """An agency has a history but is no member of the catalogue: no record of it (404)."""
    client = florida["client"]
    agents = [
        i for i in client.get("/changes.json?since=2020-01-01").get_json()["items"] if i["kind"] != "dataset"
    ]
    assert agents
    for item in agents:
        assert client.get(path_of(Minter(BASE).record(item["iri"]))).status_code == 404
        assert client.get(path_of(item["iri"])).status_code == 200  # its own page is there


@pytest.mark.parametrize(
    ("query", "detail"),
    [("format=xml", "unknown format"), ("lang=%40%40", "not a language tag"), ("page=0", "whole number")],
)
def test_bad_input_on_a_record_page(florida: dict, query: str, detail: str) -> None:
    client = florida["client"]
    record = Minter(BASE).record(florida["changed"])
    for iri in (record, florida["removed"]):
        answer = client.get(f"{path_of(iri)}?{query}", headers={"Accept": "application/json"})
        error = answer.get_json()
        assert answer.status_code == 400 and set(error) == {"error", "status", "detail"}
        assert error["status"] == 400 and detail in error["detail"]


def test_a_history_of_the_first_layout_gets_its_records_keys(tmp_path: Path) -> None:
    """A store's history from before the keys: read as it is (no record keys), and brought to the
    new layout by the source's next ingest with every row kept."""
    old = tmp_path / "records" / "fl.history.db"
    old.parent.mkdir()
    db = sqlite3.connect(old)
    first = re.sub(r"\n  (record|parts) TEXT[^\n]*", "", history.SCHEMA).replace(
        "NOT NULL,  -- 1:", "NOT NULL  -- 1:"
    )
    db.executescript(first.replace("CREATE INDEX by_record ON records (record);", ""))  # layout 1's
    db.execute("INSERT INTO meta VALUES ('layout', '1')")
    member = f"{BASE}dataset/x"
    row = ("dataset:x", member, "dataset", b"d", "t0", "t0", "r0", "t0", "r0", "v0", None, None, "{}", 1)
    db.execute(f"INSERT INTO records VALUES ({', '.join('?' * len(row))})", row)
    db.commit()
    db.close()
    assert history.of_record(tmp_path, member)["first_seen"] == "t0"
    assert history.of_record_key(tmp_path, record_key(member)) is None  # no keys yet
    target = tmp_path / "next.history.db"
    lines = update_history(old, target, None, None, {"dataset:x": b"d"}, "r1", datetime.now(UTC))
    assert lines == ""  # seen, unchanged: nothing to say in PROV-O
    target.replace(old)
    found = history.of_record_key(tmp_path, record_key(member))
    assert found is not None and (found["iri"], found["first_seen"], found["removed"]) == (member, "t0", None)
