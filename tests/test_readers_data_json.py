"""The data.json reader: real US samples, publisher chains, odd types from the wild, file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA_JSON

from kg.errors import InputError
from kg.readers.data_json import read_data_json
from kg.records import AgencyRecord, DatasetRecord

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"…/shared/data/samples not found: {path}")
    return path


def write(tmp_path: Path, doc: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_data_json(path))
    assert info.value.file == str(path) and str(info.value).startswith(str(path))  # names the file
    return info.value


def test_usda_sample() -> None:
    records = list(read_data_json(sample("usda.gov.data.json")))
    datasets = [r for r in records if isinstance(r, DatasetRecord)]
    agencies = [r for r in records if isinstance(r, AgencyRecord)]
    assert len(datasets) == 3
    assert [a.key for a in agencies] == ["Department of Agriculture", "U.S. Forest Service"]
    first = datasets[0]
    assert first.key == first.identifier == "USDA-DM-002"
    assert first.title == {"": "Department of Agriculture Congressional Logs for Fiscal Year 2014"}
    assert first.publisher == "Department of Agriculture"
    assert (first.contact.name, first.contact.email) == ("Alexi Graves", "Alexis.Graves@ocio.usda.gov")
    assert first.access_rights == "public" and first.modified == "2014-10-03"
    assert first.keywords == [("Congressional Logs", "")]
    assert first.distributions[0].download_url.endswith("ECM%20Congressional%20Logs%20FY14.xls")
    assert first.distributions[0].media_type == "application/vnd.ms-excel"
    assert first.extra["bureauCode"] == '["005:12"]'
    assert first.extra["additionalFieldDict"] == '{"a":3}' and first.extra["additionalField"] == "some Value"
    assert "@type" not in first.extra and "identifier" not in first.extra
    third = datasets[2]
    assert [d.access_url for d in third.distributions][2].endswith("SnowResidenceTime_PctChange/ImageServer")
    assert third.spatial == ["-134.91336517510808,21.082969302706488,-56.90070213154654,52.37089914390312"]
    assert third.themes == ["geospatial"] and third.origin.record == 2


def test_collection_sample_has_parents_by_identifier() -> None:
    records = list(read_data_json(sample("collection-2-parent-4-children.data.json")))
    datasets = [r for r in records if isinstance(r, DatasetRecord)]
    assert len(datasets) == 6
    assert sum(isinstance(r, AgencyRecord) for r in records) == 1  # deduplicated across the file
    parts = {d.key: d.is_part_of for d in datasets}
    assert parts["IDF6-OPM-0001-AWOL"] == "IDF6-OPM-0001"
    assert parts["IDF6-OPM-0001-Retire-2"] == "IDF6-OPM-0001-PARENT2"
    assert datasets[0].languages == ["en-US"]


def test_publisher_chain_is_yielded_outermost_first_and_once(tmp_path: Path) -> None:
    chain = {
        "name": "Bureau of Stats",
        "subOrganizationOf": {"name": "Dept of Things", "subOrganizationOf": {"name": "Government"}},
    }
    doc = {
        "dataset": [
            {"identifier": "a", "title": "A", "publisher": chain},
            {"identifier": "b", "title": "B", "publisher": {"name": "Dept of Things"}},
        ]
    }
    records = list(read_data_json(write(tmp_path, doc)))
    agencies = [(r.key, r.parent) for r in records if isinstance(r, AgencyRecord)]
    assert agencies == [
        ("Government", ""),
        ("Dept of Things", "Government"),
        ("Bureau of Stats", "Dept of Things"),
    ]
    assert [type(r).__name__ for r in records][-2:] == ["DatasetRecord", "DatasetRecord"]
    datasets = [r for r in records if isinstance(r, DatasetRecord)]
    assert [d.publisher for d in datasets] == ["Bureau of Stats", "Dept of Things"]
    assert records[0].origin.field == "publisher" and records[0].origin.record == 0


def test_types_that_vary_in_the_wild(tmp_path: Path) -> None:
    doc = {
        "dataset": [
            {
                "identifier": "   X-1 ",
                "title": " Title ",
                "keyword": "single keyword",
                "theme": "Finance",
                "language": "en",
                "distribution": {
                    "accessURL": "https://x.example/api",
                    "format": "API",
                    "describedBy": "https://d",
                },
                "temporal": "2000-01-01/2010-12-31",
                "contactPoint": {"fn": "Desk", "hasEmail": "MAILTO:desk@x.example", "hasTelephone": "+1 555"},
                "references": "https://ref.example",
                "conformsTo": "https://std.example",
                "describedBy": "https://dict.example",
                "rights": "Only for staff",
                "dataQuality": True,
                "accrualPeriodicity": "R/P1Y",
                "publisher": "Plain Name Agency",
            },
            {"identifier": "X-2", "temporal": "2000-01-15T00:45:00Z/P1W", "modified": 2014},
        ]
    }
    records = list(read_data_json(write(tmp_path, doc)))
    x1, x2 = [r for r in records if isinstance(r, DatasetRecord)]
    assert x1.key == x1.identifier == "X-1" and x1.title == {"": "Title"}
    assert x1.keywords == [("single keyword", "")] and x1.themes == ["Finance"] and x1.languages == ["en"]
    (dist,) = x1.distributions
    assert (dist.access_url, dist.format, dist.documentation) == (
        "https://x.example/api",
        "API",
        ["https://d"],
    )
    assert dist.origin.field == "distribution[0]"
    assert (x1.temporal_start, x1.temporal_end) == ("2000-01-01", "2010-12-31")
    assert (x1.contact.email, x1.contact.phone) == ("desk@x.example", "+1 555")
    assert x1.related == ["https://ref.example"] and x1.conforms_to == ["https://std.example"]
    assert x1.documentation == ["https://dict.example"] and x1.frequency == "R/P1Y"
    assert x1.extra == {"rights": "Only for staff", "dataQuality": "true"}
    assert x1.publisher == "Plain Name Agency"
    assert (x2.temporal_start, x2.temporal_end, x2.modified) == ("2000-01-15T00:45:00Z/P1W", "", "2014")
    assert x2.publisher == "" and x2.title == {}


def test_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"dataset": [\n  {"identifier": "a",\n   "title": "A', encoding="utf-8")
    error = read_error(path)
    assert error.file == str(path) and error.line == 3
    assert "truncated" in error.message


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"dataset": [\n  {"identifier": "a",,}\n]}\n', encoding="utf-8")
    error = read_error(path)
    assert error.line == 2 and "column 22" in error.message


@pytest.mark.parametrize("doc", [[], {"datasets": []}, {"dataset": {"identifier": "a"}}, "text"])
def test_json_of_the_wrong_shape(tmp_path: Path, doc: object) -> None:
    error = read_error(write(tmp_path, doc))
    assert 'expected an object with a "dataset" array' in error.message


def test_dataset_that_is_not_an_object(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, {"dataset": [{"identifier": "a"}, "b"]}))
    assert (error.record, error.file) == (1, str(tmp_path / "data.json"))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_bytes('{"dataset": [{"title": "Caf\u00e9"}]}'.encode("latin-1"))
    error = read_error(path)
    assert error.file == str(path) and "not UTF-8" in error.message and error.line == 1


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"dataset": [{"identifier": "a"}]}).encode())
    assert [r.key for r in read_data_json(path)] == ["a"]


def test_empty_file_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("  \n", encoding="utf-8")
    assert "empty" in read_error(tmp_path / "empty.json").message
    error = read_error(tmp_path / "missing.json")
    assert error.file == str(tmp_path / "missing.json") and "no such" in error.message


def test_a_parsed_document_given_to_the_reader_is_left_as_it_was(tmp_path: Path) -> None:
    """The reader drops each dataset item of a document it parsed itself once the record is made
    (the parsed document is several times the file); a caller's own document stays whole."""
    from kg.readers.data_json import data_json_records

    doc = {"dataset": [{"identifier": "a", "title": "A"}, {"identifier": "b", "title": "B"}]}
    own = [r.key for r in read_data_json(write(tmp_path, doc))]
    assert [r.key for r in data_json_records(doc, "given.json")] == own == ["a", "b"]
    assert doc["dataset"][1] == {"identifier": "b", "title": "B"}


# ---------------------------------------------------------------- read item by item


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_read_in_small_pieces_the_records_are_those_of_the_parsed_file(monkeypatch, chunk):
    from kg.readers import json_stream
    from kg.readers.data_json import data_json_records, read_data_json

    monkeypatch.setattr(json_stream, "CHUNK", chunk)  # values cut at every possible place
    doc = json.loads(SAMPLE_DATA_JSON.read_text(encoding="utf-8"))
    whole = list(data_json_records(doc, str(SAMPLE_DATA_JSON)))
    streamed = list(read_data_json(SAMPLE_DATA_JSON))
    assert len(streamed) == len(whole) > 40
    assert streamed == whole


def test_numbers_and_strings_cut_between_pieces_read_whole(tmp_path, monkeypatch):
    from kg.readers import json_stream
    from kg.readers.data_json import read_data_json

    monkeypatch.setattr(json_stream, "CHUNK", 3)
    path = tmp_path / "data.json"
    items = [{"identifier": f"d{i}", "title": "é" * i, "extraNumber": 10**i} for i in range(1, 12)]
    path.write_text(json.dumps({"dataset": items}, ensure_ascii=False), encoding="utf-8")
    records = [r for r in read_data_json(path) if isinstance(r, DatasetRecord)]
    assert [r.title[""] for r in records] == ["é" * i for i in range(1, 12)]
    assert [r.extra["extraNumber"] for r in records] == [str(10**i) for i in range(1, 12)]


def test_a_file_broken_after_many_datasets_fails_before_the_first_record(tmp_path):
    from kg.readers import read_source
    from kg.readers.files import load_json

    items = ",\n".join(json.dumps({"identifier": f"d{i}", "title": "t"}) for i in range(2000))
    path = tmp_path / "data.json"
    path.write_text('{"dataset": [\n' + items + ',\n{"identifier": "bad", "title": }]}', encoding="utf-8")
    with pytest.raises(InputError) as parsed_whole:  # the message of the file parsed at once
        load_json(path)
    assert parsed_whole.value.line == 2002 and "column" in parsed_whole.value.message
    with pytest.raises(InputError) as failed:  # checked before the first record is read
        read_data_json(path)
    assert (failed.value.line, failed.value.message) == (parsed_whole.value.line, parsed_whole.value.message)
    with pytest.raises(InputError) as detected:
        read_source(str(path))
    assert detected.value.message == parsed_whole.value.message
    path.write_text('{"dataset": [\n' + items, encoding="utf-8")
    with pytest.raises(InputError, match="truncated"):
        read_data_json(path)


def test_a_byte_that_is_not_utf8_is_named_with_its_line_in_any_piece(tmp_path, monkeypatch):
    from kg.readers import json_stream
    from kg.readers.files import load_json

    monkeypatch.setattr(json_stream, "CHUNK", 16)
    items = ",\n".join(json.dumps({"identifier": f"d{i}"}) for i in range(100))
    path = tmp_path / "data.json"
    path.write_bytes(('{"dataset": [\n' + items + ',\n{"title": "caf').encode() + b'\xe9"}]}')
    with pytest.raises(InputError) as whole:
        load_json(path)
    with pytest.raises(InputError) as streamed:
        read_data_json(path)
    assert streamed.value.line == whole.value.line == 102
    assert streamed.value.message == whole.value.message
