"""The HTTP front (kg/web/front.py): ``/sparql`` answers as the Protocol and the app say, and never stale.

A real server on a store, the app as `kg serve` runs it. Each request is sent twice (the first
fills the result cache, the second is answered from it): both answers must be the same, and each
must carry the status, headers and body expected of it (negotiated type, ETag, the cut's headers,
CORS, the errors' bodies). In-process tests check that Flask gets the updates only.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from asgi import FrontClient, flask_scopes
from conftest import EMBEDDED, make_settings
from live import ROOT, request, serve

from kg import create_app
from kg.web.front import Front

TOKEN = "front-token"
THREADS = 2  # the endpoint's evaluation threads in the client-gone test (KG_QUERY_THREADS)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DCAT = "http://www.w3.org/ns/dcat#"
COUNT = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT}Dataset> }}"
TITLES = "SELECT ?d ?t WHERE { ?d <http://purl.org/dc/terms/title> ?t } ORDER BY ?d ?t"  # > 5 rows: cut
SETTINGS = {"KG_UPDATE_TOKEN": TOKEN, "KG_BASE_URI": "http://data.example.org/", "KG_MAX_RESULTS": "5"}
CORS = {"access-control-allow-origin": "*", "access-control-expose-headers": "ETag, Content-Type"}
ETAG = re.compile(r'W/"[0-9]{6}-[0-9a-f]{16}"')
JSON, XML = "application/sparql-results+json", "application/sparql-results+xml"
TURTLE, NT = "text/turtle; charset=utf-8", "application/n-triples; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app as `kg serve` runs it, one worker, so that the second request of a pair finds the
    first one's answer in the cache."""
    with serve(tmp_path_factory.mktemp("front") / "store", workers=1, **SETTINGS) as live:
        yield live


def first_dataset(live) -> str:
    query = f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} ORDER BY ?d LIMIT 1"
    body = request(f"{live}sparql?" + urllib.parse.urlencode({"query": query}))[2]
    return json.loads(body)["results"]["bindings"][0]["d"]["value"]


def send(live, method: str, params: list, headers: dict, body: bytes | None = None):
    """One request; the answer without the headers that differ by the clock or nothing (date, server)."""
    url = f"{live}sparql" + ("?" + urllib.parse.urlencode(params) if params else "")
    status, got, data = request(url, method=method, data=body, headers=headers)
    return status, {k: v for k, v in got.items() if k not in ("date", "server", "connection")}, data


def _json_count(body: bytes) -> int:
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def _xml_count(body: bytes) -> int:
    (literal,) = ET.fromstring(body).iter("{http://www.w3.org/2005/sparql-results#}literal")
    return int(literal.text)


def _rows(body: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode()), delimiter=delimiter))


def cases(dataset: str, count: int) -> list[tuple]:
    """(name, method, query-string pairs, headers, body, status, Content-Type, check of the body)
    of requests to ``/sparql``; ``count``: the datasets of the store (its JSON answer to COUNT)."""
    describe = f"DESCRIBE <{dataset}>"
    subject = f"<{dataset}> ".encode()
    origin = {"Origin": "https://elsewhere.example"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    direct = {"Content-Type": "application/sparql-query"}
    return [
        ("select", "GET", [("query", COUNT)], {}, None, 200, JSON, lambda b: _json_count(b) == count),
        ("select csv", "GET", [("query", COUNT)], {"Accept": "text/csv"}, None, 200,
         "text/csv; charset=utf-8", lambda b: _rows(b, ",") == [["n"], [str(count)]]),
        ("select q-values", "GET", [("query", COUNT)], {"Accept": "text/csv;q=0.5, text/xml;q=0.9"}, None,
         200, XML, lambda b: _xml_count(b) == count),
        ("select format=", "GET", [("query", COUNT), ("format", "TSV")], {"Accept": "text/csv"}, None, 200,
         "text/tab-separated-values; charset=utf-8", lambda b: _rows(b, "\t") == [["?n"], [str(count)]]),
        ("select dataset", "GET", [("query", COUNT), ("default-graph-uri", "urn:none")], {}, None, 200, JSON,
         lambda b: _json_count(b) == 0),
        ("select cut", "GET", [("query", TITLES)], origin, None, 200, JSON,
         lambda b: len(json.loads(b)["results"]["bindings"]) == 5),
        ("ask csv", "GET", [("query", "ASK {}")], {"Accept": "text/csv"}, None, 200, JSON,
         lambda b: json.loads(b) == {"head": {}, "boolean": True}),
        ("describe", "GET", [("query", describe)], {"Accept": "text/turtle"}, None, 200, TURTLE,
         lambda b: b.startswith(subject) and b" ;\n" in b),
        ("describe nt", "GET", [("query", describe)], {"Accept": "application/n-triples", **origin}, None,
         200, NT, lambda b: all(line.startswith(subject) for line in b.splitlines()) and b.count(b"\n") > 5),
        ("describe jsonld", "GET", [("query", describe), ("format", "jsonld")], {}, None, 200,
         "application/ld+json", lambda b: json.loads(b)[0]["@id"] == dataset),
        ("describe named", "GET", [("query", describe), ("named-graph-uri", "urn:g")], {}, None, 200, TURTLE,
         lambda b: b == b""),
        ("head", "HEAD", [("query", describe)], {"Accept": "text/turtle"}, None, 200, TURTLE, None),
        ("head select", "HEAD", [("query", COUNT)], {}, None, 200, JSON, None),
        ("direct post", "POST", [], direct, COUNT.encode(), 200, JSON, lambda b: _json_count(b) == count),
        ("direct post describe", "POST", [("format", "nt")], direct, describe.encode(), 200, NT,
         lambda b: b.startswith(subject)),
        ("form post", "POST", [], form, urllib.parse.urlencode({"query": COUNT, "format": "xml"}).encode(),
         200, XML, lambda b: _xml_count(b) == count),
        ("bad query", "GET", [("query", "SELECT WHERE {")], {}, None, 400, TEXT,
         lambda b: b.startswith(b"Bad query: error at 1:15") and b"Traceback" not in b),
        ("bad describe", "GET", [("query", "DESCRIBE nope:x")], {"Accept": "application/json"}, None, 400,
         "application/json", lambda b: json.loads(b)["detail"].startswith("error at 1:16")),
        ("two queries", "GET", [("query", COUNT), ("query", COUNT)], {}, None, 400, TEXT,
         lambda b: b == b"Bad Request: more than one 'query' parameter\n"),
        ("body type", "POST", [], {"Content-Type": "text/plain"}, b"x", 415, TEXT,
         lambda b: b.startswith(b"Unsupported Media Type: unsupported request body type 'text/plain'")),
        ("get update", "GET", [("update", "CLEAR ALL")], {}, None, 405, TEXT,
         lambda b: b.startswith(b"Method Not Allowed")),
        ("form update without token", "POST", [], form, b"update=CLEAR+ALL", 401, TEXT,
         lambda b: b == b"a valid bearer token is needed to write\n"),
        ("too long", "GET", [("query", describe + " #" + "x" * 100_000)], {}, None, 400, TEXT, None),
        ("options", "OPTIONS", [], origin, None, 204, None, lambda b: b == b""),
    ]  # fmt: skip


def _check(name: str, answer: tuple, status: int, ctype: str | None, body_ok, get_length: int | None) -> None:
    got_status, headers, body = answer
    assert got_status == status, f"{name}: {got_status} {body[:200]!r}"
    if ctype is not None:
        assert headers["content-type"] == ctype, name
    if body_ok is not None:
        assert body_ok(body), f"{name}: {body[:300]!r}"
    if name == "too long":  # refused by the HTTP parser, before the app
        return
    assert {k: headers.get(k) for k in CORS} == CORS, name
    if status == 204:
        assert headers["access-control-allow-methods"] == "GET, POST, OPTIONS", name
        return
    length = len(body) if get_length is None else get_length  # HEAD: the GET's length, no body
    assert int(headers["content-length"]) == length, name
    if status != 200:
        assert "etag" not in headers, name
        return
    assert ETAG.fullmatch(headers["etag"]), name
    assert (headers["vary"], headers["cache-control"]) == ("Accept", "no-cache"), name
    cut = name == "select cut"
    assert ("kg-results-truncated" in headers) == cut, name
    if cut:
        assert (headers["kg-results-truncated"], headers["kg-result-limit"]) == ("true", "5")
        assert headers["warning"] == '199 kg "results cut at 5 rows (KG_MAX_RESULTS)"'


def test_sparql_answers(served):
    """Every kind of request, answered as expected, the same from the cache, and 304 for its ETag."""
    dataset = first_dataset(served)
    count = _json_count(send(served, "GET", [("query", COUNT + " #count")], {})[2])
    assert count > 0
    for name, method, params, headers, body, status, ctype, body_ok in cases(dataset, count):
        get_length = None
        if method == "HEAD":
            get_length = len(send(served, "GET", params, headers, body)[2])
        first = send(served, method, params, headers, body)
        _check(name, first, status, ctype, body_ok, get_length)
        again = send(served, method, params, headers, body)
        assert again == first, f"{name}: the cached answer differs"
        if first[0] == 200 and "etag" in first[1]:  # and 304 for the ETag the client holds
            held = {**headers, "If-None-Match": f'W/"other", {first[1]["etag"]}'}
            status_304, got, data = send(served, method, params, held, body)
            assert (status_304, data) == (304, b""), name
            assert got == {"etag": first[1]["etag"], **CORS}, name


def test_bad_input_through_the_front(served):
    fast = served
    status, _, body = send(fast, "GET", [("query", "SELECT WHERE {")], {})
    assert status == 400 and b"Bad query" in body and b"Traceback" not in body
    assert send(fast, "GET", [("query", COUNT), ("query", COUNT)], {})[0] == 400
    assert send(fast, "POST", [], {"Content-Type": "text/plain"}, b"x")[0] == 415
    assert send(fast, "GET", [("update", "CLEAR ALL")], {})[0] == 405


def test_the_log_records_fast_answers(served):
    fast = served
    marker = "SELECT ?logged WHERE { <urn:log:s> ?p ?logged }"
    for _ in range(2):  # a miss (Flask) then a hit (the front)
        assert send(fast, "GET", [("query", marker)], {})[0] == 200
    size = len(urllib.parse.urlencode({"query": marker}))

    def logged() -> list[dict]:  # the front writes its line after the answer: it may come a moment later
        lines = [json.loads(line) for line in fast.log.read_text().splitlines() if line.startswith("{")]
        return [line for line in lines if line["path"] == "/sparql" and line["query_bytes"] == size]

    deadline = time.monotonic() + 5
    while len(ours := logged()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ours) == 2 and ours[0].keys() == ours[1].keys()
    assert [(line["method"], line["status"], line["bytes"]) for line in ours] == [
        ("GET", 200, ours[0]["bytes"])
    ] * 2


def test_never_stale_after_an_update_or_an_ingest(tmp_path):
    with serve(tmp_path / "store", workers=2, KG_UPDATE_TOKEN=TOKEN) as live:
        dataset = first_dataset(live)
        describe = [("query", f"DESCRIBE <{dataset}>")]
        probe = [("query", "SELECT ?v WHERE { <urn:front:s> <urn:front:p> ?v }")]
        for _ in range(6):  # both workers hold both answers
            assert send(live, "GET", probe, {})[0] == 200
            assert dataset.encode() in send(live, "GET", describe, {"Accept": "text/turtle"})[2]
        update = urllib.parse.urlencode({"update": 'INSERT DATA { <urn:front:s> <urn:front:p> "new" }'})
        form = {"Content-Type": "application/x-www-form-urlencoded", **AUTH}
        assert send(live, "POST", [], form, update.encode())[0] == 204
        for _ in range(6):  # the very next request, on whichever worker
            assert b'"new"' in send(live, "GET", probe, {})[2]
        live.kg("remove", "sample")  # a write by another process
        for _ in range(6):
            assert dataset.encode() not in send(live, "GET", describe, {"Accept": "text/turtle"})[2]
        live.kg("ingest", ROOT / "kg/sample/csv", "--source", "sample")
        for _ in range(6):
            assert dataset.encode() in send(live, "GET", describe, {"Accept": "text/turtle"})[2]


# ---------------------------------------------------------------- in process: Flask is skipped


def call(front: Front, method: str, query: dict, headers: dict | None = None, body: bytes = b"") -> tuple:
    """One request to the ASGI front, without a server: (status, headers as sent, body)."""
    client = FrontClient(front)
    got = client.open("/sparql", method=method, query_string=query, data=body or None, headers=headers)
    return got.status_code, dict(got.raw_headers), got.data


def test_flask_gets_the_updates_only(tmp_path):
    """Every query is the front's (a miss, a repeat, a DESCRIBE, a refusal, an error); only the
    updates reach Flask."""
    app = create_app(make_settings(tmp_path / "store", update_token=TOKEN, **EMBEDDED))
    front = Front(app)
    flask_calls = flask_scopes(front)
    insert = {"update": 'INSERT DATA { <urn:a> <urn:p> "one" }'}
    form = {"Content-Type": "application/x-www-form-urlencoded", **AUTH}
    assert call(front, "POST", {}, form, urllib.parse.urlencode(insert).encode())[0] == 204
    select = {"query": "SELECT ?v WHERE { <urn:a> <urn:p> ?v }"}
    first = call(front, "GET", select)
    assert first[0] == 200 and b'"one"' in first[2]
    assert call(front, "GET", select) == first  # from the cache
    assert call(front, "GET", {"query": "DESCRIBE <urn:a>"}, {"Accept": "application/n-triples"})[2] == (
        b'<urn:a> <urn:p> "one" .\n'
    )
    assert call(front, "GET", {"query": "SELECT WHERE {"})[0] == 400
    assert call(front, "GET", {"query": "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }"})[0] == 400
    assert call(front, "GET", {})[0] == 200  # the Service Description
    assert [c["method"] for c in flask_calls] == ["POST"]  # the update
    update = {"update": 'INSERT DATA { <urn:a> <urn:p> "two" }'}
    assert call(front, "POST", {}, form, urllib.parse.urlencode(update).encode())[0] == 204
    assert b'"two"' in call(front, "GET", select)[2]  # a new version: never the old entry
    assert b'"two"' in call(front, "GET", {"query": "DESCRIBE <urn:a>"}, {"Accept": "text/turtle"})[2]
    assert [c["method"] for c in flask_calls] == ["POST", "POST"]


def test_a_client_that_goes_away_stops_its_streamed_answer(tmp_path):
    """uvicorn drops writes to a closed connection without an error, so the front watches the
    connection: the streamed answer stops and its evaluation thread is freed, as under gthread.
    One client more than the worker has evaluation threads (KG_QUERY_THREADS) leaves in turn: were
    a left answer's thread not freed (it would wait for room for ever), the last would find none."""
    with serve(tmp_path / "store", workers=1, KG_QUERY_TIMEOUT="60", KG_QUERY_THREADS=str(THREADS)) as live:
        host, port = urllib.parse.urlsplit(live).netloc.split(":")
        for turn in range(THREADS + 1):
            endless = urllib.parse.urlencode(
                {"query": f"CONSTRUCT {{ ?a <urn:x> ?b }} WHERE {{ ?a ?p ?o . ?b ?q ?r }} # {turn}"}
            )
            with socket.create_connection((host, int(port)), timeout=20) as conn:
                conn.sendall(
                    f"GET /sparql?{endless} HTTP/1.1\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n".encode()
                )
                received = 0
                while received < 300_000:  # it streams
                    received += len(conn.recv(65536))
        began = time.monotonic()
        assert send(live, "GET", [("query", COUNT)], {})[0] == 200  # a thread is free
        assert time.monotonic() - began < 15


def test_the_front_reads_every_way_of_asking(tmp_path):
    """Multipart forms, HEAD, a body over KG_MAX_BODY, a query and an update at once: each is the
    front's to answer, as the Flask view answered it; only an update reaches Flask."""
    app = create_app(make_settings(tmp_path / "store", update_token=TOKEN, max_body=4096, **EMBEDDED))
    front = Front(app)
    flask_calls = flask_scopes(front)
    boundary = "kgboundary"
    fields = [("query", "ASK { }"), ("format", "xml")]
    multipart = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields
        )
        + f"--{boundary}--\r\n"
    )
    form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, headers, body = call(front, "POST", {}, form, multipart.encode())
    assert status == 200 and headers[b"content-type"] == XML.encode() and b"<boolean>true</boolean>" in body
    get = call(front, "GET", {"query": "ASK { }"})
    head = call(front, "HEAD", {"query": "ASK { }"})
    assert head[0] == 200 and head[2] == b"" and head[1] == get[1]  # the GET's headers, no body
    too_big = call(front, "POST", {}, {"Content-Type": "application/sparql-query"}, b"#" * 5000)
    assert too_big[0] == 413 and too_big[2].startswith(b"Request Entity Too Large: ")
    both = urllib.parse.urlencode({"query": "ASK { }", "update": "CLEAR ALL"}).encode()
    status, _, body = call(front, "POST", {}, {"Content-Type": "application/x-www-form-urlencoded"}, both)
    assert status == 400 and body == b"Bad Request: a request carries a query or an update, not both\n"
    put = call(front, "PUT", {"query": "ASK { }"})
    assert put[0] == 405 and put[1][b"allow"] == b"GET, HEAD, OPTIONS, POST"
    assert flask_calls == []
    update = urllib.parse.urlencode({"update": 'INSERT DATA { <urn:a> <urn:p> "w" }'}).encode()
    writer = {"Content-Type": "application/x-www-form-urlencoded", **AUTH}
    assert call(front, "POST", {}, writer, update)[0] == 204
    assert [c["method"] for c in flask_calls] == ["POST"]
