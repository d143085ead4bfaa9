"""kg.validation.shapes: the shapes the engines get (class rules with targets of their own) say the
same as the shapes as written (class rules behind ``sh:property``).

The layout is a speed-up for pyshacl only; every report must stay what it was, so the
samples (bundled and real) are validated with both and compared, and each condition
under which a rule must stay where it is has its own case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLE_CSV, SAMPLE_DATA_JSON, SHARED_SAMPLES
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from test_validation_engines import mapped

from kg.validation import pyshacl_engine
from kg.validation.batch import validate_batch
from kg.validation.shapes import AnswerCache, lift_property_shapes, shapes_graph, validator_shapes
from kg.vocab import DCAT, DCT, RDF, SH

KGS = "https://w3id.org/agency-kg/shapes#"
SHARED_FILES = (
    sorted(p.name for p in SHARED_SAMPLES.iterdir() if p.name != "SOURCES.md")
    if SHARED_SAMPLES.is_dir()
    else ["(no shared samples)"]
)


def as_written() -> Graph:
    graph = Graph(store=AnswerCache())
    for t in shapes_graph():
        graph.add(t)
    return graph


@pytest.fixture
def written_shapes(monkeypatch: pytest.MonkeyPatch):
    """Validate with the shapes as written (no rule moved) while the fixture is active."""
    graph = as_written()
    monkeypatch.setattr(pyshacl_engine, "validator_shapes", lambda: graph)
    return graph


def test_the_class_rules_get_the_class_shapes_targets():
    shapes = validator_shapes()
    title = URIRef(KGS + "Dataset-title")
    assert (title, SH.targetClass, DCAT.Dataset) in shapes
    assert (None, SH.property, title) not in shapes
    assert (None, SH.property, title) in shapes_graph()
    moved = len(set(shapes_graph().triples((None, SH.property, None)))) - len(
        set(shapes.triples((None, SH.property, None)))
    )
    assert moved > 150  # nearly every rule of the record classes
    # building blocks checked through sh:node keep their sh:property rules
    in_themes = URIRef(KGS + "InDataThemeList")
    assert (in_themes, SH.property, None) in shapes


@pytest.mark.parametrize("location", [SAMPLE_CSV, SAMPLE_DATA_JSON], ids=["csv", "data.json"])
def test_the_bundled_samples_get_the_same_reports(location, monkeypatch):
    records = mapped(location)
    for record in records[10:15]:  # and a few broken ones: no title, a date that is not a date, two dates
        record.triples = [
            (s, p, Literal("soon") if p == DCT.issued else o) for s, p, o in record.triples if p != DCT.title
        ]
        record.triples.append((URIRef(record.key), DCT.issued, Literal("2020")))
    lifted = validate_batch(records)
    assert sum(len(r.findings) for r in lifted) > 100
    assert sum(r.count("violation") for r in lifted) >= 5
    graph = as_written()
    monkeypatch.setattr(pyshacl_engine, "validator_shapes", lambda: graph)
    assert validate_batch(records) == lifted


@pytest.mark.parametrize("name", SHARED_FILES)
def test_the_real_portal_samples_get_the_same_reports(name, shared, monkeypatch):
    records = mapped(shared / "data" / "samples" / name)
    lifted = validate_batch(records)
    graph = as_written()
    monkeypatch.setattr(pyshacl_engine, "validator_shapes", lambda: graph)
    assert validate_batch(records) == lifted


# ---------------------------------------------------------------- what stays where it is

EX = "http://ex.test/"
CLASS_RULE = (
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:p . ex:p sh:path ex:q ; sh:minCount 1 ."
)
OTHER = "ex:T a sh:NodeShape ; sh:targetClass ex:D ;"
PREFIXES = f"""
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <{EX}> .
"""


def lifted_from(text: str) -> tuple[Graph, int]:
    graph = Graph().parse(data=PREFIXES + text, format="turtle")
    return graph, lift_property_shapes(graph)


def is_linked(graph: Graph, shape: str, prop: str) -> bool:
    return (URIRef(EX + shape), SH.property, URIRef(EX + prop)) in graph


@pytest.mark.parametrize(
    "text, kept",
    [
        # a shape another shape checks values against: its rules apply to those values too
        (
            f"{CLASS_RULE} {OTHER} sh:property [ sh:path ex:r ; sh:node ex:S ] .",
            ("S", "p"),
        ),
        # a shape in an sh:or list
        (
            f"{CLASS_RULE} {OTHER} sh:or ( ex:S [ sh:datatype xsd:date ] ) .",
            ("S", "p"),
        ),
        # a rule two class shapes share
        (
            f"{CLASS_RULE} {OTHER} sh:property ex:p .",
            ("S", "p"),
        ),
        # a deactivated class shape: its rules do not run at all
        (
            "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:deactivated true ; sh:property ex:p ."
            "ex:p sh:path ex:q ; sh:minCount 1 .",
            ("S", "p"),
        ),
        # an implicit class target (the shape is the class)
        (
            "ex:S a sh:NodeShape, rdfs:Class ; sh:property ex:p . ex:p sh:path ex:q ; sh:minCount 1 .",
            ("S", "p"),
        ),
        # no target: checked only where referred to
        ("ex:S a sh:NodeShape ; sh:property ex:p . ex:p sh:path ex:q ; sh:minCount 1 .", ("S", "p")),
        # a rule with targets of its own
        (
            "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:p ."
            "ex:p sh:path ex:q ; sh:minCount 1 ; sh:targetNode ex:n .",
            ("S", "p"),
        ),
    ],
    ids=["sh:node", "sh:or", "shared", "deactivated", "implicit-class", "no-target", "own-target"],
)
def test_a_rule_stays_where_moving_it_would_change_what_is_checked(text, kept):
    graph, _ = lifted_from(text)
    assert is_linked(graph, *kept)


DATA = f"""
@prefix ex: <{EX}> .
ex:a a ex:C ; ex:q "x" .
ex:b a ex:C .
ex:c ex:knows ex:d .
ex:e ex:q "not a date" ; ex:knows ex:f .
ex:n ex:q "1" .
"""

SHAPES = """
ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:targetNode ex:n ; sh:targetSubjectsOf ex:knows ;
    sh:targetObjectsOf ex:knows ; sh:property ex:p, ex:t .
ex:p sh:path ex:q ; sh:minCount 1 ; sh:severity sh:Warning ; sh:message "needs q" .
ex:t sh:path ex:q ; sh:datatype xsd:date .
"""


def results(shapes: Graph) -> set[tuple]:
    _, report, _ = validate(Graph().parse(data=DATA, format="turtle"), shacl_graph=shapes, inference="none")
    out = set()
    for r in report.objects(None, SH.result):
        fields = (SH.focusNode, SH.resultPath, SH.resultSeverity, SH.sourceShape)
        out.add(tuple(report.value(r, p) for p in fields))
    return out


def test_every_kind_of_target_gives_the_same_results_once_moved():
    written = Graph().parse(data=PREFIXES + SHAPES, format="turtle")
    lifted, moved = lifted_from(SHAPES)
    assert moved == 2
    assert not is_linked(lifted, "S", "p") and (URIRef(EX + "p"), SH.targetNode, URIRef(EX + "n")) in lifted
    expected = results(written)
    # a, b, c, d, e, f, n are all focus nodes; b, c, d, f lack ex:q; e, a and n have non-dates
    assert {(f, s) for f, _, _, s in expected} == {
        *((URIRef(EX + x), URIRef(EX + "p")) for x in "bcdf"),
        *((URIRef(EX + x), URIRef(EX + "t")) for x in "aen"),
    }
    assert results(lifted) == expected


def test_the_shapes_files_are_read_as_written(tmp_path: Path):
    graph = shapes_graph()
    assert (URIRef(KGS + "DatasetShape"), SH.property, URIRef(KGS + "Dataset-title")) in graph
    assert (URIRef(KGS + "DatasetShape"), RDF.type, SH.NodeShape) in graph
    assert Literal("Dataset", lang="en") in set(graph.objects(URIRef(KGS + "DatasetShape"), None))
