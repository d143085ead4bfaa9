"""The official validators as a test helper: a record's verdict under the official DCAT-AP 3.0.1
shapes (and, for agencies, CPOV's), evaluated as the EU validator does. In tests/: it reads
../shared (test data, never copied into the project) and judges the pipeline, sharing none of its
validation rules.

As the EU validator merges the imported ontologies and code lists into the data, a record's graph
holds its triples, its context (what the pipeline validated it with: resources it links to,
agencies it names), the descriptions of the vocabulary terms it uses with their own links (a
licence's type concept, that concept's scheme, the scheme's type) and the class hierarchy
(``ontologies/hierarchy.ttl``); pyshacl, inference "none". Vocabularies: every file of
../shared/data/vocabularies united with ours (:func:`kg.mapping.eu_vocabularies.vocabulary_graph`, with the
tables ../shared lacks): the most accepting evaluation, right for finding needless quarantines.

A violation counts against the record owning its focus node: its key and the other subjects of its
own triples that its own context does not describe (kg.validation's rule, written again so the
judge does not move with the pipeline). Only top-level sh:Violation results count: warnings never
decide (the corporate-body rule on ``dct:publisher`` is one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import compiled_shapes
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

from kg.mapping.eu_vocabularies import vocabulary_graph
from kg.validation.report import RecordReport
from kg.validation.shapes import AnswerCache, lift_property_shapes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DCAT_AP_FILES = tuple(
    SHARED / "dcat-ap-shapes" / name for name in ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl")
)
CPOV_FILE = SHARED / "cpov" / "core-public-organisation-ap-SHACL.ttl"
VOCABULARIES = SHARED / "vocabularies"
DEPTH = 4  # links followed from a term a record uses: concept -> type concept -> scheme -> class
BATCH = 500  # records per official run: pyshacl's set-up (~40 ms a run) spread, graphs kept small

Triple = tuple[Node, Node, Node]
Fingerprint = tuple[str, str, frozenset, frozenset]


class Validated(Protocol):
    """A record as the pipeline validated it (:class:`kg.mapping.mapped.MappedRecord` is one)."""

    key: str
    kind: str
    triples: list[Triple]
    context: list[Triple]


@dataclass(frozen=True, order=True)
class OfficialFinding:
    """One top-level sh:Violation of the official shapes."""

    shapes: str  # "DCAT-AP" or "CPOV"
    focus: str
    path: str
    message: str
    value: str = ""
    shape: str = ""  # sh:sourceShape, when it is an IRI (a blank node's label says nothing)
    component: str = ""

    def __str__(self) -> str:
        value = f" [value {self.value}]" if self.value else ""
        return f"{self.shapes}: {self.focus} {self.path}: {self.message}{value}"


@dataclass(frozen=True)
class Verdict:
    key: str
    kind: str
    violations: tuple[OfficialFinding, ...] = ()
    alone: bool = False  # what the record gets alone (validated alone, or nothing else it could see)

    @property
    def accepted(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        how = "alone" if self.alone else "in its batch"
        why = "".join(f"; {v}" for v in self.violations)
        return f"{'accepted' if self.accepted else 'rejected'} by the official shapes ({how}){why}"


def missing_files() -> list[Path]:
    """The official files this helper needs that are absent (tests skip when any is)."""
    return [p for p in (*DCAT_AP_FILES, CPOV_FILE, VOCABULARIES) if not p.exists()]


class VocabularyIndex:
    """IRI -> the vocabulary triples about it a SHACL engine can read (predicates of the shapes'
    paths, rdf:type, rdfs:subClassOf; all if a shape is closed), built once. Not labels in 27
    languages, nor a scheme's 8,000 ``skos:hasTopConcept``: they made graphs 10,000 triples bigger."""

    def __init__(self, triples: Iterable[Triple], read: frozenset[Node] | None) -> None:
        index: dict[Node, list[Triple]] = defaultdict(list)
        for t in triples:
            if isinstance(t[0], URIRef) and (
                read is None or t[1] in read or t[1] in (RDF.type, RDFS.subClassOf)
            ):
                index[t[0]].append(t)
        self.index = dict(index)

    def describe(self, triples: Iterable[Triple]) -> set[Triple]:
        """The descriptions of the IRIs these triples use as objects, with their own links."""
        index = self.index
        frontier = {o for _, _, o in triples if isinstance(o, URIRef) and o in index}
        seen: set[Node] = set()
        out: set[Triple] = set()
        for _ in range(DEPTH + 1):
            seen |= frontier
            reached = set()
            for node in frontier:
                for t in index[node]:
                    out.add(t)
                    if isinstance(t[2], URIRef) and t[2] in index:
                        reached.add(t[2])
            frontier = reached - seen
        return out


def parse_shapes(paths: Iterable[Path]) -> Graph:
    """Shape files as published, in a graph that remembers its answers (pyshacl reads it a lot)."""
    graph = Graph(store=AnswerCache())
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def path_predicates(shapes: Graph, step: Node = SH.path) -> frozenset[Node]:
    """Every predicate a shape's sh:path names, inside complex paths too (``step``
    sh:inversePath: those it follows backwards)."""
    found: set[Node] = set()
    todo = list(shapes.objects(None, step))
    while todo:
        node = todo.pop()
        if isinstance(node, URIRef):
            found.add(node)
        elif shapes.value(node, RDF.first) is not None:
            todo.extend(Collection(shapes, node))
        else:  # sh:inversePath, sh:alternativePath, sh:zeroOrMorePath …
            todo.extend(o for p, o in shapes.predicate_objects(node) if str(p).startswith(str(SH)))
    return frozenset(found)


def vocabulary_triples(folder: Path = VOCABULARIES) -> Iterator[Triple]:
    """Every RDF/XML table of ../shared/data/vocabularies (pyoxigraph: twice rdflib's speed), then ours."""
    for path in sorted(folder.glob("*.rdf")):
        for t in ox.parse(path=str(path), format=ox.RdfFormat.RDF_XML):
            yield _term(t.subject), _term(t.predicate), _term(t.object)
    yield from vocabulary_graph()


def _term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if not isinstance(term, ox.Literal):
        return URIRef(term.value) if isinstance(term, ox.NamedNode) else BNode(term.value)
    datatype = None if term.language or term.datatype.value == str(XSD.string) else term.datatype.value
    return Literal(term.value, lang=term.language, datatype=datatype)


def owners(records: Sequence[Validated]) -> dict[Node, list[int]]:
    """Which records a focus node belongs to: each record owns its key and the other subjects of
    its own triples that its own context does not describe (kg.validation's rule, record by
    record: a node two records describe alike is both's, as each would own it alone)."""
    owner: dict[Node, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        described = {t[0] for t in record.context}
        for node in {URIRef(record.key)} | ({t[0] for t in record.triples} - described):
            owner[node].append(i)
    return owner


Sight = tuple[set[Triple], set[Node], set[Node]]  # a record's own triples, owned subjects, reach


def sight(record: Validated) -> Sight:
    """What a record's results can depend on: from its focus nodes, the typed subjects it owns
    (the shapes target classes only), SHACL reads the nodes reachable along its triples, their
    triples, and those pointing back at them with a predicate a shape follows backwards
    (``^dcat:inSeries``). Vocabulary descriptions are left out: the same in every graph."""
    own = {*record.triples, *record.context}
    owned = set(owners([record]))
    links: dict[Node, list[Node]] = defaultdict(list)
    for s, _, o in own:
        if not isinstance(o, Literal):
            links[s].append(o)
    reach = {t[0] for t in own if t[1] == RDF.type and t[0] in owned}
    todo = list(reach)
    while todo:
        todo += [o for o in links.pop(todo.pop(), ()) if o not in reach and not reach.add(o)]
    return own, owned, reach


class Neighbourhood:
    """Records held in one graph, indexed to tell whether a record would see there anything it
    does not see alone (then its verdict there is its verdict alone)."""

    def __init__(self, backwards: frozenset[Node]) -> None:
        self.backwards = backwards
        self.triples: set[Triple] = set()
        self.about: dict[Node, list[Triple]] = defaultdict(list)
        self.back: dict[Node, list[Triple]] = defaultdict(list)
        self.reach: set[Node] = set()
        self.owned: set[Node] = set()

    def add(self, seen: Sight) -> None:
        own, owned, reach = seen
        for t in own - self.triples:
            self.about[t[0]].append(t)
            if t[1] in self.backwards:
                self.back[t[2]].append(t)
        self.triples |= own
        self.reach |= reach
        self.owned |= owned

    def shows(self, seen: Sight) -> bool:
        """Does it hold triples the record does not, where the record looks?"""
        own, owned, reach = seen
        near = [t for n in reach for t in (*self.about.get(n, ()), *self.back.get(n, ()))]
        typed = [t for n in owned for t in self.about.get(n, ()) if t[1] == RDF.type]
        return any(t not in own for t in (*near, *typed))

    def admits(self, seen: Sight) -> bool:
        """Can the record join, each held record and it getting their verdicts alone?"""
        return not self.shows(seen) and not self.sees(seen)

    def sees(self, seen: Sight) -> bool:
        """Would the records held see any triple of this record's that they do not hold?"""
        reach, owned, back = self.reach, self.owned, self.backwards
        return any(
            s in reach or (p == RDF.type and s in owned) or (p in back and o in reach)
            for s, p, o in seen[0] - self.triples
        )


def fingerprint(record: Validated) -> Fingerprint:
    """What a verdict depends on: a record validated twice the same way is judged once."""
    return record.key, record.kind, frozenset(record.triples), frozenset(record.context)


class OfficialValidator:
    """The official DCAT-AP 3.0.1 shapes (shapes.ttl + range.ttl + mdr-vocabularies.shape.ttl)
    and CPOV shapes, with the vocabulary descriptions, loaded once."""

    def __init__(self) -> None:
        self.dcat_ap, self.cpov = parse_shapes(DCAT_AP_FILES), parse_shapes([CPOV_FILE])
        self.fast = parse_shapes(DCAT_AP_FILES), parse_shapes([CPOV_FILE])
        for graph in self.fast:
            lift_property_shapes(graph)
        closed = any((None, SH.closed, Literal(True)) in g for g in (self.dcat_ap, self.cpov))
        read = None if closed else path_predicates(self.dcat_ap) | path_predicates(self.cpov)
        self.backwards = frozenset().union(*(path_predicates(g, SH.inversePath) for g in self.fast))
        others = {SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, RDFS.Class}  # sight() assumes none
        self.class_targets = not any(p in others or o in others for g in self.fast for _, p, o in g)
        self.vocabularies = VocabularyIndex(vocabulary_triples(), read)
        self._calls: dict[int, list[Verdict]] = {}  # hash of the records -> verdicts: both engines' runs
        self._alone: dict[Fingerprint, Verdict] = {}

    def data_graph(self, records: Sequence[Validated]) -> Graph:
        """The records' triples and context, with the descriptions of the terms they use."""
        own = {t for r in records for part in (r.triples, r.context) for t in part}
        graph = Graph()
        for t in own | self.vocabularies.describe(own):
            graph.add(t)
        return graph

    def verdicts(self, records: Sequence[Validated], *, exact: bool = False) -> list[Verdict]:
        """Each record's verdict, the records validated together (graphs of :data:`BATCH`),
        marked ``alone`` when the others gave it nothing it can see (:class:`Neighbourhood`). The
        same records asked again (the other engine's run of a file) get the same answer. The
        shapes are laid out as the pipeline's pyshacl has them
        (:func:`kg.validation.shapes.lift_property_shapes`: same results, 40 % less time; a test
        compares), unless ``exact``: the files as published.
        """
        key = hash((exact, *map(fingerprint, records)))  # the records themselves are not kept
        if key not in self._calls:
            shapes = (self.dcat_ap, self.cpov) if exact else self.fast
            chunks = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]
            self._calls[key] = [v for chunk in chunks for v in self._judge(chunk, shapes)]
        return self._calls[key]

    def verdict_alone(self, record: Validated) -> Verdict:
        """The record's verdict with nothing else in its graph: no batch can add or hide one."""
        return self.verdicts_alone([record])[0]

    def verdicts_alone(self, records: Sequence[Validated], *, together: bool = True) -> list[Verdict]:
        """Each record's verdict alone (remembered).

        ``together``: records that would see nothing of each other (:class:`Neighbourhood`) are
        validated in one graph, each getting its verdict alone for one pyshacl run (~50 ms of
        set-up) a group. Else one run per record.
        """
        known = self._alone if together else {}
        together = together and self.class_targets
        todo = list({fingerprint(r): r for r in records if fingerprint(r) not in known}.values())
        groups: list[tuple[list[Validated], Neighbourhood]] = []
        for record in todo:
            seen = sight(record)
            group = next((g for g in groups if together and len(g[0]) < BATCH and g[1].admits(seen)), None)
            if group is None:
                groups.append(group := ([], Neighbourhood(self.backwards)))
            group[0].append(record)
            group[1].add(seen)
        for members, _ in groups:
            for record, verdict in zip(members, self._judge(members, self.fast), strict=True):
                known[fingerprint(record)] = Verdict(record.key, record.kind, verdict.violations, alone=True)
        return [known[fingerprint(r)] for r in records]

    def _judge(self, records: Sequence[Validated], shapes: tuple[Graph, Graph]) -> list[Verdict]:
        dcat_ap, cpov = shapes
        owner = owners(records)
        graph = self.data_graph(records)
        found: list[set[OfficialFinding]] = [set() for _ in records]
        for finding, focus in violations(graph, dcat_ap, "DCAT-AP"):
            for i in owner.get(focus, ()):
                found[i].add(finding)
        agencies = [r for r in records if r.kind == "agency"]
        if agencies:  # CPOV applies to agencies only: their graph alone
            for finding, focus in violations(self.data_graph(agencies), cpov, "CPOV"):
                for i in owner.get(focus, ()):
                    if records[i].kind == "agency":
                        found[i].add(finding)
        alone = [len(records) == 1] * len(records)  # or nothing here it could see and lacks alone
        if self.class_targets and len(records) > 1:
            around, sights = Neighbourhood(self.backwards), [sight(r) for r in records]
            for seen in sights:
                around.add(seen)
            alone = [not around.shows(seen) for seen in sights]
        return [
            Verdict(r.key, r.kind, tuple(sorted(f)), a) for r, f, a in zip(records, found, alone, strict=True)
        ]


def violations(data: Graph, shapes: Graph, name: str) -> list[tuple[OfficialFinding, Node]]:
    """pyshacl's top-level sh:Violation results (inference "none"), with their focus nodes; the
    shapes compiled once (:mod:`compiled_shapes`)."""
    report = compiled_shapes.validate(data, shapes)
    out = []
    for top in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(top, SH.result):
            if report.value(r, SH.resultSeverity) != SH.Violation:
                continue
            focus, path = report.value(r, SH.focusNode), report.value(r, SH.resultPath)
            value, shape = report.value(r, SH.value), report.value(r, SH.sourceShape)
            finding = OfficialFinding(
                shapes=name,
                focus=str(focus),
                path="(complex path)" if isinstance(path, BNode) else str(path or ""),
                message=str(report.value(r, SH.resultMessage) or "constraint not met"),
                value="" if value is None else str(value),
                shape=str(shape) if isinstance(shape, URIRef) else "",
                component=str(report.value(r, SH.sourceConstraintComponent) or ""),
            )
            out.append((finding, focus))
    return out


@dataclass(frozen=True)
class Judged:
    """One record: our report on it and its official verdict (alone where either says no)."""

    record: Validated
    ours: RecordReport
    official: Verdict

    @property
    def false_quarantine(self) -> bool:
        """We hold it back while the official shapes accept it: what the product rule forbids."""
        return not self.ours.publishable and self.official.accepted

    @property
    def published_but_rejected(self) -> bool:
        """We publish what the official shapes reject (allowed: we repair and drop bad values)."""
        return self.ours.publishable and not self.official.accepted


def judge(validator: OfficialValidator, results: Sequence[tuple[Validated, RecordReport]]) -> list[Judged]:
    """Each record as :func:`kg.ingest.workers.process` gave it, with its official verdict: in batches,
    then alone wherever either side says no and the batch may have made a difference, so that a
    batch can neither make up a disagreement nor hide one (a record we quarantine that its batch
    rejects only because of another record, such as two records of one file with the same IRI)."""
    verdicts = list(validator.verdicts([record for record, _ in results]))
    settled = [
        ours.publishable and v.accepted or v.alone for (_, ours), v in zip(results, verdicts, strict=True)
    ]
    again = [i for i, done in enumerate(settled) if not done]
    for i, verdict in zip(again, validator.verdicts_alone([results[i][0] for i in again]), strict=True):
        verdicts[i] = verdict
    return [Judged(record, ours, v) for (record, ours), v in zip(results, verdicts, strict=True)]
