"""The one mechanism of evaluation (kg.evaluation.thread_evaluator) and the one enforcement of
``KG_QUERY_TIMEOUT`` (kg.evaluation.deadline.Deadline), in process on a real on-disk store.

Every query here is bounded (seconds at most), and a test that gives one up waits for its thread
to end: a runaway that must be stopped belongs on a real server (tests/test_limits.py, where the
worker retires).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import wait_for

from kg.errors import QueryError, QueryTimeout
from kg.evaluation import thread_evaluator
from kg.evaluation.deadline import Deadline
from kg.evaluation.thread_evaluator import START_STREAMING, ThreadEvaluator
from kg.store.embedded import Store

ROWS = 3000
PAIRS = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?t ?q ?v }"  # 9,000,000 pairs: seconds, not minutes


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("threads") / "store")
    with store.write(replace=("urn:g",)) as writer:
        text = "".join(f'<urn:s{i}> <urn:p> "value {i} {"x" * 80}" .\n' for i in range(ROWS))
        writer.load_text(text, graph="urn:g")
    return store


@pytest.fixture
def retired(monkeypatch):
    """What the retirement hook was handed (kg serve's worker retires; here it is recorded)."""
    found: list[str] = []
    monkeypatch.setattr(thread_evaluator, "_retire", found.append)
    return found


def test_a_short_answer_comes_whole_and_a_long_one_streams_from_its_head(store):
    threads = ThreadEvaluator(store, timeout=60)
    fmt, chunks = threads.evaluate("ASK { ?s ?p ?o }", None, None, ("json", "nt"))
    assert fmt == "json" and isinstance(chunks, list) and json.loads(b"".join(chunks))["boolean"] is True
    fmt, chunks = threads.evaluate("SELECT ?s WHERE { ?s ?p ?o }", None, None, ("csv", "nt"), max_rows=10)
    assert fmt == "csv|cut" and b"".join(chunks).count(b"\n") == 11  # the header and 10 rows
    fmt, chunks = threads.evaluate("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", None, None, ("json", "nt"))
    assert fmt == "nt" and not isinstance(chunks, list)  # START_STREAMING bytes or more: it streams
    body = b"".join(chunks)
    assert body.count(b"\n") == ROWS and len(body) >= START_STREAMING


def test_the_query_s_fault_and_a_failure_are_told_apart(store):
    threads = ThreadEvaluator(store, timeout=60)
    with pytest.raises(QueryError, match="error at 1:"):
        threads.evaluate("SELECT ?s WHERE { ?s ?p", None, None, ("json", "nt"))
    with pytest.raises(RuntimeError, match="^KeyError"):  # a format nobody can write: not the query's fault
        threads.evaluate("SELECT ?s WHERE { ?s ?p ?o }", None, None, ("yaml", "nt"))


def test_a_page_fetch_is_whole_however_long(store):
    fmt, body = ThreadEvaluator(store, timeout=60).fetch("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
    assert fmt == "nt" and body.count(b"\n") == ROWS


def test_the_deadline_gives_up_the_wait_and_hands_the_runaway_over(store, retired):
    threads = ThreadEvaluator(store, timeout=0.2)
    began = time.monotonic()
    evaluation = threads.start(PAIRS, None, None, ("json", "nt"))
    with pytest.raises(QueryTimeout, match="ran out of time"):
        evaluation.head()
    assert time.monotonic() - began < 1.5 and retired == [PAIRS] and evaluation.abandoned
    assert wait_for(lambda: evaluation.finished), "the given-up evaluation never ended"
    fmt, _ = threads.evaluate("ASK { ?s ?p ?o }", None, None, ("json", "nt"))  # its place was given on
    assert fmt == "json"


def test_without_a_server_master_a_runaway_is_logged_and_left(store, caplog):
    assert thread_evaluator._retire is None  # nobody set a hook: no gunicorn worker here
    threads = ThreadEvaluator(store, timeout=0.2)
    evaluation = threads.start(PAIRS + " # logged", None, None, ("json", "nt"))
    with pytest.raises(QueryTimeout):
        evaluation.head()
    assert "goes on in its thread" in caplog.text and "# logged" in caplog.text
    assert wait_for(lambda: evaluation.finished)


def test_a_query_that_waited_for_a_thread_until_its_deadline_is_never_evaluated(store, retired):
    threads = ThreadEvaluator(store, timeout=60, threads=1)
    busy = threads.start(PAIRS + " # holds the only thread", None, None, ("json", "nt"))
    waiting = threads.start("ASK { ?s ?p ?o }", None, None, ("json", "nt"), deadline=Deadline(0.2))
    with pytest.raises(QueryTimeout, match="no evaluation thread was free"):
        waiting.head()
    assert retired == []  # nothing ran: no runaway
    busy.head()
    assert wait_for(lambda: busy.finished) and not waiting.running and not waiting.finished


def test_the_async_wait_leaves_the_loop_free(store, retired):
    import asyncio

    threads = ThreadEvaluator(store, timeout=0.5)

    async def run() -> tuple[int, BaseException | None]:
        ticks, failure = 0, None

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        try:
            await threads.start(PAIRS + " # async", None, None, ("json", "nt")).head_async()
        except QueryTimeout as exc:
            failure = exc
        ticker.cancel()
        return ticks, failure

    evaluations_before = threading.active_count()
    ticks, failure = asyncio.run(run())
    assert isinstance(failure, QueryTimeout) and ticks >= 20  # the loop ran while the query did
    assert retired == [PAIRS + " # async"]
    assert wait_for(lambda: threading.active_count() <= evaluations_before)


def test_a_deadline_bounds_every_wait_and_says_why():
    deadline = Deadline(0.2)
    assert 0 < deadline.left() <= 0.2
    deadline.check()  # time left: no error
    time.sleep(0.25)
    assert deadline.left() == 0
    with pytest.raises(QueryTimeout, match=r"ran out of time \(0.2 s limit\) before it began"):
        deadline.check()
    assert "ran out of time (0.2 s limit) and was stopped" in str(deadline.ran_out())
    assert "no evaluation thread was free before the time limit" in str(deadline.busy())
    spent = Deadline(5, started=time.monotonic() - 6)
    assert spent.left() == 0 and Deadline(5, started=time.monotonic() + 1).left() > 5
