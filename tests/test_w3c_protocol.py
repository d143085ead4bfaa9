"""The W3C SPARQL 1.1 Protocol and Graph Store HTTP Protocol test manifests, against a real server.

The manifests (``../shared/data/w3c-sparql11``, see its SOURCES.md) describe each test as HTTP
requests (``ht:Request``: method, path, headers, body) and what each answer must be
(``mf:expectedStatus``, ``mf:expectedFormat``, ``mf:expectedBoolean``, an expected graph, a
``Location``). This runner reads them with rdflib and sends the requests, in order, to ``kg serve``
over a socket (gunicorn, the ASGI front, evaluator processes), with the paths the manifests
name mapped onto ours (``/sparql/`` → ``/sparql``, ``/gsp`` → ``/store``) and the write token
added (the manifests' endpoints are open to writes; ours needs the token). The data graphs
(``ut:graphData``) are loaded before a test through the Graph Store, under the names the
manifests give them, and every graph is dropped after it.

A case the service does not pass yet is marked ``xfail`` (strict) with the reason, in
:data:`KNOWN`: fixing one makes its test fail until the mark is removed. Skipped, with the
reason, where ``../shared`` is absent.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import rdflib
from conftest import SHARED
from live import Headers, request, serve
from rdflib.collection import Collection
from rdflib.compare import isomorphic

SUITE = SHARED / "data" / "w3c-sparql11"
if not (SUITE / "protocol" / "manifest.ttl").is_file():
    pytest.skip(
        f"the W3C SPARQL 1.1 test manifests are not here: {SUITE} (../shared is absent)",
        allow_module_level=True,
    )

TOKEN = "w3c-token"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
HTS = "http://www.w3.org/2011/http-statusCodes#"
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RDFS = rdflib.RDFS
STATUS = {
    "OK": 200,
    "Created": 201,
    "NoContent": 204,
    "BadRequest": 400,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "UnsupportedMediaType": 415,
}
RESULTS = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR = RESULTS | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}

# the cases the service does not pass yet, and why
KNOWN: dict[str, str] = {}


@dataclass
class Step:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: list[str]  # hts: local names (OK, StatusCode2xx, …)
    fmt: str = ""
    boolean: bool | None = None
    graph: tuple[str, str] | None = None  # (content type, text) of the expected graph
    location: str = ""  # the template variable the answer's Location header stands for


@dataclass
class Case:
    manifest: str
    name: str
    title: str
    data: list[tuple[Path, str]] = field(default_factory=list)  # (file, graph name)
    steps: list[Step] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.manifest}:{self.name}"


def _items(g: rdflib.Graph, head) -> list:
    return list(Collection(g, head)) if head is not None else []


def _step(g: rdflib.Graph, node) -> Step:
    headers = {
        str(g.value(h, HT.fieldName)).lower(): str(g.value(h, HT.fieldValue))
        for h in _items(g, g.value(node, HT.headers))
    }
    body = None
    if (content := g.value(node, HT.body)) is not None:
        encoding = str(g.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(g.value(content, CNT.chars)).encode(encoding)
    resp = g.value(node, HT.resp)
    step = Step(
        str(g.value(node, HT.methodName)),
        str(g.value(node, HT.absolutePath)),
        headers,
        body,
        sorted(str(s).removeprefix(HTS) for s in g.objects(resp, MF.expectedStatus)),
        str(g.value(resp, MF.expectedFormat) or ""),
    )
    if (boolean := g.value(resp, MF.expectedBoolean)) is not None:
        step.boolean = bool(boolean.toPython())
    if (expected := g.value(resp, HT.body)) is not None:
        ctype = next(
            str(g.value(h, HT.fieldValue))
            for h in _items(g, g.value(resp, HT.headers))
            if str(g.value(h, HT.fieldName)).lower() == "content-type"
        )
        step.graph = (ctype, str(g.value(expected, CNT.chars)))
    step.location = str(g.value(resp, MF.expectedLocation) or "")
    return step


def cases(manifest: Path, label: str) -> list[Case]:
    """The tests of one manifest file, with those of the files it includes, in their order."""
    g = rdflib.Graph().parse(manifest, format="turtle")
    root = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    found: list[Case] = []
    for included in _items(g, g.value(root, MF.include)):
        found += cases(Path(urllib.parse.urlsplit(str(included)).path), label)
    for entry in _items(g, g.value(root, MF.entries)):
        case = Case(label, str(entry).rsplit("#", 1)[-1], str(g.value(entry, MF.name)))
        for data in g.objects(entry, UT.graphData):
            case.data.append(
                (
                    Path(urllib.parse.urlsplit(str(g.value(data, UT.graph))).path),
                    str(g.value(data, RDFS.label)),
                )
            )
        action = g.value(entry, MF.action)
        case.steps = [_step(g, r) for r in _items(g, g.value(action, HT.requests))]
        found.append(case)
    return found


ALL = cases(SUITE / "protocol" / "manifest.ttl", "protocol") + cases(
    SUITE / "graph-store-protocol" / "manifest.ttl", "graph-store"
)


def params() -> list:
    return [
        pytest.param(c, id=c.id, marks=pytest.mark.xfail(reason=KNOWN[c.id], strict=True))
        if c.id in KNOWN
        else pytest.param(c, id=c.id)
        for c in ALL
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("w3c") / "store", sample=False, KG_UPDATE_TOKEN=TOKEN) as server:
        yield server


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def ours(live: str, path: str) -> str:
    """The manifests' endpoint paths on this service: ``/sparql/`` → ``/sparql``, ``/gsp`` → ``/store``."""
    for theirs, mine in (("/sparql/", "sparql"), ("/gsp", "store")):
        if path.startswith(theirs):
            return live + mine + path[len(theirs) :]
    raise AssertionError(f"a path no endpoint of the manifests has: {path}")


def graphs(live: str) -> list[str]:
    query = urllib.parse.urlencode({"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"})
    status, _, body = request(f"{live}sparql?{query}", headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    return [b["g"]["value"] for b in json.loads(body)["results"]["bindings"]]


def update(live: str, text: str) -> None:
    status, _, body = request(
        f"{live}sparql",
        method="POST",
        data=text.encode(),
        headers={**AUTH, "Content-Type": "application/sparql-update"},
    )
    assert status == 204, body


def check(step: Step, status: int, headers, body: bytes) -> None:
    codes = {STATUS[s] for s in step.statuses if s in STATUS}
    classes = {int(s[len("StatusCode")]) for s in step.statuses if s.startswith("StatusCode")}
    assert status in codes or status // 100 in classes, f"{status} not {step.statuses}: {body[:300]!r}"
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if step.fmt == "boolean" or step.boolean is not None:
        assert ctype in RESULTS, ctype
        if step.boolean is not None:
            if ctype.endswith("json"):
                got = json.loads(body)["boolean"]
            else:
                got = b"<boolean>true</boolean>" in body.replace(b" ", b"")
            assert got is step.boolean
    elif step.fmt == "tabular":
        assert ctype in TABULAR, ctype
    elif step.fmt == "RDF":
        assert ctype in RDF_TYPES, ctype
        rdflib.Graph().parse(data=body, format=RDF_TYPES[ctype])
    if step.graph is not None:
        want_type, text = step.graph
        assert ctype == want_type.split(";")[0].strip(), ctype
        expected = rdflib.Graph().parse(data=text, format=RDF_TYPES[ctype])
        got = rdflib.Graph().parse(data=body, format=RDF_TYPES[ctype])
        assert isomorphic(expected, got), body.decode(errors="replace")
    if step.location:
        assert headers.get("Location"), "no Location header"


def send(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, Headers, bytes]:
    """One request exactly as the manifest gives it (urllib would add a Content-Type of its own)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, Headers(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("case", params())
def test_w3c_manifest(live, case: Case):
    for graph in graphs(live):
        update(live, f"DROP GRAPH <{graph}>")
    update(live, "CLEAR DEFAULT")
    for data, name in case.data:
        url = f"{live}store?{urllib.parse.urlencode({'graph': name})}"
        status, _, body = request(
            url,
            method="PUT",
            data=data.read_bytes(),
            headers={**AUTH, "Content-Type": "application/n-triples"},
        )
        assert status in (201, 204), body
    template: dict[str, str] = {}
    for i, step in enumerate(case.steps):
        path, data = step.path, step.body
        for name, value in template.items():
            path = path.replace(name, value)
            data = data.replace(name.encode(), value.encode()) if data is not None else None
        url = ours(live, path) if path.startswith("/") else path
        status, headers, body = send(url, step.method, data, {**step.headers, **AUTH})
        try:
            check(step, status, headers, body)
        except AssertionError as exc:
            raise AssertionError(f"request {i + 1} ({step.method} {path}): {exc}") from None
        if step.location:
            template[step.location] = headers["Location"]
