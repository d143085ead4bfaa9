"""The ``pyshacl`` SHACL engine (``KG_VALIDATOR=pyshacl``): the reference, and the engine of a
batch rudof cannot read (:mod:`kg.validation.rudof_engine`).

Speed (``bench/ingest.py``; pyshacl runs one Python call per focus node and
property shape, so its own overheads dominate): the engine gets the shapes as
:func:`kg.validation.shapes.validator_shapes` lays them out (class rules with targets of
their own, in a graph that remembers each triple-pattern answer); pyshacl
looks every predicate of a shape up in a list of constraint parameters, so
that list gets a set for ``in`` (:func:`_fast_constraint_lookup`); pyshacl
writes a text description of every result, nested ones included, which we
never read, so that is skipped while a batch runs (:func:`_no_text_report`);
its report graph is kept on rdflib's plain store (:func:`_plain_report`); only the nodes
some record owns are targeted (:func:`_owned_focus`). None of this changes what is
validated or in which order: reports are identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import cache

import rdflib
from rdflib import Graph, URIRef
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.term import Node

from kg.errors import ValidatorError
from kg.validation.report import SEVERITIES, Finding, path_text
from kg.validation.shapes import validator_shapes
from kg.vocab import RDF, SH


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


class _PlainGraphs:
    """The ``rdflib`` module as pyshacl's report writer sees it: its graphs on SimpleMemory."""

    def __getattr__(self, name: str) -> object:
        return getattr(rdflib, name)

    @staticmethod
    def Graph(*args, **kwargs) -> Graph:  # noqa: N802 - stands in for rdflib.Graph
        return Graph(SimpleMemory(), *args, **kwargs)


@contextmanager
def _plain_report() -> Iterator[None]:
    """pyshacl's report graph on rdflib's plain store while pyshacl runs (put back afterwards).

    Why: pyshacl writes ~8 triples a result into a new graph on rdflib's default store,
    ``Memory``, which keeps a context per triple and makes an event per add; the report is one
    graph, written once and read once. With many results (11,000 for the 1,900 records of a
    real data.json) writing it and reading it back took a quarter of the run; SimpleMemory holds
    the same triples and answers every pattern the same way. pyshacl makes that graph with
    ``rdflib.Graph`` in ``Validator.create_validation_report``, whose module sees
    :class:`_PlainGraphs` as ``rdflib`` for that call only.
    """
    try:
        import pyshacl.validator as module
    except ImportError:  # another pyshacl layout: its own report graph
        yield
        return
    original = module.Validator.__dict__.get("create_validation_report")
    if not isinstance(original, classmethod) or not hasattr(module, "rdflib"):
        yield
        return

    def create_validation_report(cls, *args, **kwargs):  # noqa: ANN001, ANN202 - pyshacl's
        module.rdflib = _PLAIN_GRAPHS
        try:
            return original.__func__(cls, *args, **kwargs)
        finally:
            module.rdflib = rdflib

    module.Validator.create_validation_report = classmethod(create_validation_report)
    try:
        yield
    finally:
        module.Validator.create_validation_report = original


_PLAIN_GRAPHS = _PlainGraphs()


@contextmanager
def quick_run() -> Iterator[None]:
    """pyshacl's run with this module's speed-ups, none of which changes its report graph: the
    constraint lookup and the shape names (kept for the process), no result texts and the report
    on the plain store (while it runs). Also the tests' official judge's (tests/compiled_shapes.py:
    it reads only the report graph too)."""
    _fast_constraint_lookup()
    _cached_shape_names()
    with _no_text_report(), _plain_report():
        yield


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


def pyshacl_findings(
    triples: Sequence[tuple[Node, Node, Node]], owned: set[Node] | None = None
) -> list[tuple[Finding, Node]]:
    """pyshacl's top-level results on a data graph of these triples (added in this order), on
    the ``owned`` focus nodes only when given."""
    from pyshacl import validate

    # the graph is the same, with the same insertion order, as adding every record's
    # triples and context one by one and then the vocabulary descriptions
    data = Graph()
    add = data.add
    for t in triples:
        add(t)
    try:
        with quick_run(), _owned_focus(owned) if owned is not None else nullcontext():
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
                path=path_text(results, path) if path is not None else "",
                message=str(message) if message is not None else "constraint not met",
                rule=str(shape) if isinstance(shape, URIRef) else "",
                value=str(value) if value is not None else "",
            ),
            focus,
        )
