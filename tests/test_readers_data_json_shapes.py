"""data.json as agencies publish it: the three shapes (catalogue object, bare array of schema 1.0,
one dataset object), their detection against CKAN and JSON-LD, schema 1.0 fields, bad input."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from conftest import SHARED

from kg.errors import InputError
from kg.readers import json_stream, read_source
from kg.readers.data_json import data_json_records, read_data_json
from kg.readers.detect import detect_format, sniff_json
from kg.records import AgencyRecord, DatasetRecord

REAL = SHARED / "data" / "real-portals"
DCAT_NS = "http://www.w3.org/ns/dcat#"


def real(name: str) -> Path:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"the real portal files are absent (looked for {path})")
    return path


def write(tmp_path: Path, doc: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def datasets(records: list) -> list[DatasetRecord]:
    return [r for r in records if isinstance(r, DatasetRecord)]


def ds(identifier: str, **fields: object) -> dict:
    """A schema 1.1 dataset object."""
    return {
        "identifier": identifier,
        "title": f"Title {identifier}",
        "publisher": {"name": "Office", "subOrganizationOf": {"name": "Department"}},
        "distribution": [{"downloadURL": f"https://x.example/{identifier}.csv", "mediaType": "text/csv"}],
        **fields,
    }


ITEMS = [ds("a"), ds("b", keyword=["k1", "k2"])]
SHAPES = {
    "catalogue": {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": ITEMS},
    "catalogue-bare": {"dataset": ITEMS},  # no @context, @type or conformsTo (Philadelphia, Florida)
    "catalogue-jsonld": {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "dataset": ITEMS,
    },
    "array": ITEMS,  # schema 1.0
}


# ---------------------------------------------------------------- the three shapes


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_catalogues_and_bare_arrays_are_detected_and_read_alike(tmp_path: Path, shape: str) -> None:
    path = write(tmp_path, SHAPES[shape])
    assert detect_format(str(path)) == "data.json"
    records = list(read_source(str(path)))
    assert [(type(r).__name__, r.key) for r in records] == [
        ("AgencyRecord", "Department"),
        ("AgencyRecord", "Office"),
        ("DatasetRecord", "a"),
        ("DatasetRecord", "b"),
    ]
    assert [r.origin.record for r in datasets(records)] == [0, 1]
    assert datasets(records)[1].keywords == [("k1", ""), ("k2", "")]
    assert list(read_data_json(path)) == records == list(data_json_records(SHAPES[shape], str(path)))


def test_one_dataset_object_is_a_catalogue_of_one(tmp_path: Path) -> None:
    item = ds("solo", distribution=[{"downloadURL": f"https://x.example/{i}.json"} for i in range(5)])
    path = write(tmp_path, item, "solo.dataset.json")
    assert detect_format(str(path)) == "data.json"
    records = list(read_source(str(path)))
    (dataset,) = datasets(records)
    assert dataset.key == "solo" and dataset.origin.record == 0 and dataset.publisher == "Office"
    assert [d.download_url for d in dataset.distributions][-1] == "https://x.example/4.json"
    assert list(read_data_json(path)) == records == list(data_json_records(item, str(path)))


@pytest.mark.parametrize("chunk", [7, 1 << 20], ids=["chunk7", "chunk1M"])
def test_a_bare_array_is_read_item_by_item(tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", chunk)  # items cut at every possible place
    items = [ds(f"d{i}", description="é" * i) for i in range(40)]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(items, indent=1, ensure_ascii=False), encoding="utf-8")
    records = list(read_source(str(path)))
    assert records == list(data_json_records(items, str(path)))
    assert len(datasets(records)) == 40 and records[-1].origin.record == 39


def test_the_datasets_of_a_bare_array_are_not_held_parsed(tmp_path: Path, monkeypatch) -> None:
    """As for a catalogue: one dataset at a time (and a piece of the file), not the parsed file."""
    monkeypatch.setattr(json_stream, "CHUNK", 1 << 16)
    list(read_source(str(write(tmp_path, [ds("warm")], "warm.json"))))  # imports are not what is measured
    path = tmp_path / "data.json"
    items = [ds(f"d{i}", description=f"Dataset number {i} " * 20, keyword=["a", "b"]) for i in range(6000)]
    path.write_text(json.dumps(items), encoding="utf-8")
    del items
    tracemalloc.start()
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        parsed = tracemalloc.get_traced_memory()[0]
        del doc
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        count = sum(1 for _ in read_source(str(path)))
        held = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert count == 6002 and held < parsed / 10, (held, parsed)


# ---------------------------------------------------------------- detection stays unambiguous


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        ([ds("a")], "data.json"),
        ([{"title": "T", "accessLevel": "public"}, {"title": "no marker"}], "data.json"),
        (ds("a"), "data.json"),
        ({"title": "T", "identifier": "x", "resources": []}, "ckan"),  # a CKAN package with an identifier
        ([{"title": "T", "identifier": "x", "resources": []}], "ckan"),
        ({"success": True, "result": {"title": "T", "identifier": "x"}}, "ckan"),
        ({"@context": {}, "title": "T", "identifier": "x", "distribution": []}, "rdf"),
        ([{"@id": "http://x/a", "title": "T", "identifier": "x"}], "rdf"),
        ({"@context": {"dcat": DCAT_NS}, "dataset": [{"title": "T", "identifier": "x"}]}, "rdf"),
        ({"title": "T", "identifier": "x", "name": "ckan-slug"}, None),  # CKAN, no resources: not data.json
        ({"title": "A JSON schema", "properties": {}}, None),
        ([{"title": "T"}], None),
        ([], None),
    ],
)  # fmt: skip
def test_json_shapes_are_told_apart(tmp_path: Path, doc: object, fmt: str | None) -> None:
    assert sniff_json(doc) == fmt
    path = write(tmp_path, doc, "source.json")
    if fmt is None:
        with pytest.raises(InputError, match="JSON of no known shape"):
            detect_format(str(path))
    else:
        assert detect_format(str(path)) == fmt


@pytest.mark.parametrize(
    ("folder", "fmt"),
    [("data-json", "data.json"), ("ckan-json", "ckan"), ("dcat-ap-rdf", "rdf")],
)
def test_every_real_portal_file_is_detected_as_its_format(folder: str, fmt: str) -> None:
    files = sorted((REAL / folder).glob("*")) if (REAL / folder).is_dir() else []
    if not files:
        pytest.skip(f"the real portal files are absent (looked for {REAL / folder})")
    assert {f.name: detect_format(str(f)) for f in files} == {f.name: fmt for f in files}


def test_the_real_bare_array_of_schema_1_0() -> None:
    """MCC, 2013: 68 datasets, each with one distribution, one publisher given as a string."""
    records = list(read_source(str(real("data-json/mcc.gov.data.json"))))
    found = datasets(records)
    assert len(found) == 68 and sum(len(d.distributions) for d in found) == 68
    assert [r.key for r in records if isinstance(r, AgencyRecord)] == ["Millennium Challenge Corporation"]
    first = found[0]
    assert first.key == "performance-projects" and first.publisher == "Millennium Challenge Corporation"
    assert first.keywords[:3] == [("countries", ""), ("performance", ""), ("tracking", "")]
    assert len(first.keywords) == 8
    assert (first.contact.name, first.contact.email) == ("Open Data Initiative", "opendata@mcc.gov")
    assert first.documentation == ["http://data.mcc.gov/performance/projects.html"]  # dataDictionary
    assert (first.access_rights, first.frequency) == ("Public", "Quaterly")
    assert first.distributions[0].format == "csv"
    assert first.extra == {
        "systemOfRecords": "ITTs Spreadsheets (Excel)",
        "dataQuality": "TRUE",
        "format": "csv",
    }


def test_the_real_single_dataset_object() -> None:
    """NIST SRD 13: one dataset object, no catalogue, 318 distributions."""
    records = list(read_source(str(real("data-json/nist.gov-srd13-janaf.dataset.json"))))
    (dataset,) = datasets(records)
    assert len(dataset.distributions) == 318 and dataset.origin.record == 0
    assert dataset.title == {"": "NIST-JANAF Thermochemical Tables - SRD 13"}
    assert dataset.extra["rights"] == "data is free to use"


# ---------------------------------------------------------------- bad input on the new paths


def read_error(path: Path, *, detect: bool = True) -> InputError:
    """The reader's error, raised before any record; detection then reading gives the same one."""
    with pytest.raises(InputError) as info:
        read_data_json(path)
    assert info.value.file == str(path) and str(info.value).startswith(str(path))
    if detect:
        with pytest.raises(InputError) as detected:
            read_source(str(path))
        assert (detected.value.message, detected.value.record) == (info.value.message, info.value.record)
    return info.value


@pytest.mark.parametrize("bad", ["text", 3, None, ["nested"]])
def test_an_array_item_that_is_not_an_object(tmp_path: Path, bad: object) -> None:
    error = read_error(write(tmp_path, [ds("a"), ds("b"), bad]))
    assert error.record == 2 and f"found {type(bad).__name__}" in error.message
    assert "a dataset must be a JSON object" in error.message


def test_a_catalogue_item_that_is_not_an_object_fails_before_any_record(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, {"dataset": [ds("a"), "b"]}))
    assert error.record == 1


@pytest.mark.parametrize(
    "doc",
    [{"title": "no dataset key"}, {"identifier": "x", "distribution": []}, {"datasets": [ds("a")]}],
)
def test_an_object_that_is_neither_a_dataset_nor_a_catalogue(tmp_path: Path, doc: dict) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(InputError, match="JSON of no known shape"):
        detect_format(str(path))
    error = read_error(path, detect=False)
    assert error.record == 0 and "one dataset object" in error.message
    assert f"found an object with keys {sorted(doc)}" in error.message
    with pytest.raises(InputError) as forced:
        list(read_source(str(path), fmt="data.json"))
    assert (forced.value.file, forced.value.record) == (str(path), 0)


@pytest.mark.parametrize(
    ("doc", "found"),
    [
        ([], "found an empty array"),
        ([{"name": "p", "resources": []}], "CKAN packages"),
        ([{"@id": "http://x/a", "title": "T", "identifier": "x"}], "JSON-LD nodes"),
        ([{"title": "T"}, 1], "no dataset object"),
    ],
)
def test_an_array_that_holds_no_dataset(tmp_path: Path, doc: list, found: str) -> None:
    error = read_error(write(tmp_path, doc), detect=False)
    assert found in error.message and error.record is None
