"""SHACL validation per record, in batches; the publish / quarantine split.

One pyshacl call costs a fixed overhead (shape graph preparation, target
search) that dominates on single records, so records are validated in
batches (``KG_VALIDATION_BATCH``): one data graph holds the batch's records,
the agencies they refer to and the descriptions of the vocabulary concepts
they use, and every result is traced back to its record through the focus
node (each subject of a record's triples belongs to that record).

A report is data: :class:`RecordReport` with its findings. Only a broken
validator raises (:class:`kg.errors.ValidatorError`).

Two engines (``KG_VALIDATOR``): rudof (:mod:`kg.validation_rudof`), the
ingest's default since it takes about half pyshacl's CPU (a 100,000-dataset
ingest fits in 5 minutes on 2 cores with it, not with pyshacl), and pyshacl,
the reference: :func:`validate_batch`'s default, the engine of the tests
against the official shapes and of a batch rudof cannot read. Both validate the same
data graph (:func:`batch_triples`) against the same shapes, and their results go
through the same tracing and sorting (:func:`_reports`): the reports are equal
(tests compare them on every sample).

Speed (``bench/ingest.py``; pyshacl runs one Python call per focus node and
property shape, so its own overheads dominate): the engines get the shapes as
:func:`kg.shapes.validator_shapes` lays them out (class rules with targets of
their own, in a graph that remembers each triple-pattern answer); pyshacl
looks every predicate of a shape up in a list of constraint parameters, so
that list gets a set for ``in`` (:func:`_fast_constraint_lookup`); pyshacl
writes a text description of every result, nested ones included, which we
never read, so that is skipped while a batch runs (:func:`_no_text_report`);
a batch's data graph is built from its distinct triples (the agencies in the
context of many records are added once). None of this changes what is
validated or in which order: reports are identical.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.errors import ValidatorError
from kg.mapping import eu_vocabularies
from kg.mapping.mapped import MappedRecord, Note
from kg.settings import VALIDATORS
from kg.shapes import validator_shapes
from kg.vocab import RDF, SH, SKOS

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


@cache
def _fast_constraint_lookup() -> None:
    """pyshacl tests every predicate of a shape, on every call, with ``p in <list of
    constraint parameters>`` (rdflib's Python ``__eq__`` per element); give the list
    a set for ``in``. pyshacl keeps the list in ``pyshacl.shape.CONSTRAINT_PARAMS``
    (filled on first use): same elements, same order, same map."""
    try:
        import pyshacl.shape as shape_module
        from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP
    except ImportError:  # another pyshacl layout: stay on the slow path
        return
    current = getattr(shape_module, "CONSTRAINT_PARAMS", (None, None))[0]
    if current is None or list(current) == list(ALL_CONSTRAINT_PARAMETERS):
        shape_module.CONSTRAINT_PARAMS = (_SetList(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)


@cache
def _cached_shape_names() -> None:
    """pyshacl formats ``str(shape)`` (name lookup + format) into two debug messages on every
    evaluation, logged or not: 688,000 times for 2,000 records. A shape's text never changes
    (its node and name come from the shapes graph, which pyshacl never writes), so it is
    remembered per shape node."""
    try:
        from pyshacl.shape import Shape
    except ImportError:
        return
    original = Shape.__str__
    names: dict = {}

    def shape_text(self) -> str:
        key = (self.node, self.is_property_shape)
        text = names.get(key)
        if text is None:
            text = names[key] = original(self)
        return text

    Shape.__str__ = shape_text


@contextmanager
def _no_text_report() -> Iterator[None]:
    """pyshacl builds a text description of each result (prefixed names for every node,
    a Turtle rendering of blank nodes) for the report text, which :func:`validate_batch`
    drops; the report graph does not use it. Skip it meanwhile (the original is put
    back afterwards, so direct pyshacl users are not affected)."""
    try:
        from pyshacl.constraints.constraint_component import ConstraintComponent
    except ImportError:
        yield
        return
    original = _original_description(ConstraintComponent)
    if original is None:
        yield
        return
    ConstraintComponent.make_v_result_description = _empty_description
    try:
        yield
    finally:
        ConstraintComponent.make_v_result_description = original


@cache
def _original_description(cls: type):
    """The method as pyshacl defines it (read once: never our stand-in)."""
    method = cls.__dict__.get("make_v_result_description")
    return None if method is None or method is _empty_description else method


def _empty_description(self, *args, **kwargs) -> str:
    return ""


class _SetList(list):
    """A list with set-speed ``in`` (it is never changed: pyshacl copies it before appending)."""

    def __init__(self, items: Iterable) -> None:
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item: object) -> bool:
        try:
            return item in self._members
        except TypeError:
            return super().__contains__(item)


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


ENGINES = VALIDATORS  # KG_VALIDATOR: rudof (kg.validation_rudof, the default) or pyshacl


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, or rudof without its package, before any record is read.

    :raises ValidatorError: with what to do about it.
    """
    if engine not in ENGINES:
        raise ValidatorError(f"unknown SHACL engine {engine!r} (expected one of: {', '.join(ENGINES)})")
    if engine == "rudof":
        from kg.validation_rudof import pyrudof_module

        pyrudof_module()


def validate_batch(records: Sequence[MappedRecord], *, engine: str = "pyshacl") -> list[RecordReport]:
    """Validate records together; one report per record, in the same order.

    ``engine`` is the SHACL engine (``KG_VALIDATOR``): ``pyshacl``, or ``rudof``
    (:mod:`kg.validation_rudof`: faster, same reports).

    :raises ValidatorError: if the engine fails (not if the data has findings).
    """
    check_engine(engine)
    if not records:
        return []
    from kg.validation_split import split_record, validator_splittable

    views = {i: v for i, r in enumerate(records) if (v := split_record(r, validator_splittable()))}
    if views:  # a catalogue with its long list of links: validated in parts (kg.validation_split)
        whole = iter(validate_batch([r for i, r in enumerate(records) if i not in views], engine=engine))
        return [_in_views(r, views[i], engine) if i in views else next(whole) for i, r in enumerate(records)]
    owner = _owners(records)
    triples = batch_triples(records, owner)
    owned = set(owner)
    described = {t[0] for rec in records for t in rec.context} - owned
    if engine == "rudof" and len(described) <= MAX_UNOWNED_CONTEXT:
        from kg.validation_rudof import NotForRudof, rudof_findings

        try:
            found = rudof_findings(triples)
        except NotForRudof:  # data rudof would validate otherwise (see kg.validation_rudof): pyshacl
            found = _pyshacl_findings(triples, owned)
    else:
        found = _pyshacl_findings(triples, owned)
    return _reports(records, found, owner)


def _in_views(record: MappedRecord, views: list[MappedRecord], engine: str) -> RecordReport:
    """A record's report from its views' (:mod:`kg.validation_split`), each view validated alone."""
    from kg.validation_split import merged_findings

    parts = [validate_batch([view], engine=engine)[0].findings for view in views]
    findings = sorted(merged_findings(parts), key=finding_order)
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


@contextmanager
def _owned_focus(owned: set[Node]) -> Iterator[None]:
    """pyshacl targets only the nodes some record of the batch owns (:func:`_owners`).

    Why: findings on other nodes (the context: agencies, datasets a catalogue lists) are dropped
    by :func:`_reports` anyway, so the reports are the same, but a catalogue's batch made a focus
    node of each listed dataset, with a result for each missing title: a 6 GB worker at 100,000.
    pyshacl's own ``focus_nodes=`` option leaves blank-node focus nodes out, so the target
    search is wrapped instead (put back afterwards).
    """
    from pyshacl.shape import Shape

    original = Shape.focus_nodes

    def focus_nodes(self, data_graph, debug=False):
        return {n for n in original(self, data_graph, debug) if n in owned}

    Shape.focus_nodes = focus_nodes
    try:
        yield
    finally:
        Shape.focus_nodes = original


def _pyshacl_findings(
    triples: Sequence[tuple[Node, Node, Node]], owned: set[Node] | None = None
) -> list[tuple[Finding, Node]]:
    """pyshacl's top-level results on a data graph of these triples (added in this order), on
    the ``owned`` focus nodes only when given."""
    from pyshacl import validate

    _fast_constraint_lookup()
    _cached_shape_names()
    # the graph is the same, with the same insertion order, as adding every record's
    # triples and context one by one and then the vocabulary descriptions
    data = Graph()
    add = data.add
    for t in triples:
        add(t)
    try:
        with _no_text_report(), _owned_focus(owned) if owned is not None else nullcontext():
            _, results, _ = validate(
                data,
                shacl_graph=validator_shapes(),
                inference="none",
                abort_on_first=False,
                allow_infos=True,
                allow_warnings=True,
                advanced=False,
                meta_shacl=False,
            )
    except Exception as exc:
        raise ValidatorError(f"the SHACL validator failed: {exc}") from exc
    return list(_findings(results))


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


def finding_order(f: Finding) -> tuple[str, ...]:
    return (f.severity, f.focus, f.path, f.message, f.rule, f.value)


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
                path=_path_text(results, path) if path is not None else "",
                message=str(message) if message is not None else "constraint not met",
                rule=str(shape) if isinstance(shape, URIRef) else "",
                value=str(value) if value is not None else "",
            ),
            focus,
        )


_SHACL = "http://www.w3.org/ns/shacl#"
_PATH_FORMS = {
    URIRef(_SHACL + name): form
    for name, form in (
        ("inversePath", "^{}"),
        ("zeroOrMorePath", "{}*"),
        ("oneOrMorePath", "{}+"),
        ("zeroOrOnePath", "{}?"),
    )
}


def _path_text(graph: Graph, path: Node) -> str:
    """A result's path as text: an IRI as it is, a complex path (a blank node in the shapes,
    e.g. ``sh:alternativePath``) in SPARQL's property path syntax, ``(a | b)``.

    Why: the blank node's own name differs from one process to the next, so reports (which
    are stored, and sorted by path) would not be the same twice, and it names nothing.
    """
    if not isinstance(path, BNode):
        return str(path)
    alternatives = graph.value(path, URIRef(f"{_SHACL}alternativePath"))
    if alternatives is not None:
        return "(" + " | ".join(_path_text(graph, p) for p in Collection(graph, alternatives)) + ")"
    for predicate, form in _PATH_FORMS.items():
        inner = graph.value(path, predicate)
        if inner is not None:
            return form.format(_path_text(graph, inner))
    if graph.value(path, RDF.first) is not None:
        return "(" + " / ".join(_path_text(graph, p) for p in Collection(graph, path)) + ")"
    return "(path)"
