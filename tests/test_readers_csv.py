"""The CSV folder reader: records, order, origins, and the file-level errors a steward can fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import InputError
from kg.readers.csv_folder import read_csv_folder
from kg.records import AgencyRecord, DatasetRecord, ServiceRecord

AGENCIES = (
    "\ufeffid,name,name@fr,parent,type,acronym,email,street,locality,country,jurisdiction\n"
    "env-unit,Air Quality Unit,Unité qualité de l'air,env,unit,AQU,aq@env.example,,,,\n"
    "env,Environment Agency,Agence de l'environnement,,agency,EA,info@env.example,"
    "1 Main St,Springfield,US,US\n"
)
DATASETS = (
    "id,title,title@de,description,publisher,keywords,keywords@de,themes,languages,issued,contact_email\n"
    'air,Air quality,Luftqualität,"Hourly readings,\nall stations",env-unit,'
    "air; pollution ;,Luft,ENVI;HEAL,en;de,2024-13-45,mailto:aq@env.example\n"
    "\n"
    "water,Water,,Rivers,env,,,,,,\n"
)
DISTRIBUTIONS = (
    "dataset,id,title,download_url,format,languages,byte_size\n"
    "air,air-csv,Readings (CSV),https://env.example/air.csv,CSV,en,1024\n"
    "air,,,https://env.example/air.json,JSON,,\n"
)
SERVICES = (
    "id,title,publisher,endpoint_url,serves_datasets,keywords\n"
    "air-api,Air API,env,https://api.env.example/air,air; water,api\n"
)


NO_DATASETS = {"datasets": "id,title,description,publisher\n", "distributions": "dataset\n"}


def write_folder(folder: Path, **files: str) -> Path:
    """Write ``name=text`` files (``agencies`` → ``agencies.csv``); a value of None skips the file."""
    contents = {"agencies": AGENCIES, "datasets": DATASETS, "distributions": DISTRIBUTIONS} | files
    folder.mkdir(exist_ok=True)
    for name, text in contents.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_csv_folder(path))
    assert info.value.file and str(info.value).startswith(info.value.file)  # the message names the file
    return info.value


def test_good_folder_yields_agencies_parents_first_then_datasets_then_services(tmp_path: Path) -> None:
    records = list(read_csv_folder(write_folder(tmp_path, services=SERVICES)))
    kinds = [type(r).__name__ for r in records]
    assert kinds == ["AgencyRecord", "AgencyRecord", "DatasetRecord", "DatasetRecord", "ServiceRecord"]
    env, unit = records[0], records[1]
    assert isinstance(env, AgencyRecord) and isinstance(unit, AgencyRecord)
    assert (env.key, unit.key, unit.parent, unit.is_unit, env.is_unit) == (
        "env",
        "env-unit",
        "env",
        True,
        False,
    )
    assert env.name == {"": "Environment Agency", "fr": "Agence de l'environnement"}
    assert (env.acronym, env.classification, env.contact.email) == ("EA", "agency", "info@env.example")
    assert (env.address.street, env.address.locality, env.address.country) == (
        "1 Main St",
        "Springfield",
        "US",
    )
    assert env.origin.line == 3 and unit.origin.line == 2
    assert env.origin.file == str(tmp_path / "agencies.csv")


def test_dataset_values_are_copied_as_given(tmp_path: Path) -> None:
    air, water = [r for r in read_csv_folder(write_folder(tmp_path)) if isinstance(r, DatasetRecord)]
    assert air.key == "air" and air.publisher == "env-unit"
    assert air.title == {"": "Air quality", "de": "Luftqualität"}
    assert air.description == {"": "Hourly readings,\nall stations"}
    assert air.keywords == [("air", ""), ("pollution", ""), ("Luft", "de")]
    assert air.themes == ["ENVI", "HEAL"] and air.languages == ["en", "de"]
    assert air.issued == "2024-13-45"  # a bad date is the validator's business
    assert air.contact.email == "aq@env.example"
    assert air.identifier == ""  # the mapper falls back to the key
    assert air.origin.line == 2 and water.origin.line == 5  # physical lines: quoted newline, blank line
    assert water.title == {"": "Water"} and water.distributions == []


def test_distributions_are_attached_to_their_dataset(tmp_path: Path) -> None:
    air = next(r for r in read_csv_folder(write_folder(tmp_path)) if isinstance(r, DatasetRecord))
    first, second = air.distributions
    assert (first.key, first.download_url, first.format, first.byte_size) == (
        "air-csv",
        "https://env.example/air.csv",
        "CSV",
        "1024",
    )
    assert first.title == {"": "Readings (CSV)"} and first.languages == ["en"]
    assert (second.key, second.download_url, second.title) == ("", "https://env.example/air.json", {})
    assert second.origin.file.endswith("distributions.csv") and second.origin.line == 3


def test_services_are_optional_and_read_when_present(tmp_path: Path) -> None:
    assert not any(isinstance(r, ServiceRecord) for r in read_csv_folder(write_folder(tmp_path)))
    service = list(read_csv_folder(write_folder(tmp_path, services=SERVICES)))[-1]
    assert isinstance(service, ServiceRecord)
    assert (service.key, service.publisher, service.endpoint_url) == (
        "air-api",
        "env",
        "https://api.env.example/air",
    )
    assert service.serves_datasets == ["air", "water"] and service.keywords == [("api", "")]


def test_a_csv_file_path_reads_its_folder(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    assert len(list(read_csv_folder(folder / "datasets.csv"))) == 4


def test_column_names_ignore_case_and_spaces(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, agencies=" ID , Name ,Name@fr\nx,X,Ix\n", **NO_DATASETS)
    (agency,) = list(read_csv_folder(folder))
    assert agency.key == "x" and agency.name == {"": "X", "fr": "Ix"}


def test_unknown_column_names_the_column_and_the_expected_ones(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, datasets="id,title,description,publisher,colour\n"))
    assert error.file == str(tmp_path / "datasets.csv") and error.line == 1 and error.field == "colour"
    assert "unknown column(s) 'colour'" in str(error)
    assert "Expected columns: id, title, description, publisher" in str(error)


def test_language_variant_of_a_column_that_takes_none_is_unknown(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, datasets="id,title,description,publisher,licence@fr\n"))
    assert error.file == str(tmp_path / "datasets.csv")
    assert error.field == "licence@fr" and "unknown column" in error.message


def test_missing_required_column(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, datasets="id,title,description\nd,T,D\n"))
    assert (error.file, error.line, error.field) == (str(tmp_path / "datasets.csv"), 1, "publisher")
    assert "missing required column(s) publisher" in str(error)


def test_semicolon_separated_file_gets_a_hint(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, agencies="id;name\na;A\n"))
    assert "must use ','" in error.message


def test_empty_file(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, distributions=""))
    assert error.file == str(tmp_path / "distributions.csv") and "empty" in error.message


def test_folder_without_the_required_csvs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    error = read_error(tmp_path)
    assert error.file == str(tmp_path)
    assert "agencies.csv, datasets.csv, distributions.csv" in error.message


def test_not_utf8(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "agencies.csv").write_bytes("id,name\nx,Agence de l'\u00e9nergie\n".encode("latin-1"))
    error = read_error(folder)
    assert error.file == str(folder / "agencies.csv") and error.line == 2
    assert "not UTF-8" in error.message and "0xE9" in error.message


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nowhere")
    assert error.file == str(tmp_path / "nowhere") and "no such" in error.message


def test_distribution_of_an_unknown_dataset(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, distributions="dataset,download_url\nair,x\nsoil,y\n"))
    assert (error.file, error.line, error.field) == (str(tmp_path / "distributions.csv"), 3, "dataset")
    assert "'soil'" in error.message


@pytest.mark.parametrize(
    ("datasets", "line", "message"),
    [
        ("id,title,description,publisher\nd,T,D,env\nd,T2,D2,env\n", 3, "already used on line 2"),
        ("id,title,description,publisher\n,T,D,env\n", 2, "empty"),
    ],
)
def test_empty_or_repeated_id(tmp_path: Path, datasets: str, line: int, message: str) -> None:
    error = read_error(write_folder(tmp_path, datasets=datasets, distributions="dataset\n"))
    assert (error.file, error.line, error.field) == (str(tmp_path / "datasets.csv"), line, "id")
    assert message in error.message


def test_unknown_publisher_and_parent(tmp_path: Path) -> None:
    datasets = "id,title,description,publisher\nd,T,D,nobody\n"
    error = read_error(write_folder(tmp_path, datasets=datasets, distributions="dataset\n"))
    assert (error.line, error.field) == (2, "publisher") and "'nobody'" in error.message
    error = read_error(write_folder(tmp_path, agencies="id,name,parent\na,A,ghost\n"))
    assert (error.line, error.field) == (2, "parent") and "'ghost'" in error.message


def test_parent_cycle(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, agencies="id,name,parent\na,A,b\nb,B,a\n"))
    assert error.field == "parent" and "own ancestor" in error.message


def test_row_with_more_values_than_columns(tmp_path: Path) -> None:
    error = read_error(write_folder(tmp_path, agencies="id,name\na,A,surprise\n"))
    assert (error.file, error.line) == (str(tmp_path / "agencies.csv"), 2) and "3 values" in error.message


def test_trailing_empty_columns_from_spreadsheets_are_ignored(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, agencies="id,name,,\na,A,,\n", **NO_DATASETS)
    assert [r.key for r in read_csv_folder(folder)] == ["a"]


DOCS = Path(__file__).resolve().parents[1] / "docs" / "csv.md"


def test_documented_columns_are_the_columns_read() -> None:
    """docs/csv.md lists exactly the columns the reader knows."""
    from kg.readers.csv_folder import AGENCIES, DATASETS, DISTRIBUTIONS, SERVICES

    text = DOCS.read_text(encoding="utf-8")
    for spec in (AGENCIES, DATASETS, DISTRIBUTIONS, SERVICES):
        section = text.split(f"## {spec.name}\n", 1)[1].split("\n## ", 1)[0]
        rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
        documented = [cell.strip().split("`")[1] for cell, _ in rows]
        assert documented == list(spec.columns), spec.name
        assert [c for (cell, req), c in zip(rows, documented, strict=True) if req.strip() == "yes"] == list(
            spec.required
        )
        assert {c for (cell, _), c in zip(rows, documented, strict=True) if "*@lang*" in cell} == set(
            spec.lang
        )
        assert {c for (cell, _), c in zip(rows, documented, strict=True) if "*list*" in cell} == set(
            spec.many
        )


def test_documented_example_folder_reads(tmp_path: Path) -> None:
    blocks = DOCS.read_text(encoding="utf-8").split("## A minimal folder", 1)[1].split("```csv\n")[1:]
    names = ["agencies", "datasets", "distributions"]
    folder = write_folder(tmp_path, **{n: b.split("```", 1)[0] for n, b in zip(names, blocks, strict=True)})
    records = list(read_csv_folder(folder))
    assert [r.key for r in records] == ["env-agency", "air-unit", "air-quality"]
    assert records[2].distributions[0].download_url == "https://env.example.gov/air/2023.csv"


# ---------------------------------------------------------------- streaming


def _big_folder(tmp_path: Path, n: int, *, shuffled: bool = False) -> Path:
    """n datasets with two distributions each (listed in reverse order when ``shuffled``)."""
    datasets = "id,title,description,publisher\n" + "".join(f"d{i},T{i},D{i},env\n" for i in range(n))
    rows = [f"d{i},d{i}-{k},https://env.example/{i}/{k}\n" for i in range(n) for k in (0, 1)]
    distributions = "dataset,id,download_url\n" + "".join(reversed(rows) if shuffled else rows)
    return write_folder(tmp_path, datasets=datasets, distributions=distributions)


@pytest.mark.parametrize("shuffled", [False, True])
def test_streamed_datasets_get_all_their_distributions(tmp_path: Path, shuffled: bool) -> None:
    folder = _big_folder(tmp_path, 300, shuffled=shuffled)
    datasets = [r for r in read_csv_folder(folder) if isinstance(r, DatasetRecord)]
    assert [d.key for d in datasets] == [f"d{i}" for i in range(300)]
    for i, d in enumerate(datasets):
        assert sorted(x.key for x in d.distributions) == [f"d{i}-0", f"d{i}-1"]
        assert {x.origin.line for x in d.distributions} == (
            {2 + 2 * i, 3 + 2 * i} if not shuffled else {601 - 2 * i, 600 - 2 * i}
        )


def test_an_error_in_the_last_row_stops_the_folder_before_the_first_record(tmp_path: Path) -> None:
    """Every file-level error is found before any record leaves the reader, streamed or not."""
    folder = _big_folder(tmp_path, 500)
    with open(folder / "datasets.csv", "a", encoding="utf-8") as f:
        f.write("late,Late,Too late,nobody\n")
    records = read_csv_folder(folder)
    with pytest.raises(InputError) as info:
        next(records)
    assert (info.value.file, info.value.line, info.value.field) == (
        str(folder / "datasets.csv"),
        502,
        "publisher",
    )
    folder = _big_folder(tmp_path / "b", 500)
    with open(folder / "distributions.csv", "a", encoding="utf-8") as f:
        f.write("d7,d7-0,https://env.example/again\n")
    with pytest.raises(InputError) as info:
        next(read_csv_folder(folder))
    assert (info.value.line, info.value.field) == (
        1002,
        "id",
    ) and "already used on line 16" in info.value.message


def test_not_utf8_far_into_a_file_names_its_line_and_offset(tmp_path: Path) -> None:
    folder = _big_folder(tmp_path, 2000)
    text = (folder / "datasets.csv").read_bytes()
    bad = text + "x,Caf\u00e9,D,env\n".encode("latin-1")
    (folder / "datasets.csv").write_bytes(bad)
    error = read_error(folder)
    assert error.file == str(folder / "datasets.csv") and error.line == 2002
    assert f"byte 0xE9 at offset {len(text) + 5} " in error.message
