"""KG_VALIDATOR: the rudof engine (kg.validation.rudof_engine) gives the same reports as pyshacl.

Every sample (the bundled ones, and the real portal samples in ``../shared``) is
validated with both engines; the reports must be equal, findings and order.
rudof skips the property shapes of literals: the shapes it gets say what those
would say (kg.validation.rudof_engine.literal_plan); a batch it would still judge
otherwise, or cannot read, goes to pyshacl. Tests pin each case.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_CSV, SAMPLE_DATA_JSON, SHARED_SAMPLES, run_kg, snapshot
from rdflib import BNode, Literal, URIRef

from kg.errors import ValidatorError
from kg.ingest.workers import _context
from kg.iris import Minter
from kg.mapping import map_record
from kg.mapping.agencies import map_agency
from kg.mapping.mapped import MappedRecord
from kg.readers import read_source
from kg.records import AgencyRecord
from kg.settings import load_settings
from kg.validation import batch, pyshacl_engine
from kg.validation.batch import validate_batch
from kg.vocab import DCAT, DCT, RDF

BASE = "http://kg.test/"
HAS_RUDOF = importlib.util.find_spec("pyrudof") is not None
needs_rudof = pytest.mark.skipif(not HAS_RUDOF, reason="pyrudof is not installed (pip install pyrudof)")
SHARED_FILES = (
    sorted(p.name for p in SHARED_SAMPLES.iterdir() if p.name != "SOURCES.md")
    if SHARED_SAMPLES.is_dir()
    else ["(no shared samples)"]
)


def mapped(location: Path) -> list[MappedRecord]:
    """The records of a source, mapped with their context as kg.ingest.workers.process does."""
    iris = Minter(BASE)
    agencies: dict[str, list] = {}
    out = []
    for record in read_source(str(location)):
        if isinstance(record, AgencyRecord):
            agencies[record.key] = map_agency(record, iris).triples
        context = _context(record, agencies, iris)
        m = map_record(record, iris)
        m.context.extend(context)
        out.append(m)
    return out


def has_distribution(record: MappedRecord) -> bool:
    return any(p == DCAT.distribution for _, p, _ in record.triples)


def rudof_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure rudof gave the findings: pyshacl may not stand in for it."""

    def refuse(triples):
        raise AssertionError("the batch went to pyshacl")

    monkeypatch.setattr(pyshacl_engine, "pyshacl_findings", refuse)


def without_sensitive_literals(records: list[MappedRecord]) -> list[MappedRecord]:
    """The records less the literals that send a batch to pyshacl (so that rudof validates them)."""
    from kg.validation.rudof_engine import literal_sensitive_predicates

    sensitive = literal_sensitive_predicates()

    def keep(t) -> bool:
        return not (isinstance(t[2], Literal) and t[1] in sensitive)

    return [
        MappedRecord(
            r.key,
            r.kind,
            r.origin,
            r.label,
            [t for t in r.triples if keep(t)],
            [t for t in r.context if keep(t)],
            list(r.notes),
        )
        for r in records
    ]


# ---------------------------------------------------------------- same reports


@needs_rudof
@pytest.mark.parametrize("location", [SAMPLE_CSV, SAMPLE_DATA_JSON], ids=["csv", "data.json"])
def test_the_bundled_samples_get_the_same_reports_from_rudof(location, monkeypatch):
    records = mapped(location)
    expected = validate_batch(records)
    some = validate_batch(records[:7])
    assert sum(len(r.findings) for r in expected) > 100
    rudof_alone(monkeypatch)  # the mapped samples hold nothing rudof validates otherwise
    assert validate_batch(records, engine="rudof") == expected
    assert validate_batch(records[:7], engine="rudof") == some


@needs_rudof
@pytest.mark.parametrize("name", SHARED_FILES)
def test_the_real_portal_samples_get_the_same_reports_from_rudof(name, shared, monkeypatch):
    records = mapped(shared / "data" / "samples" / name)
    assert validate_batch(records, engine="rudof") == validate_batch(records)
    # and with rudof doing all the work (the RDF samples have literal formats and languages)
    plain = without_sensitive_literals(records)
    expected = validate_batch(plain)
    rudof_alone(monkeypatch)
    assert validate_batch(plain, engine="rudof") == expected


@needs_rudof
def test_odd_terms_come_back_as_pyshacl_gives_them(monkeypatch):
    """Blank nodes (with names N-Triples cannot write), IRIs N-Triples writes escaped and literals
    with quotes, line breaks and backslashes: focus and value as pyshacl gives them."""
    records = mapped(SAMPLE_CSV)
    dataset = next(r for r in records if r.kind == "dataset" and has_distribution(r))
    distribution = next(o for _, p, o in dataset.triples if p == DCAT.distribution)
    odd = BNode("odd node-1.x")
    renamed = {distribution: odd}
    dataset.triples = [tuple(renamed.get(term, term) for term in t) for t in dataset.triples]
    dataset.triples += [
        (odd, DCT.format, URIRef("http://example.org/my format")),
        (URIRef(dataset.key), DCT.issued, Literal('not a "date"\nat all \\ é')),
    ]
    expected = validate_batch([dataset])
    values = {f.value for f in expected[0].findings}
    assert {"http://example.org/my format", 'not a "date"\nat all \\ é'} <= values
    assert any(f.focus == str(odd) for f in expected[0].findings)
    rudof_alone(monkeypatch)
    assert validate_batch([dataset], engine="rudof") == expected


# ---------------------------------------------------------------- where rudof differs: pyshacl


def with_literals(record: MappedRecord) -> MappedRecord:
    """A dataset with literals where concepts are expected (as RDF sources have them)."""
    key = URIRef(record.key)
    distribution = next(o for s, p, o in record.triples if s == key and p == DCAT.distribution)
    record.triples = [t for t in record.triples if t[1] not in (DCT.language, DCT.spatial, DCT.format)]
    record.triples += [
        (key, DCT.language, Literal("es")),
        (key, DCT.spatial, Literal("Spain")),
        (key, DCT.spatial, Literal("https://sws.geonames.org/2510769/")),  # meets the GeoNames pattern
        (distribution, DCT.format, Literal("CSV")),
    ]
    return record


def a_dataset() -> MappedRecord:
    records = mapped(SAMPLE_CSV)
    return next(r for r in records if r.kind == "dataset" and has_distribution(r))


@needs_rudof
def test_literals_where_concepts_are_expected_get_pyshacl_s_findings_from_rudof(monkeypatch):
    dataset = with_literals(a_dataset())
    expected = validate_batch([dataset])
    language = [f for f in expected[0].findings if f.rule.endswith("#Dataset-language-vocabulary")]
    assert [f.value for f in language] == ["es", "es"]  # sh:nodeKind and sh:node
    spatial = [f.value for f in expected[0].findings if f.rule.endswith("#Dataset-spatial-vocabulary")]
    assert sorted(spatial) == ["Spain", "Spain", "https://sws.geonames.org/2510769/"]  # the pattern holds
    assert any(
        f.value == "CSV" and f.rule.endswith("#Distribution-format-vocabulary") for f in expected[0].findings
    )
    rudof_alone(monkeypatch)
    assert validate_batch([dataset], engine="rudof") == expected


@needs_rudof
def test_rudof_still_skips_property_shapes_on_literals():
    """Why kg.validation.rudof_engine adds node kinds to the shapes it gives rudof (:func:`literal_plan`):
    rudof 0.3.35 does not evaluate the property shapes of a literal focus node, so "es" meets
    sh:node kgs:InLanguageList there (it has no skos:inScheme: sh:minCount 1 fails, for pyshacl
    and the SHACL spec)."""
    import pyrudof

    from kg.mapping.ntriples import nt_line
    from kg.validation.batch import batch_triples
    from kg.validation.rudof_engine import literal_plan
    from kg.validation.shapes import validator_shapes

    data = "".join(map(nt_line, batch_triples([with_literals(a_dataset())])))

    def language_results(shapes) -> int:
        rudof = pyrudof.Rudof(pyrudof.RudofConfig())
        rudof.read_shacl("".join(map(nt_line, shapes)), pyrudof.ShaclFormat.NTriples)
        rudof.read_data(data, pyrudof.RDFFormat.NTriples, merge=False)
        return sum(
            v.source_shape.endswith("#Dataset-language-vocabulary") for v in rudof.validate_shacl().violations
        )

    assert language_results([*validator_shapes(), *literal_plan()[0]]) == 2
    assert language_results(list(validator_shapes())) == 1, (
        "rudof now checks the property shapes of literals: literal_plan's node kinds may go"
    )


def test_our_shapes_send_no_literal_to_pyshacl():
    """The vocabulary-list shapes get sh:nodeKind sh:BlankNodeOrIRI for rudof, and nothing is left
    that would send a batch with literals to pyshacl (RDF sources stay on rudof)."""
    from kg.validation.rudof_engine import literal_plan

    added, predicates = literal_plan()
    names = sorted(str(s).rsplit("#", 1)[-1] for s, _, _ in added)
    assert "InLanguageList" in names and all(n.startswith("In") and n.endswith("List") for n in names)
    assert predicates == frozenset()


def test_the_literal_plan_of_other_shapes(monkeypatch):
    """What literal_plan does with shapes it cannot settle by a node kind."""
    from rdflib import Graph

    from kg.validation import rudof_engine

    shapes = Graph().parse(
        format="turtle",
        data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://ex.org/> .
        ex:Asks sh:property [ sh:path ex:s ; sh:minCount 1 ] .                 # settled by a node kind
        ex:Iri sh:nodeKind sh:IRI ; sh:property [ sh:path ex:s ; sh:hasValue ex:v ] .  # fails literals
        ex:Optional sh:property [ sh:path ex:s ; sh:maxCount 1 ] .             # a literal meets it anyway
        ex:Inverse sh:property [ sh:path [ sh:inversePath ex:s ] ; sh:minCount 1 ] .
        ex:Top a sh:NodeShape ; sh:targetClass ex:C ;
            sh:property [ sh:path ex:a ; sh:node ex:Asks ] , [ sh:path ex:b ; sh:node ex:Iri ] ,
                [ sh:path ex:c ; sh:or ( ex:Optional ex:Asks ) ] , [ sh:path ex:d ; sh:node ex:Inverse ] .
        ex:Objects sh:targetObjectsOf ex:e ; sh:property [ sh:path ex:s ; sh:minCount 1 ] .
        """,
    )
    monkeypatch.setattr(rudof_engine, "validator_shapes", lambda: shapes)
    rudof_engine.literal_plan.cache_clear()
    try:
        added, predicates = rudof_engine.literal_plan()
    finally:
        rudof_engine.literal_plan.cache_clear()
    ex = "http://ex.org/"
    assert [str(s) for s, _, _ in added] == [f"{ex}Asks"]
    assert predicates == {URIRef(f"{ex}d"), URIRef(f"{ex}e")}


@needs_rudof
def test_a_literal_on_a_sensitive_predicate_goes_to_pyshacl(monkeypatch):
    from kg.validation import rudof_engine

    dataset = with_literals(a_dataset())
    expected = validate_batch([dataset])
    monkeypatch.setattr(rudof_engine, "literal_sensitive_predicates", lambda: frozenset({DCT.language}))
    with pytest.raises(rudof_engine.NotForRudof, match="language"):
        rudof_engine.rudof_findings(batch.batch_triples([dataset]))
    assert validate_batch([dataset], engine="rudof") == expected


@needs_rudof
def test_a_batch_too_large_for_rudof_goes_to_pyshacl(monkeypatch):
    from kg.validation import rudof_engine

    records = mapped(SAMPLE_DATA_JSON)
    expected = validate_batch(records)
    monkeypatch.setattr(rudof_engine, "MAX_TRIPLES", 100)
    with pytest.raises(rudof_engine.NotForRudof, match="triples"):
        rudof_engine.rudof_findings(batch.batch_triples(records))
    assert validate_batch(records, engine="rudof") == expected


@needs_rudof
def test_a_batch_rudof_cannot_read_goes_to_pyshacl():
    from kg.validation.rudof_engine import NotForRudof, rudof_findings

    records = mapped(SAMPLE_CSV)
    dataset = next(r for r in records if r.kind == "dataset")
    dataset.triples.append((URIRef(dataset.key), DCAT.landingPage, URIRef("no-scheme/page")))
    with pytest.raises(NotForRudof):
        rudof_findings(batch.batch_triples([dataset]))
    assert validate_batch([dataset], engine="rudof") == validate_batch([dataset])


# ---------------------------------------------------------------- the setting, the package, kg ingest


def test_the_setting_takes_rudof_or_pyshacl():
    assert load_settings({}).validator == "rudof"
    assert load_settings({"KG_VALIDATOR": " Rudof "}).validator == "rudof"
    assert load_settings({"KG_VALIDATOR": "PYSHACL"}).validator == "pyshacl"
    for bad in ({"KG_VALIDATOR": "fast"}, {"KG_VALIDATOR": ""}):
        with pytest.raises(ValueError, match="KG_VALIDATOR"):
            load_settings(bad)
    with pytest.raises(ValueError, match="KG_VALIDATOR"):
        load_settings({}, validator="shacl")


def test_the_batch_follows_the_engine_unless_set():
    """rudof's memory grows with the batch (200: a worker under ~350 MB), pyshacl's per-call cost
    wants bigger ones (1,000); a batch that is set is kept whatever the engine."""
    assert load_settings({}).validation_batch == 200
    assert load_settings({"KG_VALIDATOR": "pyshacl"}).validation_batch == 1000
    assert load_settings({"KG_VALIDATOR": "pyshacl", "KG_VALIDATION_BATCH": "40"}).validation_batch == 40
    assert load_settings({"KG_VALIDATION_BATCH": " "}).validation_batch == 200
    assert load_settings({}, validator="pyshacl", validation_batch=7).validation_batch == 7
    for bad in ("0", "-3", "many"):
        with pytest.raises(ValueError, match="KG_VALIDATION_BATCH"):
            load_settings({"KG_VALIDATION_BATCH": bad})


def test_without_pyrudof_rudof_is_a_validator_error(monkeypatch):
    from kg.ingest.workers import process

    monkeypatch.setitem(sys.modules, "pyrudof", None)  # import pyrudof raises ImportError
    records = mapped(SAMPLE_CSV)[:2]
    with pytest.raises(
        ValidatorError, match="KG_VALIDATOR=rudof needs the pyrudof package: pip install pyrudof"
    ):
        validate_batch(records, engine="rudof")
    with pytest.raises(ValidatorError, match="pip install pyrudof"):
        next(process(iter(()), Minter(BASE), batch=10, workers=1, validator="rudof"))
    with pytest.raises(ValidatorError, match="unknown SHACL engine"):
        validate_batch(records, engine="topbraid")


@needs_rudof
def test_kg_ingest_with_rudof_stores_what_pyshacl_stores(seeded_template, tmp_path, kg_env):
    """The CLI on two worker processes with KG_VALIDATOR=rudof: the same graphs, reports included."""
    store = tmp_path / "rudof-store"
    env = {**kg_env, "KG_STORE": str(store), "KG_VALIDATOR": "rudof", "KG_WORKERS": "2"}
    done = run_kg("ingest", SAMPLE_CSV, "--source", "sample", env=env)
    assert done.returncode == 0, done.stderr
    assert snapshot(store) == snapshot(seeded_template)


# ---------------------------------------------------------------- a catalogue that lists many datasets


def catalogue_listing(count: int) -> MappedRecord:
    """A catalogue record whose context names ``count`` datasets by their type only, as the RDF
    reader gives a catalogue (kg.readers.rdf_split): none of them is the record's own."""
    catalogue = URIRef(BASE + "catalogue")
    datasets = [URIRef(f"{BASE}dataset/{i}") for i in range(count)]
    return MappedRecord(
        str(catalogue),
        "catalog",
        "test",
        "a catalogue",
        [(catalogue, RDF.type, DCAT.Catalog), (catalogue, DCT.title, Literal("Catalogue", lang="en"))]
        + [(catalogue, DCAT.dataset, d) for d in datasets],
        [(d, RDF.type, DCAT.Dataset) for d in datasets],
        [],
    )


def test_pyshacl_targets_only_the_records_own_nodes_and_reports_the_same():
    record = catalogue_listing(40)
    triples = batch.batch_triples([record])
    everything = pyshacl_engine.pyshacl_findings(triples)  # every dataset of the context a focus node
    owned = pyshacl_engine.pyshacl_findings(triples, set(batch._owners([record])))
    assert {str(focus) for _, focus in everything} > {record.key}  # the context's datasets were targeted
    assert {str(focus) for _, focus in owned} == {record.key}
    assert batch._reports([record], everything) == batch._reports([record], owned)
    assert validate_batch([record])[0].findings == batch._reports([record], everything)[0].findings


@needs_rudof
def test_a_batch_with_a_big_unowned_context_goes_to_pyshacl(monkeypatch):
    """rudof would target every listed dataset (~12 KB per triple): over MAX_UNOWNED_CONTEXT, pyshacl
    (for a context that is not a list of links a record can be validated in parts by: see
    tests/test_validation_split.py, here switched off)."""
    from kg.validation import rudof_engine, split

    monkeypatch.setattr(split, "validator_splittable", lambda: frozenset())
    small, big = catalogue_listing(20), catalogue_listing(batch.MAX_UNOWNED_CONTEXT + 1)
    expected_small, expected_big = validate_batch([small]), validate_batch([big])
    assert validate_batch([small], engine="rudof") == expected_small

    def refuse(triples):
        raise AssertionError("rudof got the batch")

    monkeypatch.setattr(rudof_engine, "rudof_findings", refuse)
    assert validate_batch([big], engine="rudof") == expected_big
