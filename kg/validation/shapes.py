"""The SHACL shapes of ``shapes/*.ttl``, as people read them and as the engines get them.

:func:`shapes_graph` is the files as written: a class shape lists its rules with
``sh:property``, which is how DCAT-AP's own shapes read. :func:`validator_shapes`
is the same rules laid out for speed (:func:`lift_property_shapes`), in a graph
that remembers every triple-pattern answer (pyshacl reads the shapes graph on
every evaluation and never writes it). Both say the same: a test compares the
reports of the two on the samples and the generated catalogues.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from rdflib import Graph
from rdflib.collection import Collection
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

from kg.errors import ValidatorError
from kg.vocab import RDF, RDFS, SH

SHAPES = Path(__file__).resolve().parents[2] / "shapes"

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def shape_files() -> list[Path]:
    return sorted(SHAPES.glob("*.ttl"))


def _parse_into(graph: Graph) -> Graph:
    for path in shape_files():
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # a broken shape file is a broken validator
            raise ValidatorError(f"cannot read shapes file {path}: {exc}") from exc
    return graph


@cache
def shapes_graph() -> Graph:
    """All of ``shapes/*.ttl`` as written, parsed once per process.

    :raises ValidatorError: a shapes file cannot be read.
    """
    return _parse_into(Graph())


class AnswerCache(SimpleMemory):
    """A triple store for a graph that is read far more often than written: each
    pattern's answer is kept (and forgotten on any change)."""

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict = {}

    def add(self, triple, context, quoted=False) -> None:
        self._answers.clear()
        super().add(triple, context, quoted)

    def remove(self, triple_pattern, context=None) -> None:
        self._answers.clear()
        super().remove(triple_pattern, context)

    def triples(self, triple_pattern, context=None):
        try:
            found = self._answers.get(triple_pattern)
        except TypeError:  # an unhashable pattern: just ask
            return super().triples(triple_pattern, context)
        if found is None:
            found = self._answers[triple_pattern] = [t for t, _ in super().triples(triple_pattern, context)]
        return ((t, iter(())) for t in found)


@cache
def validator_shapes() -> Graph:
    """The shapes as the engines get them: :func:`shapes_graph`'s triples, parsed in the same
    order, with :func:`lift_property_shapes` applied, in an :class:`AnswerCache`.

    :raises ValidatorError: a shapes file cannot be read.
    """
    graph = _parse_into(Graph(store=AnswerCache()))
    lift_property_shapes(graph)
    return graph


def lift_property_shapes(graph: Graph) -> int:
    """Give a class shape's property shapes the class shape's targets instead of the
    ``sh:property`` link, where that says the same; returns how many were moved.

    Why: pyshacl runs a property shape reached through ``sh:property`` once per focus
    node (a Python call with its own set-up each time, ~25 µs: 172 calls per dataset
    record), and a property shape with targets of its own once per batch, over all its
    focus nodes. The SHACL result is the same: a property shape's results are its own
    (focus node, path, severity, message and source shape) whether a node shape
    refers to it or it has the same targets itself (SHACL 1.0, 2.1.3 and 4.8.1).

    Moved only when nothing else could tell the difference: the class shape has
    ``sh:target*`` targets (and is not itself a class: no implicit target), is
    active, and no other shape refers to it (``sh:node``, ``sh:not``,
    ``sh:qualifiedValueShape``, ``sh:and``/``sh:or``/``sh:xone`` lists), where it
    would be checked on other nodes than its targets; the property shape has no
    targets of its own and no other shape refers to it.
    """
    referred = _referred_shapes(graph)
    moved = 0
    for shape in sorted(set(graph.subjects(SH.property, None))):
        if shape in referred or (shape, SH.deactivated, None) in graph:
            continue
        targets = [(p, o) for p in TARGETS for o in graph.objects(shape, p)]
        if not targets or (shape, RDF.type, RDFS.Class) in graph:  # an implicit class target: left as is
            continue
        for prop in sorted(set(graph.objects(shape, SH.property))):
            if prop in referred or len(set(graph.subjects(SH.property, prop))) != 1:
                continue
            if any((prop, p, None) in graph for p in TARGETS):
                continue
            graph.remove((shape, SH.property, prop))
            for p, o in targets:
                graph.add((prop, p, o))
            moved += 1
    return moved


def _referred_shapes(graph: Graph) -> set[Node]:
    """Shapes that another shape checks its values against."""
    referred: set[Node] = set()
    for p in (SH.node, SH["not"], SH.qualifiedValueShape):
        referred.update(graph.objects(None, p))
    for p in (SH["and"], SH["or"], SH.xone):
        for head in graph.objects(None, p):
            referred.update(_members(graph, head))
    return referred


def _members(graph: Graph, head: Node) -> Iterable[Node]:
    return list(Collection(graph, head))
