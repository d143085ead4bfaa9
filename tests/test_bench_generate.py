"""bench/generate.py: counts in every format, determinism, defects, a Turtle that parses."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import rdflib

ROOT = Path(__file__).resolve().parent.parent
_DCAT = "http://www.w3.org/ns/dcat#"
RDF_TYPE = rdflib.URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DATASET, DISTRIBUTION, SERVICE = (
    rdflib.URIRef(_DCAT + x) for x in ("Dataset", "Distribution", "DataService")
)
HAS_DATASET = rdflib.URIRef(_DCAT + "dataset")
PUBLISHER = rdflib.URIRef("http://purl.org/dc/terms/publisher")


def _load_generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

N = 50


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_csv_counts_and_references(tmp_path):
    folder = gen.generate(N, 1, "csv", tmp_path)
    assert folder == tmp_path / "csv"
    manifest = _manifest(tmp_path)
    assert _header(folder / "agencies.csv") == gen.AGENCY_COLUMNS
    assert _header(folder / "datasets.csv") == gen.DATASET_COLUMNS
    assert _header(folder / "distributions.csv") == gen.DISTRIBUTION_COLUMNS
    assert _header(folder / "services.csv") == gen.SERVICE_COLUMNS

    agencies = _rows(folder / "agencies.csv")
    datasets = _rows(folder / "datasets.csv")
    dists = _rows(folder / "distributions.csv")
    services = _rows(folder / "services.csv")
    assert len(agencies) == manifest["agencies"] == 50
    assert len(datasets) == manifest["datasets"] == N
    assert len(dists) == manifest["distributions"]
    assert len(services) == manifest["services"] >= 1

    agency_ids = {a["id"] for a in agencies}
    assert {a["type"] for a in agencies} == {"ministry", "agency", "unit"}
    for a in agencies:  # three levels: unit -> agency -> ministry
        assert (a["parent"] == "") == (a["type"] == "ministry")
        assert not a["parent"] or a["parent"] in agency_ids
    dataset_ids = [d["id"] for d in datasets]
    assert len(set(dataset_ids)) == N
    assert all(d["publisher"] in agency_ids for d in datasets)
    assert all(not d["is_part_of"] or d["is_part_of"] in dataset_ids for d in datasets)
    assert {d["dataset"] for d in dists} == set(dataset_ids)
    assert len({d["id"] for d in dists}) == len(dists)
    for s in services:
        assert s["publisher"] in agency_ids
        assert set(s["serves_datasets"].split(";")) <= set(dataset_ids)


def test_data_json_counts(tmp_path):
    path = gen.generate(N, 1, "data.json", tmp_path)
    assert path == tmp_path / "data.json"
    manifest = _manifest(tmp_path)
    catalog = json.loads(path.read_text(encoding="utf-8"))
    assert catalog["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert catalog["@type"] == "dcat:Catalog"
    datasets = catalog["dataset"]
    assert len(datasets) == N
    assert sum(len(d["distribution"]) for d in datasets) == manifest["distributions"]
    assert [d["identifier"] for d in datasets] == [gen.dataset_id(i) for i in range(N)]
    for d in datasets:
        chain, publisher = 1, d["publisher"]
        while "subOrganizationOf" in publisher:
            chain, publisher = chain + 1, publisher["subOrganizationOf"]
        assert 1 <= chain <= 3
        assert d["contactPoint"]["hasEmail"].startswith("mailto:")


def test_ckan_counts(tmp_path):
    path = gen.generate(N, 1, "ckan", tmp_path)
    assert path == tmp_path / "ckan.json"
    manifest = _manifest(tmp_path)
    response = json.loads(path.read_text(encoding="utf-8"))
    assert response["success"] is True
    assert response["result"]["count"] == N
    packages = response["result"]["results"]
    assert len(packages) == N
    assert sum(len(p["resources"]) for p in packages) == manifest["distributions"]
    assert all(p["num_resources"] == len(p["resources"]) for p in packages)
    assert all(p["organization"]["name"] == p["organization"]["name"].strip() for p in packages)


def test_turtle_parses_with_counts(tmp_path):
    path = gen.generate(N, 1, "ttl", tmp_path)
    assert path == tmp_path / "catalog.ttl"
    manifest = _manifest(tmp_path)
    graph = rdflib.Graph()
    graph.parse(path, format="turtle")
    catalog = rdflib.URIRef(gen.BASE + "catalog")
    assert len(set(graph.subjects(RDF_TYPE, DATASET))) == N
    assert len(set(graph.subjects(RDF_TYPE, DISTRIBUTION))) == manifest["distributions"]
    assert len(set(graph.subjects(RDF_TYPE, SERVICE))) == manifest["services"]
    assert len(set(graph.objects(catalog, HAS_DATASET))) == N
    publishers = set(graph.objects(None, PUBLISHER))
    assert publishers <= {rdflib.URIRef(f"{gen.BASE}agency/{a['id']}") for a in gen.AGENCIES}


def test_all_writes_every_format_with_the_same_content(tmp_path):
    out = gen.generate(N, 5, "all", tmp_path / "all")
    assert out == tmp_path / "all"
    assert {p.name for p in out.iterdir()} == {
        "csv",
        "data.json",
        "ckan.json",
        "catalog.ttl",
        "manifest.json",
    }
    for fmt in gen.FORMATS:
        single = gen.generate(N, 5, fmt, tmp_path / fmt)
        name = gen.OUTPUT_NAMES[fmt]
        if single.is_dir():
            assert _files(single) == _files(out / name)
        else:
            assert single.read_bytes() == (out / name).read_bytes()


def test_same_seed_gives_identical_bytes(tmp_path):
    gen.generate(N, 42, "all", tmp_path / "a")
    gen.generate(N, 42, "all", tmp_path / "b")
    gen.generate(N, 43, "all", tmp_path / "c")
    first, second, other = (_files(tmp_path / x) for x in "abc")
    assert first == second
    assert first["data.json"] != other["data.json"]


def test_defects_are_where_the_manifest_says(tmp_path):
    n = 2000
    gen.generate(n, 3, "csv", tmp_path)
    manifest = _manifest(tmp_path)
    messy = sum(len(v) for v in manifest["messy"].values())
    broken = sum(len(v) for v in manifest["broken"].values())
    assert 0.003 * n < messy < 0.03 * n
    assert 0 < broken < 0.02 * n
    datasets = {d["id"]: d for d in _rows(tmp_path / "csv" / "datasets.csv")}
    dists: dict[str, list[dict[str, str]]] = {}
    for d in _rows(tmp_path / "csv" / "distributions.csv"):
        dists.setdefault(d["dataset"], []).append(d)
    for kind, ids in manifest["broken"].items():
        for ident in ids:
            if kind == "empty_title":
                assert datasets[ident]["title"] == ""
            elif kind == "empty_description":
                assert datasets[ident]["description"] == ""
            else:
                assert any(not d["access_url"] and not d["download_url"] for d in dists[ident])
    for ident in manifest["messy"].get("date_time", []):
        assert len(datasets[ident]["issued"]) == 19
    for ident in manifest["messy"].get("format_nc", []):
        assert dists[ident][0]["format"] == "nc "
    defective = {i for group in ("messy", "broken") for ids in manifest[group].values() for i in ids}
    clean = [d for i, d in datasets.items() if i not in defective]
    assert all(d["title"] and d["description"] and len(d["issued"]) == 10 for d in clean)


def test_defective_records_still_parse_in_every_format(tmp_path):
    gen.generate(600, 3, "all", tmp_path)
    manifest = _manifest(tmp_path)
    assert manifest["broken"] and manifest["messy"]
    json.loads((tmp_path / "data.json").read_text(encoding="utf-8"))
    json.loads((tmp_path / "ckan.json").read_text(encoding="utf-8"))
    graph = rdflib.Graph()
    graph.parse(tmp_path / "catalog.ttl", format="turtle")
    assert len(set(graph.subjects(RDF_TYPE, DATASET))) == 600


def test_command_line(tmp_path, capsys):
    assert gen.main(["--n", "5", "--seed", "2", "--format", "data.json", "--out", str(tmp_path)]) == 0
    assert "wrote 5 datasets" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "data.json").read_text(encoding="utf-8"))["dataset"]) == 5


def test_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        gen.generate(5, 1, "xlsx", tmp_path)
