"""Uncached queries of the embedded store evaluated in a thread and awaited on the event loop
(kg/web/loop_answers.py, kg/evaluation/thread_evaluator.py).

In process: the ASGI front of an app on a real store, each answer checked for its status, headers
and body, and that Flask was not called. tests/test_front.py checks the answers over HTTP, and
tests/test_limits.py a runaway query on a real server (503, then the worker retires).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse

import pytest
from asgi import flask_scopes
from conftest import EMBEDDED, make_settings, wait_for
from test_front import call

from kg import create_app
from kg.evaluation import thread_evaluator
from kg.evaluation.thread_evaluator import ThreadEvaluator
from kg.store.embedded import Store
from kg.web.front import Front

pytestmark = pytest.mark.embedded_only
ROWS = 3000  # long enough to stream (kg.evaluation.thread_evaluator.START_STREAMING) as N-Triples
ALL = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
# seconds of work, not minutes: the 9,000,000 pairs of the store's triples, counted
PAIRS = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?t ?q ?v }"
# endless for a test: every pair of triples as a triple, 9,000,000 of them
ENDLESS = "CONSTRUCT { ?s <urn:x> ?t } WHERE { ?s ?p ?o . ?t ?q ?v }"
JSON = "application/sparql-results+json"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _front(folder, query_timeout: float):
    """(front, calls): an app behind the front; ``calls`` lists the scopes Flask got."""
    store = Store(folder)
    with store.write(replace=("urn:g",)) as writer:
        text = "".join(f'<urn:s{i}> <urn:p> "value {i} {"x" * 80}" .\n' for i in range(ROWS))
        writer.load_text(text, graph="urn:g")
    settings = make_settings(folder, max_results=10, query_timeout=query_timeout, **EMBEDDED)
    front = Front(create_app(settings))
    assert isinstance(front.core.evaluator, ThreadEvaluator) and front.on_loop is not None
    return front, flask_scopes(front)


@pytest.fixture
def fronts(tmp_path):
    """A front whose queries have time enough on a loaded machine."""
    return _front(tmp_path / "store", query_timeout=60.0)


@pytest.fixture
def limited(tmp_path):
    """A front with a time limit of a fifth of a second, for the test of the limit."""
    return _front(tmp_path / "store", query_timeout=0.2)


def _started(front) -> list:
    """The evaluations the front starts from now on (the evaluator's own ``start``, recorded)."""
    evaluator, started = front.on_loop.evaluator, []
    start = evaluator.start

    def recorded(*args, **kwargs):
        started.append(start(*args, **kwargs))
        return started[-1]

    evaluator.start = recorded
    return started


def _json(body: bytes):
    return json.loads(body)


def test_a_miss_is_evaluated_in_a_thread(fronts):
    front, calls = fronts
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
        got = call(front, method, query, headers, body)
        assert not calls, f"Flask answered {query or body!r}"
        assert got[0] == 200 and got[1][b"content-type"] == ctype.encode() and body_ok(got[2]), got
        assert got[1][b"etag"].startswith(b'W/"') and got[1][b"access-control-allow-origin"] == b"*"
        assert (b"kg-results-truncated" in got[1]) == ("ORDER BY" in query.get("query", ""))
        again = call(front, method, query, headers, body)  # from the cache, with its length
        assert (
            again[::2] == got[::2] and {**got[1], b"content-length": again[1][b"content-length"]} == again[1]
        )
    streamed = call(front, "GET", {"query": ALL + " #new"}, {"Accept": "application/n-triples"})
    assert streamed[0] == 200 and streamed[2].count(b"\n") == ROWS and b"content-length" not in streamed[1]
    cut = call(front, "GET", {"query": "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"})
    assert cut[1][b"kg-results-truncated"] == b"true"
    etag = cut[1][b"etag"].decode()
    fresh = "SELECT ?s WHERE { ?s ?p ?o } ORDER BY DESC(?s)"
    assert call(front, "GET", {"query": fresh}, {"If-None-Match": etag})[0] == 200
    assert (
        call(front, "GET", {"query": "SELECT ?s WHERE { ?s ?p ?o } ORDER BY ?s"}, {"If-None-Match": etag})[0]
        == 304
    )
    assert not calls


def test_a_failure_is_answered_by_the_front_once(fronts):
    front, calls = fronts
    bad = "SELECT ?s WHERE { ?s ?p"  # the front does not parse queries: the evaluation finds it
    got = call(front, "GET", {"query": bad}, {"Accept": "application/json"})
    assert got[0] == 400 and got[1][b"content-type"] == b"application/json"
    assert json.loads(got[2])["detail"].startswith("error at 1:24") and b"etag" not in got[1]
    assert not calls  # the front answered it: Flask never sees a query


def test_the_time_limit_answers_503_once_and_hands_the_runaway_over(limited, monkeypatch):
    """At the deadline the client gets its 503 at once, and the evaluation, still running, goes to
    the retirement hook (kg serve's worker retires, tests/test_limits.py); here the query is a few
    seconds of work, waited for, so that no thread outlives the test."""
    front, calls = limited
    retired: list[str] = []
    monkeypatch.setattr(thread_evaluator, "_retire", retired.append)
    started = _started(front)
    began = time.monotonic()
    status, headers, body = call(front, "GET", {"query": PAIRS})
    assert status == 503 and headers[b"retry-after"] == b"5" and b"ran out of time" in body
    assert time.monotonic() - began < 2  # not evaluated a second time, nor waited for
    assert retired == [PAIRS] and len(started) == 1 and started[0].abandoned
    assert not calls
    assert wait_for(lambda: started[0].finished), "the runaway never ended"
    assert call(front, "GET", {"query": COUNT + " #after"})[0] == 200  # threads are free


def test_a_client_gone_mid_stream_stops_its_evaluation(fronts):
    front, calls = fronts
    started = _started(front)
    threads_before = threading.active_count()  # other tests' idle evaluation threads live on in this process
    scope = {
        "type": "http", "method": "GET", "path": "/sparql", "root_path": "", "scheme": "http",
        "query_string": urllib.parse.urlencode({"query": ENDLESS}).encode(),
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

        await front(scope, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 200 and not calls
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert 0 < body.count(b"\n") < ROWS * ROWS  # cut short
    # its thread stopped at its next write: it neither ran on nor waits for room for ever
    assert wait_for(lambda: started[0].finished, 10), "the evaluation went on after its client left"
    assert not started[0].abandoned and threading.active_count() <= threads_before + thread_evaluator.THREADS
