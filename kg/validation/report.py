"""What validation says of a record: its findings, its report, how they sort, how a path reads.

The types both SHACL engines give their results in (:mod:`kg.validation.pyshacl_engine`,
:mod:`kg.validation.rudof_engine`), so that neither needs the other, and that the ingest, the
summary and the pages read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.mapping.mapped import Note
from kg.vocab import RDF, SH

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
        return cls("info", note.focus, note.path, note.message, note.rule, note.value)


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


def finding_order(f: Finding) -> tuple[str, ...]:
    """The order of a report's findings: stable, whatever order the engine gave them in."""
    return (f.severity, f.focus, f.path, f.message, f.rule, f.value)


SHACL = "http://www.w3.org/ns/shacl#"
PATH_FORMS = {
    URIRef(SHACL + name): form
    for name, form in (
        ("inversePath", "^{}"),
        ("zeroOrMorePath", "{}*"),
        ("oneOrMorePath", "{}+"),
        ("zeroOrOnePath", "{}?"),
    )
}


def path_text(graph: Graph, path: Node) -> str:
    """A result's path as text: an IRI as it is, a complex path (a blank node in the shapes,
    e.g. ``sh:alternativePath``) in SPARQL's property path syntax, ``(a | b)``.

    Why: the blank node's own name differs from one process to the next, so reports (which
    are stored, and sorted by path) would not be the same twice, and it names nothing.
    """
    if not isinstance(path, BNode):
        return str(path)
    alternatives = graph.value(path, URIRef(f"{SHACL}alternativePath"))
    if alternatives is not None:
        return "(" + " | ".join(path_text(graph, p) for p in Collection(graph, alternatives)) + ")"
    for predicate, form in PATH_FORMS.items():
        inner = graph.value(path, predicate)
        if inner is not None:
            return form.format(path_text(graph, inner))
    if graph.value(path, RDF.first) is not None:
        return "(" + " / ".join(path_text(graph, p) for p in Collection(graph, path)) + ")"
    return "(path)"
