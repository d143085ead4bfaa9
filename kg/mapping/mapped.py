"""What the mapper makes of a record: its triples, the context it is validated with, its notes.

:class:`Builder` is how each class's mapping function (:mod:`kg.mapping.agencies`,
:mod:`kg.mapping.datasets`, :mod:`kg.mapping.services`) adds triples and notes to one record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.records import Origin, Text

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class Note:
    """Something the mapper could not map and kept as text, or a repair (:mod:`kg.mapping.repairs`):
    an info finding of the record's report, with the original value."""

    focus: str
    path: str
    value: str
    message: str
    rule: str = "kgo:mapping"  # kgo:repair/<kind> and kgo:left-out/<kind> for repairs


@dataclass
class MappedRecord:
    """The RDF of one record, ready to validate and store.

    ``triples`` are stored in the source graph; ``context`` (descriptions of
    the agencies it refers to) is only used to validate it.
    """

    key: str  # IRI of the focus resource
    kind: str  # dataset, service, agency, catalog, other
    origin: Origin
    label: str
    triples: list[Triple] = field(default_factory=list)
    context: list[Triple] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


class Builder:
    """Collects triples and notes for one record."""

    def __init__(self, record: MappedRecord) -> None:
        self.record = record

    def add(self, s: Node, p: Node, o: Node) -> None:
        self.record.triples.append((s, p, o))

    def text(self, s: Node, p: Node, text: Text) -> None:
        for lang, value in text.items():
            if value:
                self.add(s, p, Literal(value, lang=lang_tag(lang)))

    def literal(self, s: Node, p: Node, value: str) -> None:
        if value:
            self.add(s, p, Literal(value))

    def note(self, focus: Node, path: Node, value: str, message: str, rule: str = "kgo:mapping") -> None:
        self.record.notes.append(Note(str(focus), str(path), value, message, rule))

    def unmapped(self, s: Node, p: Node, value: str, what: str) -> None:
        self.add(s, p, Literal(value))
        self.note(s, p, value, f"{what} {value!r} is not in the EU vocabulary; kept as text")

    def vocab(
        self, s: Node, p: Node, raw: str, match: Callable[[str], str | None], unmapped: Node, what: str
    ) -> None:
        iri = match(raw) if raw else None
        if iri:
            self.add(s, p, URIRef(iri))
        elif raw:
            self.unmapped(s, unmapped, raw, what)


_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


def lang_tag(lang: str) -> str | None:
    lang = lang.strip().replace("_", "-")
    return lang if lang and _LANG.match(lang) else None
