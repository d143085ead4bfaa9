"""Real SPARQL 1.1 servers on 127.0.0.1 for the remote-store tests: ``oxigraph serve`` and Virtuoso.

The remote store talks to its backend only through the standard protocols (SPARQL 1.1 Protocol for
queries and updates, Graph Store HTTP Protocol for whole graphs), so its tests must run against real,
independent implementations rather than a mock that shares our own assumptions. This module starts
them as child processes in a folder of the caller's choosing (a pytest ``tmp_path``), bound to
loopback on free ports, and stops them with their whole process group so no server outlives a test
run. It holds plain classes and functions, no pytest fixtures, so that the fixtures in the test
files decide the scope (one server per module keeps the suite fast).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

LOOPBACK = "127.0.0.1"
# A bound on a start that is polled every 0.1 s (a healthy server never waits for it), not a
# pause: on this 2-core machine under other work, a start took over 30 s (gunicorn: the master,
# each worker is a new interpreter; Virtuoso builds its database).
STARTUP_TIMEOUT = 120.0
# Never let a proxy from the environment see a request meant for loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, so parallel runs never collide on a fixed one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _free_ports(count: int) -> list[int]:
    """Several distinct free ports: all sockets stay bound until all are chosen, so no port repeats."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in socks]


@dataclass
class RemoteServer:
    """A running SPARQL server and the endpoints the remote store needs.

    ``user``/``password`` are None when the endpoints take no authentication (both servers here, on
    loopback). ``stop()`` is idempotent; the object is a context manager that stops on exit.
    """

    name: str
    query_url: str
    update_url: str
    gsp_url: str
    user: str | None = None
    password: str | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    startup_seconds: float = 0.0

    def stop(self) -> None:
        """Terminate the server's whole process group and wait, killing it if it does not exit in time."""
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        # Anything the server forked into its group goes too, even if the leader exited first.
        _signal_group(proc, signal.SIGKILL)

    def graph_sizes(self) -> dict[str, int]:
        """The triples of each named graph, and of the default graph under ``""`` (on Virtuoso the
        union of all graphs): what the server holds, comparable with ``==``."""
        sizes = {"": int(self._select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"]["value"])}
        rows = self._select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return sizes | {row["g"]["value"]: int(row["n"]["value"]) for row in rows}

    def empty_back_to(self, sizes: dict[str, int]) -> bool:
        """Drop every graph not in ``sizes`` (and clear Oxigraph's default graph unless it held
        triples then): the server as it was when ``sizes`` was read, so that tests can share one
        server. False when that is not enough (a graph of ``sizes`` changed): start a new one."""
        now = self.graph_sizes()
        steps = [f"DROP SILENT GRAPH <{g}>" for g in sorted(now) if g and g not in sizes]
        if self.name == "oxigraph" and now[""] and not sizes[""]:
            steps.append("CLEAR SILENT DEFAULT")
        if steps:
            request = urllib.request.Request(
                self.update_url,
                data=" ;\n".join(steps).encode(),
                method="POST",
                headers={"Content-Type": "application/sparql-update"},
            )
            with _OPENER.open(request, timeout=60):
                pass
        return self.graph_sizes() == sizes

    def _select(self, query: str) -> list[dict]:
        url = self.query_url + "?" + urllib.parse.urlencode({"query": query})
        request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
        with _OPENER.open(request, timeout=60) as response:
            return json.load(response)["results"]["bindings"]

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        return _tail(self.log_path, lines)

    def __enter__(self) -> RemoteServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group led by ``proc`` (started with ``start_new_session``); gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _tail(path: Path | None, lines: int) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _spawn(argv: list[str], log_path: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a server in its own session (so stop() can kill the group), output to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until_answers(server: RemoteServer, probe_url: str, timeout: float, started: float) -> None:
    """Poll ``probe_url`` until it answers 200; if the process exits or time runs out, stop and raise."""
    assert server.process is not None
    deadline = started + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            server.stop()
            raise RuntimeError(
                f"{server.name} exited with code {code} before answering {probe_url}; "
                f"log {server.log_path}:\n{_tail(server.log_path, 30)}"
            )
        try:
            with _OPENER.open(probe_url, timeout=5) as response:
                if response.status == 200:
                    server.startup_seconds = time.monotonic() - started
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.1)
    tail = _tail(server.log_path, 30)
    server.stop()
    raise RuntimeError(
        f"{server.name} did not answer {probe_url} within {timeout:.0f}s (last: {last_error}); "
        f"log {server.log_path}:\n{tail}"
    )


def _ask_url(query_url: str) -> str:
    return query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})


# --- Oxigraph ----------------------------------------------------------------------------------


def oxigraph_command() -> str | None:
    """The ``oxigraph`` CLI (PyPI package ``oxigraph``): next to the running interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("oxigraph")
    if beside.exists():
        return str(beside)
    return shutil.which("oxigraph")


def oxigraph_available() -> str | None:
    """None when ``oxigraph serve`` can run here, else the reason (for a test skip message)."""
    if oxigraph_command() is None:
        return "the oxigraph CLI is not installed (pip install oxigraph)"
    return None


def start_oxigraph(folder: Path, timeout: float = STARTUP_TIMEOUT) -> RemoteServer:
    """Start ``oxigraph serve`` on a fresh RocksDB store in ``folder`` and wait until it answers.

    No ``--union-default-graph``: the remote store needs the real (empty unless written) default
    graph, as the SPARQL 1.1 dataset defines it. Endpoints: ``/query``, ``/update``, ``/store``
    (GSP with ``?graph=IRI`` or ``?default``). The log goes to ``<folder>.log`` beside the store.
    """
    command = oxigraph_command()
    if command is None:
        raise RuntimeError(oxigraph_available())
    folder.mkdir(parents=True, exist_ok=True)
    base = f"http://{LOOPBACK}:{free_port()}"
    log_path = folder.parent / f"{folder.name}-oxigraph.log"
    started = time.monotonic()
    server = RemoteServer(
        name="oxigraph",
        query_url=f"{base}/query",
        update_url=f"{base}/update",
        gsp_url=f"{base}/store",
        log_path=log_path,
        process=_spawn(
            [command, "serve", "--location", str(folder), "--bind", base.removeprefix("http://")],
            log_path,
        ),
    )
    _wait_until_answers(server, _ask_url(server.query_url), timeout, started)
    return server


# --- Virtuoso ----------------------------------------------------------------------------------

VIRTUOSO_BINARY = "virtuoso-t"
# Debian names the isql client isql-vt (plain "isql" is unixODBC's); fall back for other builds.
ISQL_NAMES = ("isql-vt", "isql-v")
# The default administrator; only ever used inside the throwaway database this module creates.
DBA_USER = "dba"
DBA_PASSWORD = "dba"

_VIRTUOSO_INI = """\
; Written by tests/servers.py for a throwaway test database; everything stays in this folder.
[Database]
DatabaseFile       = virtuoso.db
ErrorLogFile       = virtuoso.log
LockFile           = virtuoso.lck
TransactionFile    = virtuoso.trx
xa_persistent_file = virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = virtuoso-temp.db
TransactionFile    = virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = {host}:{sql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 10
CheckpointInterval   = 60
O_DIRECT             = 0
CaseMode             = 2
DirsAllowed          = .
; No VADInstallDir: nothing (conductor, packages) is installed at first start.
NumberOfBuffers      = 4000
MaxDirtyBuffers      = 3000
MaxQueryMem          = 256M
ThreadsPerQuery      = 2
AsyncQueueMaxThreads = 4

[HTTPServer]
ServerPort           = {host}:{http_port}
ServerRoot           = .
MaxClientConnections = 10
ServerThreads        = 10
EnabledDavVSP        = 0
HTTPProxyEnabled     = 0
Charset              = UTF-8
EnabledGzipContent   = 0

[SPARQL]
; Virtuoso silently truncates results past this many rows (see start_virtuoso).
ResultSetMaxRows      = {max_rows}
MaxQueryExecutionTime = 60
"""


def _isql_command() -> str | None:
    for name in ISQL_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def virtuoso_available() -> str | None:
    """None when Virtuoso can run here, else the reason (for a test skip message)."""
    if shutil.which(VIRTUOSO_BINARY) is None:
        return f"{VIRTUOSO_BINARY} is not installed (apt-get install virtuoso-opensource)"
    if _isql_command() is None:
        return f"none of {', '.join(ISQL_NAMES)} is installed (apt-get install virtuoso-opensource)"
    return None


def virtuoso_sql(sql_port: int, statements: str, timeout: float = 60) -> str:
    """Run SQL through isql on the test database as dba; raise with isql's output on any error."""
    isql = _isql_command()
    if isql is None:
        raise RuntimeError(virtuoso_available())
    result = subprocess.run(
        [isql, f"{LOOPBACK}:{sql_port}", DBA_USER, DBA_PASSWORD, f"exec={statements}"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    # isql exits 0 even when a statement fails; its errors start with "*** Error".
    if result.returncode != 0 or "*** Error" in output:
        raise RuntimeError(f"isql failed on {statements!r}:\n{output}")
    return output


def start_virtuoso(folder: Path, timeout: float = STARTUP_TIMEOUT, max_rows: int = 10000) -> RemoteServer:
    """Start Virtuoso on a fresh database in ``folder``, and open its plain endpoints to updates.

    Writes ``folder/virtuoso.ini`` (database, logs, both the SQL and the HTTP port on 127.0.0.1,
    small buffers, no VAD packages), runs ``virtuoso-t +foreground``, waits for ``/sparql``, then
    ``GRANT SPARQL_UPDATE TO "SPARQL"``: the one grant that makes SPARQL UPDATE over ``/sparql``
    and read-write GSP over ``/sparql-graph-crud`` work without authentication (the anonymous web
    user is SQL user ``SPARQL``). The authenticated twins ``/sparql-auth`` and
    ``/sparql-graph-crud-auth`` use HTTP Digest with ``dba``/``dba``; they are not needed here.

    ``max_rows`` is ``[SPARQL] ResultSetMaxRows``; 10000 is Debian's default, kept so that tests see
    what a stock server does: past it SELECT, CONSTRUCT and GSP GET answers are cut short with 200.
    """
    reason = virtuoso_available()
    if reason is not None:
        raise RuntimeError(reason)
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = _free_ports(2)
    ini = folder / "virtuoso.ini"
    ini.write_text(
        _VIRTUOSO_INI.format(host=LOOPBACK, sql_port=sql_port, http_port=http_port, max_rows=max_rows)
    )
    base = f"http://{LOOPBACK}:{http_port}"
    log_path = folder / "virtuoso-stdout.log"
    started = time.monotonic()
    server = RemoteServer(
        name="virtuoso",
        query_url=f"{base}/sparql",
        update_url=f"{base}/sparql",
        gsp_url=f"{base}/sparql-graph-crud",
        log_path=log_path,
        process=_spawn(
            [shutil.which(VIRTUOSO_BINARY) or VIRTUOSO_BINARY, "+foreground", "+configfile", ini.name],
            log_path,
            cwd=folder,
        ),
    )
    # The HTTP listener comes up just before the SQL one; wait for both, then grant.
    _wait_until_answers(server, _ask_url(server.query_url), timeout, started)
    try:
        _wait_for_sql(sql_port, deadline=started + timeout)
        virtuoso_sql(sql_port, 'GRANT SPARQL_UPDATE TO "SPARQL";')
    except Exception:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def _wait_for_sql(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Virtuoso's SQL port {port} did not open in time") from None
            time.sleep(0.1)
