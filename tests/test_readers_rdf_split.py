"""The RDF reader on pyoxigraph and a table on disk: the same records rdflib's parse gave, in every
syntax; a catalogue's context that names its datasets without describing them, and the same findings."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest
import rdflib
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from kg.errors import InputError
from kg.iris import Minter
from kg.mapping import map_record
from kg.readers.files import decode_utf8
from kg.readers.rdf import _check_utf8, read_rdf
from kg.readers.rdf_split import LISTED_TERMS
from kg.readers.rdf_table import TripleTable
from kg.records import RdfRecord
from kg.validation.batch import validate_batch
from kg.validation.shapes import shapes_graph
from kg.vocab import DCAT, RDF

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "data" / "samples"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")
SYNTAXES = {"ttl": "turtle", "nt": "nt", "rdf": "xml", "jsonld": "json-ld", "n3": "n3"}
QUAD_SYNTAXES = {"nq": "nquads", "trig": "trig"}


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated catalogue (12 datasets, agencies, services) in every syntax the reader takes."""
    folder = tmp_path_factory.mktemp("rdf-syntaxes")
    ttl = _generator().generate(12, 1, "ttl", folder / "gen")
    graph = Graph().parse(ttl, format="turtle")
    files = {"ttl": ttl}
    for ext, syntax in SYNTAXES.items():
        path = folder / f"catalog.{ext}"
        path.write_bytes(graph.serialize(format=syntax, encoding="utf-8"))
        files[ext] = path
    dataset = Dataset()
    for number, triple in enumerate(sorted(graph)):  # spread over named graphs, one triple twice
        dataset.graph(URIRef(f"http://example.org/g{number % 3}")).add(triple)
        if number == 0:
            dataset.graph(URIRef("http://example.org/again")).add(triple)
    for ext, syntax in QUAD_SYNTAXES.items():
        path = folder / f"catalog.{ext}"
        path.write_bytes(dataset.serialize(format=syntax, encoding="utf-8"))
        files[ext] = path
    return files


def shared_sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"…/shared/data/samples not found: {path}")
    return path


def normal(term: object) -> object:
    """What pyoxigraph cannot tell apart: language tags in any case, "a" and "a"^^xsd:string."""
    if isinstance(term, Literal) and term.language:
        return Literal(str(term), lang=term.language.lower())
    if isinstance(term, Literal) and term.datatype == XSD_STRING:
        return Literal(str(term))
    return term


def graph_of(triples: list[tuple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(tuple(normal(t) for t in triple))
    return graph


def rdflib_triples(path: Path, syntax: str) -> list[tuple]:
    if syntax in QUAD_SYNTAXES.values():
        dataset = Dataset()
        dataset.parse(path, format=syntax)
        return list({(s, p, o) for s, p, o, _ in dataset.quads((None, None, None, None))})
    return list(Graph().parse(path, format=syntax))


# --- the same triples as rdflib's parse, cut as before


@pytest.mark.parametrize("ext", [*SYNTAXES, *QUAD_SYNTAXES])
def test_every_syntax_gives_the_triples_rdflib_parses(catalogue: dict[str, Path], ext: str) -> None:
    syntax = {**SYNTAXES, **QUAD_SYNTAXES}[ext]
    records = list(read_rdf(catalogue[ext]))
    owned = [t for r in records for t in r.triples]
    assert len(owned) == len(set(owned)), "a triple is in two records"
    assert isomorphic(graph_of(owned), graph_of(rdflib_triples(catalogue[ext], syntax)))
    kinds = [r.kind for r in records]
    assert kinds == sorted(kinds, key=["agency", "catalog", "dataset", "service", "other"].index)
    assert kinds.count("dataset") == 12 and kinds.count("catalog") == 1


@pytest.mark.parametrize("ext", [*SYNTAXES, *QUAD_SYNTAXES])
def test_every_syntax_gives_the_same_records(catalogue: dict[str, Path], ext: str) -> None:
    expected = [(r.kind, r.key, len(r.triples), len(r.context)) for r in read_rdf(catalogue["ttl"])]
    assert [(r.kind, r.key, len(r.triples), len(r.context)) for r in read_rdf(catalogue[ext])] == expected


@pytest.mark.parametrize(
    ("name", "syntax"), [("dataset_gob_es.ttl", "turtle"), ("dataset_sweden.rdf", "xml")]
)
def test_real_samples_give_the_triples_rdflib_parses(name: str, syntax: str) -> None:
    path = shared_sample(name)
    records = list(read_rdf(path))
    assert isomorphic(
        graph_of([t for r in records for t in r.triples]), graph_of(rdflib_triples(path, syntax))
    )


def test_context_is_one_hop_and_a_catalogue_only_names_its_datasets(catalogue: dict[str, Path]) -> None:
    records = list(read_rdf(catalogue["ttl"]))
    by_subject: dict[object, set[tuple]] = defaultdict(set)
    for triple in (t for r in records for t in r.triples):
        by_subject[triple[0]].add(triple)
    for record in records:
        own = {s for s, _, _ in record.triples}
        listed = {o for _, p, o in record.triples if p == DCAT.dataset}
        listed -= {o for _, p, o in record.triples if p != DCAT.dataset}
        expected = set()
        for node in {o for _, _, o in record.triples if o in by_subject} - own:
            keep = (lambda t: str(t[1]) in LISTED_TERMS) if node in listed else (lambda t: True)
            expected |= {t for t in by_subject[node] if keep(t)}
        assert set(record.context) == expected, record.key
    catalog = next(r for r in records if r.kind == "catalog")
    datasets = {URIRef(r.key) for r in records if r.kind == "dataset"}
    assert {s for s, _, _ in catalog.context} >= datasets
    assert {(s, p, o) for s, p, o in catalog.context if s in datasets} == {
        (d, RDF.type, DCAT.Dataset) for d in datasets
    }


# --- the catalogue's small context: what the shapes read, and the same findings


def test_listed_terms_are_what_the_shapes_read_of_a_resource_that_is_not_the_focus() -> None:
    """sh:class reads rdf:type; a nested shape (sh:node, sh:or, …) reads its paths of the value;
    an inverse path reads other resources' triples. Nothing else reads a non-focus resource."""
    shapes = shapes_graph()
    nested, todo = (
        set(),
        [o for p in (SH.node, SH["not"], SH.qualifiedValueShape) for o in shapes.objects(None, p)],
    )
    for p in (SH["and"], SH["or"], SH.xone):
        todo += [member for head in shapes.objects(None, p) for member in Collection(shapes, head)]
    while todo:
        shape = todo.pop()
        if shape not in nested:
            nested.add(shape)
            todo += list(shapes.objects(shape, SH.property)) + list(shapes.objects(shape, SH.node))
    read = {str(RDF.type)} | {str(p) for p in shapes.objects(None, SH.inversePath)}
    read |= {
        str(path) for shape in nested for path in shapes.objects(shape, SH.path) if isinstance(path, URIRef)
    }
    assert not any(isinstance(path, BNode) for shape in nested for path in shapes.objects(shape, SH.path))
    assert read <= set(LISTED_TERMS)


def reports(records: list[RdfRecord]) -> list[tuple]:
    iris = Minter("http://kg.test/")
    found = validate_batch([map_record(r, iris) for r in records], engine="pyshacl")
    return [(r.key, r.kind, r.origin, sorted(f.__dict__.items() for f in r.findings)) for r in found]


def with_full_context(records: list[RdfRecord]) -> list[RdfRecord]:
    """The records as the reader gave them before: every resource pointed at fully described."""
    by_subject: dict[object, list[tuple]] = defaultdict(list)
    for triple in (t for r in records for t in r.triples):
        by_subject[triple[0]].append(triple)
    out = []
    for r in records:
        own = {s for s, _, _ in r.triples}
        pointed = {o for _, _, o in r.triples if o in by_subject} - own
        context = [t for node in pointed for t in by_subject[node]]
        out.append(RdfRecord(key=r.key, kind=r.kind, origin=r.origin, triples=r.triples, context=context))
    return out


def test_findings_are_those_of_the_full_context(catalogue: dict[str, Path]) -> None:
    records = list(read_rdf(catalogue["ttl"]))
    full = with_full_context(records)
    assert sum(map(len, (r.context for r in full))) > sum(map(len, (r.context for r in records)))
    assert reports(records) == reports(full)  # one batch of everything
    catalog = [i for i, r in enumerate(records) if r.kind == "catalog"]
    assert reports([records[i] for i in catalog]) == reports([full[i] for i in catalog])  # on its own
    half = len(records) // 2
    assert reports(records[half:]) == reports(full[half:])  # with some of its datasets


@pytest.mark.parametrize("name", ["dataset_gob_es.ttl", "dataset_sweden.rdf"])
def test_findings_of_the_real_samples_are_those_of_the_full_context(name: str) -> None:
    records = list(read_rdf(shared_sample(name)))
    assert reports(records) == reports(with_full_context(records))


# --- what pyoxigraph reads differently, decided


def test_literals_as_rdflib_makes_them(tmp_path: Path) -> None:
    path = tmp_path / "literals.ttl"
    path.write_text(
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<http://ex/a> <http://ex/p> "01"^^xsd:integer, "1E3"^^xsd:double, "abc"^^xsd:integer, "Hi"@EN-gb,\n'
        '  "x"^^xsd:string, "y", "2019-06-27 12:41:27"^^xsd:dateTime, "z"^^<http://ex/type> .\n',
        encoding="utf-8",
    )
    (record,) = read_rdf(path)
    got = {o for _, _, o in record.triples}
    # rdflib's own normalisation of lexical forms, as its parser gave
    assert Literal("01", datatype=rdflib.XSD.integer) in got and "1" in {str(o) for o in got}
    assert str(Literal("1E3", datatype=rdflib.XSD.double)) in {str(o) for o in got}
    assert Literal("abc", datatype=rdflib.XSD.integer) in got
    assert Literal("z", datatype=URIRef("http://ex/type")) in got
    assert Literal("Hi", lang="en-gb") in got  # lower case: pyoxigraph (and our store) lowercase tags
    assert Literal("x") in got and Literal("y") in got  # "x"^^xsd:string is the plain "x"


def test_labelled_blank_nodes_keep_their_labels(tmp_path: Path) -> None:
    path = tmp_path / "blank.ttl"
    path.write_text(
        '_:series a <http://www.w3.org/ns/dcat#Dataset> ; <http://purl.org/dc/terms/title> "S" .\n',
        encoding="utf-8",
    )
    assert [r.key for r in read_rdf(path)] == ["_:series"] == [r.key for r in read_rdf(path)]


def test_byte_order_mark_and_another_xml_encoding(tmp_path: Path) -> None:
    path = tmp_path / "bom.ttl"
    path.write_bytes(b'\xef\xbb\xbf<http://ex/a> <http://ex/p> "caf\xc3\xa9" .\n')
    assert [str(o) for r in read_rdf(path) for _, _, o in r.triples] == ["caf\u00e9"]
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns:ex="http://ex/"><rdf:Description rdf:about="http://ex/a"><ex:p>caf\u00e9</ex:p></rdf:Description>'
        "</rdf:RDF>\n"
    )
    latin = tmp_path / "latin.rdf"
    latin.write_bytes(xml.encode("latin-1"))
    assert [str(o) for r in read_rdf(latin) for _, _, o in r.triples] == ["caf\u00e9"]


def utf8_error(data: bytes) -> InputError:
    with pytest.raises(InputError) as info:
        decode_utf8(data, "f.ttl")
    return info.value


@pytest.mark.parametrize(
    "data",
    [
        b'<http://ex/a> <http://ex/p> "x" .\n# caf\xe9\n',  # in a comment: pyoxigraph would not mind
        b'<http://ex/a> <http://ex/p> "caf\xc3\xa9\xc3\xa9\xc3\xa9" .\n\n"\xc3\xa9\xff" .\n',
        b'<http://ex/a> <http://ex/p> "cut \xc3',  # a character cut short at the end
    ],
)
def test_not_utf8_is_refused_as_decode_utf8_says(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.ttl"
    path.write_bytes(data)
    expected = utf8_error(data)
    with pytest.raises(InputError) as info:
        list(read_rdf(path))
    assert (info.value.line, info.value.message) == (expected.line, expected.message)
    for block in (1, 2, 3, 5, 7):  # read in blocks that cut characters
        with pytest.raises(InputError) as info:
            _check_utf8(path, str(path), block=block)
        assert (info.value.line, info.value.message) == (expected.line, expected.message)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("star.ttl", "<http://a> <http://b> <<( <http://a> <http://b> <http://c> )>> .", "RDF-star"),
        ("rule.n3", "@prefix : <http://ex/> . { :a :b ?x } => { :x :y ?x } .", "N3 syntax error"),
        ("bad.jsonld", '{"@context": {"@version": 3}, "@id": "http://x"}', "JSON-LD syntax error"),
        ("bad.trig", "<http://g> { <http://a> <http://b> }", "TriG syntax error"),
    ],
)
def test_what_pyoxigraph_refuses_is_an_input_error(tmp_path: Path, name: str, text: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        list(read_rdf(path))
    assert info.value.file == str(path) and words in info.value.message


def test_records_come_one_at_a_time_and_the_table_goes_away(
    catalogue: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[TripleTable] = []
    close = TripleTable.close
    monkeypatch.setattr(TripleTable, "close", lambda table: (closed.append(table), close(table)))
    records = read_rdf(catalogue["ttl"])
    assert next(records).kind == "agency" and not closed
    records.close()  # the caller stops early: the table's file goes all the same
    assert len(closed) == 1
    list(read_rdf(catalogue["ttl"]))
    assert len(closed) == 2


def test_an_iri_rdflib_accepted_is_read_as_it_is(tmp_path: Path) -> None:
    """rdflib read IRIs with excluded characters (warning only); pyoxigraph reads them leniently."""
    path = tmp_path / "iri.ttl"
    path.write_text(
        '<http://example.org/d> <http://purl.org/dc/terms/title> "x" ;\n'
        "  <http://www.w3.org/ns/dcat#landingPage> <http://example.org/`x> .\n",
        encoding="utf-8",
    )
    (record,) = read_rdf(path)
    assert URIRef("http://example.org/`x") in {o for _, _, o in record.triples}
