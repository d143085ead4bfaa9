"""kg.validation.split: a catalogue's long list of links validated in parts gives the same reports.

A Turtle catalogue whose links break a per-value rule (links to things that are not datasets)
and a catalogue-level rule, read and validated as an ingest does, with views of 50 links and
without views; with both engines. Then which predicates may be cut, on our shapes and on shapes
made to forbid it.
"""

from __future__ import annotations

import pytest
from rdflib import Graph

from kg.ingest.workers import process
from kg.iris import Minter
from kg.readers import read_source
from kg.validation import split
from kg.validation.shapes import validator_shapes
from kg.vocab import DCAT, DCT

BASE = "http://kg.test/"
PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> . @prefix ex: <http://data.example/> .
"""


def catalogue(path, n: int = 340, strays: int = 10) -> None:
    """``n`` datasets listed by a catalogue without a title, which also lists ``strays`` things
    that are not datasets (a violation on each of those links)."""
    links = [f"ex:d{i}" for i in range(n)] + [f"ex:stray{i}" for i in range(strays)]
    lines = [
        PREFIXES,
        'ex:cat a dcat:Catalog ; dct:description "A catalogue"@en ; dct:publisher ex:agency ;',
        f"    dcat:dataset {', '.join(links)} .",
        'ex:agency a foaf:Agent ; foaf:name "Agency"@en .',
    ]
    for i in range(n):
        lines.append(
            f'ex:d{i} a dcat:Dataset ; dct:title "Dataset {i}"@en ; dct:description "About {i}"@en ;'
            " dct:publisher ex:agency ."
        )
    lines += [f'ex:stray{i} dct:title "Not a dataset {i}"@en .' for i in range(strays)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def reports(path, engine: str) -> dict[str, tuple]:
    records = read_source(str(path), fmt="ttl")
    return {
        m.key: (r.publishable, tuple(r.findings))
        for m, r in process(records, Minter(BASE), batch=1000, workers=1, validator=engine)
    }


@pytest.mark.parametrize("engine", ["rudof", "pyshacl"])
def test_a_catalogue_validated_in_parts_has_the_same_report(tmp_path, monkeypatch, engine):
    path = tmp_path / "catalogue.ttl"
    catalogue(path)
    monkeypatch.setattr(split, "LINK_CHUNK", 50)
    cut = []
    original = split.split_record
    monkeypatch.setattr(split, "split_record", lambda r, p: cut.append(v := original(r, p)) or v)
    parts = reports(path, engine)
    views = [v for v in cut if v]
    # once, and once more without the stray links its violations name (kg.mapping.repairs: still no title)
    assert len(views) == 2 and len(views[0]) == 7, "the catalogue is validated as 7 views of 50 links"
    monkeypatch.setattr(split, "validator_splittable", lambda: frozenset())
    whole = reports(path, engine)
    assert parts == whole
    findings = parts["http://data.example/cat"][1]
    stray = [f for f in findings if f.severity == "violation" and f.path == str(DCAT.dataset)]
    assert sorted(f.value for f in stray) == sorted(f"http://data.example/stray{i}" for i in range(10))
    # once, though every view says it (a catalogue is a dcat:Dataset too: DCAT's class hierarchy)
    title = [f for f in findings if f.path == str(DCT.title) and f.severity == "violation"]
    assert sorted(f.rule.rsplit("#", 1)[-1] for f in title) == ["Catalog-title", "Dataset-title"], findings


def test_a_record_that_describes_a_target_itself_is_not_cut():
    from rdflib import URIRef

    from kg.mapping.mapped import MappedRecord

    cat, p = URIRef(f"{BASE}cat"), DCAT.dataset
    triples = [(cat, p, URIRef(f"{BASE}d{i}")) for i in range(split.LINK_CHUNK + 1)]
    record = MappedRecord(f"{BASE}cat", "catalog", "x", "x", triples, [])
    assert len(split.split_record(record, frozenset({p}))) == 2
    record.triples.append((URIRef(f"{BASE}d0"), DCT.title, URIRef(f"{BASE}t")))
    assert split.split_record(record, frozenset({p})) is None
    short = MappedRecord(f"{BASE}cat", "catalog", "x", "x", triples[: split.LINK_CHUNK], [])
    assert split.split_record(short, frozenset({p})) is None


def test_our_shapes_let_a_catalogue_be_cut_by_its_links():
    predicates = split.splittable_predicates(validator_shapes())
    assert {DCAT.dataset, DCAT.service, DCAT.catalog} <= predicates


SHAPES = (
    PREFIXES
    + """@prefix sh: <http://www.w3.org/ns/shacl#> .
ex:S a sh:NodeShape ; sh:targetClass dcat:Catalog ; sh:property ex:P .
ex:P sh:path dcat:dataset ; sh:class dcat:Dataset .
"""
)


@pytest.mark.parametrize(
    "extra",
    [
        "ex:P sh:maxCount 5000 .",
        "ex:P sh:minCount 2 .",
        "ex:P sh:uniqueLang true .",
        "ex:Q sh:path dct:title ; sh:equals dcat:dataset .",
        "ex:Q sh:path [ sh:inversePath dcat:dataset ] ; sh:class dcat:Catalog .",
        "ex:Q sh:path ( dcat:dataset dct:title ) ; sh:qualifiedValueShape ex:S ; sh:qualifiedMinCount 1 .",
        'ex:S sh:sparql [ sh:select "SELECT $this WHERE { }" ] .',
    ],
)
def test_a_rule_that_counts_or_compares_the_links_forbids_cutting(extra):
    assert DCAT.dataset in split.splittable_predicates(Graph().parse(data=SHAPES, format="turtle"))
    shapes = Graph().parse(data=SHAPES + extra, format="turtle")
    assert DCAT.dataset not in split.splittable_predicates(shapes)


def test_the_parameter_names_are_shacl_terms():
    from rdflib.namespace import SH

    for name in split.PER_VALUE | split.NOT_CONSTRAINTS | split.PAIRS | split.PATH_STEPS | {"minCount"}:
        assert getattr(SH, name) == SH._NS[name]  # rdflib's closed SHACL namespace refuses a typo


def test_a_catalogue_with_more_links_than_rudof_takes_is_validated_by_rudof_in_parts(monkeypatch):
    """Views have at most LINK_CHUNK targets of context: under MAX_UNOWNED_CONTEXT, so rudof takes each."""
    from test_validation_engines import catalogue_listing

    from kg.validation import batch, rudof_engine

    pytest.importorskip("pyrudof")
    assert split.LINK_CHUNK <= batch.MAX_UNOWNED_CONTEXT
    big = catalogue_listing(2 * split.LINK_CHUNK + 1)
    expected = batch.validate_batch([big])  # pyshacl, in parts
    calls = []
    original = rudof_engine.rudof_findings
    monkeypatch.setattr(rudof_engine, "rudof_findings", lambda t: calls.append(len(t)) or original(t))
    assert batch.validate_batch([big], engine="rudof") == expected
    assert len(calls) == 3
