"""The RDF reader: cutting a graph into records without losing or repeating a triple; syntax errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef

from kg.errors import InputError
from kg.readers.rdf import read_rdf
from kg.records import RdfRecord
from kg.vocab import DCAT, DCT

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"
EX = "http://example.org/"

TURTLE = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix ex: <http://example.org/> .

ex:catalog a dcat:Catalog ; dct:title "Catalogue" ;
    dcat:dataset ex:ds1, ex:ds2, [ a dcat:Dataset ; dct:title "Anonymous" ] ;
    dcat:service ex:api ;
    dct:publisher [ a foaf:Agent ; foaf:name "Catalogue owner" ] .

ex:ds1 a dcat:Dataset ; dct:title "One"@en ; dct:publisher ex:agency ;
    dct:accrualPeriodicity ex:monthly ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2020-01-01" ] ;
    dcat:contactPoint _:shared ;
    dcat:distribution ex:dist1, [ a dcat:Distribution ; dcat:accessURL ex:page ] .

ex:ds2 a dcat:Dataset ; dct:title "Two" ; dct:publisher ex:agency ; dcat:contactPoint _:shared .

_:shared <http://www.w3.org/2006/vcard/ns#fn> "Desk" .

ex:dist1 a dcat:Distribution ; dcat:downloadURL ex:file.csv ; dct:format [ dct:title "CSV" ] .

ex:api a dcat:DataService ; dct:title "API" ; dcat:endpointURL ex:endpoint ; dcat:servesDataset ex:ds1 .

ex:agency a foaf:Organization ; foaf:name "Agency" .

ex:monthly a dct:Frequency ; dct:title "monthly" .

ex:unrelated ex:says "hello" .
"""


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"…/shared/data/samples not found: {path}")
    return path


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def all_triples(path: Path, fmt: str) -> set[tuple]:
    return set(Graph().parse(path, format=fmt))


def assert_partition(records: list[RdfRecord], expected: set[tuple]) -> None:
    """Every triple of the file is in exactly one record's triples (bnodes compared by shape)."""
    owned = [t for r in records for t in r.triples]
    assert len(owned) == len(set(owned)), "a triple is in two records"
    assert len(owned) == len(expected)
    assert {_shape(t) for t in owned} == {_shape(t) for t in expected}


def _shape(triple: tuple) -> tuple:
    return tuple("_:" if isinstance(term, BNode) else term for term in triple)


def by_key(records: list[RdfRecord]) -> dict[str, RdfRecord]:
    return {r.key: r for r in records}


def error_of(path: Path, **options: str) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_rdf(path, **options))
    assert info.value.file == str(path) and str(info.value).startswith(str(path))  # names the file
    return info.value


def test_turtle_is_cut_into_records_by_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "cat.ttl", TURTLE)
    records = list(read_rdf(path))
    assert [(r.kind, r.key) for r in records if not r.key.startswith("_:")] == [
        ("agency", EX + "agency"),
        ("catalog", EX + "catalog"),
        ("dataset", EX + "ds1"),
        ("dataset", EX + "ds2"),
        ("service", EX + "api"),
        ("other", ""),
    ]
    assert [r.origin.record for r in records] == list(range(len(records)))
    assert all(r.origin.file == str(path) for r in records)
    assert_partition(records, all_triples(path, "turtle"))


def test_dataset_owns_its_blank_nodes_and_distributions(tmp_path: Path) -> None:
    records = by_key(list(read_rdf(write(tmp_path, "cat.ttl", TURTLE))))
    ds1 = records[EX + "ds1"]
    subjects = {s for s, _, _ in ds1.triples}
    assert URIRef(EX + "dist1") in subjects  # an IRI distribution travels with its dataset
    assert (None, DCAT.accessURL, URIRef(EX + "page")) in {(None, p, o) for _, p, o in ds1.triples}
    assert Literal("CSV") in {o for _, _, o in ds1.triples}  # the distribution's blank-node format
    assert Literal("2020-01-01") in {o for _, _, o in ds1.triples}  # the period of time
    context = {(s, p, o) for s, p, o in ds1.context}
    assert (URIRef(EX + "agency"), URIRef("http://xmlns.com/foaf/0.1/name"), Literal("Agency")) in context
    assert (URIRef(EX + "monthly"), DCT.title, Literal("monthly")) in context


def test_shared_blank_node_goes_to_one_record_and_is_context_of_the_other(tmp_path: Path) -> None:
    records = by_key(list(read_rdf(write(tmp_path, "cat.ttl", TURTLE))))
    desk = [r.key for r in records.values() if any(o == Literal("Desk") for _, _, o in r.triples)]
    assert desk == [EX + "ds1"]
    assert any(o == Literal("Desk") for _, _, o in records[EX + "ds2"].context)


def test_blank_node_dataset_is_a_record_and_blank_agent_stays_with_its_catalogue(tmp_path: Path) -> None:
    records = list(read_rdf(write(tmp_path, "cat.ttl", TURTLE)))
    anonymous = [r for r in records if r.key.startswith("_:")]
    assert [r.kind for r in anonymous] == ["dataset"]
    assert Literal("Anonymous") in {o for _, _, o in anonymous[0].triples}
    catalog = by_key(records)[EX + "catalog"]
    assert Literal("Catalogue owner") in {o for _, _, o in catalog.triples}
    other = by_key(records)[""]
    assert {s for s, _, _ in other.triples} == {URIRef(EX + "monthly"), URIRef(EX + "unrelated")}


def test_spanish_portal_sample() -> None:
    path = sample("dataset_gob_es.ttl")
    records = list(read_rdf(path))
    assert [r.kind for r in records] == ["agency", "dataset", "other"]
    (dataset,) = [r for r in records if r.kind == "dataset"]
    assert dataset.key.startswith("https://datos.gob.es/catalogo/l01280796-estudio-de-satisfaccion")
    assert records[0].key == "http://datos.gob.es/recurso/sector-publico/org/Organismo/L01280796"
    assert sum(len(r.triples) for r in records) == 30
    assert_partition(records, all_triples(path, "turtle"))


def test_swedish_rdf_xml_sample() -> None:
    path = sample("dataset_sweden.rdf")
    records = list(read_rdf(path))
    assert [(r.kind, r.key) for r in records] == [
        ("catalog", "http://nobelprize.org/datasets/dcat#catalog"),
        ("dataset", "http://nobelprize.org/datasets/dcat#ds1"),
        ("other", ""),
    ]
    assert sum(len(r.triples) for r in records) == 59
    assert_partition(records, all_triples(path, "xml"))


def test_n_quads_graphs_are_merged(tmp_path: Path) -> None:
    text = (
        f"<{EX}ds> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{DCAT.Dataset}> <{EX}g1> .\n"
        f'<{EX}ds> <http://purl.org/dc/terms/title> "T" <{EX}g2> .\n'
        f'<{EX}ds> <http://purl.org/dc/terms/title> "T" .\n'
    )
    (record,) = list(read_rdf(write(tmp_path, "data.nq", text)))
    assert (record.kind, record.key, len(record.triples)) == ("dataset", EX + "ds", 2)


def test_json_ld_with_inline_context(tmp_path: Path) -> None:
    doc = (
        '{"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"},'
        ' "@id": "http://example.org/ds", "@type": "dcat:Dataset", "dct:title": "JSON-LD"}'
    )
    (record,) = list(read_rdf(write(tmp_path, "ds.jsonld", doc)))
    assert record.kind == "dataset" and (URIRef(EX + "ds"), DCT.title, Literal("JSON-LD")) in record.triples


def test_json_ld_unknown_remote_context_is_refused_without_touching_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reader tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    path = write(
        tmp_path, "ds.jsonld", '{"@context": "https://example.org/context.jsonld", "@id": "http://x"}'
    )
    error = error_of(path)
    assert error.file == str(path) and "remote @context https://example.org/context.jsonld" in error.message
    assert "KG_JSONLD_FETCH" in error.message


def test_json_ld_with_a_bundled_remote_context_reads_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reader tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    doc = (
        '{"@context": "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",\n'
        ' "@id": "http://example.org/ds", "@type": "Dataset", "title": "JSON-LD"}'
    )
    (record,) = list(read_rdf(write(tmp_path, "ds.jsonld", doc)))
    assert record.kind == "dataset" and (URIRef(EX + "ds"), DCT.title, Literal("JSON-LD")) in record.triples


def test_json_ld_errors_still_name_the_line_when_contexts_are_inlined(tmp_path: Path) -> None:
    doc = '{"@context": "https://schema.org/",\n "@id": "http://example.org/ds",\n "name": "x",,\n}'
    error = error_of(write(tmp_path, "bad.jsonld", doc))
    assert error.line == 3 and "invalid JSON" in error.message


def test_format_option_overrides_the_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.txt", f"<{EX}a> <{EX}b> <{EX}c> .\n")
    assert len(list(read_rdf(path, fmt="nt"))[0].triples) == 1
    assert len(list(read_rdf(path, fmt="turtle"))[0].triples) == 1
    assert "unknown RDF format 'yaml'" in error_of(path, fmt="yaml").message


def test_turtle_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.ttl", '@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:a ex:b "oops .\n')
    error = error_of(path)
    assert (error.file, error.line) == (str(path), 3) and "Turtle syntax error" in error.message


def test_rdf_xml_and_n_triples_syntax_errors_name_the_line(tmp_path: Path) -> None:
    xml = '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<a>\n</rdf:RDF>\n'
    error = error_of(write(tmp_path, "bad.rdf", xml))
    assert error.line == 4 and "RDF/XML syntax error" in error.message
    error = error_of(write(tmp_path, "bad.nt", f"<{EX}a> <{EX}b> <{EX}c> .\n<{EX}a> <{EX}b> .\n"))
    assert error.line == 2 and "N-Triples syntax error" in error.message


def test_empty_file_and_file_without_triples(tmp_path: Path) -> None:
    assert "empty" in error_of(write(tmp_path, "empty.ttl", "")).message
    assert (
        "no RDF triples" in error_of(write(tmp_path, "prefixes.ttl", "@prefix ex: <http://ex/> .\n")).message
    )


def test_not_utf8_and_missing_path(tmp_path: Path) -> None:
    path = write(
        tmp_path, "latin1.ttl", '@prefix ex: <http://ex/> .\nex:a ex:b "caf\u00e9" .\n'.encode("latin-1")
    )
    error = error_of(path)
    assert error.line == 2 and "not UTF-8" in error.message
    error = error_of(tmp_path / "missing.ttl")
    assert error.file == str(tmp_path / "missing.ttl") and "no such" in error.message
