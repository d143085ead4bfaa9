"""pyshacl runs on shapes compiled once: the tests that validate many graphs against one shapes graph.

``pyshacl.validate(data, shacl_graph=shapes)`` compiles the shapes (its Shape objects, their targets
and constraints) again on every call: ~40 ms of each run on the official DCAT-AP shapes, a quarter
to a half of a run on a small record, and the variant tests of tests/test_shapes.py and the judge of
tests/official.py make over a thousand runs. :func:`validate` is the same run on the shapes compiled
once per shapes graph; its reports equal pyshacl's (checked on 399 variant/shapes pairs when it
was written). A shapes graph must not change after its first run here (a change of size compiles
it again). The run has the pipeline's pyshacl speed-ups (:func:`kg.validation.pyshacl_engine.quick_run`:
a set for pyshacl's constraint lookup, no result texts, the report on rdflib's plain store), which
leave the report graph the same: the variant tests of tests/test_shapes.py took a third less time.
"""

from __future__ import annotations

from pyshacl import Validator
from pyshacl.graph_abstraction import DataGraph
from pyshacl.monkey import apply_patches
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.validator import assign_baked_in
from rdflib import Graph

from kg.validation.pyshacl_engine import quick_run

# by the shapes graph's id: (the graph, its size once compiled, pyshacl's compiled form)
_COMPILED: dict[int, tuple[Graph, int, ShapesGraph]] = {}


def compiled(shapes: Graph) -> ShapesGraph:
    """pyshacl's compiled form of ``shapes``, made on the first call for this graph."""
    held = _COMPILED.get(id(shapes))
    if held is None or held[0] is not shapes or held[1] != len(shapes):
        shapes_graph = ShapesGraph(shapes)  # adds pyshacl's system triples to the graph
        shapes_graph.shapes  # noqa: B018 - compiled now, kept for the next run
        held = _COMPILED[id(shapes)] = (shapes, len(shapes), shapes_graph)
    return held[2]


def validate(data: Graph, shapes: Graph) -> Graph:
    """The report graph of ``pyshacl.validate(data, shacl_graph=shapes, inference="none")``: pyshacl's
    own validator, whose shapes graph is swapped for the one compiled before."""
    apply_patches()  # as pyshacl.validate does before each run
    assign_baked_in()
    validator = Validator(DataGraph.from_rdflib(data), shacl_graph=shapes, options={"inference": "none"})
    validator.shacl_graph = compiled(shapes)
    with quick_run():
        _conforms, report, _text = validator.run()
    return report
