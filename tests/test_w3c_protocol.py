"""The W3C SPARQL 1.1 Protocol, Graph Store HTTP Protocol and Service Description test manifests,
against a real server.

The manifests (``../shared/data/w3c-sparql11``, see its SOURCES.md) are read with rdflib
(:mod:`w3c_manifests`) and every test they define is a case here, in four suites: Protocol (34),
Graph Store (14: the 13 its lists name and ``head_non_existing_direct``, which
``manifest-direct.ttl`` defines outside its list), Service Description (3), and the older
``http-rdf-update`` (18, every one deprecated by the working group: reported with the manifest's
reason, not run). :func:`test_every_manifest_test_is_a_case` reads the files again, apart from the
lists, so that no test is dropped without a word; the run ends with a per-suite count (section
"W3C SPARQL 1.1 manifests").

Protocol and Graph Store tests are HTTP requests with the answers they must get; they are sent, in
order, to ``kg serve`` over a socket (gunicorn, the ASGI front, evaluation threads), with the
manifests' paths mapped onto ours (``/sparql/`` → ``/sparql``, ``/gsp`` → ``/store``) and the
write token added to writes (the manifests' endpoints are open to writes; ours needs the token). The
data graphs (``ut:graphData``) are loaded through the Graph Store under the names the manifests give
them, after every graph of the previous test is dropped.

A Service Description test is a name in its manifest; what it checks is the working group's
validator's (SOURCES.md), in :data:`SD_CHECKS`: GET on the endpoint's URL asking for RDF answers
RDF (``returns-rdf``); that RDF has ``?service sd:endpoint <the URL>`` (``has-endpoint-triple``);
every ``sd:NamedGraph`` in it has an ``sd:name`` (``conforms-to-schema``). They run with the
Protocol suite's three data graphs loaded, so the description has named graphs to check (the
check also fails on a description with none, where it would pass without checking anything).

``make test`` runs it on the embedded store and again on a real ``oxigraph serve`` per store
(``KG_TEST_STORE=oxigraph``, :mod:`backend`); ``KG_TEST_STORE=virtuoso`` passes too.

A case the service does not pass yet is marked ``xfail`` (strict) with the reason, in
:data:`KNOWN`: fixing one makes its test fail until the mark is removed. Skipped, with the
reason, where ``../shared`` is absent.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections import Counter
from collections.abc import Iterator

import pytest
import rdflib
from conftest import SHARED, SUMMARY_SECTIONS
from live import Headers, request, serve
from rdflib.compare import isomorphic
from w3c_manifests import MF, Case, Step, cases, defined

SUITE = SHARED / "data" / "w3c-sparql11"
if not (SUITE / "protocol" / "manifest.ttl").is_file():
    pytest.skip(
        f"the W3C SPARQL 1.1 test manifests are not here: {SUITE} (../shared is absent)",
        allow_module_level=True,
    )

TOKEN = "w3c-token"
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
SUITES = {
    "protocol": SUITE / "protocol" / "manifest.ttl",
    "graph-store": SUITE / "graph-store-protocol" / "manifest.ttl",
    "service-description": SUITE / "service-description" / "manifest.ttl",
    "http-rdf-update": SUITE / "http-rdf-update" / "manifest.ttl",
}
ALL = [case for suite, manifest in SUITES.items() for case in cases(manifest, suite)]

# the cases the service does not pass yet, and why
KNOWN: dict[str, str] = {}


def params() -> list:
    marked = []
    for c in ALL:
        marks = []
        if c.not_run:
            marks.append(pytest.mark.skip(reason=c.not_run))
        elif c.id in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[c.id], strict=True))
        marked.append(pytest.param(c, id=c.id, marks=marks))
    return marked


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


def graphs(live: str) -> set[str]:
    """The named graphs a query sees: empty ones too (``GRAPH ?g { }``), and those with triples
    (Virtuoso answers the first form with rows that bind nothing)."""
    found = set()
    for pattern in ("{ }", "{ ?s ?p ?o }"):
        query = urllib.parse.urlencode({"query": f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {pattern} }}"})
        status, _, body = request(
            f"{live}sparql?{query}", headers={"Accept": "application/sparql-results+json"}
        )
        assert status == 200, body
        found |= {b["g"]["value"] for b in json.loads(body)["results"]["bindings"] if "g" in b}
    return found


def empty_default(live: str) -> bool:
    """Whether the default graph holds no triple (asked as the case's own queries ask)."""
    query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    status, _, body = request(f"{live}sparql?{query}", headers={"Accept": "application/sparql-results+json"})
    assert status == 200, body
    return json.loads(body)["boolean"] is False


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


# ---------------------------------------------------------------- Service Description

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
# what the validator's RDF parser asks for (every syntax it reads)
RDF_ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/n-triples;q=0.8, application/ld+json;q=0.7"
# the Protocol suite's data graphs, loaded for the Service Description tests (SOURCES.md: their names)
SD_DATA = [
    (SUITE / "protocol" / f"data{i}.nt", f"http://kasei.us/2009/09/sparql/data/data{i}.rdf")
    for i in (1, 2, 3)
]


def description(live: str) -> tuple[str, rdflib.Graph]:
    """GET on the endpoint's URL asking for RDF, as the validator dereferences it: the URL and the graph."""
    url = f"{live}sparql"
    status, headers, body = send(url, "GET", None, {"Accept": RDF_ACCEPT})
    ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
    assert status == 200 and ctype in RDF_TYPES, f"{status} {ctype}: {body[:300]!r}"
    return url, rdflib.Graph().parse(data=body, format=RDF_TYPES[ctype])


def returns_rdf(live: str) -> None:
    _, graph = description(live)
    assert len(graph) > 0, "an empty graph"


def has_endpoint_triple(live: str) -> None:
    url, graph = description(live)
    assert any(graph.triples((None, SD.endpoint, rdflib.URIRef(url)))), f"no ?service sd:endpoint <{url}>"


def conforms_to_schema(live: str) -> None:
    _, graph = description(live)
    named = set(graph.subjects(rdflib.RDF.type, SD.NamedGraph))
    assert len(named) >= len(SD_DATA), f"{len(named)} sd:NamedGraph for {len(SD_DATA)} graphs loaded"
    unnamed = [n for n in named if graph.value(n, SD.name) is None]
    assert not unnamed, f"sd:NamedGraph without an sd:name: {unnamed}"


SD_CHECKS = {
    "returns-rdf": returns_rdf,
    "has-endpoint-triple": has_endpoint_triple,
    "conforms-to-schema": conforms_to_schema,
}


# ---------------------------------------------------------------- the runner


OUTCOMES: list[tuple[str, str]] = []  # (suite, "passed" | "failed"), for the summary


@pytest.fixture(scope="module", autouse=True)
def summary(request: pytest.FixtureRequest) -> Iterator[None]:
    """The per-suite count at the end of the run: run, passed, failed, not run (and why)."""
    yield
    outcomes = Counter(OUTCOMES)
    lines = []
    for suite in SUITES:
        mine = [c for c in ALL if c.suite == suite]
        skipped = [c for c in mine if c.not_run]
        passed, failed = outcomes[suite, "passed"], outcomes[suite, "failed"]
        unselected = len(mine) - len(skipped) - passed - failed  # -k, or a run cut short
        lines.append(
            f"{suite}: {len(mine)} tests: passed {passed}, failed {failed}, not run {len(skipped)}"
            + (f", not selected {unselected}" if unselected else "")
        )
        lines += sorted({f"  not run: {c.not_run}" for c in skipped})
        lines += [f"  {c.name}: {c.note}" for c in mine if c.note]
    to_run = sum(1 for c in ALL if not c.not_run)
    passed = sum(n for (_, outcome), n in outcomes.items() if outcome == "passed")
    lines.append(f"total: {to_run} to run, passed {passed}")
    request.config.stash.setdefault(SUMMARY_SECTIONS, {})["W3C SPARQL 1.1 manifests"] = lines


def test_every_manifest_test_is_a_case():
    """Every test any manifest file under the suite folder defines is a case: run, or reported with
    the reason it is not (read apart from the mf:entries / mf:include walk that made the cases)."""
    ours = {c.iri for c in ALL}
    for manifest in sorted(SUITE.rglob("*.ttl")):
        graph = rdflib.Graph().parse(manifest, format="turtle")
        if next(graph.subjects(rdflib.RDF.type, MF.Manifest), None) is None:
            continue
        missing = {str(t) for t in defined(graph)} - ours
        assert not missing, f"{manifest}: tests no case runs or reports: {sorted(missing)}"
    assert all(c.kind for c in ALL if not c.not_run), [c.id for c in ALL if not c.kind]


def run_requests(live: str, case: Case) -> None:
    template: dict[str, str] = {}
    for i, step in enumerate(case.steps):
        path, data = step.path, step.body
        for name, value in template.items():
            path = path.replace(name, value)
            data = data.replace(name.encode(), value.encode()) if data is not None else None
        url = ours(live, path) if path.startswith("/") else path
        headers = {**step.headers, **(AUTH if writes(step) else {})}
        status, answer, body = send(url, step.method, data, headers)
        try:
            check(step, status, answer, body)
        except AssertionError as exc:
            raise AssertionError(f"request {i + 1} ({step.method} {path}): {exc}") from None
        if step.location:
            template[step.location] = answer["Location"]


def writes(step: Step) -> bool:
    """A request that would change the store (the token goes with it): any but GET, HEAD and a
    query sent by POST."""
    if step.method in ("GET", "HEAD"):
        return False
    ctype = step.headers.get("content-type", "").split(";")[0].strip()
    form = urllib.parse.parse_qs((step.body or b"").decode(errors="replace"))
    return not (step.method == "POST" and (ctype == "application/sparql-query" or "query" in form))


@pytest.mark.parametrize("case", params())
def test_w3c_manifest(live, case: Case):
    assert case.kind, f"{case.iri}: a test type no runner here knows"
    # an empty store, in one update (one write, one new generation, not one a graph). SILENT: on
    # Virtuoso, with no public named graph, GRAPH ?g {} may list urn:kg:empty, the placeholder
    # kg.store.remote names as the dataset's only named graph there (it reads an absent
    # named-graph-uri as "every graph"), which does not exist to drop
    named = graphs(live)
    if named or not empty_default(live):  # else already empty: a write (a new generation) saved
        update(live, " ;\n".join([*(f"DROP SILENT GRAPH <{g}>" for g in sorted(named)), "CLEAR DEFAULT"]))
    for data, name in case.data or (SD_DATA if case.kind == "sd" else []):
        url = f"{live}store?{urllib.parse.urlencode({'graph': name})}"
        status, _, body = request(
            url,
            method="PUT",
            data=data.read_bytes(),
            headers={**AUTH, "Content-Type": "application/n-triples"},
        )
        assert status in (201, 204), body
    try:
        if case.kind == "sd":
            assert case.name in SD_CHECKS, f"{case.iri}: no check of the validator's has this name"
            SD_CHECKS[case.name](live)
        else:
            run_requests(live, case)
    except BaseException:
        OUTCOMES.append((case.suite, "failed"))
        raise
    OUTCOMES.append((case.suite, "passed"))
