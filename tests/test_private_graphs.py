"""One access policy for the private graphs (quarantine, reports, ingest runs) on every read path.

Without a token a private graph is absent: a 404 from the Graph Store, a resource's RDF and
``/dump.nq``'s named graphs, an empty graph inside a ``/sparql`` or ``/query`` query, however
the query names it (``GRAPH``, ``FROM``, ``FROM NAMED``, the protocol's dataset parameters). The
read token or the update token reads them. The HTML pages and their JSON twins go on showing
findings and quarantined records to everyone. In-process through the Flask test client and the ASGI
front, with the evaluation in the worker's threads; then over a socket under ``kg serve``
(gunicorn, the ASGI front and its result cache), and on a remote
store (``KG_TEST_STORE=oxigraph``: this module is one of :data:`backend.REMOTE_MODULES`).

Also here: forwarded headers (``X-Forwarded-For`` / ``-Proto``) are believed only from the
proxies ``KG_FORWARDED_ALLOW_IPS`` names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import rdflib
from asgi import FrontClient
from conftest import BASE, SAMPLE_CSV, kg_command, make_settings
from live import request, serve

from kg.ingest.run import ingest
from kg.web.app import build_app

READ, WRITE = "read-t0ken", "write-t0ken"
NONE: dict[str, str] = {}
WRONG = {"Authorization": "Bearer not-the-token"}
BASIC = {"Authorization": f"Basic {READ}"}  # the right secret in the wrong scheme
WITH_READ = {"Authorization": f"Bearer {READ}"}
WITH_WRITE = {"Authorization": f"Bearer {WRITE}"}
DENIED = {"none": NONE, "wrong": WRONG, "basic": BASIC}
ALLOWED = {"read": WITH_READ, "write": WITH_WRITE}
CSV = {"Accept": "text/csv"}
NT = {"Accept": "application/n-triples"}
BROKEN = "broken-dates"  # a dataset without its mandatory description: quarantined


def private_graphs(base: str) -> dict[str, str]:
    return {
        "quarantine": f"{base}graph/quarantine/sample",
        "report": f"{base}graph/report/sample",
        "provenance": f"{base}graph/provenance",
    }


def with_broken_record(folder: Path) -> Path:
    """The bundled sample plus one dataset that is quarantined (so each private graph has triples)."""
    shutil.copytree(SAMPLE_CSV, folder)
    with open(folder / "datasets.csv", "a", encoding="utf-8") as out:
        out.write(f'{BROKEN},"Broken dates",,vea-air,Impossible date,,2021-13-45' + "," * 23 + "\n")
    return folder


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    root = tmp_path_factory.mktemp("private")
    settings = make_settings(root / "store", update_token=WRITE, read_token=READ)
    summary = ingest(str(with_broken_record(root / "sample")), settings=settings, source="sample")
    assert summary.stored and summary.quarantined == 1
    return settings


@pytest.fixture(scope="module")
def client(held):
    """The app behind its ASGI front, in process: the front answers /sparql queries."""
    return FrontClient(build_app(held))


def count(response) -> int:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return int(response.get_data(as_text=True).split()[1])


# ---------------------------------------------------------------- the Graph Store


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("kind", ["quarantine", "report", "provenance"])
def test_the_graph_store_answers_404_for_a_private_graph_without_a_token(client, kind, method):
    graph = private_graphs(BASE)[kind]
    for name, headers in DENIED.items():
        response = client.open(
            "/store", method=method, query_string={"graph": graph}, headers={**NT, **headers}
        )
        assert response.status_code == 404, name
        assert b"<http" not in response.data and "ETag" not in response.headers
        assert (
            response.status_code
            == client.open(
                "/store", method=method, query_string={"graph": f"{BASE}graph/none-such"}, headers=headers
            ).status_code
        )  # as if absent: the answer of a graph that does not exist


@pytest.mark.parametrize("kind", ["quarantine", "report", "provenance"])
def test_the_graph_store_gives_a_private_graph_to_either_token(client, kind):
    graph = private_graphs(BASE)[kind]
    for name, headers in ALLOWED.items():
        response = client.get("/store", query_string={"graph": graph}, headers={**NT, **headers})
        assert response.status_code == 200, name
        assert len(rdflib.Graph().parse(data=response.data, format="nt")) > 0
        assert response.headers["Cache-Control"] == "private"
        head = client.head("/store", query_string={"graph": graph}, headers={**NT, **headers})
        assert head.status_code == 200 and head.data == b""
    if kind == "quarantine":
        body = client.get("/store", query_string={"graph": graph}, headers={**NT, **WITH_READ}).data.decode()
        assert f"<{BASE}dataset/{BROKEN}>" in body


def test_public_graphs_and_the_default_graph_stay_open(client):
    for graph in (f"{BASE}graph/sample", f"{BASE}graph/vocabularies"):
        response = client.get("/store", query_string={"graph": graph}, headers=NT)
        assert response.status_code == 200 and "Cache-Control" not in response.headers
    assert client.get("/store?default", headers=NT).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["graph=", "graph=relative/iri", "graph=http://a/%3E", "", "default&graph=http://kg.test/graph/sample"],
)
def test_the_graph_store_refuses_a_bad_graph_parameter(client, query):
    assert client.get(f"/store?{query}", headers=WITH_READ).status_code == 400


# ---------------------------------------------------------------- /sparql and /query


def absent_queries(base: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Ways of naming the private graphs in a query: each counts what it reads of them."""
    q = private_graphs(base)["quarantine"]
    p = private_graphs(base)["provenance"]
    record = f"<{base}dataset/{BROKEN}>"
    return {
        "graph": (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{q}> {{ ?s ?p ?o }} }}", {}),
        "graph-variable": (
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), '{base}graph/quarantine/') || STR(?g) = '{p}') }}",
            {},
        ),
        "from": (f"SELECT (COUNT(*) AS ?n) FROM <{q}> WHERE {{ ?s ?p ?o }}", {}),
        "from-named": (f"SELECT (COUNT(*) AS ?n) FROM NAMED <{p}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
        "default-graph-uri": ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {"default-graph-uri": q}),
        "named-graph-uri": (
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
            {"named-graph-uri": p},
        ),
        "record": (f"SELECT (COUNT(*) AS ?n) WHERE {{ {record} ?p ?o }}", {}),
        "record-in-any-graph": (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ {record} ?p ?o }} }}", {}),
    }


NAMING = list(absent_queries(BASE))
# the ways that name the private graphs as the query's dataset: a token holder reads them so
DATASET_NAMING = ["from", "from-named", "default-graph-uri", "named-graph-uri"]


@pytest.mark.parametrize("way", NAMING)
def test_sparql_sees_no_private_graph_without_a_token(client, way):
    query, params = absent_queries(BASE)[way]
    for app in (client,):  # one query path: the front, evaluating in a thread
        for name, headers in DENIED.items():
            for method in ("GET", "POST"):
                call = app.get if method == "GET" else app.post
                where = (
                    {"query_string": {"query": query, **params}}
                    if method == "GET"
                    else {"data": {"query": query, **params}}
                )
                assert count(call("/sparql", headers={**CSV, **headers}, **where)) == 0, (name, method)


@pytest.mark.parametrize("way", DATASET_NAMING)
def test_sparql_reads_the_private_graphs_a_token_holder_names_as_the_dataset(client, way):
    query, params = absent_queries(BASE)[way]
    for app in (client,):  # one query path: the front, evaluating in a thread
        before = count(app.get("/sparql", query_string={"query": query, **params}, headers=CSV))
        for name, headers in ALLOWED.items():
            response = app.get("/sparql", query_string={"query": query, **params}, headers={**CSV, **headers})
            assert count(response) > 0, name
            assert response.headers["Cache-Control"] == "private"
        # a token holder's answer is cached apart: the same request without a token still finds nothing
        after = app.get("/sparql", query_string={"query": query, **params}, headers=CSV)
        assert before == count(after) == 0 and after.headers.get("Cache-Control") != "private"


def test_a_token_holder_s_dataset_is_private_or_public_not_both(client):
    q, sample = private_graphs(BASE)["quarantine"], f"{BASE}graph/sample"
    mixed = f"SELECT (COUNT(*) AS ?n) FROM <{q}> FROM NAMED <{sample}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    response = client.get("/sparql", query_string={"query": mixed}, headers={**CSV, **WITH_READ})
    assert response.status_code == 400 and "not both" in response.get_data(as_text=True)
    assert count(client.get("/sparql", query_string={"query": mixed}, headers=CSV)) > 0  # the public one
    public = f"SELECT (COUNT(*) AS ?n) FROM <{sample}> WHERE {{ ?s ?p ?o }}"
    assert count(client.get("/sparql", query_string={"query": public}, headers={**CSV, **WITH_READ})) > 0


def test_a_token_does_not_widen_the_default_dataset(client):
    """Without a dataset of its own a query reads the public graphs, token or not."""
    for way in ("graph", "graph-variable", "record", "record-in-any-graph"):
        query, _ = absent_queries(BASE)[way]
        response = client.get("/sparql", query_string={"query": query}, headers={**CSV, **WITH_WRITE})
        assert count(response) == 0, way


def test_the_query_page_sees_no_private_graph(client):
    """The editor's page reads the public graphs, token or not (it is a page, not the protocol)."""
    for way in NAMING:
        query, params = absent_queries(BASE)[way]
        if params:
            continue  # the page has no dataset parameters
        for headers in (NONE, WITH_READ):
            page = client.get("/query.json", query_string={"query": query}, headers=headers)
            assert page.status_code == 200, page.get_data(as_text=True)[:300]
            assert [[cell["value"] for cell in row] for row in page.json["rows"]] == [["0"]], way


# ---------------------------------------------------------------- resources, dump


def private_resources(base: str, client) -> dict[str, str]:
    run = client.get("/graph/sample", headers={"Accept": "application/json"}).json["inbound"][0]["subject"]
    return {"quarantined": f"{base}dataset/{BROKEN}", "run": run["iri"], "graph": f"{base}graph/sample"}


@pytest.mark.parametrize("fmt", ["ttl", "nt", "rdf", "jsonld"])
def test_the_rdf_of_a_private_resource_needs_a_token(client, fmt):
    for kind, iri in private_resources(BASE, client).items():
        for name, headers in DENIED.items():
            response = client.get("/resource", query_string={"uri": iri, "format": fmt}, headers=headers)
            assert response.status_code == 404, (kind, name)
        for name, headers in ALLOWED.items():
            response = client.get("/resource", query_string={"uri": iri, "format": fmt}, headers=headers)
            assert response.status_code == 200 and response.headers["Cache-Control"] == "private", (
                kind,
                name,
            )
            etag = response.headers["ETag"]
            again = client.get(
                "/resource", query_string={"uri": iri, "format": fmt}, headers={"If-None-Match": etag}
            )
            assert again.status_code == 404, (kind, "a token holder's ETag is no way in")
    minted = client.get(f"/dataset/{BROKEN}", headers={"Accept": "text/turtle"})
    assert minted.status_code == 404
    minted = client.get(f"/dataset/{BROKEN}.ttl", headers=WITH_READ)
    assert minted.status_code == 200 and b"ValidationResult" in minted.data  # the report travels with it


def test_the_pages_of_private_resources_still_show_them(client):
    for kind, iri in private_resources(BASE, client).items():
        for fmt in ("html", "json"):
            response = client.get("/resource", query_string={"uri": iri, "format": fmt})
            assert response.status_code == 200, (kind, fmt)
    page = client.get(f"/dataset/{BROKEN}", headers={"Accept": "application/json"}).json
    assert page["status"] == "quarantined" and any(f["severity"] == "violation" for f in page["findings"])
    assert (
        "Quarantined: not published."
        in client.get(f"/dataset/{BROKEN}", headers={"Accept": "text/html"}).text
    )
    quality = client.get("/quality.json").json
    assert [q["record"] for q in quality["quarantined"]["items"]] == [f"{BASE}dataset/{BROKEN}"]
    published = client.get("/dataset/vea-air-no2-hourly", headers={"Accept": "text/turtle"})
    assert published.status_code == 200 and "Cache-Control" not in published.headers


def test_public_pages_name_a_source_file_without_the_server_s_folders(client, held):
    """The run and the quarantined record keep the path as given (a token holder's RDF, kg
    sources); every page, its JSON twin and /quality show the file's name only."""
    folder = str(held.store.parent)
    resources = private_resources(BASE, client)
    pages = [
        ("/resource", {"uri": iri, "format": fmt}) for iri in resources.values() for fmt in ("html", "json")
    ]
    pages += [
        ("/quality", {}),
        ("/quality.json", {}),
        ("/quality", {"source": "sample"}),
        (f"/dataset/{BROKEN}", {}),
    ]
    for path, args in pages:
        text = client.get(path, query_string=args).get_data(as_text=True)
        assert folder not in text, (path, args)
    run = client.get("/resource.json", query_string={"uri": resources["run"]}).get_data(as_text=True)
    assert '"sample"' in run  # the folder ingested, by its name
    quarantined = client.get("/quality.json").json["quarantined"]["items"][0]
    assert quarantined["origin"].startswith("datasets.csv, line ")
    rdf = client.get("/resource", query_string={"uri": resources["run"], "format": "nt"}, headers=WITH_READ)
    assert rdf.status_code == 200 and folder in rdf.get_data(as_text=True)


def dumped_graphs(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {line.rsplit(" ", 2)[-2][1:-1] for line in response.get_data(as_text=True).splitlines()}


def test_the_dump_has_the_private_graphs_only_for_a_token_holder(client):
    private = set(private_graphs(BASE).values())
    public = dumped_graphs(client.get("/dump.nq"))
    assert f"{BASE}graph/sample" in public and not public & private
    for headers in (NONE, WITH_READ, WITH_WRITE):
        assert dumped_graphs(client.get("/dump.nq?graphs=public", headers=headers)) == public
    for headers in DENIED.values():
        assert dumped_graphs(client.get("/dump.nq?graphs=all", headers=headers)) == public
    for headers in ALLOWED.values():
        every = client.get("/dump.nq?graphs=all", headers=headers)
        assert dumped_graphs(every) == public | private
        assert every.headers["Cache-Control"].startswith("private")
        denied = client.get("/dump.nq?graphs=all", headers={"If-None-Match": every.headers["ETag"]})
        assert denied.status_code == 200 and dumped_graphs(denied) == public


@pytest.mark.parametrize("query", ["graphs=", "graphs=private", "graphs=ALL", "graphs=all&graphs=all"])
def test_the_dump_refuses_a_bad_graphs_parameter(client, query):
    response = client.get(f"/dump.nq?{query}", headers=WITH_READ)
    assert response.status_code == 400 and "graphs" in response.get_data(as_text=True)


# ---------------------------------------------------------------- over a socket, under kg serve


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("private-live")
    with serve(root / "store", sample=False, KG_READ_TOKEN=READ, KG_UPDATE_TOKEN=WRITE) as server:
        server.ingest(with_broken_record(root / "sample"), "sample")
        yield server


def live_count(live: str, query: str, headers: dict[str, str], **params: str) -> int:
    url = f"{live}sparql?{urllib.parse.urlencode({'query': query, **params})}"
    status, _, body = request(url, headers={**CSV, **headers})
    assert status == 200, body[:300]
    return int(body.decode().split()[1])


def test_every_path_over_a_socket(live):
    graphs = private_graphs(live)
    for way, (query, params) in absent_queries(live).items():
        for _ in range(2):  # the second from the front's result cache
            for headers in DENIED.values():
                assert live_count(live, query, headers, **params) == 0, way
        if way in DATASET_NAMING:
            assert live_count(live, query, WITH_READ, **params) > 0, way
            assert live_count(live, query, NONE, **params) == 0, way  # not the token holder's entry
    record = f"{live}dataset/{BROKEN}"
    for _ in range(2):  # DESCRIBE <iri>: answered by the front itself, on the loop
        status, _, body = request(f"{live}sparql?{urllib.parse.urlencode({'query': f'DESCRIBE <{record}>'})}")
        assert status == 200 and record.encode() not in body
    for kind, graph in graphs.items():
        url = f"{live}store?{urllib.parse.urlencode({'graph': graph})}"
        for method in ("GET", "HEAD"):
            assert request(url, method=method)[0] == 404, kind
            assert request(url, method=method, headers=WRONG)[0] == 404, kind
            assert request(url, method=method, headers=WITH_READ)[0] == 200, kind
    ttl = f"{live}resource?{urllib.parse.urlencode({'uri': record, 'format': 'ttl'})}"
    assert request(ttl)[0] == 404 and request(ttl, headers=WITH_WRITE)[0] == 200
    assert request(record, headers={"Accept": "text/html"})[0] == 200
    status, _, body = request(f"{live}dump.nq?graphs=all")
    assert status == 200 and f"<{graphs['quarantine']}>".encode() not in body
    status, _, body = request(f"{live}dump.nq?graphs=all", headers=WITH_READ)
    assert status == 200 and f"<{graphs['quarantine']}>".encode() in body


# ---------------------------------------------------------------- forwarded headers

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def seen_as(server, headers: dict[str, str]) -> tuple[str, str]:
    """(the scheme the app saw, from the Service Description's endpoint; the client address it logged)."""
    before = len(server.log.read_bytes().splitlines())
    status, _, body = request(f"{server}sparql", headers={"Accept": "application/n-triples", **headers})
    assert status == 200
    endpoint = next(line.split()[0][1:-1] for line in body.decode().splitlines() if "#endpoint>" in line)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = server.log.read_bytes().splitlines()[before:]
        logged = [json.loads(x) for x in lines if x.startswith(b'{"time"') and b'"path": "/sparql"' in x]
        if logged:
            return endpoint.split(":", 1)[0], logged[-1]["remote"]
        time.sleep(0.1)
    raise AssertionError("the request was not logged")


def test_forwarded_headers_are_believed_only_from_the_named_proxies(live, tmp_path):
    """The default names no proxy; an untrusted peer's forwarded headers change nothing."""
    assert seen_as(live, FORWARDED) == ("http", "127.0.0.1")
    with serve(tmp_path / "elsewhere", sample=False, KG_FORWARDED_ALLOW_IPS="10.20.30.40") as other:
        assert seen_as(other, FORWARDED) == ("http", "127.0.0.1")
    with serve(tmp_path / "trusted", sample=False, KG_FORWARDED_ALLOW_IPS="127.0.0.1,::1") as proxied:
        assert seen_as(proxied, FORWARDED) == ("https", "203.0.113.9")
        assert seen_as(proxied, {}) == ("http", "127.0.0.1")


def test_kg_serve_refuses_a_proxy_that_is_no_address(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "KG_STORE": str(tmp_path / "store"),
        "KG_FORWARDED_ALLOW_IPS": "proxy.lan",
    }
    done = subprocess.run(
        [kg_command(), "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "KG_FORWARDED_ALLOW_IPS: 'proxy.lan' is not an IP address" in done.stderr
