"""Uncached queries answered on the event loop by the shared pool (kg/web/pooled.py).

In process: the ASGI front of an app that has a real shared pool (a :class:`MasterPool`, as the
gunicorn master starts it, with real evaluator processes): each answer checked for its status,
headers and body, and that Flask was not called. tests/test_front.py checks the answers over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse

import pytest
from asgi import flask_scopes
from conftest import EMBEDDED, make_settings
from test_front import call
from test_shared_pool import HEAVY

from kg import create_app
from kg.evaluation.shared_pool import SOCKET_ENV, MasterPool, SharedEvaluator
from kg.store.embedded import Store
from kg.web.front import Front

pytestmark = pytest.mark.embedded_only
ROWS = 3000  # long enough to stream (kg.evaluation.protocol.START_STREAMING) as N-Triples
ALL = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
JSON = "application/sparql-results+json"
XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """A pool whose evaluators are up: one query has been answered (the keeper starts as a new
    interpreter, seconds on a loaded machine, and a test's first query would spend its short
    time limit waiting for it)."""
    pool = MasterPool(2)
    try:
        store = Store(tmp_path_factory.mktemp("warm") / "store")
        with store.write(replace=("urn:g",)) as writer:
            writer.load_text("<urn:s> <urn:p> <urn:o> .\n", graph="urn:g")
        _, body = SharedEvaluator(pool.path, store.path, (), timeout=120).evaluate(
            "ASK { ?s ?p ?o }", None, None, ("json", "nt")
        )
        assert json.loads(b"".join(body))["boolean"] is True
        yield pool
    finally:
        pool.stop()


def _front(folder, master, monkeypatch, query_timeout: float):
    """(pooled, calls): an app behind the front with the pool; ``calls`` lists the scopes Flask got."""
    store = Store(folder)
    with store.write(replace=("urn:g",)) as writer:
        text = "".join(f'<urn:s{i}> <urn:p> "value {i} {"x" * 80}" .\n' for i in range(ROWS))
        writer.load_text(text, graph="urn:g")
    monkeypatch.setenv(SOCKET_ENV, master.path)
    settings = make_settings(folder, max_results=10, query_timeout=query_timeout, **EMBEDDED)
    pooled = Front(create_app(settings))
    assert isinstance(pooled.core.evaluator, SharedEvaluator) and pooled.pooled is not None
    return pooled, flask_scopes(pooled)


@pytest.fixture
def fronts(tmp_path, master, monkeypatch):
    """A front whose queries have time enough on a loaded machine."""
    return _front(tmp_path / "store", master, monkeypatch, query_timeout=60.0)


@pytest.fixture
def limited(tmp_path, master, monkeypatch):
    """A front with a time limit of one second, for the test of the limit."""
    return _front(tmp_path / "store", master, monkeypatch, query_timeout=1.0)


def _json(body: bytes):
    return json.loads(body)


def test_a_miss_is_answered_by_the_pool(fronts):
    pooled, calls = fronts
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    count = [{"n": {"type": "literal", "value": str(ROWS), "datatype": f"{XSD}integer"}}]
    requests = [  # (method, query, headers, body), Content-Type, check of the body
        (("GET", {"query": COUNT}, {}, b""), JSON, lambda b: _json(b)["results"]["bindings"] == count),
        (("GET", {"query": COUNT + " #csv"}, {"Accept": "text/csv"}, b""), "text/csv; charset=utf-8",
         lambda b: b == f"n\r\n{ROWS}\r\n".encode()),
        (("GET", {"query": "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"}, {}, b""), JSON,  # cut at 10 rows
         lambda b: len(_json(b)["results"]["bindings"]) == 10),
        (("GET", {"query": "ASK { ?s ?p ?o }", "format": "xml"}, {}, b""), "application/sparql-results+xml",
         lambda b: b"<boolean>true</boolean>" in b),
        (("GET", {"query": ALL}, {"Accept": "application/n-triples"}, b""),  # streamed
         "application/n-triples; charset=utf-8", lambda b: b.count(b"\n") == ROWS),
        (("POST", {}, form, urllib.parse.urlencode({"query": COUNT + " #form"}).encode()), JSON,
         lambda b: _json(b)["results"]["bindings"] == count),
        (("POST", {}, {"Content-Type": "application/sparql-query"}, (COUNT + " #direct").encode()), JSON,
         lambda b: _json(b)["results"]["bindings"] == count),
    ]  # fmt: skip
    for (method, query, headers, body), ctype, body_ok in requests:
        got = call(pooled, method, query, headers, body)
        assert not calls, f"Flask answered {query or body!r}"
        assert got[0] == 200 and got[1][b"content-type"] == ctype.encode() and body_ok(got[2]), got
        assert got[1][b"etag"].startswith(b'W/"') and got[1][b"access-control-allow-origin"] == b"*"
        assert (b"kg-results-truncated" in got[1]) == ("ORDER BY" in query.get("query", ""))
        again = call(pooled, method, query, headers, body)  # from the cache, with its length
        assert (
            again[::2] == got[::2] and {**got[1], b"content-length": again[1][b"content-length"]} == again[1]
        )
    streamed = call(pooled, "GET", {"query": ALL + " #new"}, {"Accept": "application/n-triples"})
    assert streamed[0] == 200 and streamed[2].count(b"\n") == ROWS and b"content-length" not in streamed[1]
    cut = call(pooled, "GET", {"query": "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"})
    assert cut[1][b"kg-results-truncated"] == b"true"
    etag = cut[1][b"etag"].decode()
    fresh = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY DESC(?s)"
    assert call(pooled, "GET", {"query": fresh}, {"If-None-Match": etag})[0] == 200
    assert (
        call(pooled, "GET", {"query": "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"}, {"If-None-Match": etag})[0]
        == 304
    )
    assert not calls


def test_a_failure_is_answered_by_the_front_once(fronts):
    pooled, calls = fronts
    bad = "SELECT ?s WHERE { ?s ?p"  # the front does not parse queries: the evaluator finds it
    got = call(pooled, "GET", {"query": bad}, {"Accept": "application/json"})
    assert got[0] == 400 and got[1][b"content-type"] == b"application/json"
    assert json.loads(got[2])["detail"].startswith("error at 1:24") and b"etag" not in got[1]
    assert not calls  # the front answered it: Flask never sees a query


def test_the_time_limit_kills_the_evaluator_and_answers_503_once(limited):
    pooled, calls = limited
    killed = pooled.pooled.pool.killed
    began = time.monotonic()
    status, headers, body = call(pooled, "GET", {"query": HEAVY})
    assert status == 503 and headers[b"retry-after"] == b"5" and b"ran out of time" in body
    assert time.monotonic() - began < 3  # not evaluated a second time
    assert pooled.pooled.pool.killed == killed + 1
    assert not calls
    assert call(pooled, "GET", {"query": COUNT + " #after"})[0] == 200  # the pool recovered


def test_a_client_gone_mid_stream_stops_its_evaluator(fronts):
    pooled, calls = fronts
    killed = pooled.pooled.pool.killed
    scope = {
        "type": "http", "method": "GET", "path": "/sparql", "root_path": "", "scheme": "http",
        "query_string": urllib.parse.urlencode({"query": ALL + " #gone"}).encode(),
        "headers": [(b"accept", b"application/n-triples")], "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80), "http_version": "1.1",
    }  # fmt: skip
    sent: list[dict] = []

    async def run() -> None:
        first_chunk = asyncio.Event()

        async def receive() -> dict:
            await first_chunk.wait()  # the client leaves once the answer has begun
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)
            if message.get("more_body"):
                first_chunk.set()
                await asyncio.sleep(0.05)  # the server notices before the next chunk

        await pooled(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 200 and not calls
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert 0 < body.count(b"\n") < ROWS  # cut short
    assert pooled.pooled.pool.killed == killed + 1
