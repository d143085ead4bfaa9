"""Values left out after validation: a record's invalid optional values, each kept in a note.

A value that breaks a rule of the shapes is left out of the published record when what is
left passes every mandatory rule (the ingest validates the record again without it); the
note keeps the value and the rule, so that the record's report, its page and /quality show it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import BNode
from rdflib.term import Node

from kg.mapping.mapped import MappedRecord, Note, Triple
from kg.mapping.ntriples import nt_term
from kg.mapping.repairs import LEFT_OUT, term_text


def without_invalid_values(record: MappedRecord, findings: Iterable) -> MappedRecord | None:
    """The record less the values its violations name, each kept in a note, or None when no
    violation names a value it holds (a missing title, two publishers: nothing to leave out).

    A value that the record describes itself (a blank node, a distribution it owns) goes with
    its description: the subjects the record reached only through it. What is left is
    validated again; if a mandatory rule still fails, the record is quarantined as it came.
    """
    bad = [f for f in findings if f.severity == "violation" and f.value and f.path and " " not in f.path]
    if not bad:
        return None
    dropped: list[Triple] = []
    keep = list(record.triples)
    for f in {(f.focus, f.path, f.value): f for f in bad}.values():  # one value may break two rules
        hits = [t for t in keep if str(t[0]) == f.focus and str(t[1]) == f.path and _same(t[2], f.value)]
        if not hits:
            return None  # a value the record does not hold itself (a nested path): cannot leave out
        for t in hits:
            keep.remove(t)
            dropped.append(t)
    before = _reachable(record.triples, record.key)
    after = _reachable(keep, record.key)
    orphans = before - after
    gone = [t for t in keep if t[0] in orphans]
    keep = [t for t in keep if t[0] not in orphans]
    notes = list(record.notes)
    for t in dropped:
        rule = next(f for f in bad if str(t[0]) == f.focus and str(t[1]) == f.path and _same(t[2], f.value))
        described = [g for g in gone if g[0] == t[2]]
        extra = f" and its description ({len(described)} triples)" if described else ""
        notes.append(
            Note(
                str(t[0]),
                str(t[1]),
                str(t[2]) if not isinstance(t[2], BNode) else term_text(t[2]),
                f"left out of the published record: {term_text(t[2])}{extra}: {rule.message}",
                LEFT_OUT + "value",
            )
        )
    if gone:
        text = "".join(map(_nt, gone))
        notes.append(Note(record.key, "", text, "left out with the values above", LEFT_OUT + "value"))
    return MappedRecord(record.key, record.kind, record.origin, record.label, keep, record.context, notes)


def _same(term: Node, value: str) -> bool:
    return str(term) == value


def _nt(triple: Triple) -> str:
    return " ".join(nt_term(t) if not isinstance(t, BNode) else f"_:{t}" for t in triple) + " .\n"


def _reachable(triples: list[Triple], key: str) -> set[Node]:
    """The subjects reached from the record's roots: its key, else (an ``other`` record) the
    subjects no triple of it points at."""
    objects = {o for _, _, o in triples}
    subjects = {s for s, _, _ in triples}
    roots = {s for s in subjects if str(s) == key} or (subjects - objects)
    out: dict[Node, list[Node]] = {}
    for s, _, o in triples:
        out.setdefault(s, []).append(o)
    seen, todo = set(roots), list(roots)
    while todo:
        for o in out.get(todo.pop(), ()):
            if o in subjects and o not in seen:
                seen.add(o)
                todo.append(o)
    return seen
