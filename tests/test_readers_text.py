"""Characters no RDF syntax can hold (lone surrogates from JSON escapes, control characters):
the JSON readers replace them with U+FFFD and record each change on the record, never silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import BASE

from kg.readers.ckan import read_ckan
from kg.readers.data_json import read_data_json
from kg.readers.text import as_text, as_texts, clean_text, text_repairs
from kg.records import AgencyRecord, DatasetRecord, Repair

RULE = "invalid-character"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caf\udc92", "caf\ufffd"),
        ("\ud83d alone", "\ufffd alone"),
        ("bell\x07 nul\x00 vt\x0b ff\x0c esc\x1b", "bell\ufffd nul\ufffd vt\ufffd ff\ufffd esc\ufffd"),
        ("\ufffe\uffff", "\ufffd\ufffd"),
    ],
)
def test_characters_rdf_cannot_hold_are_replaced(text: str, expected: str) -> None:
    assert clean_text(text) == as_text(text) == expected
    assert as_texts([text]) == [expected]
    assert as_text({"k": [text]}) == json.dumps({"k": [expected]}, separators=(",", ":"), ensure_ascii=False)
    assert expected.encode("utf-8")  # what failed before: no lone surrogate is left


@pytest.mark.parametrize("text", ["tab\tline\ncr\r", "emoji 😀 (a pair, not lone)", "é ü ß 中", "\x7f\x85"])
def test_characters_rdf_can_hold_are_kept(text: str) -> None:
    assert clean_text(text) == text and text_repairs({"description": text}) == []


def test_repairs_name_the_field_the_original_and_the_new_value() -> None:
    item = json.loads(
        '{"title": "ok", "description": " caf\\udc92 ", "keyword": ["a", "b\\u0007"],'
        ' "distribution": [{"title": "x"}, {"title": "\\ud800y"}], "bad\\udc92name": "v"}'
    )
    assert text_repairs(item) == [
        Repair("description", " caf\\udc92 ", RULE, "caf\ufffd"),
        Repair("keyword[1]", "b\\u0007", RULE, "b\ufffd"),
        Repair("distribution[1].title", "\\ud800y", RULE, "\ufffdy"),
        Repair("bad\ufffdname", "bad\\udc92name", RULE, "bad\ufffdname"),  # a member name
    ]
    assert text_repairs(item["description"], "notes") == [Repair("notes", " caf\\udc92 ", RULE, "caf\ufffd")]


def test_a_deeply_nested_value_is_walked_without_recursion() -> None:
    value: object = "\udc92"
    for _ in range(5000):
        value = [value]
    (repair,) = text_repairs(value, "x")
    assert repair.field == "x" + "[0]" * 5000 and repair.value == "\ufffd"


# ---------------------------------------------------------------- in the readers


def write_raw(tmp_path: Path, text: str, name: str = "data.json") -> Path:
    """A file with JSON escapes as written (json.dumps would write the same)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SURROGATE_DATASET = (
    '{"identifier": "d1", "title": "Title", "description": "Caf\\udc92 prices",'
    ' "publisher": {"name": "Office\\udc92", "subOrganizationOf": {"name": "Department"}},'
    ' "accessLevel": "public", "modified": "2020-01-01", "keyword": ["prices"],'
    ' "contactPoint": {"fn": "Desk", "hasEmail": "mailto:desk@x.gov"},'
    ' "odd\\u0001field": "v",'
    ' "distribution": [{"downloadURL": "https://x.example/a.csv", "mediaType": "text/csv"}]}'
)


def test_data_json_records_carry_their_repairs(tmp_path: Path) -> None:
    path = write_raw(tmp_path, '{"dataset": [' + SURROGATE_DATASET + "]}")
    department, office, dataset = read_data_json(path)
    assert isinstance(office, AgencyRecord) and isinstance(dataset, DatasetRecord)
    assert (
        dataset.description == {"": "Caf\ufffd prices"} and office.key == dataset.publisher == "Office\ufffd"
    )
    assert dataset.extra == {"odd\ufffdfield": "v"}
    assert dataset.repairs == [
        Repair("description", "Caf\\udc92 prices", RULE, "Caf\ufffd prices"),
        Repair("publisher.name", "Office\\udc92", RULE, "Office\ufffd"),
        Repair("odd\ufffdfield", "odd\\u0001field", RULE, "odd\ufffdfield"),
    ]
    assert office.repairs == [Repair("publisher.name", "Office\\udc92", RULE, "Office\ufffd")]
    assert department.repairs == []


@pytest.mark.parametrize(
    ("field", "where"),
    [("identifier", "identifier"), ("publisher", "publisher.name"), ("temporal", "temporal")],
)
def test_a_repair_anywhere_the_dataset_is_made_from_is_among_its_repairs(
    tmp_path: Path, field: str, where: str
) -> None:
    """Even where it is read before the rest of the dataset (its publisher, its key)."""
    item = {"identifier": "a", "title": "T", "publisher": {"name": "P"}, "temporal": "2000/2001"}
    item[field] = {"name": "P\udc92"} if field == "publisher" else item[field] + "\udc92"
    path = write_raw(tmp_path, json.dumps([item]))
    *_, dataset = read_data_json(path)
    assert [(r.field, r.value[-1]) for r in dataset.repairs] == [(where, "\ufffd")]


def test_a_plain_string_publisher_is_repaired_where_it_is(tmp_path: Path) -> None:
    path = write_raw(tmp_path, '[{"identifier": "a", "title": "T", "publisher": "Agency\\udc92"}]')
    agency, _ = read_data_json(path)
    assert agency.repairs == [Repair("publisher", "Agency\\udc92", RULE, "Agency\ufffd")]


def test_records_without_bad_characters_have_no_repairs(tmp_path: Path) -> None:
    path = write_raw(tmp_path, '{"dataset": [{"identifier": "a", "title": "T", "publisher": {"name": "P"}}]}')
    assert all(record.repairs == [] for record in read_data_json(path))


def test_ckan_records_carry_their_repairs(tmp_path: Path) -> None:
    package = (
        '{"id": "p1", "name": "p1", "title": "Caf\\udc92", "notes": "n", "tags": [{"name": "t\\u0007"}],'
        ' "organization": {"id": "o1", "name": "org", "title": "Org\\udc92"},'
        ' "extras": [{"key": "k", "value": "v\\udc92"}],'
        ' "resources": [{"url": "https://x.example/a.csv", "name": "R\\udc92"}]}'
    )
    agency, dataset = read_ckan(write_raw(tmp_path, package, "package.json"))
    assert dataset.title == {"": "Caf\ufffd"} and dataset.keywords == [("t\ufffd", "")]
    assert dataset.distributions[0].title == {"": "R\ufffd"} and dataset.extra["k"] == "v\ufffd"
    assert agency.name == {"": "Org\ufffd"}
    assert [r.field for r in dataset.repairs] == [
        "title",
        "tags[0].name",
        "organization.title",
        "extras[0].value",
        "resources[0].name",
    ]
    assert agency.repairs == [Repair("organization.title", "Org\\udc92", RULE, "Org\ufffd")]


def test_a_ckan_organisation_repair_is_also_the_dataset_s(tmp_path: Path) -> None:
    package = (
        '{"id": "p1", "title": "T", "organization": {"id": "o1", "title": "Org\\udc92"}, "resources": []}'
    )
    agency, dataset = read_ckan(write_raw(tmp_path, package, "package.json"))
    assert [r.field for r in agency.repairs] == [r.field for r in dataset.repairs] == ["organization.title"]


def test_a_field_no_record_holds_is_not_a_repair(tmp_path: Path) -> None:
    """CKAN bookkeeping (revision_id, …) is dropped, not changed: nothing to report."""
    package = '{"id": "p1", "title": "T", "revision_id": "r\\udc92", "resources": []}'
    (dataset,) = read_ckan(write_raw(tmp_path, package, "package.json"))
    assert dataset.repairs == [] and "revision_id" not in dataset.extra


def test_ckan_publisher_fields_carry_their_repairs(tmp_path: Path) -> None:
    package = '{"id": "p1", "title": "T", "author": "Ann\\udc92", "author_email": "a@x.gov", "resources": []}'
    agency, _ = read_ckan(write_raw(tmp_path, package, "package.json"))
    assert agency.key == "Ann\ufffd" and agency.repairs == [Repair("author", "Ann\\udc92", RULE, "Ann\ufffd")]


# ---------------------------------------------------------------- end to end


def test_kg_ingest_of_a_data_json_with_a_lone_surrogate(tmp_path: Path, monkeypatch, capsys) -> None:
    """It failed when the batch was written for the validator ("surrogates not allowed")."""
    from kg.cli import main
    from kg.store.embedded import Store

    path = write_raw(tmp_path, '{"dataset": [' + SURROGATE_DATASET + "]}")
    monkeypatch.setenv("KG_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("KG_BASE_URI", BASE)
    monkeypatch.setenv("KG_WORKERS", "1")
    code = main(["ingest", str(path), "--source", "s"])
    output = capsys.readouterr()
    assert code == 0, output
    query = f"""SELECT ?text WHERE {{ GRAPH <{BASE}graph/s> {{
        ?d a <http://www.w3.org/ns/dcat#Dataset> ; <http://purl.org/dc/terms/description> ?text }} }}"""
    assert [str(row[0].value) for row in Store(tmp_path / "store").query(query)] == ["Caf\ufffd prices"]
