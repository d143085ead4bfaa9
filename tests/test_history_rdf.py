"""The history of an RDF source, record by record (kg.ingest.history.RdfVersions), on real files.

data.gov.be's DCAT-AP 3 catalogue for FPS Economy (RDF/XML, /work/shared/data/real-portals: a
catalogue, two datasets, a data service) harvested from a local copy (``kg harvest``'s own path,
in-process) four times: as published; written again by rdflib (other blank node labels, another
layout: no change); with one dataset's title changed and the other dataset gone; and the same
once more. Then ``/changes``, the changed dataset's page (``/resource?uri=``), its catalogue record,
``/catalog?modified_since=``, and the removed dataset's 410. The Swedish sample
(/work/shared/data/samples, a dataset whose contact and period are blank nodes) checks that a change
inside a blank node is one, and that its canonical form is the same however the file names them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import BASE, make_settings
from rdflib import BNode, Graph, Literal, URIRef

from kg.harvest.run import client_for, harvest_source
from kg.harvest.sources import SourceSpec
from kg.history import stamp
from kg.iris import Minter
from kg.settings import Settings
from kg.store.harvest_state import load_states
from kg.store.results import canonical_ntriples
from kg.vocab import DCAT, DCT, RDF, SCHEMA
from kg.web.app import build_app

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BELGIUM = SHARED / "real-portals" / "dcat-ap-rdf" / "data.gov.be-fpseco-cbe.rdf"
SWEDEN = SHARED / "samples" / "dataset_sweden.rdf"


def now() -> str:
    time.sleep(0.01)
    moment = stamp(datetime.now(UTC))
    time.sleep(0.01)
    return moment


def harvest(path: Path, settings: Settings, name: str, counts: list | None = None) -> str:
    """The harvest's outcome; its records' counts appended to ``counts``."""
    outcome = harvest_source(
        SourceSpec(name, str(path), "rdf"), settings=settings, client=client_for(settings)
    )
    if counts is not None:
        counts.append(outcome.changes)
    return outcome.outcome


def feed(client, since: str) -> dict[str, str]:  # noqa: ANN001
    """What ``/changes`` says of each record since then, by IRI (its first page: a few records)."""
    answer = client.get(f"/changes.json?since={since}").get_json()
    assert answer["pages"] == 1
    return {item["iri"]: item["change"] for item in answer["items"]}


def page(client, iri: str, suffix: str = ".json"):  # noqa: ANN001, ANN201
    return client.get(f"/resource{suffix}?uri={quote(iri, safe='')}")


@pytest.fixture(scope="module")
def belgium(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not BELGIUM.is_file():
        pytest.skip(f"the real portal files are absent ({BELGIUM})")
    folder = tmp_path_factory.mktemp("rdf-history")
    settings = make_settings(folder / "store")
    copy = folder / "cbe.rdf"
    copy.write_bytes(BELGIUM.read_bytes())
    graph = Graph().parse(BELGIUM, format="xml")
    changed, gone = sorted(graph.subjects(RDF.type, DCAT.Dataset))
    times = {"t0": now()}
    counts: list = []
    outcomes = [harvest(copy, settings, "cbe", counts)]
    times["t1"] = now()
    copy.write_text(graph.serialize(format="xml"), encoding="utf-8")  # the same graph, written anew
    outcomes.append(harvest(copy, settings, "cbe", counts))
    times["t2"] = now()
    for title in list(graph.objects(changed, DCT.title)):
        graph.remove((changed, DCT.title, title))
        graph.add((changed, DCT.title, Literal(f"{title} (v2)", lang=title.language)))
    for distribution in list(graph.objects(gone, DCAT.distribution)):
        graph.remove((distribution, None, None))
    graph.remove((gone, None, None))
    graph.remove((None, None, gone))
    copy.write_text(graph.serialize(format="xml"), encoding="utf-8")
    outcomes.append(harvest(copy, settings, "cbe", counts))
    state = load_states(settings.store)["cbe"].changes
    times["t3"] = now()
    outcomes.append(harvest(copy, settings, "cbe"))
    assert outcomes == ["published", "published", "published", "unchanged"]
    client = build_app(settings).test_client()
    return {
        "client": client,
        "changed": str(changed),
        "gone": str(gone),
        "counts": counts,
        "state": state,
        **times,
    }


def test_an_rdf_source_s_records_are_added_changed_and_removed(belgium: dict) -> None:
    client, changed, gone = belgium["client"], belgium["changed"], belgium["gone"]
    since = feed(client, belgium["t1"])
    assert since[changed] == "changed" and since[gone] == "removed"
    assert set(since.values()) == {"changed", "removed"}  # and the catalogue, which lists one less
    assert feed(client, belgium["t2"]) == since  # the file written anew at t1: no change
    every = feed(client, belgium["t0"])  # each record once: added since then, unless it is gone
    assert every == {k: "removed" if k == gone else "added" for k in every} and len(every) > len(since)
    assert feed(client, belgium["t3"]) == {}  # the unchanged harvest


def test_the_harvests_count_what_the_feed_tells(belgium: dict) -> None:
    """`kg harvest`, `kg sources` and /quality show an RDF source's records added, changed, removed
    and unchanged: the counts its history found, the same records the feed lists."""
    client, (first, again, edited) = belgium["client"], belgium["counts"]
    added = feed(client, belgium["t0"])
    assert first == {"added": len(added), "changed": 0, "removed": 0, "unchanged": 0}
    assert again == {"added": 0, "changed": 0, "removed": 0, "unchanged": len(added)}
    since = list(feed(client, belgium["t2"]).values())
    changed, removed = since.count("changed"), since.count("removed")
    assert edited == {
        "added": 0,
        "changed": changed,
        "removed": removed,
        "unchanged": len(added) - changed - removed,
    }
    assert belgium["state"] == edited  # what kg sources and /quality show of that harvest


def test_the_changed_dataset_s_page_says_its_title_changed(belgium: dict) -> None:
    client, changed = belgium["client"], belgium["changed"]
    view = page(client, changed).get_json()
    story = view["history"]
    assert story["source"] == "cbe" and story["first_seen"] < belgium["t1"] < story["last_changed"]
    assert [p["curie"] for p in story["what_changed"]["changed"]] == ["dct:title"]
    assert story["what_changed"]["added"] == story["what_changed"]["removed"] == []
    html = page(client, changed, "").get_data(as_text=True)
    assert "dct:title" in html and "Last changed" in html


def test_its_catalogue_record_and_the_modified_since_feed(belgium: dict) -> None:
    client, changed = belgium["client"], belgium["changed"]
    record = Minter(BASE).record(changed)
    view = client.get(f"{record.removeprefix(BASE.rstrip('/'))}.json").get_json()
    assert view["kind"] == "record" and view["modified"]["value"] > belgium["t2"]
    listed = client.get(f"/catalog.json?modified_since={belgium['t2']}").get_json()
    assert [i["iri"] for i in listed["items"] if i["kind"] == "dataset"] == [changed]


def test_the_removed_dataset_answers_410(belgium: dict) -> None:
    client, gone = belgium["client"], belgium["gone"]
    answer = page(client, gone)
    assert answer.status_code == 410 and answer.get_json()["source"] == "cbe"
    assert page(client, gone, "").status_code == 410
    assert client.get(f"/resource?uri={quote(gone, safe='')}&format=ttl").status_code == 410
    assert page(client, gone + "-never").status_code == 404


def test_a_change_inside_a_blank_node_is_a_change(tmp_path: Path) -> None:
    if not SWEDEN.is_file():
        pytest.skip(f"the sample files are absent ({SWEDEN})")
    settings = make_settings(tmp_path / "store")
    graph = Graph().parse(SWEDEN, format="xml")
    (dataset,) = graph.subjects(RDF.type, DCAT.Dataset)
    copy = tmp_path / "sweden.rdf"
    copy.write_bytes(SWEDEN.read_bytes())
    assert harvest(copy, settings, "se") == "published"
    t1 = now()
    copy.write_text(graph.serialize(format="xml"), encoding="utf-8")  # other labels for its blank nodes
    assert harvest(copy, settings, "se") == "published"
    client = build_app(settings).test_client()
    assert feed(client, t1) == {}
    (period,) = graph.objects(dataset, DCT.temporal)
    (end,) = graph.objects(period, SCHEMA.endDate)
    assert isinstance(period, BNode)
    graph.set((period, SCHEMA.endDate, Literal("2014-01-05", datatype=end.datatype)))
    copy.write_text(graph.serialize(format="xml"), encoding="utf-8")
    t2 = now()
    assert harvest(copy, settings, "se") == "published"
    assert feed(client, t2) == {str(dataset): "changed"}
    story = page(client, str(dataset)).get_json()["history"]
    changed = [p["iri"] for p in story["what_changed"]["changed"]]
    assert changed and all(p.endswith("endDate") for p in changed), story["what_changed"]


def test_canonical_form_names_blank_nodes_by_content() -> None:
    a = '_:x <http://e.org/p> _:y .\n_:y <http://e.org/q> "v" .\n<http://e.org/s> <http://e.org/r> _:x .\n'
    b = a.replace("_:x", "_:n9").replace("_:y", "_:n1")
    assert canonical_ntriples(a) == canonical_ntriples(b)
    assert canonical_ntriples(a) != canonical_ntriples(a.replace('"v"', '"w"'))
    assert str(URIRef("http://e.org/s")) in canonical_ntriples(a)[0]
    chain = "".join(f"_:n{i} <http://e.org/p> _:n{i + 1} .\n" for i in range(150))  # past the bound
    assert canonical_ntriples(chain) == ["_:b <http://e.org/p> _:b ."]  # labels left out, at once
