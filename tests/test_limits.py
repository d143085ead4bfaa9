"""A public endpoint survives the public: time limits that stop the work, no SSRF, input limits."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import wait_for
from live import request, serve
from test_serving_workers import alive, workers_of

CROSS = "?a ?b ?c . ?d ?e ?f . ?g ?h ?i"  # every triple cubed
HEAVY = f"SELECT (COUNT(*) AS ?n) WHERE {{ {CROSS} }}"
LIGHT = "ASK { ?s a <http://www.w3.org/ns/dcat#Dataset> }"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(
        tmp_path_factory.mktemp("limits") / "store",
        workers=2,
        KG_QUERY_TIMEOUT="2",
        KG_UPDATE_TOKEN="t",
        KG_MAX_RESULTS="100",
    ) as s:
        yield s


def query(live, text: str, **params: str):
    return request(f"{live}sparql?" + urllib.parse.urlencode({"query": text, **params}))


def _tree(root: int) -> dict[int, list[str]]:
    """A process and all its descendants, from /proc: pid -> the fields of its stat line after the name."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found[pid] = stats[pid]
        todo.extend(children.get(pid, []))
    return found


def _tree_cpu_seconds(root: int) -> float:
    """CPU time of a process and all its descendants."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in _tree(root).values())
    return ticks / os.sysconf("SC_CLK_TCK")


def test_heavy_query_is_stopped_while_light_queries_answer(live):
    light_times: list[float] = []
    heavy_result: dict = {}

    def heavy() -> None:
        started = time.monotonic()
        heavy_result["status"], _, heavy_result["body"] = query(live, HEAVY)
        heavy_result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=heavy)
    thread.start()
    time.sleep(0.3)
    while thread.is_alive():
        started = time.monotonic()
        status, _, body = query(live, LIGHT)
        light_times.append(time.monotonic() - started)
        assert status == 200 and json.loads(body)["boolean"] is True
        time.sleep(0.2)
    assert heavy_result["status"] == 503 and b"ran out of time" in heavy_result["body"]
    assert 1.9 <= heavy_result["seconds"] < 6
    assert light_times and max(light_times) < 2.0


def test_a_describe_with_a_pattern_is_stopped_too(live):
    """Only DESCRIBE of named IRIs (with few triples) is evaluated on the event loop: a pattern is not."""
    started = time.monotonic()
    heavy = f"DESCRIBE ?a WHERE {{ {{ SELECT ?a (COUNT(*) AS ?n) WHERE {{ {CROSS} }} GROUP BY ?a }} }}"
    status, _, body = query(live, heavy)
    assert status == 503 and b"ran out of time" in body
    assert time.monotonic() - started < 6
    status, headers, body = query(live, "DESCRIBE <http://nothing.example/x>")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")


def test_a_runaway_retires_its_worker_and_a_fresh_one_serves(tmp_path):
    """A query cannot be stopped in its thread, so its worker retires: the client gets its 503 at
    the limit, cheap queries are answered meanwhile, the worker's process is gone shortly after
    (and the runaway's work with it: the server is idle again), and a fresh worker serves.
    On a server of its own: one of the module's workers may still be retiring from an earlier
    test's runaway, and a query it took before it went would be cut (a connection reset)."""
    with serve(tmp_path / "store", workers=2, KG_QUERY_TIMEOUT="2") as live:
        before = wait_for(lambda: found if len(found := workers_of(live.pid)) == 2 else set())
        assert len(before) == 2 and query(live, LIGHT + " # ready")[0] == 200
        heavy: dict = {}

        def run() -> None:
            started = time.monotonic()
            heavy["status"], _, heavy["body"] = query(live, HEAVY + " # retires")
            heavy["seconds"], heavy["ended"] = time.monotonic() - started, time.monotonic()

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        answered = []
        while thread.is_alive():
            answered.append(query(live, LIGHT)[0])
            time.sleep(0.1)
        assert answered and set(answered) == {200}
        assert heavy["status"] == 503 and b"ran out of time" in heavy["body"] and 1.9 <= heavy["seconds"] < 4
        gone = wait_for(lambda: {pid for pid in before if not alive(pid)}, limit=10)
        assert len(gone) == 1, f"not one worker retired: {gone}"
        assert time.monotonic() - heavy["ended"] < 10
        fresh = wait_for(lambda: found if len(found := workers_of(live.pid)) == 2 else set())
        assert len(fresh) == 2 and fresh - before, "no fresh worker took the retired one's place"
        for _ in range(4):
            assert query(live, LIGHT + " # after")[0] == 200
        time.sleep(0.5)
        idle_from = _tree_cpu_seconds(live.pid)
        time.sleep(2.0)
        spent = _tree_cpu_seconds(live.pid) - idle_from
        assert spent < 0.5, f"the server used {spent:.2f} CPU-seconds while idle: the work was not stopped"


class _Recorder(http.server.BaseHTTPRequestHandler):
    connections: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        _Recorder.connections.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/turtle")
        self.end_headers()
        self.wfile.write(b"<urn:a> <urn:b> <urn:c> .")

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture()
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.connections = []
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_service_and_load_never_connect(live, recorder):
    attempts = [
        f"SELECT * WHERE {{ SERVICE <{recorder}sparql> {{ ?s ?p ?o }} }}",
        f"select * where {{ service silent <{recorder}sparql> {{ ?s ?p ?o }} }}",
        f"PREFIX r: <{recorder}> SELECT * WHERE {{ SERVICE r:sparql {{ ?s ?p ?o }} }}",
        "SELECT * WHERE { BIND(<x> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    ]
    for text in attempts:
        status, _, body = query(live, text)
        assert status == 400 and b"not allowed" in body, text
    data = urllib.parse.urlencode({"update": f"LOAD <{recorder}data.ttl> INTO GRAPH <urn:g>"}).encode()
    status, _, body = request(
        f"{live}sparql",
        method="POST",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer t"},
    )
    assert status == 400 and b"not allowed" in body
    # SERVICE inside a string or a comment is no SERVICE clause
    assert query(live, 'SELECT * WHERE { BIND("SERVICE <http://x/>" AS ?x) } # SERVICE <http://y/>')[0] == 200
    time.sleep(0.3)
    assert _Recorder.connections == []


def test_allow_list_lets_the_operator_federate(tmp_path, recorder):
    with serve(tmp_path / "store", sample=False, KG_SERVICE_ALLOW=recorder) as allowed:
        status, _, body = query(allowed, f"SELECT * WHERE {{ SERVICE <{recorder}sparql> {{ ?s ?p ?o }} }}")
        assert status != 400 or b"not allowed" not in body
    assert _Recorder.connections, "the allowed endpoint was not contacted"


def test_a_64_mb_body_gets_413(live):
    host, port = urllib.parse.urlsplit(live).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.putrequest("POST", "/sparql")
    conn.putheader("Content-Type", "application/sparql-query")
    conn.putheader("Content-Length", str(64 << 20))
    conn.endheaders()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.send(b"SELECT * WHERE { ?s ?p ?o } #" + b"x" * (1 << 20))
    assert conn.getresponse().status == 413
    conn.close()


def test_long_and_deep_queries_are_refused(live):
    long_query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 200_000
    status, _, _ = request(
        f"{live}sparql",
        method="POST",
        data=long_query.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert status == 413
    deep = "SELECT * WHERE " + "{ " * 200 + "?s ?p ?o" + " }" * 200
    status, _, body = request(
        f"{live}sparql",
        method="POST",
        data=deep.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert status == 400 and b"nests" in body


def test_select_results_are_cut_at_the_row_limit_with_a_signal(live):
    for fmt, rows in (
        ("csv", lambda b: len(b.decode().splitlines()) - 1),
        ("tsv", lambda b: len(b.decode().splitlines()) - 1),
        ("json", lambda b: len(json.loads(b)["results"]["bindings"])),
    ):
        status, headers, body = query(live, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", format=fmt)
        assert status == 200 and rows(body) == 100, fmt
        assert headers["KG-Results-Truncated"] == "true" and headers["KG-Result-Limit"] == "100"
        # the cached repeat carries the signal too
        assert (
            query(live, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", format=fmt)[1]["KG-Results-Truncated"] == "true"
        )
    status, headers, body = query(live, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 7", format="csv")
    assert len(body.decode().splitlines()) == 8 and "KG-Results-Truncated" not in headers


def test_only_a_final_limit_within_the_cap_spares_the_cut(live):
    """The evaluation skips the cap for a query whose text ends with a LIMIT within it; a LIMIT in a
    comment, in a subquery or above the cap must not spare a long answer its cut."""
    for text in (
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } # LIMIT 5",
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }\n# LIMIT 5\n",
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } # a comment with a brace } LIMIT 5",
        "SELECT * WHERE { { SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 5000 } }",
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 101",
    ):
        status, headers, body = query(live, text, format="csv")
        assert status == 200 and len(body.decode().splitlines()) == 101, text
        assert headers["KG-Results-Truncated"] == "true", text
    for within in (
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }\nOFFSET 3 LIMIT 100\n",
        'SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(?o != "}") } LIMIT 100',
    ):
        status, headers, body = query(live, within, format="csv")
        assert len(body.decode().splitlines()) == 101 and "KG-Results-Truncated" not in headers, within


def test_a_constant_subject_s_lookup_on_the_loop_is_cut_at_the_row_limit_too(live):
    """A SELECT of one subject's triples is evaluated on the front's loop (bounded: that subject's
    triples, and the cap): the same cut and signal as in a thread, a LIMIT within the cap none."""
    many = " ".join(f"<urn:many> <urn:p> {k} ." for k in range(150))
    status, _, _ = request(
        f"{live}sparql",
        method="POST",
        data=urllib.parse.urlencode({"update": f"INSERT DATA {{ GRAPH <urn:g> {{ {many} }} }}"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer t"},
    )
    assert status == 204
    for fmt in ("csv", "json"):
        status, headers, body = query(live, "SELECT ?p ?o WHERE { <urn:many> ?p ?o }", format=fmt)
        rows = len(json.loads(body)["results"]["bindings"]) if fmt == "json" else len(body.splitlines()) - 1
        assert status == 200 and rows == 100 and headers["KG-Results-Truncated"] == "true", fmt
    status, headers, body = query(live, "SELECT ?o { <urn:many> <urn:p> ?o } LIMIT 7", format="csv")
    assert len(body.decode().splitlines()) == 8 and "KG-Results-Truncated" not in headers
