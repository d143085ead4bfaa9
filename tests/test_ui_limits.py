"""The app's own pages get the time limit of /sparql: their queries run in the worker's threads,
waited for until the page's deadline (one budget per page); a runaway retires the worker.

The slow page is honest: a record of 16 blank nodes that all point at each other
(272 triples, written over the Graph Store Protocol) makes the concise bounded
description the resource page builds (:func:`kg.describe.cbd_pattern`, six hops)
enumerate 16^6 paths and more, a minute or longer of Oxigraph's time. Measured
in-process: 8 such nodes 0.7 s, 10 nodes 3.2 s, 12 nodes 11 s. A chain of four blank
nodes beside them makes the page read six hops deep (three are read first, and the knot
alone is all there at three). Real gunicorn, real on-disk store, no mocks.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest
from asgi import FrontClient
from conftest import wait_for
from live import request, serve
from test_limits import _tree_cpu_seconds
from test_serving_workers import alive, workers_of

from kg.errors import QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.page_store import PageTimeout, TimedStore
from kg.evaluation.thread_evaluator import ThreadEvaluator
from kg.settings import load_settings
from kg.store.embedded import Store
from kg.web import sparql_core
from kg.web.app import build_app

LIGHT = "dataset/vea-air-no2-hourly"
KNOT_SIZE = 16


def knot(base: str, size: int = KNOT_SIZE) -> bytes:
    """A dataset whose blank nodes all point at each other: a tiny record with an explosive CBD."""
    me = f"<{base}dataset/knot>"
    lines = [
        f'{me} a <http://www.w3.org/ns/dcat#Dataset> ; <http://purl.org/dc/terms/title> "Knot"@en .',
        *(f"{me} <http://example.org/part> _:b{i} ." for i in range(size)),
        *(f"_:b{i} <http://example.org/next> _:b{j} ." for i in range(size) for j in range(size)),
        f"{me} <http://example.org/deep> _:c1 .",  # four hops: past the first read's three
        *(f"_:c{i} <http://example.org/next> _:c{i + 1} ." for i in range(1, 4)),
    ]
    return "\n".join(lines).encode()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # one worker: the light requests are served by the same process as the stopped page
    with serve(
        tmp_path_factory.mktemp("ui-limits") / "store", workers=1, KG_QUERY_TIMEOUT="2", KG_UPDATE_TOKEN="t"
    ) as s:
        status, _, body = request(
            f"{s}store?graph={s}graph/knot",
            method="PUT",
            data=knot(s),
            headers={"Content-Type": "text/turtle", "Authorization": "Bearer t"},
        )
        assert status == 201, body
        assert request(f"{s}{LIGHT}")[0] == 200  # the worker is up
        yield s


def _slow_while_light(live, path: str, headers: dict[str, str]) -> tuple[dict, list[float]]:
    """Request ``path`` (the knot) and, while it runs, /health and a light page, timed."""
    before = workers_of(live.pid)
    slow: dict = {}
    light_times: list[float] = []

    def run() -> None:
        started = time.monotonic()
        slow["status"], slow["headers"], slow["body"] = request(f"{live}{path}", headers=headers)
        slow["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)
    while thread.is_alive():
        for light in ("health", LIGHT):
            started = time.monotonic()
            status, _, body = request(f"{live}{light}", headers={"Accept": "text/html"})
            light_times.append(time.monotonic() - started)
            assert status == 200, (light, body[:300])
        time.sleep(0.1)
    thread.join()
    if slow["status"] == 503:
        _replaced(live, before)
    return slow, light_times


def _replaced(live, before: set[int]) -> None:
    """Wait until the worker a 503 retired is gone and a fresh one answers, so that the next test
    does not time the start of a worker."""
    assert wait_for(lambda: not any(alive(pid) for pid in before) or set(), limit=10), "the worker stayed"
    assert request(f"{live}health")[0] == 200


def test_a_page_whose_query_runs_out_of_time_is_a_503_while_other_pages_answer(live):
    slow, light_times = _slow_while_light(live, "dataset/knot", {"Accept": "text/html"})
    assert slow["status"] == 503
    assert slow["headers"]["Content-Type"].startswith("text/html")
    assert b"Page took too long" in slow["body"] and b"ran out of time" in slow["body"]
    assert slow["headers"]["Retry-After"]
    assert 1.9 <= slow["seconds"] < 6
    assert light_times and max(light_times) < 2.0


def test_the_503_is_json_when_json_is_asked_for(live):
    slow, light_times = _slow_while_light(live, "dataset/knot", {"Accept": "application/json"})
    assert slow["status"] == 503 and slow["headers"]["Content-Type"] == "application/json"
    body = json.loads(slow["body"])
    assert body["error"] == "Page took too long" and body["status"] == 503
    assert "ran out of time (2 s limit)" in body["detail"]
    assert 1.9 <= slow["seconds"] < 6
    assert light_times and max(light_times) < 2.0


def test_the_description_as_turtle_is_stopped_too(live):
    before = workers_of(live.pid)
    started = time.monotonic()
    status, _, body = request(f"{live}dataset/knot", headers={"Accept": "text/turtle"})
    assert status == 503 and b"ran out of time" in body
    assert time.monotonic() - started < 6
    _replaced(live, before)


def test_the_stopped_page_does_not_keep_running(live):
    """Its worker retires (a thread cannot be stopped), and the work with it: once a fresh worker
    answers, the server is idle."""
    workers = wait_for(lambda: found if len(found := workers_of(live.pid)) == 1 else set())
    assert request(f"{live}dataset/knot")[0] == 503
    assert wait_for(lambda: not any(alive(pid) for pid in workers) or set(), limit=10), "the worker stayed"
    assert request(f"{live}{LIGHT}")[0] == 200  # a fresh worker
    time.sleep(0.5)
    before = _tree_cpu_seconds(live.pid)
    time.sleep(2.0)
    spent = _tree_cpu_seconds(live.pid) - before
    assert spent < 0.5, f"the server used {spent:.2f} CPU-seconds while idle: the work was not stopped"
    # and the next pages answer
    for path in (LIGHT, "", "quality", "catalog.json"):
        assert request(f"{live}{path}", headers={"Accept": "text/html"})[0] == 200, path


# ---------------------------------------------------------------- TimedStore, in-process


@pytest.fixture
def timed(seeded):
    app = build_app(seeded)
    pages = app.extensions["kg_pages"]
    assert isinstance(pages, TimedStore) and pages.evaluator is not None
    return pages, Store(seeded.store, private_graphs=pages.private_graphs)


def _rows(result) -> list[tuple]:
    names = [v.value for v in result.variables]
    return [tuple(str(row[n]) if row[n] is not None else None for n in names) for row in result]


def test_the_pages_store_answers_as_the_store_does(timed):
    pages, store = timed
    graphs = store.data_graphs()
    private = [g for g in store.named_graphs() if store.is_private(g)]
    everything = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
    in_graphs = "SELECT ?g ?s WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s"
    cases = [
        (everything, {}),  # blank nodes, literals with languages and datatypes
        ("SELECT ?s ?x WHERE { ?s ?p ?o OPTIONAL { ?s <urn:none> ?x } } ORDER BY ?s", {}),  # unbound
        ("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g", {}),
        (everything, {"default_graphs": graphs[:1]}),
        (in_graphs, {"default_graphs": [], "private": True}),
        (everything, {"default_graphs": private, "private": True}),
        ("SELECT ?s WHERE { GRAPH ?g { ?s a ?t } }", {"default_graphs": [], "named_graphs": graphs[-1:]}),
    ]
    for text, kwargs in cases:
        assert _rows(pages.query(text, **kwargs)) == _rows(store.query(text, **kwargs)), (text, kwargs)
    for text in ("ASK { ?s a <http://www.w3.org/ns/dcat#Dataset> }", "ASK { ?s a <urn:nothing> }"):
        assert bool(pages.query(text)) == bool(store.query(text))
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    assert set(pages.query(construct)) == set(store.query(construct))
    assert pages.graph_sizes() == store.graph_sizes()


def test_the_pages_store_keeps_the_errors_and_the_deadline(timed):
    from kg.errors import QueryError

    pages, _ = timed
    with pytest.raises(QueryError):
        pages.query("SELECT WHERE {")
    spent = Deadline(5, started=time.monotonic() - 6)
    late = TimedStore(pages.store, pages.evaluator, timeout=5, deadline=lambda: spent)
    with pytest.raises(PageTimeout, match="could not be built in time"):
        late.query("ASK { ?s ?p ?o }")  # the page's budget is spent: no query is started


def test_every_page_query_has_the_time_limit(seeded):
    """No setting evaluates the pages' queries without a limit: an embedded store's pages always
    query through the worker's threads, waited for until KG_QUERY_TIMEOUT."""
    pages = build_app(seeded).extensions["kg_pages"]
    assert isinstance(pages.evaluator, ThreadEvaluator) and pages.evaluator.timeout == seeded.query_timeout


def test_settings_are_read_for_the_pages(tmp_path):
    app = build_app(load_settings({}, store=tmp_path / "s", query_timeout=3))
    pages = app.extensions["kg_pages"]
    assert pages.timeout == 3 and pages.evaluator.timeout == 3
    assert app.extensions["kg_evaluator"].timeout == 3  # the same mechanism for /sparql, own threads


# every type assertion with every triple: ~0.75 s on the sample, long beside a page's queries
DCAT = "http://www.w3.org/ns/dcat#"
HOLDS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d a ?t } # holds the endpoint's thread"


def test_the_endpoint_s_threads_are_capped_and_a_busy_endpoint_does_not_stall_the_pages(seeded):
    """KG_QUERY_THREADS caps the clients' evaluations at once: with its one thread busy another
    client's query waits and, its deadline passed, is a "busy" 503; a page meanwhile evaluates in
    the pages' own threads, answered while the client's query still runs."""
    app = build_app(dataclasses.replace(seeded, query_threads=1))
    endpoint = app.extensions["kg_evaluator"]
    busy = endpoint.start(HOLDS, None, None, ("json", "nt"))
    waiting = endpoint.start("ASK { ?s ?p ?o }", None, None, ("json", "nt"), deadline=Deadline(0.2))
    with pytest.raises(QueryTimeout, match="no evaluation thread was free"):
        waiting.head()
    assert app.test_client().get("/dataset/nta-rail-punctuality").status_code == 200
    assert not busy.finished  # the page did not wait for the endpoint's thread
    busy.head()


def test_a_constant_subject_s_lookup_needs_no_thread_and_other_queries_still_wait(seeded):
    """A SELECT of one constant subject's triples is evaluated on the front's loop (its work is
    bounded by that subject and the row cap): answered, rows and all, while the endpoint's one
    thread is held; the same subject as an object is not bounded (a constant object can have
    any number of subjects) and waits for the thread, a "busy" 503 at its deadline."""
    app = build_app(dataclasses.replace(seeded, query_threads=1, query_timeout=0.3))
    store = app.extensions["kg_store"]
    dataset = next(iter(store.query(f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} LIMIT 1")))["d"].value
    triples = len(list(store.query(f"SELECT ?p ?o WHERE {{ <{dataset}> ?p ?o }}")))
    client = FrontClient(app)
    busy = app.extensions["kg_evaluator"].start(HOLDS, None, None, ("json", "nt"), deadline=Deadline(30))
    lookup = client.get("/sparql", query_string={"query": f"SELECT ?p ?o WHERE {{ <{dataset}> ?p ?o }}"})
    assert lookup.status_code == 200
    assert len(json.loads(lookup.data)["results"]["bindings"]) == triples > 5
    pointing = client.get("/sparql", query_string={"query": f"SELECT ?s ?p WHERE {{ ?s ?p <{dataset}> }}"})
    assert pointing.status_code == 503 and b"no evaluation thread was free" in pointing.data
    assert not busy.finished  # both were asked while the thread was held
    busy.head()


def test_a_describe_of_a_resource_with_many_triples_waits_for_a_thread(seeded, monkeypatch):
    """A DESCRIBE has no row cap, so it is evaluated on the front's loop only when the IRIs it names
    have few triples (counted first, up to DESCRIBED_ON_LOOP): a dataset's is answered while the
    endpoint's one thread is held; the catalogue's node, which lists every dataset (at 100,000
    datasets 1.5 s to describe, which no deadline could stop on the loop), waits for the thread
    like any other query and is "busy" at its deadline."""
    app = build_app(dataclasses.replace(seeded, query_threads=1, query_timeout=0.3))
    store = app.extensions["kg_store"]

    def first(query: str) -> str:
        return next(iter(store.query(query)))["x"].value

    def size(iri: str) -> int:
        return len(list(store.query(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")))

    dataset = first(f"SELECT ?x WHERE {{ ?x a <{DCAT}Dataset> }} LIMIT 1")
    catalog = first(f"SELECT ?x WHERE {{ ?x <{DCAT}dataset> ?d }} LIMIT 1")
    assert 5 < size(dataset) < size(catalog)
    monkeypatch.setattr(sparql_core, "DESCRIBED_ON_LOOP", size(dataset))  # the dataset just within
    client = FrontClient(app)
    busy = app.extensions["kg_evaluator"].start(HOLDS, None, None, ("json", "nt"), deadline=Deadline(30))
    nt = {"Accept": "application/n-triples"}
    small = client.get("/sparql", query_string={"query": f"DESCRIBE <{dataset}>"}, headers=nt)
    assert small.status_code == 200 and small.get_data(as_text=True).count(f"<{dataset}> ") >= size(dataset)
    big = client.get("/sparql", query_string={"query": f"DESCRIBE <{catalog}>"}, headers=nt)
    assert big.status_code == 503 and b"no evaluation thread was free" in big.data
    assert not busy.finished  # both were asked while the thread was held
    busy.head()
