"""A record with a long list of links validated in parts: a catalogue listing its datasets.

Why: an RDF catalogue record holds one ``dcat:dataset`` link per dataset, and
its context types each listed dataset (``dcat:Dataset``) for the shape that
checks the links. At 100,000 datasets that is a 200,000-triple data graph in
one worker (~1 KB per triple in rdflib: the worker kept ~270 MB more than on
other inputs, and the ingest's peak went over 1 GB), and too many context
nodes for rudof (:data:`kg.validation.batch.MAX_UNOWNED_CONTEXT`).

So such a record is validated as several views, each with all of its other
triples and at most :data:`LINK_CHUNK` of the long list's links, with the
context about those links' targets; the views' findings are merged.

When this gives the same report as one validation (SHACL 1.0): a predicate's
links are cut only if every property shape with that predicate as its path
judges each value on its own (value type, range, string, logical and
shape-based constraints, ``sh:in``: :data:`PER_VALUE`), none counts or compares
the values (``sh:maxCount``, ``sh:qualifiedValueShape``, ``sh:equals`` …) but for
``sh:minCount`` 1 (every view has links), no path follows it back or repeatedly
(``sh:inversePath`` …) and no SPARQL constraint could see it
(:func:`splittable_predicates`).
Then every result on a link's value comes from the one view that holds it, and
every other result is the same in every view (kept once). A record that also
describes one of its links' targets itself is not cut (its parts would differ).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kg.mapping.mapped import MappedRecord
from kg.vocab import SH

LINK_CHUNK = 1000  # links per view: with their context, under kg.validation.batch.MAX_UNOWNED_CONTEXT

_SH = str(SH.NodeShape).removesuffix("NodeShape")
# constraint parameters (SHACL 1.0, section 4) that judge each value node on its own
PER_VALUE = frozenset(
    {"class", "datatype", "nodeKind", "minExclusive", "minInclusive", "maxExclusive", "maxInclusive"}
    | {"minLength", "maxLength", "pattern", "flags", "languageIn", "not", "and", "or", "xone", "node", "in"}
)
# what a property shape says besides its constraints
NOT_CONSTRAINTS = frozenset(
    {"path", "name", "description", "message", "severity", "order", "group", "deactivated", "defaultValue"}
    | {"targetClass", "targetNode"}
)
# path steps that follow links back or repeatedly: the values of a view would not be its own
PATH_STEPS = frozenset({"inversePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"})
# parameters that name another path whose values they compare (property pair constraints)
PAIRS = frozenset(["equals", "disjoint", "lessThan", "lessThanOrEquals"])


def splittable_predicates(shapes: Graph) -> frozenset[URIRef]:
    """The predicates whose links a record may be validated in parts by (see the module)."""
    local = {p: str(p).removeprefix(_SH) for p in set(shapes.predicates()) if str(p).startswith(_SH)}
    if "sparql" in local.values() or "target" in local.values():
        return frozenset()  # SPARQL-based constraints or targets could count anything
    using: dict[URIRef, list] = defaultdict(list)  # predicate -> the property shapes whose path has it
    blocked: set = set()
    for shape, path in shapes.subject_objects(SH.path):
        terms = {path} if isinstance(path, URIRef) else _reachable(shapes, path)
        named = {t for t in terms if isinstance(t, URIRef)}
        if any(local.get(t) in PATH_STEPS for t in named):  # links followed back or repeatedly
            blocked |= named
        for predicate in named:
            using[predicate].append(shape)
    for p, name in local.items():
        if name in PAIRS or name in ("targetSubjectsOf", "targetObjectsOf"):
            blocked |= set(shapes.objects(None, p))
    return frozenset(
        predicate
        for predicate, users in using.items()
        if predicate not in blocked and all(_per_value(shapes, shape, local) for shape in users)
    )


def _per_value(shapes: Graph, shape, local: dict) -> bool:
    """Whether a property shape's result is the same in every view: each of its constraints judges
    one value, or is ``sh:minCount`` 0 or 1 (every view has at least one link)."""
    for p, o in shapes.predicate_objects(shape):
        name = local.get(p)
        if p == RDF.type or name in PER_VALUE or name in NOT_CONSTRAINTS:
            continue
        if name == "minCount" and int(o) <= 1:
            continue
        return False
    return True


def _reachable(graph: Graph, node) -> set:
    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for p, o in graph.predicate_objects(n):
            todo += [p, o]
    return seen


@cache
def validator_splittable() -> frozenset[URIRef]:
    from kg.validation.shapes import validator_shapes

    return splittable_predicates(validator_shapes())


def split_record(record: MappedRecord, predicates: frozenset[URIRef]) -> list[MappedRecord] | None:
    """Views of a record with more than :data:`LINK_CHUNK` links of one splittable predicate
    from one subject, or ``None`` when it is validated whole."""
    counts = Counter((s, p) for s, p, _ in record.triples if p in predicates)
    long = {pair for pair, n in counts.items() if n > LINK_CHUNK}
    if not long:
        return None
    links = [t for t in record.triples if (t[0], t[1]) in long]
    rest = [t for t in record.triples if (t[0], t[1]) not in long]
    targets = {t[2] for t in links}
    if any(s in targets for s, _, _ in rest):
        return None  # the record describes a target itself: see the module
    about: dict = defaultdict(list)
    shared = []
    for t in record.context:
        (about[t[0]] if t[0] in targets else shared).append(t)
    views = []
    for start in range(0, len(links), LINK_CHUNK):
        chunk = links[start : start + LINK_CHUNK]
        told = dict.fromkeys(o for _, _, o in chunk)  # each target's context once, in link order
        context = shared + [t for o in told for t in about.get(o, ())]
        notes = record.notes if start == 0 else []  # the record's own notes: once
        views.append(
            MappedRecord(record.key, record.kind, record.origin, record.label, rest + chunk, context, notes)
        )
    return views


def merged_findings(parts: Sequence[list]) -> list:
    """The views' findings, each once (the first view's in full: its notes and results)."""
    findings = list(parts[0])
    seen = set(findings)
    for part in parts[1:]:
        for finding in part:
            if finding not in seen:
                seen.add(finding)
                findings.append(finding)
    return findings
