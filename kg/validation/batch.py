"""SHACL validation per record, in batches: the data graph of a batch, the engine, each record's report.

One SHACL call costs a fixed overhead (shape graph preparation, target
search) that dominates on single records, so records are validated in
batches (``KG_VALIDATION_BATCH``): one data graph holds the batch's records,
the agencies they refer to and the descriptions of the vocabulary concepts
they use, and every result is traced back to its record through the focus
node (each subject of a record's triples belongs to that record).

Both engines (:mod:`kg.validation.rudof_engine`, :mod:`kg.validation.pyshacl_engine`) validate
the same data graph (:func:`batch_triples`) against the same shapes, and their results go
through the same tracing and sorting (:func:`_reports`): the reports are equal (tests compare
them on every sample). A batch's data graph is built from its distinct triples (the agencies
in the context of many records are added once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache

from rdflib import URIRef
from rdflib.term import Node

from kg.errors import ValidatorError
from kg.mapping import eu_vocabularies
from kg.mapping.mapped import MappedRecord
from kg.settings import VALIDATORS
from kg.validation import pyshacl_engine, rudof_engine, split
from kg.validation.report import Finding, RecordReport, finding_order
from kg.vocab import SKOS


@cache
def _vocabulary_index() -> dict[Node, list[tuple[Node, Node, Node]]]:
    """Vocabulary IRI -> its triples and those of every vocabulary IRI they reach, to add to a
    data graph.

    Why the closure: what a record's verdict depends on must be in its validation graph, and
    the EU validator has the whole of every imported table and ontology. A licence concept's
    ``dct:type`` is an ADMS licence-type concept whose ``skos:inScheme`` the official
    LicenseDocument rule checks; a class names its superclasses (ontologies/hierarchy.ttl), the
    scheme of a concept is itself described. Sorted, so a batch's graph is the same every time.
    """
    graph = eu_vocabularies.vocabulary_graph()
    own: dict[Node, list] = defaultdict(list)
    for s, p, o in graph:
        if isinstance(s, URIRef):
            own[s].append((s, p, o))
    index: dict[Node, list] = {}
    for subject in own:
        reached, todo = {subject}, [subject]
        while todo:
            for _, p, o in own[todo.pop()]:
                if p not in _DOWNWARD and isinstance(o, URIRef) and o in own and o not in reached:
                    reached.add(o)
                    todo.append(o)
        index[subject] = sorted(t for node in reached for t in own[node])
    return index


# links from a scheme or concept down to its members: followed, they would put the whole table
# into every graph that uses one of its concepts
_DOWNWARD = frozenset({SKOS.hasTopConcept, SKOS.narrower})


def vocabulary_descriptions(triples: Iterable[tuple[Node, Node, Node]]) -> set[tuple[Node, Node, Node]]:
    """The vocabulary triples that describe the concepts these triples use as objects."""
    index = _vocabulary_index()
    out: set = set()
    for _, _, o in triples:
        if isinstance(o, URIRef) and o in index:
            out.update(index[o])
    return out


ENGINES = VALIDATORS  # KG_VALIDATOR: rudof (kg.validation.rudof_engine, the default) or pyshacl


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, or rudof without its package, before any record is read.

    :raises ValidatorError: with what to do about it.
    """
    if engine not in ENGINES:
        raise ValidatorError(f"unknown SHACL engine {engine!r} (expected one of: {', '.join(ENGINES)})")
    if engine == "rudof":
        rudof_engine.pyrudof_module()


def validate_batch(records: Sequence[MappedRecord], *, engine: str = "pyshacl") -> list[RecordReport]:
    """Validate records together; one report per record, in the same order.

    ``engine`` is the SHACL engine (``KG_VALIDATOR``): ``pyshacl``, or ``rudof``
    (:mod:`kg.validation.rudof_engine`: faster, same reports).

    :raises ValidatorError: if the engine fails (not if the data has findings).
    """
    check_engine(engine)
    if not records:
        return []
    views = {
        i: v for i, r in enumerate(records) if (v := split.split_record(r, split.validator_splittable()))
    }
    if views:  # a catalogue with its long list of links: validated in parts (kg.validation.split)
        whole = iter(validate_batch([r for i, r in enumerate(records) if i not in views], engine=engine))
        return [_in_views(r, views[i], engine) if i in views else next(whole) for i, r in enumerate(records)]
    owner = _owners(records)
    triples = batch_triples(records, owner)
    owned = set(owner)
    described = {t[0] for rec in records for t in rec.context} - owned
    if engine == "rudof" and len(described) <= MAX_UNOWNED_CONTEXT:
        try:
            found = rudof_engine.rudof_findings(triples)
        except (
            rudof_engine.NotForRudof
        ):  # data rudof would validate otherwise (see kg.validation.rudof_engine): pyshacl
            found = pyshacl_engine.pyshacl_findings(triples, owned)
    else:
        found = pyshacl_engine.pyshacl_findings(triples, owned)
    return _reports(records, found, owner)


def _in_views(record: MappedRecord, views: list[MappedRecord], engine: str) -> RecordReport:
    """A record's report from its views' (:mod:`kg.validation.split`), each view validated alone."""
    parts = [validate_batch([view], engine=engine)[0].findings for view in views]
    findings = sorted(split.merged_findings(parts), key=finding_order)
    return RecordReport(record.key, record.kind, str(record.origin), record.label, findings)


def batch_triples(
    records: Sequence[MappedRecord], owner: dict[Node, int] | None = None
) -> list[tuple[Node, Node, Node]]:
    """The data graph of a batch: the records' distinct triples and context in first-seen order,
    then the descriptions of the vocabulary concepts they use.

    A record's context says nothing about a node a record of the batch owns (:func:`_owners`):
    the owner's own triples describe it. Why: the context is what a neighbour looked like in
    the source, and the owner may have had a value left out since (:mod:`kg.mapping.repairs`); brought
    back by another record's context, that value made the owner's verdict depend on its batch.
    """
    owned = _owners(records) if owner is None else owner
    distinct = dict.fromkeys(
        t for rec in records for t in (*rec.triples, *(c for c in rec.context if c[0] not in owned))
    )
    return [*distinct, *vocabulary_descriptions(distinct)]


# rudof validates every node its shapes target, the context's too, holding ~12 KB per triple; a
# batch whose context describes more nodes than this that no record owns (a catalogue listing its
# 100,000 datasets by their types) goes to pyshacl, which targets only the owned ones.
MAX_UNOWNED_CONTEXT = 1000


def _reports(
    records: Sequence[MappedRecord],
    found: Iterable[tuple[Finding, Node]],
    owner: dict[Node, int] | None = None,
) -> list[RecordReport]:
    """Each record's report: its mapping notes and the findings on the focus nodes it owns
    (:func:`_owners`, or ``owner`` when the caller has it), in a stable order whatever order
    the engine gave them in."""
    owner = _owners(records) if owner is None else owner
    reports = [
        RecordReport(r.key, r.kind, str(r.origin), r.label, [Finding.from_note(n) for n in r.notes])
        for r in records
    ]
    for finding, focus in found:
        index = owner.get(focus)
        if index is not None:
            reports[index].findings.append(finding)
    for report in reports:  # a stable order: reports are stored, and re-ingests must give the same graph
        report.findings.sort(key=finding_order)
    return reports


def _owners(records: Sequence[MappedRecord]) -> dict[Node, int]:
    """Which record a focus node belongs to.

    A record's key is its own; other subjects of its triples are its parts
    (distributions, contact points, an agency's address), unless the record's
    own context describes them (a parent agency mentioned by an inverse link):
    findings on those belong to the record that describes them, validated on
    its own. Only the record's own context counts, so that what a record is
    told does not depend on which other records share its batch.
    """
    owner: dict[Node, int] = {URIRef(r.key): i for i, r in enumerate(records)}
    for i, rec in enumerate(records):
        context = {t[0] for t in rec.context}
        for s, _, _ in rec.triples:
            if s not in owner and s not in context:
                owner[s] = i
    return owner
