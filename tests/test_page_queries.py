"""No aggregate page issues a query whose cost grows with the catalogue.

That is hard to test directly; what is tested instead: each aggregate page and its JSON twin
makes a small, fixed number of store queries (counted through :class:`kg.evaluation.page_store.TimedStore`, as
the debug log line reports them), the same on a 10-dataset and on a 500-dataset store; the pages
that read only the derived data (:mod:`kg.derived`) make none. And the debug line itself: the
count, the total time and the slowest query's first line.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest
from conftest import ROOT, make_settings

from kg.ingest.run import ingest
from kg.settings import Settings
from kg.web.app import build_app

PAGES = {  # path -> the most store queries it may make (0: derived data only)
    "/": 0,
    "/index.json": 0,
    "/quality": 0,
    "/quality.json": 0,
    "/quality?source=gen": 0,
    "/quality.json?agency={agency}": 0,  # the agency publishing most datasets
    "/quality.json?source=gen&qpage=1": 0,
    "/.well-known/void": 0,
    "/agencies": 0,
    "/agencies.json?q=unit&type=unit": 0,
    # a page in an RDF syntax joins the triples derived per node with the generation
    # (kg.derived.descriptions): none asked of the store
    "/catalog.ttl": 0,
    "/catalog.rdf": 0,
    "/catalog.jsonld": 0,
    "/catalog.nt": 0,
    # the HTML page and its JSON twin list the members' titles, publishers and dates: a dataset's from
    # the derived data (only a data service's are asked of the store)
    "/catalog?page=1": 0,
    "/catalog.json?page=1": 0,
}
HTML = {"/", "/quality", "/quality?source=gen", "/agencies", "/catalog?page=1"}


def _store(tmp_path_factory: pytest.TempPathFactory, n: int) -> Settings:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    gen = sys.modules.get("bench_generate")
    if gen is None:
        gen = importlib.util.module_from_spec(spec)
        sys.modules["bench_generate"] = gen
        spec.loader.exec_module(gen)
    folder = tmp_path_factory.mktemp(f"n{n}")
    csv = gen.generate(n, 2, "csv", folder / "csv")
    settings = make_settings(folder / "store", catalog_page_size=10, log_level="debug")
    summary = ingest(str(csv), settings=settings, source="gen")
    assert summary.published > n
    return settings


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _store(tmp_path_factory, 10)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _store(tmp_path_factory, 500)


class Lines(logging.Handler):
    """The debug lines of the request log, parsed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.DEBUG:
            self.lines.append(json.loads(record.getMessage()))


@pytest.fixture
def debug_lines():
    handler = Lines()
    log = logging.getLogger("kg.requests")
    log.addHandler(handler)
    yield handler
    log.removeHandler(handler)


def queries_of(settings: Settings, lines: Lines) -> dict[str, int]:
    client = build_app(settings).test_client()
    agency = client.get("/index.json").get_json()["agencies"][0]["agency"]
    out = {}
    for path in PAGES:
        lines.lines.clear()
        accept = "text/html" if path in HTML else "application/json"
        response = client.get(path.format(agency=agency), headers={"Accept": accept})
        assert response.status_code == 200, (path, response.data[:300])
        (line,) = lines.lines
        assert line["path"] == path.split("?")[0] and line["status"] == 200
        out[path] = line["queries"]
    return out


def test_each_page_makes_the_same_few_queries_whatever_the_size(small, large, debug_lines) -> None:
    few, many = queries_of(small, debug_lines), queries_of(large, debug_lines)
    assert few == many
    for path, most in PAGES.items():
        assert few[path] <= most, (path, few[path])
        if most == 0:
            assert few[path] == 0, path
        else:
            assert few[path] > 0, path


def test_a_later_catalogue_page_asks_the_store_nothing(small, large, debug_lines) -> None:
    """Page 2 holds other members in each store, whose descriptions reach other nodes."""
    for settings in (small, large):
        client = build_app(settings).test_client()
        for fmt in ("ttl", "nt"):
            debug_lines.lines.clear()
            response = client.get(f"/catalog.{fmt}?page=2")
            assert response.status_code == 200 and b"title" in response.data  # described, not only linked
            (line,) = debug_lines.lines
            assert line["queries"] == 0


def test_the_debug_line_names_the_slowest_query(small, debug_lines) -> None:
    client = build_app(small).test_client()  # queries in a thread
    dataset = client.get("/catalog.json?page=2").get_json()["items"][0]["link"]
    debug_lines.lines.clear()
    response = client.get(dataset, headers={"Accept": "text/html"})
    assert response.status_code == 200
    (line,) = debug_lines.lines
    assert line["path"] == dataset.split("?")[0] and line["queries"] > 0
    assert 0 < line["slowest_ms"] <= line["query_ms"]
    assert line["slowest"].split()[0] in ("CONSTRUCT", "SELECT") and "\n" not in line["slowest"]
    debug_lines.lines.clear()
    client.get("/quality.json")
    (line,) = debug_lines.lines
    assert line == {
        "path": "/quality.json",
        "status": 200,
        "queries": 0,
        "query_ms": 0.0,
        "slowest_ms": 0.0,
        "slowest": "",
    }


def test_no_debug_line_at_the_default_level(small, debug_lines) -> None:
    client = build_app(dataclasses.replace(small, log_level="info")).test_client()
    assert client.get("/catalog.json").status_code == 200
    assert debug_lines.lines == []


def test_settings_refuse_an_unknown_log_level(tmp_path: Path) -> None:
    from kg.settings import load_settings

    assert load_settings({"KG_LOG_LEVEL": "DEBUG", "KG_STORE": str(tmp_path)}).log_level == "debug"
    with pytest.raises(ValueError, match="KG_LOG_LEVEL"):
        load_settings({"KG_LOG_LEVEL": "verbose"})
