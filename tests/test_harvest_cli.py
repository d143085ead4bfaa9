"""``kg harvest`` and ``kg sources`` as a person runs them, against a real HTTP server on 127.0.0.1
serving real portal files: one line per source, the exit code of the worst, a credential from the
environment sent as a header and found nowhere else (output, state file), ``--loop`` stopped by
SIGTERM between sources, and the stop request that a signal handler can make at any moment."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import kg_command, run_kg
from harvest_portal import FLORIDA, VANVES, Portal
from in_process import kg_here

SECRET = "Bearer kg-test-7f3a9c"


@pytest.fixture
def env(kg_env: dict[str, str]) -> dict[str, str]:
    return kg_env | {"KG_HTTP_RETRIES": "1", "KG_HTTP_BACKOFF": "0.01", "KG_HTTP_HOST_INTERVAL": "0",
                     "PORTAL_TOKEN": SECRET}  # fmt: skip


def test_harvest_then_sources(tmp_path: Path, portal: Portal, shared: Path, env: dict[str, str]) -> None:
    portal.serve("/down/data.json", b"", plan=["500"])
    portal.serve("/vanves.rdf", (shared / "data" / VANVES).read_bytes(), content_type="application/rdf+xml",
                 etag='"v1"', require={"Authorization": SECRET})  # fmt: skip
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "down"\nurl = "{portal.url("/down/data.json")}"\nformat = "data.json"\n'
        f'schedule = "30m"\n\n[[source]]\nname = "vanves"\nurl = "{portal.url("/vanves.rdf")}"\n'
        'schedule = "1d"\nheader_env = { Authorization = "PORTAL_TOKEN" }\n',
        encoding="utf-8",
    )
    result = run_kg("harvest", str(sources), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "kg: down: failed, left as it was: " in result.stderr and "HTTP 500" in result.stderr
    assert "vanves: published " in result.stdout and "; next run " in result.stdout
    assert "Traceback" not in result.stderr
    assert portal.asked("/vanves.rdf")[0].headers["authorization"] == SECRET
    state = (Path(env["KG_STORE"]) / "harvest.json").read_text(encoding="utf-8")
    assert "kg-test-7f3a9c" not in state + result.stdout + result.stderr
    assert '"etag": "\\"v1\\""' in state, state

    again = run_kg("harvest", str(sources), "--source", "vanves", env=env)
    assert again.returncode == 0 and again.stdout.startswith("vanves: unchanged, not modified (HTTP 304)")
    assert len(portal.asked("/down/data.json")) == 2  # --source: the other one was not asked again

    listed = run_kg("sources", env=env)
    assert listed.returncode == 0, listed.stderr
    header, _, down, vanves, *notes = listed.stdout.splitlines()
    assert all(column in header for column in ("last run", "last harvest", "outcome", "next run"))
    assert down.split()[:2] == ["down", "-"] and " failed " in down  # never published
    assert vanves.startswith("vanves ") and " unchanged " in vanves and " rdf " in vanves
    assert notes[-1].startswith(f"  down: {portal.url('/down/data.json')}: the server answered HTTP 500")


def test_unknown_source_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "a"\nurl = "a.json"\n', encoding="utf-8")
    result = kg_here("harvest", str(sources), "--source", "b", env=env)
    assert result.returncode == 2 and f"{sources}: no source named 'b' in the file" in result.stderr


def test_loop_stops_cleanly_on_sigterm(tmp_path: Path, shared: Path, env: dict[str, str]) -> None:
    (tmp_path / "florida.data.json").write_bytes((shared / "data" / FLORIDA).read_bytes())
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "florida"\nurl = "florida.data.json"\nschedule = "1h"\n', "utf-8")
    with subprocess.Popen(
        [str(kg_command()), "harvest", str(sources), "--loop"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as loop:  # fmt: skip
        first = loop.stdout.readline()  # the first pass's line: then it sleeps for an hour
        assert first.startswith("florida: published "), first + loop.stderr.read()
        loop.send_signal(signal.SIGTERM)
        try:
            out, err = loop.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            loop.kill()  # else leaving the with block waits for it for ever
            raise
    assert loop.returncode == 0, err
    assert "SIGTERM: stopping after the current source" in err and "harvest stopped" in err
    assert "Traceback" not in err


# A signal every half millisecond for two seconds, each handler setting the stop request that the
# main thread is polling at that moment. With threading.Event in StopRequest's place this deadlocks
# (the handler blocks on the lock its own thread holds inside wait(); here, with the next signals'
# handlers piling up on that lock, it dies of a RecursionError: tried by hand, 3 runs of 3).
SIGNAL_STORM = """
import signal, time
from kg.harvest.run import StopRequest
stops = [StopRequest()]
signal.signal(signal.SIGALRM, lambda signum, frame: stops[-1].set())
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
end = time.monotonic() + 2
while time.monotonic() < end:
    while not stops[-1].wait(0.0):
        pass
    stops.append(StopRequest())
signal.setitimer(signal.ITIMER_REAL, 0)
print(len(stops) - 1)
"""


def test_a_signal_handler_can_request_a_stop_at_any_moment() -> None:
    storm = subprocess.run([sys.executable, "-c", SIGNAL_STORM], capture_output=True, text=True, timeout=60)
    assert storm.returncode == 0, storm.stderr
    assert int(storm.stdout) > 100  # each round ended by a handler's request
