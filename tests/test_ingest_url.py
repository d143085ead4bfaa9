"""``kg ingest URL`` and ``kg validate URL`` as a person runs them, against a real HTTP server on
127.0.0.1: the URL fetched as ``kg harvest`` fetches it, on one client with the same settings
(KG_HTTP_RETRIES, KG_HTTP_BACKOFF, KG_HTTP_HOST_INTERVAL, KG_HTTP_TIMEOUT): a document named by
--format, a paged catalogue followed to its end, a CKAN portal retried after a 503, a failure
that leaves the store as it was and names the URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import snapshot
from harvest_portal import FLORIDA, Portal
from in_process import kg_here
from test_harvest_pages import page

from kg.readers.http import USER_AGENT
from kg.settings import Settings

FAMILY_PASS = "real-portals/ckan-json/dati.trentino.it-euregio-family-pass.package_show.json"


@pytest.fixture
def env(kg_env: dict[str, str]) -> dict[str, str]:
    return kg_env | {"KG_HTTP_RETRIES": "2", "KG_HTTP_BACKOFF": "0.01", "KG_HTTP_HOST_INTERVAL": "0.3"}


def test_a_document_url_retried_after_a_503(
    portal: Portal, shared: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """A data.json URL (--format data.json) answering 503 then 200: published after one retry, as
    the same file ingested from disk is."""
    portal.serve("/data.json", (shared / "data" / FLORIDA).read_bytes(), plan=["503", "ok"])
    result = kg_here(
        "ingest", portal.url("/data.json"), "--format", "data.json", "--source", "florida", env=env
    )
    assert result.returncode == 0, result.stderr
    count = "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }"
    local = env | {"KG_STORE": str(tmp_path / "local")}
    assert kg_here("ingest", str(shared / "data" / FLORIDA), "--source", "florida", env=local).returncode == 0
    datasets = kg_here("query", count, "--format", "csv", env=env).stdout.split()
    assert (
        datasets == kg_here("query", count, "--format", "csv", env=local).stdout.split()
        and datasets[1] != "0"
    )
    asked = portal.asked("/data.json")
    assert len(asked) == 2 and asked[0].headers["user-agent"] == USER_AGENT
    assert asked[1].at - asked[0].at > 0.25  # KG_HTTP_HOST_INTERVAL (0.3 s, as the client counts it)
    listed = kg_here("sources", env=env)
    assert "florida" in listed.stdout and portal.url("/data.json") in listed.stdout


def test_a_paged_catalogue_url_in_turtle(portal: Portal, env: dict[str, str]) -> None:
    """--format ttl on a paged catalogue: every page followed (the pause per host kept), one source."""
    for n in (1, 2, 3):
        following = portal.url(f"/p{n + 1}") if n < 3 else None
        portal.serve(f"/p{n}", page(n, following), content_type="text/turtle")
    result = kg_here("ingest", portal.url("/p1"), "--format", "ttl", env=env)
    assert result.returncode == 0, result.stderr
    assert [r.path for r in portal.requests] == ["/p1", "/p2", "/p3"]
    assert all(b.at - a.at > 0.25 for a, b in zip(portal.requests, portal.requests[1:], strict=False))
    found = kg_here(
        "query", "SELECT ?d WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }", "--format", "csv", env=env
    )
    assert sorted(found.stdout.split()[1:]) == [f"http://portal.test/dataset/{n}" for n in (1, 2, 3)]
    listed = kg_here("sources", env=env)
    assert listed.stdout.splitlines()[2].startswith("127.0.0.1-"), listed.stdout  # named after the host


def test_a_ckan_portal_url_retried_and_a_failure_named(
    portal: Portal, shared: Path, env: dict[str, str], seeded: Settings
) -> None:
    """A CKAN package_show URL (no --format: a portal) answering 500 twice then 200 is published;
    one that answers 500 past the retries fails with exit 2, naming the URL and the attempts, and
    the store stays as it was; kg validate URL reads the same way."""
    path = "/api/3/action/package_show?id=euregio-family-pass"
    portal.serve(path, (shared / "data" / FAMILY_PASS).read_bytes(), plan=["500", "500", "ok"])
    result = kg_here("ingest", portal.url(path), "--source", "trentino", env=env)
    assert result.returncode == 0, result.stderr
    assert len(portal.asked(path)) == 3
    before = snapshot(seeded)
    portal.routes[path].plan = ["500"]
    failed = kg_here("ingest", portal.url(path), "--source", "trentino", env=env)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert (
        failed.stderr.strip()
        == f"kg: {portal.url(path)}: the server answered HTTP 500 Internal Server Error (3 attempts)"
    )
    assert snapshot(seeded) == before
    portal.routes[path].plan = ["ok"]
    checked = kg_here("validate", portal.url(path), env=env)
    assert checked.returncode in (0, 1) and "Traceback" not in checked.stderr, checked.stderr
    assert snapshot(seeded) == before


def test_a_csv_url_is_refused(env: dict[str, str]) -> None:
    result = kg_here("ingest", "http://127.0.0.1:9/agencies.csv", "--format", "csv", env=env)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "kg: http://127.0.0.1:9/agencies.csv: a CSV folder is read from disk, not from a URL"
    )
