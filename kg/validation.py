"""SHACL validation per record, in batches; the publish / quarantine split.

One pyshacl call costs a fixed overhead (shape graph preparation, target
search) that dominates on single records, so records are validated in
batches (``KG_VALIDATION_BATCH``): one data graph holds the batch's records,
the agencies they refer to and the descriptions of the vocabulary concepts
they use, and every result is traced back to its record through the focus
node (each subject of a record's triples belongs to that record).

A report is data: :class:`RecordReport` with its findings. Only a broken
validator raises (:class:`kg.errors.ValidatorError`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg import controlled
from kg.errors import ValidatorError
from kg.mapping import MappedRecord, Note
from kg.vocab import RDF, SH, SKOS

SHAPES = Path(__file__).resolve().parent.parent / "shapes"

SEVERITIES = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass(frozen=True)
class Finding:
    """One SHACL result (or mapping note), in plain words."""

    severity: str  # violation, warning, info
    focus: str
    path: str
    message: str
    rule: str = ""  # IRI of the shape that was broken
    value: str = ""

    @classmethod
    def from_note(cls, note: Note) -> Finding:
        return cls("info", note.focus, note.path, note.message, "kgo:mapping", note.value)


@dataclass
class RecordReport:
    key: str
    kind: str
    origin: str
    label: str
    findings: list[Finding] = field(default_factory=list)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def publishable(self) -> bool:
        return self.count("violation") == 0


def shape_files() -> list[Path]:
    return sorted(SHAPES.glob("*.ttl"))


@cache
def shapes_graph() -> Graph:
    """All of ``shapes/*.ttl``, parsed once per process."""
    graph = Graph()
    for path in shape_files():
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # a broken shape file is a broken validator
            raise ValidatorError(f"cannot read shapes file {path}: {exc}") from exc
    return graph


@cache
def _vocabulary_index() -> dict[Node, list[tuple[Node, Node, Node]]]:
    """Concept IRI -> its triples (and those of its scheme), to add to a data graph."""
    graph = controlled.vocabulary_graph()
    index: dict[Node, list] = defaultdict(list)
    for s, p, o in graph:
        if isinstance(s, URIRef):
            index[s].append((s, p, o))
    for _concept, triples in list(index.items()):
        for _, p, o in list(triples):
            if p == SKOS.inScheme and o in index:
                triples.extend(t for t in index[o] if t[1] == RDF.type)
    return dict(index)


def vocabulary_descriptions(triples: Iterable[tuple[Node, Node, Node]]) -> set[tuple[Node, Node, Node]]:
    """The vocabulary triples that describe the concepts these triples use as objects."""
    index = _vocabulary_index()
    out: set = set()
    for _, _, o in triples:
        if isinstance(o, URIRef) and o in index:
            out.update(index[o])
    return out


def validate_batch(records: Sequence[MappedRecord]) -> list[RecordReport]:
    """Validate records together; one report per record, in the same order.

    :raises ValidatorError: if pyshacl fails (not if the data has findings).
    """
    from pyshacl import validate

    data = Graph()
    for rec in records:
        for t in rec.triples:
            data.add(t)
        for t in rec.context:
            data.add(t)
    owner = _owners(records)
    for t in vocabulary_descriptions(data):
        data.add(t)
    try:
        _, results, _ = validate(
            data,
            shacl_graph=shapes_graph(),
            inference="none",
            abort_on_first=False,
            allow_infos=True,
            allow_warnings=True,
            advanced=False,
            meta_shacl=False,
        )
    except Exception as exc:
        raise ValidatorError(f"the SHACL validator failed: {exc}") from exc
    reports = [
        RecordReport(r.key, r.kind, str(r.origin), r.label, [Finding.from_note(n) for n in r.notes])
        for r in records
    ]
    for finding, focus in _findings(results):
        index = owner.get(focus)
        if index is not None:
            reports[index].findings.append(finding)
    return reports


def _owners(records: Sequence[MappedRecord]) -> dict[Node, int]:
    """Which record a focus node belongs to.

    A record's key is its own; other subjects of its triples are its parts
    (distributions, contact points), unless they are only described in some
    record's context (a parent agency mentioned by an inverse link): findings
    on those belong to the record that describes them, validated on its own.
    """
    owner: dict[Node, int] = {URIRef(r.key): i for i, r in enumerate(records)}
    described_elsewhere = {t[0] for r in records for t in r.context}
    for i, rec in enumerate(records):
        for s, _, _ in rec.triples:
            if s not in owner and s not in described_elsewhere:
                owner[s] = i
    return owner


def _findings(results: Graph) -> Iterable[tuple[Finding, Node]]:
    """Top-level results only: nested ``sh:detail`` results repeat them with other severities."""
    report = results.value(predicate=RDF.type, object=SH.ValidationReport)
    for result in results.objects(report, SH.result):
        focus = results.value(result, SH.focusNode)
        severity = SEVERITIES.get(results.value(result, SH.resultSeverity), "violation")
        path = results.value(result, SH.resultPath)
        message = results.value(result, SH.resultMessage)
        shape = results.value(result, SH.sourceShape)
        value = results.value(result, SH.value)
        yield (
            Finding(
                severity=severity,
                focus=str(focus),
                path=str(path) if path is not None else "",
                message=str(message) if message is not None else "constraint not met",
                rule=str(shape) if isinstance(shape, URIRef) else "",
                value=str(value) if value is not None else "",
            ),
            focus,
        )
