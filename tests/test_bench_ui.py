"""bench/ui.py: its requests are distinct and ask for what exists, and the whole run works end to end.

The plans are checked on the counts of a 100,000-dataset store (no store needed): every row
asks for a URL once, the search rows never share a text (the index keeps the matches of recent
texts), the catalogue rows ask for the first, middle and last page. The end-to-end test runs
the script as the lead does, on a small ingested store and the real server, and checks that every
row and every first request on a new generation was answered 200: a route that changes what it
accepts breaks this test, not the benchmark run at 1,000,000 datasets.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ui_routes import plans  # noqa: E402
from bench.ui_store import BASE, EU, GEN, StoreFacts  # noqa: E402

N = 100_000
COUNT = 200


def _facts() -> StoreFacts:
    agencies = [f"{BASE}agency/{a['id']}" for a in GEN.AGENCIES]
    lengths = {"": (99_500, 500), "source=bench": (99_500, 500)}
    lengths |= {f"agency={a}": (1_990, 10) for a in agencies}
    return StoreFacts(
        datasets=99_500,
        agency_datasets=dict.fromkeys(agencies, 1_990),
        agency_facets={"kind": [["ministry", 5], ["agency", 15]], "source": [["bench", 50]]},
        agency_names=[a["name"] for a in GEN.AGENCIES],
        catalog_members=99_700,
        quality_sources=["bench"],
        quality_lengths=lengths,
        concepts=_concepts(),
    )


def _concepts() -> list[str]:
    """About as many as the generated catalogues use (53): the codes and their schemes."""
    codes = {
        "data-theme": GEN.ALL_THEMES,
        "file-type": [row[3] for row in GEN.FORMAT_TABLE],
        "frequency": [row[2] for row in GEN.FREQUENCY_TABLE if row[2]],
        "access-right": [row[2] for row in GEN.ACCESS_TABLE],
        "language": list(GEN.LANGUAGE_CODES.values()),
        "licence": ["CC_BY_4_0", "CC0", "CC_BYSA_4_0"],
    }
    return [f"{EU}{scheme}" for scheme in codes] + [f"{EU}{s}/{c}" for s, cs in codes.items() for c in cs]


@pytest.fixture(scope="module")
def rows():
    return plans(N, 1, COUNT, _facts(), 100)


def test_every_route_has_a_row(rows):
    names = {r.name for r in rows}
    kinds = ("home", "search", "search-sorted", "search-broad", "search-browse", "dataset", "distribution",
             "service", "agency", "resource", "agencies", "quality", "quality-source", "quality-agency",
             "catalog-html", "query")  # fmt: skip
    for kind in kinds:
        assert kind in names
        assert kind.replace("-html", "") + "-json" in names
    assert {"dataset-ttl", "dataset-jsonld", "agency-ttl", "agency-jsonld"} <= names
    assert {f"catalog-{f}" for f in ("ttl", "rdf", "jsonld", "nt")} <= names
    assert {f"void-{f}" for f in ("ttl", "rdf", "jsonld", "nt")} <= names


def test_no_url_is_asked_twice(rows):
    paths = [path for row in rows for path, _ in row.requests]
    assert len(paths) == len(set(paths))
    for row in rows:
        assert len(row.measured) == COUNT, row.name  # at 100,000 every kind has enough to ask for
        assert row.held_back not in row.measured


def test_search_rows_never_share_a_text(rows):
    seen: dict[str, str] = {}
    for row in rows:
        if not row.name.startswith("search") or row.name.startswith("search-browse"):
            continue
        for path, _ in row.requests:
            text = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["q"][0]
            assert seen.setdefault(text, row.name) == row.name, f"{text!r} in {seen[text]} and {row.name}"


def test_catalogue_rows_ask_for_the_first_middle_and_last_page(rows):
    last = -(-99_700 // 100)
    for row in rows:
        if row.name.startswith("catalog-"):
            pages = [int(p.rsplit("=", 1)[1]) for p, _ in row.measured]
            assert {1, (last + 1) // 2, last} <= set(pages)
            assert max(pages) == last


@pytest.mark.slow
def test_the_benchmark_end_to_end(tmp_path):
    """A real ingest of 300 generated datasets, the server as kg serve starts it, every row."""
    argv = [sys.executable, str(ROOT / "bench" / "ui.py"), "--n", "300", "--ingested", "--requests", "2"]
    argv += ["--new-generation", "--no-write", "--out", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (result_file,) = tmp_path.glob("ui-*.json")
    result = json.loads(result_file.read_text())
    assert len(result["rows"]) == 44
    for name, row in result["rows"].items():
        assert row["statuses"] == {"200": row["requests"]} and row["requests"] >= 1, (name, row)
        assert row["server_cpu_ms_per_request"] is not None
    fresh = result["new_generation"]["rows"]
    assert fresh.keys() == result["rows"].keys()
    assert {r["status"] for r in fresh.values()} == {"200"}
    assert "| dataset |" in done.stdout and "First request of each kind on a new generation" in done.stdout


def test_at_a_million_every_page_asked_for_is_one_the_site_serves():
    from kg.search.query import MAX_PAGE

    facts = _facts()
    facts.datasets = facts.catalog_members = 995_000
    rows = {r.name: r for r in plans(1_000_000, 1, 50, facts, 100)}
    for name in ("search-browse", "search-browse-json"):
        pages = [
            int(urllib.parse.parse_qs(urllib.parse.urlsplit(p).query)["page"][0])
            for p, _ in rows[name].requests
        ]
        assert max(pages) == MAX_PAGE
    catalog = [int(p.rsplit("=", 1)[1]) for p, _ in rows["catalog-ttl"].measured]
    assert max(catalog) == 9_950


def test_dataset_rows_draw_published_datasets_only():
    """A quarantined dataset's page is a (correct) 404: the rows ask for the next published one
    instead, and every other row asks for what it asked before."""
    facts = _facts()
    before = {r.name: r.requests for r in plans(N, 1, COUNT, facts, 100)}
    drawn = [p for p, _ in before["dataset"]] + [p for p, _ in before["dataset-json"]]
    held = {f"{BASE}dataset/{p.split('/')[2].split('?')[0]}" for p in drawn[::7]}
    facts.published = lambda iris: {i for i in iris if i not in held}  # type: ignore[method-assign]
    after = {r.name: r.requests for r in plans(N, 1, COUNT, facts, 100)}
    for name in ("dataset", "dataset-json", "dataset-ttl", "dataset-jsonld", "distribution"):
        asked = {f"{BASE}dataset/{p.split('/')[2].split('?')[0].removesuffix('-0')}" for p, _ in after[name]}
        assert not asked & held, name
        assert len(after[name]) == len(before[name]), name
    paths = [p for row in after.values() for p, _ in row]
    assert len(paths) == len(set(paths))
    assert {k: v for k, v in after.items() if not k.startswith(("dataset", "distribution"))} == {
        k: v for k, v in before.items() if not k.startswith(("dataset", "distribution"))
    }


def test_a_store_without_quality_data_skips_the_quality_rows():
    """A bulk-loaded store has no quality data: its /quality rows say so instead of measuring nothing."""
    facts = _facts()
    bare = StoreFacts(
        **{**facts.__dict__, "quality_sources": [], "quality_lengths": {"": (0, 0)}},
    )
    quality = [r for r in plans(N, 1, COUNT, bare, 100) if r.name.startswith("quality")]
    assert len(quality) == 6
    assert all(r.skipped and not r.requests for r in quality)


def test_a_row_that_measured_nothing_is_not_met():
    from bench.ui import verdict

    row = {"requests": 0, "p50_ms": 0.0, "p95_ms": 0.0, "statuses": {}}
    assert verdict(row, N).startswith("MISSED")
    assert verdict({**row, "requests": 3, "p50_ms": 5.0, "p95_ms": 9.0, "statuses": {"200": 3}}, N) == "met"
