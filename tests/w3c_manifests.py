"""The W3C SPARQL 1.1 test manifests read as test cases: what tests/test_w3c_protocol.py runs.

A manifest (``mf:Manifest``) lists its tests in ``mf:entries`` and may ``mf:include`` other manifest
files. A Protocol or Graph Store test is machine-readable: HTTP requests (``ht:Request``: method,
path, headers, body) and what each answer must be (``mf:expectedStatus``, ``mf:expectedFormat``,
``mf:expectedBoolean``, an expected graph, a ``Location``), with data graphs (``ut:graphData``) to
load first. A Service Description test is a name only; its check is the working group's validator's
(SOURCES.md), which the test module holds.

Every test a manifest file defines becomes a :class:`Case`, listed or not: the Graph Store suite
defines ``head_non_existing_direct`` outside its ``mf:entries`` list, and a reader that walked the
lists alone would drop it without a word. A test the working group deprecated (``dawg:approval
dawg:Deprecated``, the whole ``http-rdf-update`` folder) is a case with the reason it is not run.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import rdflib
from rdflib.collection import Collection

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
HTS = "http://www.w3.org/2011/http-statusCodes#"
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DAWG = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#")
RDF = rdflib.RDF
RDFS = rdflib.RDFS

# test type -> how it runs: HTTP requests from the manifest, or the Service Description validator
KINDS = {MF.ProtocolTest: "http", MF.GraphStoreProtocolTest: "http", MF.ServiceDescriptionTest: "sd"}


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
    suite: str
    iri: str
    title: str
    kind: str  # "http", "sd", or "" for a type no runner knows (a failure, not a skip)
    data: list[tuple[Path, str]] = field(default_factory=list)  # (file, graph name)
    steps: list[Step] = field(default_factory=list)
    not_run: str = ""  # why the manifest's own words say not to run it
    note: str = ""  # e.g. defined outside its file's mf:entries list

    @property
    def name(self) -> str:
        return self.iri.rsplit("#", 1)[-1]

    @property
    def id(self) -> str:
        return f"{self.suite}:{self.name}"


def _items(g: rdflib.Graph, head) -> list:
    return list(Collection(g, head)) if head is not None else []


def _path(iri) -> Path:
    return Path(urllib.parse.urlsplit(str(iri)).path)


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


def _case(g: rdflib.Graph, entry, suite: str) -> Case:
    kinds = [KINDS[t] for t in g.objects(entry, RDF.type) if t in KINDS]
    case = Case(suite, str(entry), str(g.value(entry, MF.name)), kinds[0] if kinds else "")
    if (entry, DAWG.approval, DAWG.Deprecated) in g:
        why = [str(c) for c in g.objects(entry, RDFS.comment) if "deprecated" in str(c).lower()]
        case.not_run = "deprecated by the working group (dawg:Deprecated): " + (why or ["no reason given"])[0]
    for data in g.objects(entry, UT.graphData):
        case.data.append((_path(g.value(data, UT.graph)), str(g.value(data, RDFS.label))))
    action = g.value(entry, MF.action)
    case.steps = [_step(g, r) for r in _items(g, g.value(action, HT.requests))]
    return case


def cases(manifest: Path, suite: str) -> list[Case]:
    """The tests of one manifest file and the files it includes: those its lists name, in order, then
    those a file defines outside its list (with a note)."""
    g = rdflib.Graph().parse(manifest, format="turtle")
    root = next(g.subjects(RDF.type, MF.Manifest))
    found: list[Case] = []
    for included in _items(g, g.value(root, MF.include)):
        found += cases(_path(included), suite)
    listed = _items(g, g.value(root, MF.entries))
    found += [_case(g, entry, suite) for entry in listed]
    for entry in sorted(set(defined(g)) - set(listed)):
        case = _case(g, entry, suite)
        case.note = f"defined in {manifest.name} outside its mf:entries list"
        found.append(case)
    return found


def defined(g: rdflib.Graph) -> list:
    """The subjects a manifest graph types as a test (any ``mf:…Test`` type, known to us or not)."""
    return [
        s for s, t in g.subject_objects(RDF.type) if str(t).startswith(str(MF)) and str(t).endswith("Test")
    ]
