"""Format detection and dispatch: which reader a path or URL goes to, and the errors when none fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kg.readers
from kg.errors import InputError
from kg.readers import read_source
from kg.readers.detect import FORMATS, detect_format, sniff_json
from kg.readers.files import load_json
from kg.records import AgencyRecord, DatasetRecord, RdfRecord

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"…/shared/data/samples not found: {path}")
    return path


def write_json(tmp_path: Path, doc: object, name: str = "source.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_formats() -> None:
    assert FORMATS == ("csv", "data.json", "ckan", "rdf")


def test_folder_csv_and_url(tmp_path: Path) -> None:
    (tmp_path / "agencies.csv").write_text("id,name\n", encoding="utf-8")
    assert detect_format(str(tmp_path)) == "csv"
    assert detect_format(str(tmp_path / "agencies.csv")) == "csv"
    assert detect_format("https://data.example.gov/") == "ckan"
    assert detect_format("http://data.example.gov/api/3/action/package_search") == "ckan"


@pytest.mark.parametrize("name", ["a.ttl", "a.rdf", "a.owl", "a.xml", "a.jsonld", "a.nt", "a.nq", "a.trig"])
def test_rdf_extensions(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("x", encoding="utf-8")
    assert detect_format(str(tmp_path / name)) == "rdf"


@pytest.mark.parametrize(
    ("doc", "fmt"),
    [
        ({"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": []}, "data.json"),
        ({"dataset": [{"identifier": "a"}]}, "data.json"),
        ({"name": "p", "resources": []}, "ckan"),
        ([{"name": "p", "resources": []}], "ckan"),
        ({"help": "…", "success": True, "result": {"name": "p"}}, "ckan"),
        ({"success": True, "result": {"count": 0, "results": []}}, "ckan"),
        ({"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "@graph": []}, "rdf"),
        ({"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "dataset": [{"@id": "x"}]}, "rdf"),
        ([{"@id": "http://x", "@type": ["http://www.w3.org/ns/dcat#Dataset"]}], "rdf"),
        (
            {
                "@context": "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld",
                "dataset": [],
            },
            "rdf",
        ),
        (
            {"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld", "dataset": []},
            "data.json",
        ),
    ],
)
def test_json_is_sniffed(tmp_path: Path, doc: object, fmt: str) -> None:
    assert sniff_json(doc) == fmt
    assert detect_format(write_json(tmp_path, doc)) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("usda.gov.data.json", "data.json"),
        ("collection-2-parent-4-children.data.json", "data.json"),
        ("ckan_full_dataset_dcat_ap.json", "ckan"),
        ("ckan_dataset_multilingual.json", "ckan"),
        ("data.gov.hk.package_show.json", "ckan"),
        ("dataset_gob_es.ttl", "rdf"),
        ("dataset_sweden.rdf", "rdf"),
    ],
)
def test_samples_are_detected(name: str, fmt: str) -> None:
    assert detect_format(str(sample(name))) == fmt


@pytest.mark.parametrize("doc", [{"hello": "world"}, [], [1, 2], "text", {"dataset": "not a list"}])
def test_json_of_no_known_shape(tmp_path: Path, doc: object) -> None:
    path = write_json(tmp_path, doc)
    with pytest.raises(InputError) as info:
        detect_format(path)
    assert info.value.file == path
    assert (
        "JSON of no known shape (expected" in info.value.message and '"dataset" array' in info.value.message
    )


def test_truncated_json_is_reported_while_detecting(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"dataset": [{"identifier": "a"', encoding="utf-8")
    with pytest.raises(InputError) as info:
        detect_format(str(path))
    assert info.value.line == 1 and "truncated" in info.value.message


def test_missing_path_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        detect_format(str(tmp_path / "nothing.json"))
    (tmp_path / "notes.txt").write_text("just words", encoding="utf-8")
    with pytest.raises(InputError, match="cannot tell the format") as info:
        detect_format(str(tmp_path / "notes.txt"))
    assert info.value.file == str(tmp_path / "notes.txt")


def test_unknown_extension_sniffs_content(tmp_path: Path) -> None:
    (tmp_path / "catalog").write_text('{"dataset": []}', encoding="utf-8")
    (tmp_path / "graph").write_text("@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\n", encoding="utf-8")
    assert detect_format(str(tmp_path / "catalog")) == "data.json"
    assert detect_format(str(tmp_path / "graph")) == "rdf"
    assert [r.kind for r in read_source(str(tmp_path / "graph"))] == ["other"]


def test_read_source_dispatches_by_detection(tmp_path: Path) -> None:
    data_json = write_json(
        tmp_path, {"dataset": [{"identifier": "d", "publisher": {"name": "P"}}]}, "data.json"
    )
    assert [type(r) for r in read_source(data_json)] == [AgencyRecord, DatasetRecord]
    ckan = write_json(tmp_path, {"id": "c", "resources": []}, "ckan.json")
    assert [r.key for r in read_source(ckan)] == ["c"]
    jsonld = write_json(tmp_path, {"@context": {}, "@id": "http://x/a", "http://x/p": "v"}, "g.json")
    (record,) = read_source(jsonld)
    assert isinstance(record, RdfRecord) and record.kind == "other"


def test_read_source_with_an_explicit_format(tmp_path: Path) -> None:
    path = tmp_path / "dump.data"
    path.write_text("<http://x/a> <http://x/p> <http://x/o> .\n", encoding="utf-8")
    assert len(list(read_source(str(path), fmt="nt"))[0].triples) == 1
    assert len(list(read_source(str(path), fmt="rdf"))[0].triples) == 1  # content sniffed: Turtle
    json_path = write_json(tmp_path, [{"name": "p", "resources": []}], "p.json")
    assert [r.key for r in read_source(json_path, fmt="ckan")] == ["p"]
    with pytest.raises(InputError, match="unknown format 'excel'"):
        read_source(str(path), fmt="excel")


def test_forcing_the_wrong_reader_gives_its_shape_error(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"name": "p", "resources": []}])
    with pytest.raises(InputError, match='expected an object with a "dataset" array'):
        list(read_source(path, fmt="data.json"))


def test_reader_functions_are_importable_from_the_package() -> None:
    from kg.readers import read_ckan, read_csv_folder, read_data_json, read_rdf

    assert {f.__module__ for f in (read_ckan, read_csv_folder, read_data_json, read_rdf)} == {
        "kg.readers.ckan",
        "kg.readers.csv_folder",
        "kg.readers.data_json",
        "kg.readers.rdf",
    }
    with pytest.raises(AttributeError):
        kg.readers.read_excel  # noqa: B018 - the attribute access is the test


@pytest.mark.parametrize("name", ["csv", "data.json"])
def test_bundled_sample_reads(name: str) -> None:
    path = Path(__file__).resolve().parents[1] / "kg" / "sample" / name
    if not path.exists():
        pytest.skip(f"kg/sample not found: {path}")
    records = list(read_source(str(path)))
    agencies = [r for r in records if isinstance(r, AgencyRecord)]
    found = [r for r in records if isinstance(r, DatasetRecord)]
    assert agencies and found and all(d.distributions for d in found[:1])
    keys = {a.key for a in agencies}
    assert all(a.parent in keys for a in agencies if a.parent)  # every parent is an agency of the source
    position = {(type(r), r.key): i for i, r in enumerate(records)}
    for dataset in found:  # every publisher is yielded before the datasets that refer to it
        assert position[(AgencyRecord, dataset.publisher)] < position[(DatasetRecord, dataset.key)]


@pytest.mark.parametrize(
    "text",
    [
        '[{"name": "p", "resources": []}',
        '[{"name": "p", "resources": []},]',
        '[{"name": "p", "resources": []}] x',
        '{"success": true, "result": {"results": [{"name": "p"}\n {"name": "q"}]}}',
        '{"dataset": [{"identifier": "a"}], "title" "x"}',
        '{"dataset": [{"identifier": "a"}]',
        "\u00a0\n",
        "\ufeff\ufeff[]",
    ],
)
def test_broken_json_is_reported_as_by_the_whole_file_parse(tmp_path: Path, text: str) -> None:
    """Detection reads JSON piece by piece (never holding a big file parsed), with the same errors."""
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as whole:
        load_json(path)
    with pytest.raises(InputError) as detected:
        detect_format(str(path))
    assert (detected.value.line, detected.value.message) == (whole.value.line, whole.value.message)


def test_detection_hands_its_outline_to_the_ckan_reader(tmp_path: Path, monkeypatch) -> None:
    """The file is checked once: detection's first pass, then the reader's pass over the packages."""
    from kg.readers import json_stream

    calls: list[str] = []
    outline = json_stream.outline
    monkeypatch.setattr(json_stream, "outline", lambda *a, **k: calls.append("outline") or outline(*a, **k))
    path = write_json(tmp_path, {"success": True, "result": {"results": [{"id": "a"}, {"id": "b"}]}})
    assert [r.key for r in read_source(path)] == ["a", "b"] and calls == ["outline"]
