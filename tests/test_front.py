"""The HTTP front (kg/web/front.py): its fast paths answer exactly as Flask does, and never stale.

Two real servers on one store: the app as `kg serve` runs it, and the same with ``KG_FAST_PATHS=0``
(every request through Flask). Each request is sent to both, twice (the first fills the result
cache, the second is answered from it), and the answers must be equal: status, headers but the
date, body. In-process tests check that the fast paths really skip Flask.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.parse

import pytest
from conftest import EMBEDDED, make_settings
from live import ROOT, request, serve

from kg import create_app
from kg.web.front import Front

TOKEN = "front-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DCAT = "http://www.w3.org/ns/dcat#"
COUNT = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT}Dataset> }}"
TITLES = "SELECT ?d ?t WHERE { ?d <http://purl.org/dc/terms/title> ?t } ORDER BY ?d ?t"  # > 5 rows: cut
SETTINGS = {"KG_UPDATE_TOKEN": TOKEN, "KG_BASE_URI": "http://data.example.org/", "KG_MAX_RESULTS": "5"}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(fast, flask): the same store behind the front and behind Flask alone, one worker each so
    that the second request of a pair finds the first one's answer in the cache."""
    store = tmp_path_factory.mktemp("front") / "store"
    with (
        serve(store, workers=1, **SETTINGS) as fast,
        serve(store, workers=1, sample=False, KG_FAST_PATHS="0", **SETTINGS) as flask,
    ):
        yield fast, flask


def first_dataset(live) -> str:
    query = f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} ORDER BY ?d LIMIT 1"
    body = request(f"{live}sparql?" + urllib.parse.urlencode({"query": query}))[2]
    return json.loads(body)["results"]["bindings"][0]["d"]["value"]


def send(live, method: str, params: list, headers: dict, body: bytes | None = None):
    """One request; the answer without the headers that differ by the clock or nothing (date, server)."""
    url = f"{live}sparql" + ("?" + urllib.parse.urlencode(params) if params else "")
    status, got, data = request(url, method=method, data=body, headers=headers)
    return status, {k: v for k, v in got.items() if k not in ("date", "server")}, data


def cases(dataset: str) -> list[tuple[str, str, list, dict, bytes | None]]:
    """(name, method, query-string pairs, headers, body) of the requests both paths must answer alike."""
    describe = f"DESCRIBE <{dataset}>"
    origin = {"Origin": "https://elsewhere.example"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        ("select", "GET", [("query", COUNT)], {}, None),
        ("select csv", "GET", [("query", COUNT)], {"Accept": "text/csv"}, None),
        ("select q-values", "GET", [("query", COUNT)], {"Accept": "text/csv;q=0.5, text/xml;q=0.9"}, None),
        ("select format=", "GET", [("query", COUNT), ("format", "TSV")], {"Accept": "text/csv"}, None),
        ("select dataset", "GET", [("query", COUNT), ("default-graph-uri", "urn:none")], {}, None),
        ("select cut", "GET", [("query", TITLES)], origin, None),
        ("ask csv", "GET", [("query", "ASK {}")], {"Accept": "text/csv"}, None),
        ("describe", "GET", [("query", describe)], {"Accept": "text/turtle"}, None),
        ("describe nt", "GET", [("query", describe)], {"Accept": "application/n-triples", **origin}, None),
        ("describe jsonld", "GET", [("query", describe), ("format", "jsonld")], {}, None),
        ("describe named", "GET", [("query", describe), ("named-graph-uri", "urn:g")], {}, None),
        ("head", "HEAD", [("query", describe)], {"Accept": "text/turtle"}, None),
        ("head select", "HEAD", [("query", COUNT)], {}, None),
        ("direct post", "POST", [], {"Content-Type": "application/sparql-query"}, COUNT.encode()),
        (
            "direct post describe",
            "POST",
            [("format", "nt")],
            {"Content-Type": "application/sparql-query"},
            describe.encode(),
        ),
        ("form post", "POST", [], form, urllib.parse.urlencode({"query": COUNT, "format": "xml"}).encode()),
        ("bad query", "GET", [("query", "SELECT WHERE {")], {}, None),
        ("bad describe", "GET", [("query", "DESCRIBE nope:x")], {"Accept": "application/json"}, None),
        ("two queries", "GET", [("query", COUNT), ("query", COUNT)], {}, None),
        ("body type", "POST", [], {"Content-Type": "text/plain"}, b"x"),
        ("get update", "GET", [("update", "CLEAR ALL")], {}, None),
        ("form update without token", "POST", [], form, b"update=CLEAR+ALL"),
        ("too long", "GET", [("query", describe + " #" + "x" * 100_000)], {}, None),
        ("options", "OPTIONS", [], origin, None),
    ]


def test_fast_paths_answer_as_flask_does(pair):
    fast, flask = pair
    dataset = first_dataset(fast)
    for name, method, params, headers, body in cases(dataset):
        for turn in ("miss", "hit"):
            got, want = send(fast, method, params, headers, body), send(flask, method, params, headers, body)
            assert got == want, f"{name} ({turn})"
        if got[0] == 200 and "etag" in got[1]:  # and 304 for the ETag the client holds
            held = {**headers, "If-None-Match": f'W/"other", {got[1]["etag"]}'}
            got, want = send(fast, method, params, held, body), send(flask, method, params, held, body)
            assert got == want and got[0] == 304, f"{name} (304)"
    assert b"Bad query" in send(fast, "GET", [("query", "SELECT WHERE {")], {})[2]
    assert send(fast, "GET", [("query", TITLES)], {})[1]["kg-results-truncated"] == "true"


def test_bad_input_through_the_front(pair):
    fast, _ = pair
    status, _, body = send(fast, "GET", [("query", "SELECT WHERE {")], {})
    assert status == 400 and b"Bad query" in body and b"Traceback" not in body
    assert send(fast, "GET", [("query", COUNT), ("query", COUNT)], {})[0] == 400
    assert send(fast, "POST", [], {"Content-Type": "text/plain"}, b"x")[0] == 415
    assert send(fast, "GET", [("update", "CLEAR ALL")], {})[0] == 405


def test_the_log_records_fast_answers(pair):
    fast, _ = pair
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
    """One request to the ASGI front, without a server: (status, headers, body)."""
    headers = {**(headers or {}), **({"Content-Length": str(len(body))} if body else {})}
    scope = {
        "type": "http",
        "method": method,
        "path": "/sparql",
        "root_path": "",
        "query_string": urllib.parse.urlencode(query).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    sent: list[dict] = []

    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:  # the body, then nothing until the connection closes (never here)
        if messages:
            return messages.pop()
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def collect(message: dict) -> None:
        sent.append(message)

    asyncio.run(front(scope, receive, collect))
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_repeats_and_describes_skip_flask(tmp_path):
    app = create_app(make_settings(tmp_path / "store", update_token=TOKEN, **EMBEDDED))
    front = Front(app)
    real, flask_calls = front.wsgi, []

    async def spy(scope, receive, send) -> None:
        flask_calls.append(scope["method"])
        await real(scope, receive, send)

    front.wsgi = spy
    insert = {"update": 'INSERT DATA { <urn:a> <urn:p> "one" }'}
    form = {"Content-Type": "application/x-www-form-urlencoded", **AUTH}
    assert call(front, "POST", {}, form, urllib.parse.urlencode(insert).encode())[0] == 204
    select = {"query": "SELECT ?v WHERE { <urn:a> <urn:p> ?v }"}
    first = call(front, "GET", select)
    assert len(flask_calls) == 2  # the update, the first answer
    assert call(front, "GET", select) == first and len(flask_calls) == 2  # from the cache
    assert call(front, "GET", {"query": "DESCRIBE <urn:a>"}, {"Accept": "application/n-triples"})[2] == (
        b'<urn:a> <urn:p> "one" .\n'
    )
    assert len(flask_calls) == 2
    update = {"update": 'INSERT DATA { <urn:a> <urn:p> "two" }'}
    assert call(front, "POST", {}, form, urllib.parse.urlencode(update).encode())[0] == 204
    assert b'"two"' in call(front, "GET", select)[2]  # a new version: Flask again, never the old entry
    assert b'"two"' in call(front, "GET", {"query": "DESCRIBE <urn:a>"}, {"Accept": "text/turtle"})[2]


def test_a_client_that_goes_away_stops_its_streamed_answer(tmp_path):
    """uvicorn drops writes to a closed connection without an error, so the front watches the
    connection: the streamed answer stops and its evaluator is freed, as under gthread."""
    with serve(tmp_path / "store", workers=1, KG_EVALUATORS="1", KG_QUERY_TIMEOUT="60") as live:
        endless = urllib.parse.urlencode(
            {"query": "CONSTRUCT { ?a <urn:x> ?b } WHERE { ?a ?p ?o . ?b ?q ?r }"}
        )
        host, port = urllib.parse.urlsplit(live).netloc.split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(
                f"GET /sparql?{endless} HTTP/1.1\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n".encode()
            )
            received = 0
            while received < 300_000:  # it streams
                received += len(conn.recv(65536))
        began = time.monotonic()
        assert send(live, "GET", [("query", COUNT)], {})[0] == 200  # the only evaluator is free again
        assert time.monotonic() - began < 15
