"""Read a folder of CSV files: ``agencies.csv``, ``datasets.csv``, ``distributions.csv``, ``services.csv``.

This is what a small agency keeps in a spreadsheet, so the rules are few and
written down in ``docs/csv.md``: UTF-8 (a BOM is fine), comma between
columns, ``;`` between the values of a multi-valued cell, ``title@fr`` for a
text in another language. Column names are matched without regard to case.

IRIs are minted from the ``id`` columns, so an empty or repeated id, or a
reference to an id that is not there (a distribution's ``dataset``, an agency's
``parent``, a ``publisher``), stops the whole folder with an
:class:`~kg.errors.InputError` naming the file, line and column. Everything
else (an empty title, a bad date) is passed through for the validator.

Every file-level error is raised before the first record leaves the reader:
a first pass reads every file and checks ids and references, keeping only the
ids; a second pass then streams the datasets with their distributions, so that
memory does not grow with the number of datasets (908 MB at 100,000 datasets
when the rows were held). Distributions are taken from ``distributions.csv``
as the datasets come; only those listed ahead of their dataset wait in memory
(none when the file follows the order of ``datasets.csv``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kg.errors import InputError
from kg.readers.csv_file import Row, Spec, read_columns, read_rows
from kg.records import (
    Address,
    AgencyRecord,
    Contact,
    DatasetRecord,
    DistributionRecord,
    Record,
    ServiceRecord,
)


def _spec(name: str, columns: str, required: str, lang: str = "", many: str = "") -> Spec:
    return Spec(name, *(tuple(words.split()) for words in (columns, required, lang, many)))


AGENCIES = _spec(
    "agencies.csv",
    "id name parent type acronym description identifier homepage email phone"
    " street locality postal_code region country jurisdiction",
    required="id name",
    lang="name description",
)
DATASETS = _spec(
    "datasets.csv",
    "id title description publisher keywords themes issued modified frequency languages licence"
    " access_rights landing_page contact_name contact_email contact_phone contact_url temporal_start"
    " temporal_end spatial identifier version version_notes conforms_to documentation related"
    " is_part_of provenance",
    required="id title description publisher",
    lang="title description keywords",
    many="keywords themes languages spatial conforms_to documentation related",
)
DISTRIBUTIONS = _spec(
    "distributions.csv",
    "dataset id title description access_url download_url format media_type licence rights byte_size"
    " issued modified languages status checksum checksum_algorithm conforms_to documentation",
    required="dataset",
    lang="title description",
    many="languages conforms_to documentation",
)
SERVICES = _spec(
    "services.csv",
    "id title description publisher endpoint_url endpoint_description serves_datasets themes keywords"
    " licence access_rights formats contact_name contact_email landing_page conforms_to",
    required="id title",
    lang="title description keywords",
    many="serves_datasets themes keywords formats conforms_to",
)
REQUIRED_FILES = (AGENCIES, DATASETS, DISTRIBUTIONS)
ADDRESS_PARTS = ("street", "locality", "postal_code", "region", "country")


def read_csv_folder(path: str | Path) -> Iterator[Record]:
    """Agencies (parents first), then datasets with their distributions, then services.

    ``path`` is the folder, or any ``.csv`` file in it.
    """
    folder = Path(path)
    if folder.suffix.lower() == ".csv" and not folder.is_dir():
        if not folder.exists():
            raise InputError("no such file or folder", file=str(path))
        folder = folder.parent
    elif not folder.is_dir():
        raise InputError("no such folder" if not folder.exists() else "not a folder", file=str(path))
    missing = [spec.name for spec in REQUIRED_FILES if not (folder / spec.name).is_file()]
    if missing:
        raise InputError(
            f"the folder has no {', '.join(missing)} (a CSV source needs agencies.csv, datasets.csv "
            "and distributions.csv; services.csv is optional)",
            file=str(path),
        )
    return _records(folder)


def _records(folder: Path) -> Iterator[Record]:
    agency_rows = _parents_first(_unique_ids(read_rows(folder / AGENCIES.name, AGENCIES), "id"))
    agency_keys = {row.get("id") for row in agency_rows}
    counts = _check_datasets(folder, agency_keys)
    service_rows = []
    if (folder / SERVICES.name).is_file():
        service_rows = _unique_ids(read_rows(folder / SERVICES.name, SERVICES), "id")
    for row in service_rows:
        _check_publisher(row, agency_keys)
    yield from (_agency(row) for row in agency_rows)
    yield from _datasets(folder, counts)
    yield from (_service(row) for row in service_rows)


def _check_datasets(folder: Path, agency_keys: set[str]) -> dict[str, int]:
    """The first pass over datasets and distributions: every id and reference is checked (in the
    order the rows were checked when they were held), only ids are kept. Returns the number of
    distributions of each dataset, in the order of ``datasets.csv``."""
    dist_file = folder / DISTRIBUTIONS.name
    links: list[tuple[int, str]] = []  # (line, dataset) of every distribution
    seen: dict[str, int] = {}
    for line, value, dataset in read_columns(dist_file, DISTRIBUTIONS, "id", "dataset"):
        _check_id(seen, value, line, dist_file, "id", allow_empty=True)
        links.append((line, dataset))
    seen = {}
    file = folder / DATASETS.name
    unknown_publisher: tuple[int, str] | None = None
    for line, value, publisher in read_columns(file, DATASETS, "id", "publisher"):
        _check_id(seen, value, line, file, "id")
        if unknown_publisher is None and publisher and publisher not in agency_keys:
            unknown_publisher = (line, publisher)
    counts = dict.fromkeys(seen, 0)
    for line, dataset in links:
        if dataset not in counts:
            message = f"dataset {dataset!r} is not an id in {DATASETS.name}"
            raise InputError(message, file=str(dist_file), line=line, field="dataset")
        counts[dataset] += 1
    if unknown_publisher:
        line, publisher = unknown_publisher
        message = f"publisher {publisher!r} is not an id in {AGENCIES.name}"
        raise InputError(message, file=str(file), line=line, field="publisher")
    return counts


def _check_id(
    seen: dict[str, int], value: str, line: int, file: Path, column: str, *, allow_empty: bool = False
) -> None:
    """IRIs come from ids: an empty (unless allowed) or repeated id stops the source."""
    if not value and not allow_empty:
        message = f"the {column} is empty (ids make the IRIs, every row needs one)"
        raise InputError(message, file=str(file), line=line, field=column)
    if value and value in seen:
        message = f"{column} {value!r} is already used on line {seen[value]}"
        raise InputError(message, file=str(file), line=line, field=column)
    seen[value] = line


def _datasets(folder: Path, counts: dict[str, int]) -> Iterator[DatasetRecord]:
    """The second pass: each dataset once its distributions (``counts``) have been read."""
    waiting: dict[str, list[DistributionRecord]] = {}
    distributions = read_rows(folder / DISTRIBUTIONS.name, DISTRIBUTIONS)
    for row in read_rows(folder / DATASETS.name, DATASETS):
        key = row.get("id")
        mine = waiting.pop(key, [])
        while len(mine) < counts[key]:
            dist = next(distributions, None)
            if dist is None:  # the first pass counted more: the file changed meanwhile
                raise InputError(
                    "the file changed while it was being read", file=str(folder / DISTRIBUTIONS.name)
                )
            if dist.get("dataset") == key:
                mine.append(_distribution(dist))
            else:
                waiting.setdefault(dist.get("dataset"), []).append(_distribution(dist))
        yield _dataset(row, mine)


def _check_publisher(row: Row, agency_keys: set[str]) -> None:
    """An empty publisher is the validator's business; an unknown one is a typo we must not mint."""
    if row.get("publisher") and row.get("publisher") not in agency_keys:
        raise row.fail(f"publisher {row.get('publisher')!r} is not an id in {AGENCIES.name}", "publisher")


def _unique_ids(rows: Iterator[Row], column: str, *, allow_empty: bool = False) -> list[Row]:
    """IRIs come from ids: an empty (unless allowed) or repeated id stops the source."""
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        value = row.get(column)
        if not value and not allow_empty:
            raise row.fail(f"the {column} is empty (ids make the IRIs, every row needs one)", column)
        if value and value in seen:
            raise row.fail(f"{column} {value!r} is already used on line {seen[value]}", column)
        seen[value] = row.line
        kept.append(row)
    return kept


def _parents_first(rows: list[Row]) -> list[Row]:
    """File order, except that a parent comes before its units (records only refer back)."""
    by_id = {row.get("id"): row for row in rows}
    for row in rows:
        if row.get("parent") and row.get("parent") not in by_id:
            raise row.fail(f"parent {row.get('parent')!r} is not an id in {AGENCIES.name}", "parent")
    placed: set[str] = set()
    ordered: list[Row] = []
    for row in rows:
        chain: list[str] = []
        key = row.get("id")
        while key and key not in placed:
            if key in chain:
                raise by_id[key].fail(f"agency {key!r} is its own ancestor ({' → '.join(chain)})", "parent")
            chain.append(key)
            key = by_id[key].get("parent")
        for item in reversed(chain):
            placed.add(item)
            ordered.append(by_id[item])
    return ordered


# --- rows to records ------------------------------------------------------------


def _contact(row: Row, prefix: str, *parts: str) -> Contact:
    values = {part: row.get(prefix + part) for part in parts}
    values["email"] = values["email"].removeprefix("mailto:")
    return Contact(**values)


def _agency(row: Row) -> AgencyRecord:
    kind = row.get("type")
    fields = row.fields("id", "type", "email", "phone", *ADDRESS_PARTS)
    return AgencyRecord(
        key=row.get("id"),
        origin=row.origin,
        is_unit=kind.lower() == "unit",
        classification=kind,
        contact=_contact(row, "", "email", "phone"),
        address=Address(**{part: row.get(part) for part in ADDRESS_PARTS}),
        **fields,
    )


def _dataset(row: Row, distributions: list[DistributionRecord]) -> DatasetRecord:
    contact = _contact(row, "contact_", "name", "email", "phone", "url")
    fields = row.fields("id", "contact_name", "contact_email", "contact_phone", "contact_url")
    fields["distributions"] = distributions
    return DatasetRecord(key=row.get("id"), origin=row.origin, contact=contact, **fields)


def _distribution(row: Row) -> DistributionRecord:
    return DistributionRecord(origin=row.origin, key=row.get("id"), **row.fields("dataset", "id"))


def _service(row: Row) -> ServiceRecord:
    contact = _contact(row, "contact_", "name", "email")
    fields = row.fields("id", "contact_name", "contact_email")
    return ServiceRecord(key=row.get("id"), origin=row.origin, contact=contact, **fields)
