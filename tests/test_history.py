"""The records' history (kg.history, kg.ingest.history) and the change feed, on real on-disk stores:
a real portal file (phila.gov's data.json, its first 100 datasets) harvested over real HTTP on 127.0.0.1 four
times (first, with some titles changed and some datasets removed, with some of those back, and
unchanged), then read through the Flask app in-process: ``/changes`` (JSON and RDF, windows, a
source, paging), ``/catalog?modified_since=`` (JSON and Turtle, Hydra paging, the official DCAT-AP
shapes), a changed record's page and its JSON twin, and the PROV-O in the provenance graph (private
without a token). Then ``kg ingest`` and ``kg remove`` on a small file, bad parameters (400 with the
house's error body) and a remote store (501).
"""

from __future__ import annotations

import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asgi import FrontClient
from conftest import BASE, make_settings
from harvest_portal import Portal
from rdflib import Graph, URIRef
from rdflib.namespace import PROV as OFFICIAL_PROV
from test_harvest_records import PHILA, PHILA_DATASETS, body, harvest, phila_first

from kg import history, vocab
from kg.catalog import export
from kg.factory import store_for
from kg.harvest.sources import SourceSpec
from kg.ingest.run import ingest
from kg.ingest.sources import remove_source
from kg.iris import Minter
from kg.vocab import DCAT, HYDRA, PROV
from kg.web.app import build_app

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FLORIDA = SHARED / "real-portals" / "data-json" / "floridadep.gov-rossi.data.json"
TOKEN = "history-token"


def now() -> str:
    time.sleep(0.01)  # the history's times are in microseconds: the window's edges stay apart
    moment = history.stamp(datetime.now(UTC))
    time.sleep(0.01)
    return moment


@pytest.fixture(scope="module")
def harvested(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """phila harvested four times; the times between the harvests and the app on the store."""
    if not (SHARED / PHILA).is_file():
        pytest.skip(f"the real portal files are absent ({SHARED / PHILA})")
    doc = phila_first(json.loads((SHARED / PHILA).read_bytes()))  # the history is per record
    settings = make_settings(
        tmp_path_factory.mktemp("history") / "store",
        http_retries=1,
        http_backoff=0.01,
        http_host_interval=0.0,
        catalog_page_size=2,
        update_token=TOKEN,
    )
    datasets = doc["dataset"] = [dict(d, modified="2020-01-02") for d in doc["dataset"]]  # phila gives none
    changed = [dict(d, title=d["title"] + " (v2)") if i in (1, 2, 3) else d for i, d in enumerate(datasets)]
    without = changed[:10] + changed[14:]  # four datasets gone
    back = changed[:12] + changed[14:]  # two of them back
    times = {"t0": now()}
    with Portal() as portal:
        route = portal.serve("/data.json", body(doc), etag='"v1"')
        spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
        outcomes = [harvest(spec, settings)]
        times["t1"] = now()
        for step, version in ((without, "v2"), (back, "v3"), (back, "v4")):
            route.change(body({**doc, "dataset": step}), etag=f'"{version}"')
            outcomes.append(harvest(spec, settings))
            times[f"t{len(outcomes)}"] = now()
    assert [o.outcome for o in outcomes] == ["published"] * 3 + ["unchanged"], [o.reason for o in outcomes]
    quarantined = outcomes[0].summary.quarantined  # one dataset, among those removed later
    return {"settings": settings, "client": build_app(settings).test_client(), "url": spec.url, **times,
            "quarantined": quarantined}  # fmt: skip


def feed(client, query: str) -> dict:  # noqa: ANN001
    answer = client.get(f"/changes.json?{query}")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def datasets_of(answer: dict) -> dict[str, str]:
    return {item["iri"]: item["change"] for item in answer["items"] if item["kind"] == "dataset"}


def all_items(client, query: str) -> list[dict]:  # noqa: ANN001
    """Every item of the feed, page after page by its ``next`` links."""
    items, url = [], f"/changes.json?{query}"
    while url:
        answer = client.get(url).get_json()
        items += answer["items"]
        url = answer["links"]["next"]
    return items


def test_the_feed_tells_added_changed_and_removed_in_each_window(harvested: dict) -> None:
    client, h = harvested["client"], harvested
    first = all_items(client, f"since={h['t0']}&until={h['t1']}")
    assert {i["change"] for i in first} == {"added"}
    # each record in the window of its latest change: not the three changed nor the four removed later
    now_listed = client.get("/catalog.json").get_json()["total_items"]  # two of the four are back
    assert sum(i["kind"] == "dataset" for i in first) == now_listed - 3 - 2 > PHILA_DATASETS - 10
    second = {i["iri"]: i["change"] for i in all_items(client, f"since={h['t1']}&until={h['t2']}")}
    kinds = sorted(c for iri, c in second.items() if "/dataset/" in iri)
    assert kinds == ["changed"] * 3 + ["removed"] * 2, second  # two of the four removed are back since
    third = {i["iri"]: i["change"] for i in all_items(client, f"since={h['t2']}&until={h['t3']}")}
    assert sorted(third.values()) == ["added", "added"] and not set(third) & set(second)
    assert all_items(client, f"since={h['t3']}") == []  # the unchanged harvest wrote nothing
    # since t1, as a harvester sees it: the three changed, two removed, two back (added)
    since = {i["iri"]: i["change"] for i in all_items(client, f"since={h['t1']}") if "/dataset/" in i["iri"]}
    assert sorted(since.values()) == ["added"] * 2 + ["changed"] * 3 + ["removed"] * 2
    one = feed(client, f"since={h['t1']}&source=phila")
    assert (
        one["source"] == "phila" and one["total_items"] >= 7 and one["pages"] == -(-one["total_items"] // 2)
    )
    everything = all_items(client, f"since={h['t0']}")
    assert [i["time"] for i in everything] == sorted(i["time"] for i in everything)
    held = [i for i in everything if not i["published"]]  # listed too, and said to be quarantined
    assert len(held) == h["quarantined"] > 0


def test_next_since_misses_nothing_and_repeats_nothing(harvested: dict) -> None:
    client, h = harvested["client"], harvested
    answer = feed(client, f"since={h['t1']}")
    assert h["t2"] < answer["next_since"] <= h["t3"]  # just after the last change published
    assert feed(client, f"since={answer['next_since']}")["items"] == []


@pytest.mark.parametrize("fmt", ["ttl", "jsonld"])
def test_the_feed_as_rdf_is_prov_o(harvested: dict, fmt: str) -> None:
    client, h = harvested["client"], harvested
    media = {"ttl": "text/turtle", "jsonld": "application/ld+json"}[fmt]
    answer = client.get(f"/changes?since={h['t1']}&until={h['t2']}", headers={"Accept": media})
    assert answer.status_code == 200 and answer.mimetype == media
    graph = Graph().parse(data=answer.get_data(as_text=True), format="json-ld" if fmt == "jsonld" else fmt)
    changes = {str(v): str(c) for v, c in graph.subject_objects(vocab.KGO.change)}
    assert len(changes) == 2  # the first page (KG_CATALOG_PAGE_SIZE=2), oldest first
    for version in map(URIRef, changes):
        assert (version, vocab.RDF.type, PROV.Entity) in graph
        record = graph.value(version, PROV.specializationOf)
        assert record is not None and str(record).startswith(BASE)
        removed = changes[str(version)] == "removed"
        at = graph.value(version, PROV.invalidatedAtTime if removed else PROV.generatedAtTime)
        assert at is not None and h["t1"] <= at.toPython().strftime("%Y-%m-%dT%H:%M:%S.%fZ") < h["t2"]
    assert 'rel="next"' in answer.headers["Link"]


def changed_members(client, first: str) -> list[str]:  # noqa: ANN001
    """The members of a catalogue view in Turtle, page after page by hydra:next."""
    members, url, graphs = [], first, []
    while url:
        answer = client.get(url)
        assert answer.status_code == 200 and answer.mimetype == "text/turtle", answer.get_data(as_text=True)
        graph = Graph().parse(data=answer.get_data(as_text=True), format="turtle")
        graphs.append(graph)
        members += sorted(str(o) for o in graph.objects(None, DCAT.dataset))
        view = next(graph.subjects(vocab.RDF.type, HYDRA.PartialCollectionView))
        assert "modified_since=" in str(view)
        following = graph.value(view, HYDRA.next)
        url = str(following).removeprefix(BASE.rstrip("/")) if following is not None else None
    return members


def test_catalog_modified_since_in_two_syntaxes_paged(harvested: dict) -> None:
    client, h = harvested["client"], harvested
    members = changed_members(client, f"/catalog.ttl?modified_since={h['t1']}")
    assert len(members) == len(set(members)) == 5  # three changed, two back; the removed are not there
    listing, url = [], f"/catalog.json?modified_since={h['t1']}"
    while url:
        answer = client.get(url).get_json()
        assert answer["modified_since"] == h["t1"] and answer["total_items"] == 5 and answer["pages"] == 3
        listing += [item["iri"] for item in answer["items"]]
        url = answer["links"]["next"]
    assert sorted(listing) == sorted(members)
    since = {i["iri"] for i in all_items(client, f"since={h['t1']}") if i["change"] != "removed"}
    assert set(members) == {iri for iri in since if "/dataset/" in iri}
    assert changed_members(client, f"/catalog.ttl?modified_since={h['t3']}") == []
    whole = client.get("/catalog.json").get_json()
    assert whole["total_items"] >= PHILA_DATASETS - 2 and whole["modified_since"] is None


def test_the_changed_pages_meet_the_official_shapes(harvested: dict) -> None:
    from test_catalog_views import OFFICIAL, _corporate_body_rule, _top_level_violations

    if not (OFFICIAL / "shapes.ttl").exists():
        pytest.skip(f"the official DCAT-AP 3.0.1 shapes are not at {OFFICIAL}")
    client, merged = harvested["client"], Graph()
    url = f"/catalog.ttl?modified_since={harvested['t1']}"
    for number in (1, 2, 3):
        merged.parse(data=client.get(f"{url}&page={number}").get_data(as_text=True), format="turtle")
    core = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        core.parse(OFFICIAL / name, format="turtle")
    assert not _top_level_violations(merged, core)
    mdr = Graph().parse(OFFICIAL / "mdr-vocabularies.shape.ttl", format="turtle")
    assert not [f for f in _top_level_violations(merged, mdr) if not _corporate_body_rule(mdr, f)]


def test_our_catalogue_records_say_when_our_copy_changed(harvested: dict) -> None:
    """Each member of a page gets a dcat:CatalogRecord: issued when first seen, modified when its
    triples last changed here; the dataset keeps its publisher's dct:modified; the export has them."""
    client, h, settings = harvested["client"], harvested, harvested["settings"]
    changed = next(i for i in all_items(client, f"since={h['t1']}") if i["change"] == "changed")
    story = client.get(f"{changed['iri'].removeprefix(BASE.rstrip('/'))}.json").get_json()
    graph = Graph()
    for number in (1, 2, 3):
        page = client.get(f"/catalog.ttl?modified_since={h['t1']}&page={number}").get_data(as_text=True)
        graph.parse(data=page, format="turtle")
    records = list(graph.subjects(vocab.RDF.type, DCAT.CatalogRecord))
    assert len(records) == 5 and set(graph.objects(None, DCAT.record)) == set(records)
    (record,) = graph.subjects(vocab.FOAF.primaryTopic, URIRef(changed["iri"]))
    times = {p: graph.value(record, p).toPython() for p in (vocab.DCT.issued, vocab.DCT.modified)}
    expected = (story["history"]["first_seen"], changed["time"])
    wanted = map(datetime.fromisoformat, expected)
    assert times == dict(zip((vocab.DCT.issued, vocab.DCT.modified), wanted, strict=True))
    ours = {graph.value(r, vocab.DCT.modified).toPython() for r in records}
    theirs = [
        o.toPython()
        for m in graph.objects(None, vocab.FOAF.primaryTopic)
        for o in graph.objects(m, vocab.DCT.modified)
    ]
    assert set(map(str, theirs)) == {"2020-01-02"} and not ours & set(theirs)  # the publisher's, as said
    out = io.BytesIO()
    export(store_for(settings), settings, out, fmt="nt")
    exported = Graph().parse(data=out.getvalue().decode(), format="nt")
    assert (record, vocab.DCT.modified, graph.value(record, vocab.DCT.modified)) in exported
    members = list(exported.subjects(vocab.RDF.type, DCAT.CatalogRecord))
    assert len(members) == PHILA_DATASETS - 2  # every member


def test_a_changed_record_s_page_says_when_and_what(harvested: dict) -> None:
    client, h = harvested["client"], harvested
    changed = [i["iri"] for i in all_items(client, f"since={h['t1']}") if i["change"] == "changed"]
    path = changed[0].removeprefix(BASE.rstrip("/"))
    twin = client.get(f"{path}.json")
    assert twin.status_code == 200, twin.get_data(as_text=True)
    story = twin.get_json()["history"]
    assert story["first_seen"] < h["t1"] <= story["last_changed"] < h["t2"] and story["removed"] is None
    assert story["source"] == "phila" and story["changed_by"].startswith(f"{BASE}run/phila/")
    assert [p["curie"] for p in story["what_changed"]["changed"]] == ["dct:title"]
    assert story["what_changed"]["added"] == story["what_changed"]["removed"] == []
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Last changed" in page and story["last_changed"] in page
    assert re.search(r"changed: <code[^>]*>dct:title</code>", page)
    unchanged = client.get(f"{path.rsplit('/', 1)[0]}/{_unchanged(client, h)}.json").get_json()["history"]
    assert unchanged["last_changed"] == unchanged["first_seen"] < h["t1"] and unchanged["what_changed"] == {}


def _unchanged(client, h: dict) -> str:  # noqa: ANN001
    touched = {i["iri"] for i in all_items(client, f"since={h['t1']}")}
    first = [
        i["iri"] for i in all_items(client, f"since={h['t0']}&until={h['t1']}") if i["kind"] == "dataset"
    ]
    return next(iri for iri in first if iri not in touched).rsplit("/", 1)[1]


def test_prov_o_in_the_provenance_graph_private_without_a_token(harvested: dict) -> None:
    settings, client, h = harvested["settings"], harvested["client"], harvested
    changed = next(i for i in all_items(client, f"since={h['t1']}") if i["change"] == "changed")
    graph = Minter(settings.base_uri).provenance_graph()
    rows = store_for(settings).query(
        f"""PREFIX prov: <{PROV}> SELECT ?new ?old ?run ?used ?ended WHERE {{ GRAPH <{graph}> {{
            ?new a prov:Entity ; prov:specializationOf <{changed["iri"]}> ; prov:wasRevisionOf ?old ;
                 prov:wasGeneratedBy ?run ; prov:generatedAtTime ?at .
            ?old prov:wasInvalidatedBy ?run ; prov:invalidatedAtTime ?at ;
                 prov:specializationOf <{changed["iri"]}> .
            ?run a prov:Activity ; prov:used ?used ; prov:endedAtTime ?ended }} }}""",
        default_graphs=[],
        private=True,
    )
    found = [(r["new"].value, r["run"].value, r["used"].value) for r in rows]
    assert found == [(changed["version"], changed["run"], h["url"])]
    versions = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?v <{PROV.specializationOf}> ?r }} }}"
    front = FrontClient(client.application)  # /sparql is the ASGI front's, driven in process
    for headers, seen in (({}, "0"), ({"Authorization": f"Bearer {TOKEN}"}, "0")):  # the default dataset
        answer = front.get("/sparql", query_string={"query": versions}, headers=headers)
        assert answer.get_json()["results"]["bindings"][0]["n"]["value"] == seen
    revisions = f"GRAPH ?g {{ ?v <{PROV.wasRevisionOf}> ?r }}"
    named = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{graph}> WHERE {{ {revisions} }}"
    answer = front.get("/sparql", query_string={"query": named})
    assert answer.get_json()["results"]["bindings"][0]["n"]["value"] == "0"  # absent without a token
    answer = front.get("/sparql", query_string={"query": named}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert int(answer.get_json()["results"]["bindings"][0]["n"]["value"]) == 3  # the changed records
    assert client.get("/store", query_string={"graph": graph}).status_code == 404
    with_token = client.get(
        "/store", query_string={"graph": graph}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert with_token.status_code == 200 and "prov:wasRevisionOf" in with_token.get_data(as_text=True)


def test_every_prov_term_we_use_is_prov_o() -> None:
    """A term misspelt in kg.vocab.PROV would make PROV-O no one reads: rdflib's PROV is closed too."""
    for name in dir(PROV):
        assert str(getattr(OFFICIAL_PROV, name)) == str(PROV[name])


# ---------------------------------------------------------------- kg ingest, kg remove, bad input


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Florida's 7 records by ``kg ingest`` (a file): first, one description changed and one dataset
    gone, then the source removed; the feed since the start read before the removal too."""
    if not FLORIDA.is_file():
        pytest.skip(f"the real portal files are absent ({FLORIDA})")
    folder = tmp_path_factory.mktemp("small")
    settings = make_settings(folder / "store")
    doc = json.loads(FLORIDA.read_bytes())
    path = folder / "florida.json"
    times, before_removal = [now()], {}
    for step in range(3):
        if step == 1:
            doc["dataset"][0]["description"] = "Another description."
            doc["dataset"].pop()
        if step < 2:
            path.write_bytes(body(doc))
            assert ingest(str(path), settings=settings, source="fl").stored
        else:
            before_removal = feed(build_app(settings).test_client(), f"since={times[1]}")
            assert remove_source("fl", settings=settings)
        times.append(now())
    return {"client": build_app(settings).test_client(), "times": times, "before_removal": before_removal}


def test_kg_ingest_and_kg_remove_keep_the_history(small: dict) -> None:
    client, (t0, t1, t2, _) = small["client"], small["times"]
    assert sorted(datasets_of(small["before_removal"]).values()) == ["changed", "removed"]
    assert feed(client, f"since={t0}&until={t1}")["items"] == []  # every record's latest change is later
    second = datasets_of(feed(client, f"since={t1}&until={t2}"))
    assert list(second.values()) == ["removed"]  # gone from the file
    third = feed(client, f"since={t2}")
    assert third["total_items"] == 6 and {i["change"] for i in third["items"]} == {"removed"}  # kg remove
    assert feed(client, f"since={t0}&source=fl")["total_items"] == 7  # removed stay listed as removed


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("", 400, "'since' is required"),
        ("since=yesterday", 400, "not an ISO 8601"),
        ("since=2026-13-01", 400, "not an ISO 8601"),
        ("since=2999-01-01T00:00:00Z", 400, "in the future"),
        ("since=2026-01-01&since=2026-01-02", 400, "more than one"),
        ("since=2026-01-02&until=2026-01-01", 400, "before since"),
        ("since=2026-01-01&until=soon", 400, "until:"),
        ("since=2026-01-01&source=nowhere", 400, "no history of a source 'nowhere'"),
        ("since=2026-01-01&type=dataset", 400, "unknown parameter 'type'"),
        ("since=2026-01-01&page=x", 400, "whole number"),
        ("since=2026-01-01&page=9", 404, "out of range"),
    ],
)
def test_bad_feed_parameters(small: dict, query: str, status: int, detail: str) -> None:
    answer = small["client"].get(f"/changes?{query}", headers={"Accept": "application/json"})
    assert answer.status_code == status
    error = answer.get_json()
    assert (
        set(error) == {"error", "status", "detail"}
        and error["status"] == status
        and detail in error["detail"]
    )


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("modified_since=last-week", "not an ISO 8601"),
        ("modified_since=2999-01-01", "in the future"),
        ("modified_since=2026-01-01&modified_since=2026-01-02", "more than one"),
    ],
)
def test_bad_modified_since(small: dict, query: str, detail: str) -> None:
    for path in ("/catalog.json", "/catalog.ttl"):
        answer = small["client"].get(f"{path}?{query}", headers={"Accept": "application/json"})
        assert answer.status_code == 400 and detail in answer.get_json()["detail"]


def test_a_time_with_an_offset_or_a_date_alone(small: dict) -> None:
    client, t0 = small["client"], small["times"][0]
    moment = datetime.fromisoformat(t0) - timedelta(hours=2)
    offset = moment.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    assert feed(client, f"since={offset.replace('+', '%2B')}")["since"] == history.stamp(moment)
    assert feed(client, "since=2020-01-01")["since"] == "2020-01-01T00:00:00.000000Z"


def test_a_remote_store_says_the_feed_is_unavailable(tmp_path: Path) -> None:
    """No server is asked: the routes answer before reaching the (unreachable) remote store."""
    settings = make_settings(tmp_path / "store", store_query_url="http://127.0.0.1:9/query")
    client = build_app(settings).test_client()
    for url in ("/changes.json?since=2026-01-01", "/catalog.json?modified_since=2026-01-01"):
        answer = client.get(url)
        assert answer.status_code == 501 and "remote store" in answer.get_json()["detail"]
