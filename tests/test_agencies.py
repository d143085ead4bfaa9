"""/agencies: the directory of who holds what (kg/web/agencies_views.py), as a page and as JSON.

A real store: the bundled sample (a ministry, two agencies, four units, 44 datasets) and a small
CSV source of two more top-level bodies (one with a hostile name and a unit), ingested for real;
the Flask test client in-process.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SAMPLE_CSV, make_settings

from kg.ingest.run import ingest
from kg.settings import Settings
from kg.web import agencies_views
from kg.web.app import build_app

HOSTILE = '<script>alert("x")</script> Office'


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("agencies")
    other = folder / "other"
    other.mkdir()
    title = HOSTILE.replace('"', '""')
    (other / "agencies.csv").write_text(
        "id,name,parent,type,acronym\n"
        f'zeta,"{title}",,authority,ZO\n'
        "zeta-data,Data Unit of Zeta,zeta,unit,ZDU\n"
        "alpha,Älpha Régie,,agency,AR\n",
        encoding="utf-8",
    )
    (other / "datasets.csv").write_text(
        "id,title,description,publisher\n"
        "z1,Zeta one,First.,zeta\nz2,Zeta two,Second.,zeta-data\nz3,Zeta three,Third.,zeta-data\n",
        encoding="utf-8",
    )
    (other / "distributions.csv").write_text("dataset,id,access_url\n", encoding="utf-8")
    settings = make_settings(folder / "store")
    ingest(str(SAMPLE_CSV), settings=settings, source="sample")
    ingest(str(other), settings=settings, source="other")
    return settings


@pytest.fixture
def client(directory: Settings):
    return build_app(directory).test_client()


def flat(nodes: list[dict]) -> list[dict]:
    return [n for node in nodes for n in (node, *flat(node["children"]))]


def test_json_is_the_tree_with_counts_including_units(client) -> None:
    data = client.get("/agencies.json").get_json()
    assert data == client.get("/agencies", headers={"Accept": "application/json"}).get_json()
    assert data["total"] == 10 and data["roots"] == 3 and data["page"] == data["pages"] == 1
    assert [root["name"] for root in data["agencies"]] == [
        HOSTILE,
        "Älpha Régie",
        "Ministry of Environment and Infrastructure",
    ]
    ministry = data["agencies"][2]
    assert (ministry["iri"], ministry["page"], ministry["type"], ministry["kind"]) == (
        "http://kg.test/agency/mei",
        "/agency/mei",
        "organisation",
        "ministry",
    )
    assert (ministry["datasets"], ministry["datasets_with_units"], ministry["units"]) == (4, 44, 3)
    assert [c["name"] for c in ministry["children"]] == [
        "National Transport Authority",
        "Statistics Department",
        "Veloria Environment Agency",
    ]
    vea = ministry["children"][2]
    assert (vea["datasets"], vea["datasets_with_units"], vea["kind"]) == (6, 19, "agency")
    assert [(u["name"], u["type"], u["datasets"], u["children"]) for u in vea["children"]] == [
        ("Air Monitoring Unit", "unit", 7, []),
        ("Water Quality Unit", "unit", 6, []),
    ]
    zeta = data["agencies"][0]
    assert (zeta["datasets"], zeta["datasets_with_units"], zeta["sources"]) == (1, 3, ["other"])
    assert all(n["matches"] for n in flat(data["agencies"]))
    facets = data["facets"]
    assert {f["value"]: f["count"] for f in facets["source"]} == {"other": 3, "sample": 7}
    assert {f["value"]: f["count"] for f in facets["type"]} == {"organisation": 5, "unit": 5}
    assert {f["value"]: f["count"] for f in facets["kind"]} == {
        "agency": 3,
        "authority": 1,
        "ministry": 1,
        "unit": 5,
    }
    assert data["links"]["self"] == "/agencies.json" and data["links"]["next"] is None


def test_html_tree_opens_without_javascript(client) -> None:
    response = client.get("/agencies")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert html.count("<h1>") == 1 and "<script>alert" not in html and "&lt;script&gt;alert" in html
    main = html.split('<main id="main">', 1)[1]
    assert "<script" not in main  # a tree of <details>: no JavaScript needed
    assert main.count("<details") == 4  # the bodies with units: the ministry, two agencies, Zeta
    assert re.search(r'<details open>\s*<summary>\s*<span class="agency">\s*<a href="/agency/mei">', main)
    vea = main.index('href="/agency/vea"')
    assert main.rfind("<details", 0, vea) > main.rfind("</details>", 0, vea)  # the agency is a <details>
    assert main.index('href="/agency/vea-air"') > vea and "(19 with its units)" in main
    assert 'href="/agencies.json"' in main
    assert '<a href="/agencies">Agencies</a>' in html  # in the site navigation


def test_the_home_page_links_the_directory(client) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'href="/agencies"' in html.split('<main id="main">', 1)[1]


@pytest.mark.parametrize(
    ("query", "matched", "shown"),
    [
        (
            "type=unit",
            {"vea-air", "vea-water", "nta-roads", "mei-stats", "zeta-data"},
            {"mei", "vea", "nta", "zeta"},
        ),
        ("type=organisation", {"mei", "vea", "nta", "zeta", "alpha"}, set()),
        ("kind=agency", {"vea", "nta", "alpha"}, {"mei"}),
        ("kind=Agency", {"vea", "nta", "alpha"}, {"mei"}),
        ("source=other", {"zeta", "zeta-data", "alpha"}, set()),
        ("source=sample&type=unit&q=water", {"vea-water"}, {"mei", "vea"}),
        ("q=WATER", {"vea-water"}, {"mei", "vea"}),
        ("q=alpha+regie", {"alpha"}, set()),  # accents and case folded, every word
        ("q=vea-wq", {"vea-water"}, {"mei", "vea"}),  # the acronym is a name too
        ("q=%25", set(), set()),  # LIKE's wildcards are plain characters
        ("source=nowhere", set(), set()),
    ],
)
def test_filters_keep_the_ancestors_of_what_matches(client, query: str, matched: set, shown: set) -> None:
    data = client.get(f"/agencies.json?{query}").get_json()
    nodes = {n["iri"].rsplit("/", 1)[-1]: n for n in flat(data["agencies"])}
    assert {k for k, n in nodes.items() if n["matches"]} == matched
    assert {k for k, n in nodes.items() if not n["matches"]} == shown
    assert data["total"] == len(matched)
    html = client.get(f"/agencies?{query}").get_data(as_text=True)
    for key in matched | shown:
        assert f'href="/agency/{key}"' in html
    if not matched:
        assert "No agency matches" in html


def test_paging_by_top_level_body(client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agencies_views, "ROOTS_PER_PAGE", 2)
    first = client.get("/agencies.json?type=organisation").get_json()
    assert (first["pages"], len(first["agencies"]), first["links"]["prev"]) == (2, 2, None)
    assert first["links"]["next"] == "/agencies.json?type=organisation&page=2"
    second = client.get(first["links"]["next"]).get_json()
    assert [n["name"] for n in second["agencies"]] == ["Ministry of Environment and Infrastructure"]
    assert second["links"]["prev"] == "/agencies.json?type=organisation"
    html = client.get("/agencies?type=organisation").get_data(as_text=True)
    assert 'href="/agencies?type=organisation&amp;page=2" rel="next"' in html
    assert client.get("/agencies.json?page=3").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["type=units", "page=0", "page=abc", "page=1.5", "page=", "q=" + "x" * 201, "q=a&q=b", "colour=red",
     "kind=%01", "source=" + "s" * 201],
)  # fmt: skip
def test_bad_input_is_a_400_with_the_one_error_shape(client, query: str) -> None:
    body = client.get(f"/agencies.json?{query}")
    assert body.status_code == 400
    assert set(body.get_json()) == {"error", "status", "detail"} and body.get_json()["status"] == 400
    html = client.get(f"/agencies?{query}")
    assert html.status_code == 400 and html.mimetype == "text/html" and b"Traceback" not in html.data


def test_etag(client) -> None:
    first = client.get("/agencies.json?type=unit")
    assert first.headers["ETag"] and "Accept" in first.headers["Vary"]
    assert (
        client.get("/agencies.json?type=unit", headers={"If-None-Match": first.headers["ETag"]}).status_code
        == 304
    )
    assert client.get("/agencies.json?type=organisation").headers["ETag"] != first.headers["ETag"]


def test_empty_store(tmp_path: Path) -> None:
    client = build_app(make_settings(tmp_path / "empty")).test_client()
    data = client.get("/agencies.json").get_json()
    assert (data["total"], data["agencies"], data["pages"]) == (0, [], 1)
    assert "No agencies yet" in client.get("/agencies").get_data(as_text=True)


def test_served_over_http(tmp_path: Path) -> None:
    from live import request, serve

    with serve(tmp_path / "store", workers=1) as base:
        status, headers, body = request(base + "agencies?type=unit")
        assert (
            status == 200
            and headers["Content-Type"].startswith("text/html")
            and b"Air Monitoring Unit" in body
        )
        status, _, body = request(base + "agencies.json?page=x")
        assert status == 400 and b'"status":400' in body.replace(b" ", b"")
