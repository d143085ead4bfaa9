"""The SPARQL 1.1 Protocol and Graph Store Protocol, rule by rule, over a real socket.

One gunicorn server with two workers and a write token serves the bundled
sample; raw HTTP checks every rule, real clients (SPARQLWrapper, rdflib's
SPARQLStore and SPARQLUpdateStore) check that they get what they expect.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse

import pytest
import rdflib
from live import ROOT, request, serve
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from SPARQLWrapper import JSON, POST, RDFXML, SPARQLWrapper

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DCAT = "http://www.w3.org/ns/dcat#"
COUNT = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT}Dataset> }}"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("proto") / "store", workers=2, KG_UPDATE_TOKEN=TOKEN) as server:
        yield server


def sparql(live, params: dict | list, accept: str = "", method: str = "GET", headers: dict | None = None):
    query = urllib.parse.urlencode(params, doseq=True)
    hdrs = {"Accept": accept} if accept else {}
    hdrs.update(headers or {})
    if method == "GET":
        return request(f"{live}sparql?{query}", headers=hdrs)
    return request(f"{live}sparql", method="POST", data=query.encode(), headers={**FORM, **hdrs})


def count_of(body: bytes) -> int:
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


# ---------------------------------------------------------------- queries


def test_query_by_get_form_post_and_direct_post(live):
    assert count_of(sparql(live, {"query": COUNT})[2]) == 44
    assert count_of(sparql(live, {"query": COUNT}, method="POST")[2]) == 44
    status, _, body = request(
        f"{live}sparql",
        method="POST",
        data=COUNT.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert status == 200 and count_of(body) == 44


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("application/sparql-results+json;q=0.1, text/tab-separated-values", "text/tab-separated-values"),
        ("image/png", "application/sparql-results+json"),  # unsatisfiable: the default, documented
    ],
)
def test_select_negotiation(live, accept, expected):
    status, headers, _ = sparql(live, {"query": COUNT}, accept=accept)
    assert status == 200 and headers["Content-Type"].split(";")[0] == expected
    assert headers["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/rdf+xml", "xml"),
        ("application/ld+json", "json-ld"),
        ("application/n-quads", "nquads"),
        ("application/trig", "trig"),
    ],
)
def test_construct_in_every_rdf_syntax(live, accept, rdflib_format):
    query = f"CONSTRUCT {{ ?d a <{DCAT}Dataset> }} WHERE {{ ?d a <{DCAT}Dataset> }}"
    status, headers, body = sparql(live, {"query": query}, accept=accept)
    assert status == 200 and headers["Content-Type"].split(";")[0] == accept
    graph = rdflib.Dataset() if rdflib_format in ("nquads", "trig") else rdflib.Graph()
    graph.parse(data=body, format=rdflib_format)
    assert len(graph) == 44


def test_describe_and_format_parameter(live):
    status, headers, body = sparql(
        live, {"query": f"DESCRIBE <{live}dataset/vea-air-no2-hourly>", "format": "nt"}, accept="text/html"
    )
    assert status == 200 and headers["Content-Type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=body, format="nt")
    assert (
        rdflib.URIRef(f"{live}dataset/vea-air-no2-hourly"),
        rdflib.RDF.type,
        rdflib.URIRef(DCAT + "Dataset"),
    ) in graph


def test_ask_is_json_or_xml(live):
    status, headers, body = sparql(live, {"query": f"ASK {{ ?d a <{DCAT}Dataset> }}"}, accept="text/csv")
    assert status == 200 and json.loads(body) == {"head": {}, "boolean": True}
    status, headers, body = sparql(
        live, {"query": "ASK { <urn:x> <urn:y> <urn:z> }"}, accept="application/sparql-results+xml"
    )
    assert b"<boolean>false</boolean>" in body


def test_dataset_parameters(live):
    catalog = f"{live}graph/catalog"
    status, _, body = sparql(
        live, {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "default-graph-uri": catalog}
    )
    assert count_of(body) == 9
    named = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count_of(sparql(live, {"query": named, "named-graph-uri": [catalog]})[2]) == 1
    own_from = f"SELECT (COUNT(*) AS ?n) FROM <{catalog}> WHERE {{ ?s ?p ?o }}"
    assert count_of(sparql(live, {"query": own_from})[2]) == 9


def test_bad_requests(live):
    status, headers, body = sparql(live, {"query": "SELECT WHERE {"})
    assert status == 400 and b"Bad query" in body and b"Traceback" not in body
    assert sparql(live, {"query": [COUNT, COUNT]})[0] == 400
    assert (
        request(f"{live}sparql", method="POST", data=b"x", headers={"Content-Type": "text/plain"})[0] == 415
    )
    assert sparql(live, {"update": "CLEAR ALL"})[0] == 405  # never by GET
    assert sparql(live, {"query": COUNT, "update": "CLEAR ALL"}, method="POST")[0] == 400


def test_service_description(live):
    for accept, fmt in (("text/turtle", "turtle"), ("application/ld+json", "json-ld")):
        status, headers, body = request(f"{live}sparql", headers={"Accept": accept})
        assert status == 200 and headers["Content-Type"].startswith(accept)
        graph = rdflib.Graph().parse(data=body, format=fmt)
        sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
        endpoint = rdflib.URIRef(f"{live}sparql")
        assert (endpoint, sd.feature, sd.UnionDefaultGraph) in graph
        assert (endpoint, sd.supportedLanguage, sd.SPARQL11Update) in graph
        names = {str(o) for o in graph.objects(None, sd.name)}
        assert f"{live}graph/sample" in names
        sizes = [int(o) for o in graph.objects(None, rdflib.URIRef("http://rdfs.org/ns/void#triples"))]
        assert max(sizes) > 1000


def test_cors_for_readers(live):
    status, headers, _ = sparql(live, {"query": COUNT}, headers={"Origin": "https://yasgui.example"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = request(
        f"{live}sparql",
        method="OPTIONS",
        headers={
            "Origin": "https://yasgui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]


# ---------------------------------------------------------------- caching


def test_etag_304_and_no_stale_answer_after_a_commit(live):
    query = {"query": "SELECT ?t WHERE { <urn:etag:s> <urn:etag:p> ?t }"}
    status, headers, body = sparql(live, query)
    etag = headers["ETag"]
    assert sparql(live, query, headers={"If-None-Match": etag})[0] == 304
    assert (
        sparql(
            live, {"update": 'INSERT DATA { <urn:etag:s> <urn:etag:p> "new" }'}, method="POST", headers=AUTH
        )[0]
        == 204
    )
    for _ in range(6):  # whichever worker answers: the new data, a new ETag
        status, headers, body = sparql(live, query, headers={"If-None-Match": etag})
        assert status == 200 and headers["ETag"] != etag
        assert json.loads(body)["results"]["bindings"][0]["t"]["value"] == "new"


# ---------------------------------------------------------------- updates and auth


def test_updates_need_the_token(live):
    update = {"update": "INSERT DATA { <urn:auth:s> <urn:auth:p> 1 }"}
    status, headers, _ = sparql(live, update, method="POST")
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    assert sparql(live, update, method="POST", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert (
        sparql(live, {"query": "ASK { <urn:auth:s> ?p ?o }"}, accept="application/json")[2]
        == b'{"head":{},"boolean":false}'
    )
    status, _, _ = request(
        f"{live}sparql",
        method="POST",
        data=update["update"].encode(),
        headers={"Content-Type": "application/sparql-update", **AUTH},
    )
    assert status == 204
    for _ in range(6):  # visible to the very next request, on every worker
        assert json.loads(sparql(live, {"query": "ASK { <urn:auth:s> ?p ?o }"})[2])["boolean"] is True


def test_bad_update_is_400_and_changes_nothing(live):
    version = json.loads(request(f"{live}health")[2])["store_version"]
    status, _, body = sparql(live, {"update": "INSERT DATA { <urn:x> }"}, method="POST", headers=AUTH)
    assert status == 400 and b"Traceback" not in body
    assert json.loads(request(f"{live}health")[2])["store_version"] == version


def test_drop_or_create_against_a_missing_or_existing_graph_is_a_400(live):
    """SPARQL 1.1 Update: DROP/CLEAR GRAPH of a missing graph and CREATE GRAPH of an existing one
    fail unless SILENT. The embedded store answered 500 (pyoxigraph raises RuntimeError), a remote
    Oxigraph 500 too; both are the update's fault, with the house's error body, and change nothing."""
    version = json.loads(request(f"{live}health")[2])["store_version"]
    drop = {"update": "DROP GRAPH <urn:missing:g>"}
    status, headers, body = sparql(live, drop, method="POST", headers=AUTH)
    assert status == 400, body
    assert headers["Content-Type"].startswith("text/plain")
    assert body.decode() == "Bad Request: The graph <urn:missing:g> does not exist\n"
    assert sparql(live, {"update": "CLEAR GRAPH <urn:missing:g>"}, method="POST", headers=AUTH)[0] == 400
    assert json.loads(request(f"{live}health")[2])["store_version"] == version
    silent = {"update": "DROP SILENT GRAPH <urn:missing:g>"}
    assert sparql(live, silent, method="POST", headers=AUTH)[0] == 204
    create = {"update": "CREATE GRAPH <urn:created:g>"}
    assert sparql(live, create, method="POST", headers=AUTH)[0] == 204
    status, _, body = sparql(live, create, method="POST", headers=AUTH)
    assert (status, body) == (400, b"Bad Request: The graph <urn:created:g> already exists\n")
    # an operation of the same request that names the graph first: the store decides (it exists here)
    made = "INSERT DATA { GRAPH <urn:made:g> { <urn:m:s> <urn:m:p> 1 } }"
    both = {"update": f"{made} ; DROP GRAPH <urn:made:g>"}
    assert sparql(live, both, method="POST", headers=AUTH)[0] == 204
    assert sparql(live, {"update": "DROP GRAPH <urn:created:g>"}, method="POST", headers=AUTH)[0] == 204
    ask = {"query": "ASK { GRAPH <urn:made:g> { ?s ?p ?o } }"}
    assert json.loads(sparql(live, ask, accept="application/json")[2])["boolean"] is False


def test_graph_listings_name_only_the_datasets_graphs(live):
    """``GRAPH ?g {}`` lists the named graphs of the query's dataset, and nothing of the store's own
    bookkeeping: a remote store once named ``urn:kg:empty`` as the dataset's only named graph when
    it had none, and Oxigraph listed it."""
    listing = "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"

    def graphs(params: dict, headers: dict | None = None) -> list[str]:
        status, _, body = sparql(live, params, accept="application/sparql-results+json", headers=headers)
        assert status == 200, body
        return [row["g"]["value"] for row in json.loads(body)["results"]["bindings"]]

    public = graphs({"query": listing})
    assert public and all(g.startswith(live) for g in public), public
    assert graphs({"query": listing.replace("WHERE", f"FROM <{public[0]}> WHERE")}) == []
    unknown = graphs({"query": listing, "default-graph-uri": public[0], "named-graph-uri": "urn:kg:none"})
    assert "urn:kg:empty" not in unknown
    private = graphs({"query": listing}, headers=AUTH)
    assert "urn:kg:empty" not in private and "urn:kg:state" not in private


def test_using_graph_uri(live):
    graph = "urn:using:g"
    assert (
        sparql(
            live,
            {"update": f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:u:s> <urn:u:p> 1 }} }}"},
            method="POST",
            headers=AUTH,
        )[0]
        == 204
    )
    update = "INSERT { GRAPH <urn:using:out> { ?s <urn:u:copied> ?o } } WHERE { ?s <urn:u:p> ?o }"
    status, _, _ = sparql(live, {"update": update, "using-graph-uri": graph}, method="POST", headers=AUTH)
    assert status == 204
    ask = "ASK { GRAPH <urn:using:out> { <urn:u:s> <urn:u:copied> 1 } }"
    assert json.loads(sparql(live, {"query": ask})[2])["boolean"] is True
    both = {"update": f"WITH <{graph}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", "using-graph-uri": graph}
    assert sparql(live, both, method="POST", headers=AUTH)[0] == 400


def test_real_clients(live):
    client = SPARQLWrapper(f"{live}sparql")
    client.setQuery(f"CONSTRUCT {{ ?d a <{DCAT}Dataset> }} WHERE {{ ?d a <{DCAT}Dataset> }}")
    client.setReturnFormat(RDFXML)
    assert len(client.query().convert()) == 44
    client = SPARQLWrapper(f"{live}sparql", updateEndpoint=f"{live}sparql")
    client.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    client.setMethod(POST)
    client.setQuery('INSERT DATA { <urn:wrapper:s> <urn:wrapper:p> "w" }')
    client.query()
    client.setQuery("SELECT ?o WHERE { <urn:wrapper:s> <urn:wrapper:p> ?o }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"][0]["o"]["value"] == "w"

    store = SPARQLUpdateStore(
        query_endpoint=f"{live}sparql",
        update_endpoint=f"{live}sparql",
        auth=None,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    graph = rdflib.Graph(store=store, identifier=rdflib.URIRef("urn:rdflib:g"))
    graph.add((rdflib.URIRef("urn:rdflib:s"), rdflib.URIRef("urn:rdflib:p"), rdflib.Literal("r")))
    assert list(graph.objects(rdflib.URIRef("urn:rdflib:s"), rdflib.URIRef("urn:rdflib:p"))) == [
        rdflib.Literal("r")
    ]


# ---------------------------------------------------------------- Graph Store Protocol


def test_graph_store_protocol(live):
    url = f"{live}store?graph={urllib.parse.quote('http://example.org/g1', safe='')}"
    turtle = {"Content-Type": "text/turtle"}
    assert request(url)[0] == 404
    assert request(url, method="PUT", data=b"<urn:a> <urn:b> <urn:c> .", headers=turtle)[0] == 401
    assert request(url, method="PUT", data=b"<urn:a> <urn:b> <urn:c> .", headers={**turtle, **AUTH})[0] == 201
    assert request(url, method="PUT", data=b"<urn:a> <urn:b> <urn:d> .", headers={**turtle, **AUTH})[0] == 204
    status, headers, body = request(url, headers={"Accept": "application/n-triples"})
    assert status == 200 and body.strip() == b"<urn:a> <urn:b> <urn:d> ."
    assert (
        request(url, method="POST", data=b"<urn:a> <urn:b> <urn:e> .", headers={**turtle, **AUTH})[0] == 204
    )
    status, headers, body = request(url, method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Type"].startswith("text/turtle")
    assert len(rdflib.Graph().parse(data=request(url)[2], format="turtle")) == 2
    bad = request(url, method="PUT", data=b"<urn:a> <urn:b> .", headers={**turtle, **AUTH})
    assert bad[0] == 400 and len(rdflib.Graph().parse(data=request(url)[2], format="turtle")) == 2
    assert request(url, method="PUT", data=b"x", headers={"Content-Type": "image/png", **AUTH})[0] == 415
    assert request(url, method="DELETE", headers=AUTH)[0] == 204
    assert request(url, method="DELETE", headers=AUTH)[0] == 404
    assert request(f"{live}store")[0] == 400
    assert request(f"{live}store?graph=not%20an%20iri")[0] == 400
    default = f"{live}store?default"
    assert (
        request(default, method="POST", data=b'<urn:def> <urn:p> "d" .', headers={**turtle, **AUTH})[0] == 204
    )
    assert b"urn:def" in request(default, headers={"Accept": "application/n-triples"})[2]


def multipart(*parts: tuple[str, bytes]) -> tuple[bytes, dict[str, str]]:
    boundary = "kg-test-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"; filename="f{i}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n".encode()
        + data
        + b"\r\n"
        for i, (ctype, data) in enumerate(parts)
    )
    return body + f"--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }


def test_graph_store_new_graphs_direct_identification_and_multipart(live):
    turtle = {"Content-Type": "text/turtle"}
    status, headers, _ = request(f"{live}store", method="POST", data=b"<urn:n> <urn:p> 1 .", headers=turtle)
    assert status == 401  # a new graph is a write
    status, headers, _ = request(
        f"{live}store", method="POST", data=b"<urn:n> <urn:p> 1 .", headers={**turtle, **AUTH}
    )
    assert status == 201 and headers["Location"].startswith(f"{live}store/")
    new = headers["Location"]
    assert request(new, headers={"Accept": "application/n-triples"})[2].startswith(b'<urn:n> <urn:p> "1"')
    indirect = f"{live}store?{urllib.parse.urlencode({'graph': new})}"
    assert request(indirect, headers={"Accept": "application/n-triples"})[0] == 200  # one graph, two names
    body, form = multipart(
        ("text/turtle", b"<urn:n> <urn:q> [ <urn:r> 2 ] ."),
        ("application/n-triples", b"<urn:n> <urn:q> _:b ."),
    )
    assert request(new, method="POST", data=body, headers={**form, **AUTH})[0] == 204
    merged = rdflib.Graph().parse(data=request(new, headers={"Accept": "text/turtle"})[2], format="turtle")
    assert len(merged) == 4 and len(set(merged.objects(None, rdflib.URIRef("urn:q")))) == 2  # two blank nodes
    assert request(new, method="DELETE", headers=AUTH)[0] == 204 and request(new)[0] == 404
    # bad input
    assert request(f"{new}?graph=urn:x")[0] == 400 and request(f"{new}?default")[0] == 400
    for bad in ("a%3Cb", "a%22b", "a%7Bb%7D"):  # the URL would be no IRI: a 400, whatever the method
        for method in ("GET", "PUT", "DELETE"):
            status, headers, body = request(f"{live}store/{bad}", method=method, data=b"", headers=AUTH)
            assert status == 400 and headers["Content-Type"].startswith("text/plain"), (bad, method, body)
    body, form = multipart(("image/png", b"x"))
    assert request(new, method="PUT", data=body, headers={**form, **AUTH})[0] == 415
    body, form = multipart(("text/turtle", b"<urn:a> <urn:b> ."))
    assert request(new, method="PUT", data=body, headers={**form, **AUTH})[0] == 400
    empty = {"Content-Type": "multipart/form-data; boundary=x"}
    assert request(new, method="PUT", data=b"--x--\r\n", headers={**empty, **AUTH})[0] == 400
    assert request(new)[0] == 404  # nothing was written by the refused requests
    for method in ("PUT", "DELETE"):  # only a POST to the store itself makes a graph
        assert request(f"{live}store", method=method, data=b"", headers={**turtle, **AUTH})[0] == 400


def test_relative_iris_are_resolved_against_the_endpoint(live):
    status, _, body = request(
        f"{live}sparql?{urllib.parse.urlencode({'query': 'CONSTRUCT { <s> <p> <> } WHERE {}'})}",
        headers={"Accept": "application/n-triples"},
    )
    assert status == 200 and body.strip() == f"<{live}s> <{live}p> <{live}sparql> .".encode()
    based = "BASE <http://other.example/> CONSTRUCT { <s> <p> 1 } WHERE {}"
    status, _, body = request(
        f"{live}sparql?{urllib.parse.urlencode({'query': based})}",
        headers={"Accept": "application/n-triples"},
    )
    assert status == 200 and b"<http://other.example/s>" in body  # its own BASE wins
    status, _, body = request(f"{live}sparql?{urllib.parse.urlencode({'query': 'ASK { <s> ?p <'})}")
    assert status == 400 and b"1:" in body  # the client's own line in the error


def test_the_service_description_names_the_base_relative_iris_resolve_against(live):
    """What the description says is what a query and an update do: ``<s>`` is ``<{endpoint}/../s>``."""
    status, _, body = request(f"{live}sparql", headers={"Accept": "text/turtle"})
    endpoint = rdflib.URIRef(f"{live}sparql")
    notes = [
        str(c)
        for c in rdflib.Graph().parse(data=body, format="turtle").objects(endpoint, rdflib.RDFS.comment)
    ]
    assert status == 200 and any("Relative IRIs" in n and n.endswith(str(endpoint)) for n in notes), notes
    graph = f"{live}graph/relative-iris"
    written = f"INSERT DATA {{ GRAPH <{graph}> {{ <s> <p> <> }} }}"
    status, _, body = request(
        f"{live}sparql?ignored=1",  # the request's URL without its query string
        method="POST",
        data=written.encode(),
        headers={**AUTH, "Content-Type": "application/sparql-update"},
    )
    assert status == 204, body
    try:
        read = f"SELECT ?s ?o WHERE {{ GRAPH <{graph}> {{ ?s <p> ?o }} }}"
        status, _, body = sparql(live, {"query": read}, accept="application/sparql-results+json")
        rows = json.loads(body)["results"]["bindings"]
        assert [(r["s"]["value"], r["o"]["value"]) for r in rows] == [(f"{live}s", str(endpoint))]
    finally:
        request(
            f"{live}sparql",
            method="POST",
            data=f"DROP SILENT GRAPH <{graph}>".encode(),
            headers={**AUTH, "Content-Type": "application/sparql-update"},
        )


# ---------------------------------------------------------------- live data


def test_ingest_while_serving_never_mixes_and_shows_up_within_a_second(live, tmp_path):
    """`kg ingest` in a subprocess while both workers answer: old or new, never a mix."""
    folder = tmp_path / "v2"
    folder.mkdir()
    for name in ("agencies.csv", "datasets.csv", "distributions.csv", "services.csv"):
        text = (ROOT / "kg/sample/csv" / name).read_text(encoding="utf-8")
        if name == "datasets.csv":
            lines = text.splitlines()
            text = "\n".join(lines[:21]) + "\n"  # 20 of the 44 datasets
        if name == "distributions.csv":
            kept = {
                line.split(",", 1)[0]
                for line in (folder / "datasets.csv").read_text(encoding="utf-8").splitlines()[1:]
            }
            lines = text.splitlines()
            text = "\n".join([lines[0]] + [x for x in lines[1:] if x.split(",", 1)[0] in kept]) + "\n"
        if name == "services.csv":
            continue
        (folder / name).write_text(text, encoding="utf-8")
    graph = f"{live}graph/sample"
    select = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?d a <{DCAT}Dataset> }} }}"
    query = {"query": select}
    seen: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:  # each a poll at most every 5 ms: together still one every ~2 ms (~1,500 a
        # run), not ~8,000 that kept both workers busy (~3 CPU-s of a run)
        while not stop.wait(0.005):
            status, _, body = sparql(live, query)
            seen.append((time.monotonic(), count_of(body) if status == 200 else -status))

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for t in pollers:
        t.start()
    time.sleep(0.3)
    live.kg("ingest", folder, "--source", "sample")
    committed = time.monotonic()
    time.sleep(1.5)
    stop.set()
    for t in pollers:
        t.join()
    assert {n for _, n in seen} <= {44, 20}, "a query saw something other than the old or the new source"
    late = [n for t, n in seen if t > committed + 1.0]
    assert late and set(late) == {20}, "a request more than a second after the commit saw old data"
    live.ingest(ROOT / "kg/sample/csv", "sample")  # leave the sample as it was
