"""The web app over a real socket: gunicorn serving app:app on a free loopback port.

Clients are real: SPARQLWrapper and rdflib's SPARQLStore for the endpoint,
urllib for pages; the store is a real on-disk one in a temp dir, loaded with
the bundled sample by the real ``kg ingest``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import rdflib
from live import BIN, ROOT, serve
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

DCAT = "http://www.w3.org/ns/dcat#"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The sample in a fresh store, served by gunicorn as `kg serve` does."""
    with serve(tmp_path_factory.mktemp("live") / "store", workers=2) as server:
        yield server


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


COUNT_DATASETS = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT}Dataset> }}"


def test_health_and_home(live):
    status, ctype, body = get(live + "health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, ctype, body = get(live)
    assert status == 200 and ctype.startswith("text/html")
    assert b"44</strong> datasets" in body
    assert b"National Transport Authority" in body
    status, ctype, body = get(live + "index.json")
    data = json.loads(body)
    assert data["counts"] == {"agencies": 7, "datasets": 44, "distributions": 93, "services": 4}


def test_sparqlwrapper_select_json_xml_csv(live):
    client = SPARQLWrapper(live + "sparql")
    client.setQuery(COUNT_DATASETS)
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"][0]["n"]["value"] == "44"
    client.setReturnFormat(XML)
    xml = client.query().convert()
    assert xml.getElementsByTagName("literal")[0].firstChild.data == "44"
    client.setReturnFormat(CSV)
    assert client.query().convert().decode().splitlines() == ["n", "44"]


def test_sparqlwrapper_post_and_construct_turtle(live):
    client = SPARQLWrapper(live + "sparql")
    client.setMethod("POST")
    client.setQuery(f"CONSTRUCT {{ ?d a <{DCAT}Dataset> }} WHERE {{ ?d a <{DCAT}Dataset> }}")
    client.setReturnFormat(TURTLE)
    graph = rdflib.Graph().parse(data=client.query().convert(), format="turtle")
    assert len(graph) == 44


def test_ask(live):
    status, ctype, body = get(
        live + "sparql?" + urllib.parse.urlencode({"query": f"ASK {{ ?d a <{DCAT}Dataset> }}"})
    )
    assert status == 200 and json.loads(body)["boolean"] is True


def test_rdflib_sparqlstore(live):
    graph = rdflib.Graph(store=SPARQLStore(live + "sparql"))
    rows = list(graph.query(f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} LIMIT 5"))
    assert len(rows) == 5 and all(str(r[0]).startswith(live + "dataset/") for r in rows)


def test_bad_queries(live):
    status, ctype, body = get(live + "sparql?query=SELECT%20WHERE")
    assert status == 400 and b"Bad query" in body and b"Traceback" not in body
    status, ctype, body = get(live + "sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert status == 400 and b"more than one" in body
    request = urllib.request.Request(live + "sparql", data=b"<x/>", headers={"Content-Type": "text/xml"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 415


def test_service_description(live):
    status, ctype, body = get(live + "sparql")
    graph = rdflib.Graph().parse(data=body, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (rdflib.URIRef(live + "sparql"), sd.endpoint, rdflib.URIRef(live + "sparql")) in graph
    assert ctype.startswith("text/turtle")


def test_unknown_page_is_404(live):
    status, ctype, body = get(live + "no/such/page")
    assert status == 404 and ctype.startswith("text/html")
    status, ctype, body = get(live + "no/such/page", accept="application/json")
    assert status == 404 and json.loads(body)["status"] == 404


def test_new_generation_is_served_without_restart(live, tmp_path):
    """A `kg ingest` while the app runs: every worker answers with the new data."""
    folder = tmp_path / "extra"
    folder.mkdir()
    for name in ("agencies.csv", "datasets.csv", "distributions.csv"):
        lines = (ROOT / "kg/sample/csv" / name).read_text(encoding="utf-8").splitlines()
        keep = lines[:2] if name != "agencies.csv" else lines
        (folder / name).write_text("\n".join(keep) + "\n", encoding="utf-8")
    env = dict(live.env)  # the store the server serves (and its remote server, if any)
    done = subprocess.run(
        [BIN / "kg", "ingest", folder, "--source", "extra"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    graphs = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{live}graph/extra> {{ ?s ?p ?o }} }}"
    for _ in range(10):  # several requests so that both workers answer
        status, _, body = get(
            live + "sparql?" + urllib.parse.urlencode({"query": graphs}),
            accept="application/sparql-results+json",
        )
        assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 0
