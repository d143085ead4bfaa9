"""The web workers of ``kg serve`` (gunicorn, ``--config python:kg.gunicorn_conf``): they follow
new generations, are renewed by ``HUP`` and ``--reload``, and none outlives its master.

Real servers throughout (tests/live.py starts gunicorn as ``kg serve`` does). Each worker evaluates
its queries in its own threads (kg.evaluation.thread_evaluator); the master starts no other process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.parse
from pathlib import Path

import pytest
from live import ROOT, request, serve


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


def workers_of(master: int) -> set[int]:
    """The processes ``master`` started (its web workers)."""
    return {pid for pid, (parent, _) in _stats().items() if parent == master}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workers") / "store"
    with serve(folder, workers=2, KG_QUERY_TIMEOUT="600") as server:
        yield server


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


def test_sighup_renews_the_workers_and_keeps_answering(live):
    workers = workers_of(live.pid)
    assert len(workers) == 2
    os.kill(live.pid, signal.SIGHUP)
    # the old web workers stop; one that is stopping may close a connection it has just accepted
    # (uvicorn's graceful shutdown), so the request waits for them to be gone
    wait_for(lambda: not any(alive(pid) for pid in workers), limit=30)
    url = f"{live}sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o } # after HUP"})
    assert request(url)[0] == 200
    assert workers_of(live.pid) and not workers_of(live.pid) & workers


def _unix_sockets(pid: int) -> set[str]:
    """The paths of the Unix sockets a process has open (/proc/net/unix)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(fd).removeprefix("socket:[").removesuffix("]"))
    lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    return {f[7] for f in map(str.split, lines) if len(f) > 7 and f[6] in inodes}


def test_the_master_listens_on_no_control_socket(live):
    """gunicorn 27 listens on ``~/.gunicorn/gunicorn.ctl`` for its control interface, one path for
    every server of the user: a second ``kg serve`` took the first's. We do not use it."""
    master = live.pid
    sockets = [fd for fd in Path(f"/proc/{master}/fd").iterdir() if os.readlink(fd).startswith("socket:")]
    assert sockets, "found no socket of the master: the check would see nothing"
    assert not {p for p in _unix_sockets(master) if p.endswith(".ctl")}


def test_no_worker_outlives_the_master(tmp_path):
    for stop in (signal.SIGTERM, signal.SIGKILL):
        with serve(tmp_path / stop.name / "store", workers=1, sample=False) as server:
            workers = wait_for(lambda server=server: workers_of(server.pid))
            assert len(workers) == 1
            os.kill(server.pid, stop)  # SIGKILL: the web worker learns it from the kernel (PDEATHSIG)
            wait_for(lambda workers=workers: not any(alive(pid) for pid in workers), limit=15)


def test_under_reload_a_changed_file_renews_the_worker(tmp_path):
    """``kg serve --reload`` restarts the workers on a change, not the master; the worker evaluates
    its queries itself, so the new code evaluates."""
    changed = tmp_path / "watched.py"
    changed.write_text("")
    reload = ("--reload", "--reload-extra-file", str(changed))
    query = "sparql?query=" + urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")

    def the_worker() -> int | None:
        found = workers_of(server.pid)
        return min(found) if len(found) == 1 else None

    with serve(tmp_path / "store", workers=1, sample=False, gunicorn=reload) as server:
        assert request(server + query)[0] == 200
        worker = wait_for(the_worker)
        assert not workers_of(worker), "the worker started processes of its own"
        later = time.time() + 5
        os.utime(changed, (later, later))  # a change gunicorn's reloader sees (it polls mtimes)
        wait_for(lambda: not alive(worker), limit=20)
        wait_for(lambda: request(server + query)[0] == 200, limit=20)
        assert wait_for(the_worker) != worker
