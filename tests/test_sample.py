"""The bundled sample (kg/sample/) is complete and consistent, checked without the project's readers."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "kg" / "sample"
CSV = SAMPLE / "csv"

COLUMNS = {  # the documented layout; split on white space
    "agencies.csv": """
        id name parent type acronym description identifier homepage email phone street locality postal_code
        region country jurisdiction name@fr""",
    "datasets.csv": """
        id title description publisher keywords themes issued modified frequency languages licence
        access_rights landing_page contact_name contact_email contact_phone contact_url temporal_start
        temporal_end spatial identifier version version_notes conforms_to documentation related is_part_of
        provenance title@fr description@fr""",
    "distributions.csv": """
        dataset id title description access_url download_url format media_type licence rights byte_size
        issued modified languages status checksum checksum_algorithm conforms_to documentation""",
    "services.csv": """
        id title description publisher endpoint_url endpoint_description serves_datasets themes keywords
        licence access_rights formats contact_name contact_email landing_page conforms_to""",
}
MULTI = {"keywords", "themes", "languages", "serves_datasets", "formats", "related"}
URL_COLUMNS = {
    "homepage", "landing_page", "contact_url", "access_url", "download_url", "endpoint_url",
    "endpoint_description", "documentation", "conforms_to", "related",
}  # fmt: skip
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rows(name: str) -> list[dict[str, str]]:
    with open(CSV / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def sample():
    catalog = json.loads((SAMPLE / "data.json").read_text(encoding="utf-8"))
    return {
        "agencies": rows("agencies.csv"),
        "datasets": rows("datasets.csv"),
        "distributions": rows("distributions.csv"),
        "services": rows("services.csv"),
        "data.json": catalog,
    }


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_headers_are_exactly_the_documented_columns(name):
    with open(CSV / name, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == COLUMNS[name].split()


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_cells_are_clean(name):
    for line, row in enumerate(rows(name), start=2):
        assert None not in row, f"{name} line {line}: too many cells"
        for column, value in row.items():
            assert value == value.strip(), f"{name} line {line}, {column}: surrounding spaces"
            if column in MULTI and value:
                assert all(part and part == part.strip() for part in value.split(";")), (name, line, column)
            elif column not in MULTI and column not in {"description", "description@fr"}:
                assert ";" not in value, f"{name} line {line}, {column}: ';' in a single value"
            if column in URL_COLUMNS and value:
                assert all(u.startswith(("https://", "http://")) for u in value.split(";")), (
                    name,
                    line,
                    column,
                )


def test_agency_hierarchy(sample):
    agencies = {a["id"]: a for a in sample["agencies"]}
    assert len(agencies) == len(sample["agencies"]) == 7
    assert agencies["mei"]["type"] == "ministry" and agencies["mei"]["parent"] == ""
    assert {agencies[k]["parent"] for k in ("vea", "nta")} == {"mei"}
    for a in agencies.values():
        assert a["type"] in {"ministry", "agency", "unit"}
        assert a["parent"] == "" or a["parent"] in agencies
        assert (a["type"] == "ministry") == (a["parent"] == "")
        for column in (
            "name",
            "acronym",
            "description",
            "identifier",
            "homepage",
            "email",
            "phone",
            "country",
        ):
            assert a[column], f"agency {a['id']}: no {column}"
        assert a["jurisdiction"] == "Veloria"
    assert sum(a["type"] == "unit" for a in agencies.values()) >= 4


def test_every_reference_resolves(sample):
    agency_ids = {a["id"] for a in sample["agencies"]}
    dataset_ids = [d["id"] for d in sample["datasets"]]
    assert len(set(dataset_ids)) == len(dataset_ids)
    for d in sample["datasets"]:
        assert d["publisher"] in agency_ids, d["id"]
        assert d["is_part_of"] == "" or d["is_part_of"] in dataset_ids, d["id"]
    dist_ids = [d["id"] for d in sample["distributions"]]
    assert len(set(dist_ids)) == len(dist_ids)
    assert {d["dataset"] for d in sample["distributions"]} <= set(dataset_ids)
    assert 3 <= len(sample["services"]) <= 5
    for s in sample["services"]:
        assert s["publisher"] in agency_ids, s["id"]
        served = s["serves_datasets"].split(";")
        assert served and set(served) <= set(dataset_ids), s["id"]
        assert s["endpoint_url"]


def test_datasets_are_complete(sample):
    datasets = sample["datasets"]
    assert 35 <= len(datasets) <= 50
    by_dataset: dict[str, list[dict[str, str]]] = {}
    for dist in sample["distributions"]:
        by_dataset.setdefault(dist["dataset"], []).append(dist)
    for d in datasets:
        ident = d["id"]
        for column in ("title", "description", "publisher", "keywords", "themes", "issued", "modified",
                       "languages", "licence", "access_rights", "landing_page", "contact_email"):  # fmt: skip
            assert d[column], f"dataset {ident}: no {column}"
        assert ISO_DATE.match(d["issued"]) and ISO_DATE.match(d["modified"]), ident
        assert date(2019, 1, 1) <= date.fromisoformat(d["issued"]) <= date.fromisoformat(d["modified"]), ident
        assert date.fromisoformat(d["modified"]) <= date(2026, 12, 31), ident
        for column in ("temporal_start", "temporal_end"):
            assert d[column] == "" or ISO_DATE.match(d[column]), ident
        if d["temporal_start"] and d["temporal_end"]:
            assert d["temporal_start"] <= d["temporal_end"], ident
        assert d["access_rights"] in {"public", "restricted"}, ident
        dists = by_dataset.get(ident, [])
        assert 1 <= len(dists) <= 3, ident
        assert any(x["access_url"] or x["download_url"] for x in dists), ident
        for x in dists:
            assert x["access_url"], f"distribution {x['id']}: no access_url"
            assert x["format"] and x["media_type"], x["id"]
            assert x["byte_size"] == "" or x["byte_size"].isdigit(), x["id"]
            assert not x["checksum"] or (len(x["checksum"]) == 64 and x["checksum_algorithm"] == "sha256")


def test_variety_for_the_ui(sample):
    datasets = sample["datasets"]
    french = [d for d in datasets if d["title@fr"]]
    assert len(french) >= 5
    assert all(d["description@fr"] and "fr" in d["languages"].split(";") for d in french)
    assert sum(d["access_rights"] == "restricted" for d in datasets) >= 2
    themes = {t for d in datasets for t in d["themes"].split(";")}
    assert {"ENVI", "TRAN", "ENER", "HEAL", "AGRI", "ECON", "GOVE", "REGI", "SOCI", "TECH"} <= themes
    assert {d["publisher"] for d in datasets} == {a["id"] for a in sample["agencies"]}
    assert len({d["issued"][:4] for d in datasets}) >= 6
    formats = {x["format"] for x in sample["distributions"]}
    assert {"CSV", "JSON", "XLSX", "PDF", "GeoJSON", "SHP", "ZIP", "XML"} <= formats
    assert {d["licence"] for d in datasets} >= {
        "CC-BY-4.0",
        "CC0-1.0",
        "https://creativecommons.org/licenses/by/4.0/",
    }
    text = " ".join(d["title"] + " " + d["description"] for d in datasets).lower()
    for words in ("air quality", "nitrogen dioxide", "traffic counts", "bathing water", "noise"):
        assert words in text


def test_data_json_matches_the_csv(sample):
    catalog = sample["data.json"]
    assert catalog["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert catalog["@type"] == "dcat:Catalog"
    csv_datasets = {d["id"]: d for d in sample["datasets"]}
    json_datasets = {d["identifier"]: d for d in catalog["dataset"]}
    assert len(json_datasets) == len(catalog["dataset"])
    assert list(json_datasets) == list(csv_datasets)
    agencies = {a["id"]: a for a in sample["agencies"]}
    dist_counts: dict[str, int] = {}
    for dist in sample["distributions"]:
        dist_counts[dist["dataset"]] = dist_counts.get(dist["dataset"], 0) + 1
    for ident, j in json_datasets.items():
        c = csv_datasets[ident]
        assert j["title"] == c["title"] and j["description"] == c["description"], ident
        assert j["keyword"] == c["keywords"].split(";"), ident
        assert (j["issued"], j["modified"]) == (c["issued"], c["modified"]), ident
        assert j["contactPoint"]["hasEmail"] == "mailto:" + c["contact_email"], ident
        assert j["accessLevel"] == ("public" if c["access_rights"] == "public" else "restricted public"), (
            ident
        )
        assert j["accessLevel"] == "public" or j.get("rights"), ident
        assert j["license"].startswith("https://"), ident
        assert j["landingPage"] == c["landing_page"], ident
        assert j.get("isPartOf", "") == c["is_part_of"], ident
        assert len(j["distribution"]) == dist_counts[ident], ident
        for dist in j["distribution"]:
            assert dist.get("downloadURL") or dist.get("accessURL"), ident
            assert "downloadURL" not in dist or dist.get("mediaType"), ident
        # the publisher chain follows the CSV parents: unit -> agency -> ministry
        publisher, key = j["publisher"], c["publisher"]
        while key:
            assert publisher["name"] == agencies[key]["name"], ident
            key = agencies[key]["parent"]
            publisher = publisher.get("subOrganizationOf")
            assert (publisher is None) == (key == ""), ident
        if "accrualPeriodicity" in j:
            assert j["accrualPeriodicity"] == "irregular" or j["accrualPeriodicity"].startswith("R/P"), ident
        if "temporal" in j:
            assert j["temporal"] == f"{c['temporal_start']}/{c['temporal_end']}", ident
