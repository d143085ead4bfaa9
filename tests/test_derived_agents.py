"""kg.derived.agencies' data for the agency page: the services per publisher and the predicates
that point at agents, against the store's own answers, after a re-ingest, and on a store whose
derived data an older version made (``kg serve`` derives it again: :func:`kg.derived.build.upgrade`).

A real store: the bundled sample plus a small CSV source of two agencies (one a unit of the
other), a dataset and four data services, ingested for real; pages through the Flask test client.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import EMBEDDED, SAMPLE_CSV, make_settings

from kg.cli import _upgrade_derived
from kg.derived.agencies import AGENT_CLASSES
from kg.derived.build import minted_elsewhere, upgrade
from kg.derived.tables import VERSION, open_derived
from kg.describe import KINDS, Describer
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.ingest.sources import remove_source
from kg.search.tables import INDEX_FILE
from kg.settings import Settings
from kg.vocab import DCAT, DCT
from kg.web.app import build_app

BASE = "http://kg.test/"
JSON = {"Accept": "application/json"}
SERVICES = {  # service id -> publisher id
    "api-1": "acme",
    "api-2": "acme",
    "api-3": "acme",
    "api-4": "acme-data",
}


def write_source(folder: Path, services: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agencies.csv").write_text(
        "id,name,parent,type,acronym\nacme,Acme Authority,,agency,AA\n"
        "acme-data,Data Unit of Acme,acme,unit,ADU\n",
        encoding="utf-8",
    )
    (folder / "datasets.csv").write_text(
        "id,title,description,publisher\nacme-1,Acme one,The first.,acme\n", encoding="utf-8"
    )
    (folder / "distributions.csv").write_text("dataset,id,access_url\n", encoding="utf-8")
    lines = [
        f"{key},{key.upper()} service,A web API.,{publisher},https://api.acme.example/{key}/"
        for key, publisher in services.items()
    ]
    (folder / "services.csv").write_text(
        "id,title,description,publisher,endpoint_url\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("agents")
    settings = make_settings(folder / "store", base_uri=BASE)
    ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    ingest(str(write_source(folder / "acme", SERVICES)), settings=settings, source="acme")
    return settings


def _copy(settings: Settings, tmp_path: Path, **overrides) -> Settings:
    target = tmp_path / "store"
    shutil.copytree(settings.store, target, symlinks=True)
    return make_settings(target, base_uri=BASE, **overrides)


def store_services(settings: Settings) -> set[tuple[str, str]]:
    result = store_for(settings).query(
        f"SELECT DISTINCT ?a ?s WHERE {{ ?s a <{DCAT.DataService}> ; <{DCT.publisher}> ?a }}"
    )
    return {(r["a"].value, r["s"].value) for r in result}


def derived_services(settings: Settings) -> set[tuple[str, str]]:
    tables = open_derived(store_for(settings))
    return set(tables.rows("SELECT publisher, service FROM agency_services"))


def test_agent_classes_are_those_with_an_agency_page() -> None:
    assert {str(c) for c in AGENT_CLASSES} == {c for c, kind in KINDS.items() if kind == "agency"}


def test_services_per_publisher_equal_the_store(agents: Settings) -> None:
    truth = store_services(agents)
    assert {(a, s.rsplit("/", 1)[1]) for a, s in truth if "acme" in a} == {
        (f"{BASE}agency/{p}", k) for k, p in SERVICES.items()
    }
    assert derived_services(agents) == truth
    client = build_app(agents).test_client()
    for publisher in {a for a, _ in truth}:
        page = client.get(publisher.replace(BASE, "/"), headers=JSON).get_json()
        assert [s["iri"] for s in page["services"]] == sorted(s for a, s in truth if a == publisher)


def test_agent_links_are_every_predicate_pointing_at_an_agent(agents: Settings) -> None:
    store = store_for(agents)
    classes = " ".join(f"<{c}>" for c in AGENT_CLASSES)
    result = store.query(f"SELECT DISTINCT ?p WHERE {{ VALUES ?c {{ {classes} }} ?a a ?c . ?s ?p ?a }}")
    truth = sorted(r["p"].value for r in result)
    assert str(DCT.publisher) in truth and "http://www.w3.org/ns/org#hasUnit" in truth
    assert open_derived(store).value("agent_links") == truth


def test_an_agency_page_lists_the_same_links_by_predicate(agents: Settings) -> None:
    """Looked up by the derived predicates, the links to each agent are those the query over all
    of its links finds (less dct:publisher, which the page lists as its datasets)."""
    store = store_for(agents)
    predicates = open_derived(store).value("agent_links")
    agencies = [r["a"].value for r in store.query(f"SELECT DISTINCT ?a WHERE {{ ?s <{DCT.publisher}> ?a }}")]
    assert len(agencies) > 5
    for iri in agencies:
        d = Describer(store, BASE)
        loc = d.locate(iri)
        every, narrowed = d.inbound(loc, (DCT.publisher,)), d.inbound(loc, (DCT.publisher,), predicates)
        key = [(s.value, p.value) for s, p in every.links]
        assert key == [(s.value, p.value) for s, p in narrowed.links], iri
        assert (every.total, every.exact) == (narrowed.total, narrowed.exact), iri
    client = build_app(agents).test_client()
    page = client.get("/agency/acme", headers=JSON).get_json()
    assert f"{BASE}agency/acme-data" in {i["subject"]["iri"] for i in page["inbound"]}  # its unit


def test_a_reingest_and_a_removal_update_the_services(agents: Settings, tmp_path: Path) -> None:
    settings = _copy(agents, tmp_path)
    moved = {"api-1": "acme-data", "api-3": "acme", "api-5": "acme-data"}  # api-2 and api-4 gone
    ingest(str(write_source(tmp_path / "acme", moved)), settings=settings, source="acme")
    ours = {(a, s) for a, s in derived_services(settings) if "/service/api-" in s}
    assert ours == {(f"{BASE}agency/{p}", f"{BASE}service/{k}") for k, p in moved.items()}
    assert derived_services(settings) == store_services(settings)
    page = build_app(settings).test_client().get("/agency/acme-data", headers=JSON).get_json()
    assert [s["iri"] for s in page["services"]] == [f"{BASE}service/api-1", f"{BASE}service/api-5"]
    remove_source("acme", settings=settings)
    assert not {s for _, s in derived_services(settings) if "/service/api-" in s}
    assert derived_services(settings) == store_services(settings)


def _as_if_older(settings: Settings) -> None:
    """The published generation's file as version 3 wrote it: no agency_services, no agent_links."""
    path = Path(settings.store) / "current" / INDEX_FILE
    db = sqlite3.connect(path)
    db.execute("DROP TABLE agency_services")
    db.execute("DELETE FROM derived WHERE key = 'agent_links'")
    db.execute("UPDATE meta SET value = '3' WHERE key = 'derived'")
    db.commit()
    db.close()


def test_a_store_an_older_version_derived_is_upgraded(agents: Settings, tmp_path: Path) -> None:
    settings = _copy(agents, tmp_path, **EMBEDDED)
    before = store_for(settings).version()
    _as_if_older(settings)
    client = build_app(settings).test_client()
    old = client.get("/agency/acme", headers=JSON)
    assert old.status_code == 503 and "another version (3; this one reads" in old.get_json()["detail"]
    assert client.get("/dataset/acme-1", headers=JSON).status_code == 503  # not a crash: says why
    assert upgrade(store_for(settings)) == "3"
    store = store_for(settings)
    assert store.version() != before and open_derived(store).version == store.version()
    assert derived_services(settings) == store_services(settings)
    page = build_app(settings).test_client().get("/agency/acme", headers=JSON)
    assert page.status_code == 200
    assert [s["iri"] for s in page.get_json()["services"]] == [f"{BASE}service/api-{i}" for i in (1, 2, 3)]
    expected = build_app(agents).test_client().get("/agency/acme", headers=JSON).get_json()
    assert page.get_json() == expected
    assert upgrade(store) is None and store.version() == store_for(settings).version()  # once only
    assert VERSION != "3"


def test_a_server_started_under_another_base_leaves_the_derived_data_alone(
    agents: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """kg serve with a KG_BASE_URI the store was not made under: a warning that says so, and no
    upgrade (it would derive the tables again from graphs it does not recognise)."""
    settings = _copy(agents, tmp_path, **EMBEDDED)
    _as_if_older(settings)
    before = store_for(settings).version()
    other = make_settings(settings.store, base_uri="https://elsewhere.example/", **EMBEDDED)
    assert minted_elsewhere(store_for(settings), settings.base_uri) is None
    assert "another base" in (minted_elsewhere(store_for(other), other.base_uri) or "")
    _upgrade_derived(other)
    assert "KG_BASE_URI=https://elsewhere.example/" in capsys.readouterr().err
    assert store_for(settings).version() == before
    _upgrade_derived(settings)
    assert "was made again" in capsys.readouterr().err
    assert store_for(settings).version() != before
