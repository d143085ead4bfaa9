"""The shared evaluator pool (kg.evaluation.shared_pool): one FIFO queue for every gunicorn worker.

Real processes throughout: gunicorn servers from tests/live.py (which passes
``--config python:kg.gunicorn_conf`` as ``kg serve`` does), and a pool started
in this process (:class:`MasterPool`, as the master starts it) for what only a
worker can see, such as its count of killed evaluators.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.parse
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from live import ROOT, request, serve

from kg.errors import QueryTimeout
from kg.evaluation.deadline import Deadline
from kg.evaluation.shared_pool import MasterPool, SharedEvaluator
from kg.store.embedded import Store

KEEPER = b"kg.evaluation.pool_keeper"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # every triple cubed


def slow(n: int, tag: object) -> str:
    """A query whose work grows as ``n``² (a count over a cross product), distinct per ``tag``."""
    a, b = (f"{{ SELECT ?{v} WHERE {{ ?{v} ?p{v} ?o{v} }} LIMIT {n} }}" for v in "ab")
    return f"# {tag}\nSELECT (COUNT(*) AS ?n) WHERE {{ {a} {b} }}"


def _stats() -> dict[int, tuple[int, bytes]]:
    """Every live process (zombies left out): pid -> (parent pid, command line)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                state, parent = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[:2]
                if state != "Z":
                    found[int(entry)] = (int(parent), Path(f"/proc/{entry}/cmdline").read_bytes())
            except (OSError, IndexError):
                continue
    return found


def pool_processes(master: int) -> tuple[set[int], set[int]]:
    """The keepers started by ``master`` and the evaluators they keep."""
    stats = _stats()
    keepers = {pid for pid, (parent, cmd) in stats.items() if parent == master and KEEPER in cmd}
    return keepers, {pid for pid, (parent, _) in stats.items() if parent in keepers}


def wait_for(check, limit: float = 10.0):
    deadline = time.monotonic() + limit
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- one pool for two gunicorn workers


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # no time limit that a queue of slow queries on a loaded machine could reach: these tests are
    # about who evaluates, and in which order (tests/test_limits.py covers the limit)
    folder = tmp_path_factory.mktemp("pool") / "store"
    with serve(folder, workers=2, KG_EVALUATORS="1", KG_QUERY_TIMEOUT="600") as server:
        yield server


def _worker_of(live, conn: http.client.HTTPConnection) -> int:
    """The gunicorn worker holding ``conn``'s server side (from the kernel's socket tables)."""
    port = conn.sock.getsockname()[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port:  # the server's end: remote is our port
            inodes.add(fields[9])
    for pid, (parent, _) in _stats().items():
        if parent != live.pid:
            continue
        with os.scandir(f"/proc/{pid}/fd") as fds:
            if any(os.readlink(fd.path) in {f"socket:[{i}]" for i in inodes} for fd in fds):
                return pid
    raise AssertionError("no worker holds the connection")


def _post(conn: http.client.HTTPConnection, text: str) -> tuple[int, bytes]:
    body = urllib.parse.urlencode({"query": text})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/sparql-results+json",
    }
    conn.request("POST", "/sparql", body, headers)
    response = conn.getresponse()
    return response.status, response.read()


def _pool_connections(path: str) -> set[tuple[str, str]]:
    """The connections to the pool's socket, queued or accepted, as (kernel address, inode): the
    kernel lists each under the socket's path, with inode 0 while it waits in the accept queue."""
    found = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 7 and fields[7] == path and fields[3] != "00010000":  # not the listener
            found.add((fields[0], fields[6]))
    return found


def _arrived(before: set[tuple[str, str]], path: str) -> set[tuple[str, str]]:
    """Connections to the pool that were not there in ``before`` (one queued then and accepted
    since is not new)."""
    queued_before = {address for address, inode in before if inode == "0"}
    return {(a, i) for a, i in _pool_connections(path) - before if a not in queued_before}


def test_both_workers_share_one_pool_in_arrival_order(live):
    """Pool size 1, two workers: the queries of both are served one at a time, first come first
    served (per-worker pools would run one query per worker at once, out of order).

    Each query is sent once the one before it is in the pool's queue (seen in the kernel's table
    of Unix sockets), so the order of arrival is known, not hoped for after a pause."""
    host = urllib.parse.urlparse(live).netloc
    by_worker: dict[int, list[http.client.HTTPConnection]] = {}
    for _ in range(40):  # keep-alive connections until both workers hold two
        conn = http.client.HTTPConnection(host, timeout=60)
        assert _post(conn, "ASK {}")[0] == 200
        by_worker.setdefault(_worker_of(live, conn), []).append(conn)
        if len(by_worker) == 2 and all(len(c) >= 2 for c in by_worker.values()):
            break
    assert len(by_worker) == 2, "every connection went to one worker"
    (a1, a2, *_), (b1, b2, *_) = by_worker.values()
    path = _pool_socket(min(pool_processes(live.pid)[0]))
    started = time.monotonic()
    assert _post(a1, slow(3500, "calibrate"))[0] == 200
    single = time.monotonic() - started
    done: dict[int, float] = {}
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send(i: int, conn) -> None:
        try:
            status, _ = _post(conn, slow(3500, f"q{i}"))
        except BaseException as error:  # reported below, not lost with the thread
            errors.append(error)
            raise
        statuses.append(status)
        done[i] = time.monotonic()

    threads = []
    for i, conn in [(-1, b2), (0, a2), (1, b1), (2, a1)]:  # alternating workers, the blocker first
        conn.sock.settimeout(max(60.0, 10 * single))  # four evaluations in a row
        before = _pool_connections(path)
        threads.append(threading.Thread(target=send, args=(i, conn)))
        threads[-1].start()
        wait_for(lambda before=before: _arrived(before, path), limit=30)  # in the pool's queue
    for thread in threads:
        thread.join(max(120.0, 10 * single))
    assert not errors and statuses == [200] * 4, (errors, statuses)
    finished = [i for i, _ in sorted(done.items(), key=lambda item: item[1])]
    assert finished == [-1, 0, 1, 2], f"not first come first served: {finished}"
    gaps = [done[i] - done[i - 1] for i in (0, 1, 2)]
    assert min(gaps) > single * 0.5, (
        f"queries overlapped (one evaluator): gaps {gaps}, one query {single:.2f} s"
    )


def test_a_new_generation_is_seen_by_the_next_query(live, tmp_path):
    count = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <%sgraph/extra> { ?s ?p ?o } } # %s"

    def extra(tag: str) -> int:
        url = f"{live}sparql?" + urllib.parse.urlencode({"query": count % (live, tag)})
        status, _, body = request(url, headers={"Accept": "application/sparql-results+json"})
        assert status == 200, body
        return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])

    assert extra("before") == 0  # the evaluator has the store open now
    folder = tmp_path / "extra"
    folder.mkdir()
    for name in ("agencies.csv", "datasets.csv", "distributions.csv"):
        lines = (ROOT / "kg/sample/csv" / name).read_text(encoding="utf-8").splitlines()
        (folder / name).write_text("\n".join(lines if name == "agencies.csv" else lines[:2]) + "\n")
    live.kg("ingest", folder, "--source", "extra")
    assert extra("after") > 0


def test_sighup_renews_the_pool_and_keeps_answering(live):
    keepers, evaluators = pool_processes(live.pid)
    workers = {pid for pid, (parent, _) in _stats().items() if parent == live.pid} - keepers
    os.kill(live.pid, signal.SIGHUP)
    wait_for(lambda: pool_processes(live.pid)[0] - keepers and not (evaluators & pool_processes(live.pid)[1]))
    # the old web workers stop too; one that is stopping may close a connection it has just accepted
    # (uvicorn's graceful shutdown), so the request waits for them to be gone
    wait_for(lambda: not any(alive(pid) for pid in workers), limit=30)
    url = f"{live}sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o } # after HUP"})
    assert request(url)[0] == 200
    assert not any(alive(pid) for pid in keepers | evaluators)


def _unix_sockets(pid: int) -> set[str]:
    """The paths of the Unix sockets a process has open (/proc/net/unix)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
    lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    return {f[7] for f in map(str.split, lines) if len(f) > 7 and f[6] in inodes}


def _pool_socket(keeper: int) -> str:
    """The path of the pool's socket, found from the keeper's open sockets."""
    (path,) = {p for p in _unix_sockets(keeper) if "kg-evaluators-" in p}
    return path


def test_the_master_listens_on_no_control_socket(live):
    """gunicorn 27 listens on ``~/.gunicorn/gunicorn.ctl`` for its control interface, one path for
    every server of the user: a second ``kg serve`` took the first's. We do not use it."""
    master = live.pid
    assert _unix_sockets(master), "found no socket of the master: the check would see nothing"
    assert not {p for p in _unix_sockets(master) if p.endswith(".ctl")}


def test_no_evaluator_outlives_the_master(tmp_path):
    for stop in (signal.SIGTERM, signal.SIGKILL):
        with serve(tmp_path / stop.name / "store", workers=1, sample=False, KG_EVALUATORS="2") as server:
            keepers, evaluators = wait_for(lambda: (found := pool_processes(server.pid))[1] and found)
            assert len(keepers) == 1 and len(evaluators) == 2
            workers = {pid for pid, (parent, _) in _stats().items() if parent == server.pid} - keepers
            assert len(workers) == 1
            sock = _pool_socket(min(keepers))
            assert Path(sock).is_socket()
            os.kill(server.pid, stop)  # SIGKILL: keeper and web worker learn it from the kernel (PDEATHSIG)
            pool = keepers | evaluators | workers
            wait_for(lambda pool=pool: not any(alive(pid) for pid in pool), limit=15)
            assert not Path(sock).parent.exists(), "the pool's socket folder was left behind"


def test_under_reload_a_changed_file_renews_the_processes_that_evaluate(tmp_path):
    """``kg serve --reload`` restarts the workers on a change, not the master: a pool the master
    started would go on evaluating with the old code, so each worker evaluates in its own processes."""
    changed = tmp_path / "watched.py"
    changed.write_text("")
    reload = ("--reload", "--reload-extra-file", str(changed))
    query = "sparql?query=" + urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")

    def worker_and_evaluators() -> tuple[int, set[int]] | None:
        stats = _stats()
        (worker, *more) = [pid for pid, (parent, _) in stats.items() if parent == server.pid] or [0]
        children = {pid for pid, (parent, _) in stats.items() if parent == worker}
        return (worker, children) if worker and not more and children else None

    with serve(tmp_path / "store", workers=1, sample=False, gunicorn=reload) as server:
        assert request(server + query)[0] == 200
        assert pool_processes(server.pid) == (set(), set()), "the master started a pool"
        worker, evaluators = wait_for(worker_and_evaluators)
        later = time.time() + 5
        os.utime(changed, (later, later))  # a change gunicorn's reloader sees (it polls mtimes)
        wait_for(lambda: not alive(worker), limit=20)
        wait_for(lambda: request(server + query)[0] == 200, limit=20)
        new_worker, new_evaluators = wait_for(worker_and_evaluators)
        assert new_worker != worker and not new_evaluators & evaluators
        wait_for(lambda: not any(alive(pid) for pid in evaluators), limit=15)


# ---------------------------------------------------------------- a pool in this process, as a master runs it


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool-store")
    store = Store(folder / "store")
    with store.write(replace=("urn:g",)) as writer:
        writer.load_text(
            "".join(f"<urn:s{i}> <urn:p> <urn:o{i % 7}> .\n" for i in range(4000)), graph="urn:g"
        )
    master = MasterPool(2)
    try:
        yield master, SharedEvaluator(master.path, store.path, (), timeout=10)
    finally:
        master.stop()
        assert not alive(master.keeper.pid)


def _evaluators(master: MasterPool, count: int) -> set[int]:
    return wait_for(lambda: len(found := pool_processes(os.getpid())[1]) == count and found)


def test_a_query_past_its_deadline_is_killed_and_the_pool_recovers(pool):
    master, client = pool
    before, killed = _evaluators(master, 2), client.killed
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="ran out of time"):
        client.evaluate(HEAVY, None, None, ("json", "nt"), deadline=Deadline(0.5))
    assert time.monotonic() - started < 3
    assert client.killed == killed + 1
    wait_for(lambda: len(before - _evaluators(master, 2)) == 1)  # the killed one replaced
    fmt, body = client.evaluate("ASK { ?s ?p ?o }", None, None, ("json", "nt"))
    assert fmt == "json" and json.loads(b"".join(body))["boolean"] is True


def test_a_client_gone_mid_stream_discards_its_evaluator(pool):
    master, client = pool
    before, killed = _evaluators(master, 2), client.killed
    fmt, chunks = client.evaluate("SELECT * WHERE { ?s ?p ?o }", None, None, ("json", "nt"))
    assert not isinstance(chunks, list), "the answer should be long enough to stream"
    next(chunks)
    chunks.close()  # what the WSGI server does when its client goes away
    assert client.killed == killed + 1
    wait_for(lambda: len(before - _evaluators(master, 2)) == 1)  # killed, and replaced


def test_a_request_given_up_in_the_queue_is_not_evaluated(pool):
    """The event loop's client sends its request as it connects (kg.web.pooled), so a request
    whose worker gave up waiting in the queue (the deadline) is still in the socket when an
    evaluator accepts it: that evaluator's first write (its pid) fails on the closed connection and
    it takes the next, instead of spending itself on an answer nobody reads (one that never ends)."""
    master, client = pool
    _evaluators(master, 2)
    held = [client._acquire(Deadline(10)) for _ in range(2)]  # every evaluator busy: the next waits
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(master.path)
    abandoned = Connection(sock.detach())
    abandoned.send((str(client.store_path), (), (HEAVY, None, None, ("json", "nt"), 0)))
    abandoned.close()  # given up before any evaluator took it
    for lease in held:
        client._release(lease)
    time.sleep(0.3)  # one of them has accepted the abandoned request by now
    busy = client._acquire(Deadline(10))
    try:  # the other evaluator must be free, not computing HEAVY
        _, body = client.evaluate("ASK { <urn:s1> ?p ?o }", None, None, ("json", "nt"), deadline=Deadline(3))
        assert json.loads(b"".join(body))["boolean"] is True
    finally:
        client._release(busy)


def test_an_evaluator_killed_from_outside_is_replaced(pool):
    master, client = pool
    before = _evaluators(master, 2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_for(lambda: victim not in (found := _evaluators(master, 2)) and found)
    assert len(after) == 2 and victim not in after
    for i in range(4):  # every evaluator answers (more queries than evaluators)
        _, body = client.evaluate(f"ASK {{ <urn:s{i}> ?p ?o }}", None, None, ("json", "nt"))
        assert json.loads(b"".join(body))["boolean"] is True


def test_a_light_load_stays_on_the_evaluator_whose_cache_is_warm(pool):
    """One query at a time goes to the same evaluator (first started, first chosen), not round
    all of them as a first-come-first-served ``accept()`` would; a second query at once goes to
    the other one."""
    master, client = pool
    _evaluators(master, 2)
    time.sleep(0.2)  # both idle in their wait
    chosen = []
    for i in range(8):
        lease = client._acquire(Deadline(10))
        chosen.append(lease.pid)
        client._send(lease, (f"ASK {{ <urn:s{i}> ?p ?o }}", None, None, ("json", "nt"), 0))
        assert lease.conn.recv_bytes()[:1] in (b"A", b"F")  # the answer has begun
        client._release(lease)
        time.sleep(0.1)  # back in its wait
    assert len(set(chosen)) == 1, f"consecutive queries went round the evaluators: {chosen}"
    held = client._acquire(Deadline(10))
    other = client._acquire(Deadline(10))
    try:
        assert held.pid == chosen[0] and other.pid != held.pid
    finally:
        client._release(held)
        client._release(other)
