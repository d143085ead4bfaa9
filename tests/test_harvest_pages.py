"""Paged RDF catalogues harvested page by page: our own ``/catalog`` under gunicorn on a real socket
(paged by KG_CATALOG_PAGE_SIZE, in four RDF syntaxes) harvested into a second store, and the
loopback portal serving real portal files and hand-made pages for what a portal can get wrong:
a loop, a page that fails half-way, a next link to another host, too many pages, a next link
that is not http(s). Real on-disk stores; nothing is mocked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import make_settings, snapshot
from harvest_portal import FLORIDA, VANVES, Portal
from live import serve

from kg.errors import InputError
from kg.factory import store_for
from kg.harvest.pages import paged_catalogue
from kg.harvest.run import client_for, harvest_all, harvest_source
from kg.harvest.sources import SourceSpec
from kg.readers.http import HttpClient
from kg.settings import Settings
from kg.store.harvest_state import load_states

SPORTS = "real-portals/dcat-ap-rdf/data.mvcr.gov.cz-ciselnik-sporty.jsonld"  # JSON-LD, 1 dataset
HYDRA = "http://www.w3.org/ns/hydra/core#"
# a statement of the paging: a Hydra property, or a Hydra class
PAGING = (
    "SELECT (COUNT(*) AS ?all) (SUM(IF(STRSTARTS(STR(?p), ?h) || STRSTARTS(STR(?o), ?h), 1, 0)) AS ?paging) "
    f'WHERE {{ GRAPH <http://kg.test/graph/ours> {{ ?s ?p ?o }} BIND("{HYDRA}" AS ?h) }}'
)
DATASETS = "SELECT DISTINCT ?d WHERE { ?d a <http://www.w3.org/ns/dcat#Dataset> }"


def quick(where: Path) -> Settings:
    """A fresh store; one retry after 10 ms, no pause per host, 5 s to answer."""
    return make_settings(where, http_retries=1, http_backoff=0.01, http_host_interval=0.0, http_timeout=5.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return quick(tmp_path / "store")


def real(shared: Path, name: str) -> bytes:
    return (shared / "data" / name).read_bytes()


def harvest(spec: SourceSpec, settings: Settings):  # noqa: ANN201 - kg.harvest.run.Outcome
    return harvest_source(spec, settings=settings, client=client_for(settings))


def datasets(settings: Settings) -> set[str]:
    return {row[0].value for row in store_for(settings).query(DATASETS)}


def paged_graph(lines: tuple[str, ...]) -> list[str]:
    """The source "paged"'s quads of a snapshot, blank nodes unnamed."""
    return sorted(re.sub(r"_:\S+", "_:", line) for line in lines if "<http://kg.test/graph/paged>" in line)


def page(number: int, following: str | None = None, *, old_terms: bool = False, title: str = "") -> bytes:
    """A hand-made catalogue page in Turtle: one dataset with a blank-node contact point labelled
    ``_:c`` on every page, and a view naming the next page (Hydra's older terms when asked)."""
    view = f"<#view{number}> a hydra:{'PagedCollection' if old_terms else 'PartialCollectionView'}"
    if following:
        view += f" ; hydra:{'nextPage' if old_terms else 'next'} <{following}>"
    return f"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <{HYDRA}> . @prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
<http://portal.test/catalog> a dcat:Catalog, hydra:Collection ; dct:title "Paged portal"@en ;
    dcat:dataset <http://portal.test/dataset/{number}> ; hydra:view <#view{number}> .
{view} .
<http://portal.test/dataset/{number}> a dcat:Dataset ; dct:title "{title or f"Dataset {number}"}"@en ;
    dct:description "The dataset of page {number}."@en ; dcat:contactPoint _:c .
_:c a vcard:Kind ; vcard:fn "Desk {number}" .
""".encode()


def serve_pages(portal: Portal, count: int, **options: object) -> list[str]:
    """``count`` hand-made pages at /p1 … chained by their next links; their URLs."""
    urls = [portal.url(f"/p{n}") for n in range(1, count + 1)]
    for n in range(1, count + 1):
        following = urls[n] if n < count else None
        portal.serve(f"/p{n}", page(n, following, **options), content_type="text/turtle", etag=f'"p{n}"')
    return urls


def test_our_own_catalogue_over_a_real_socket_in_four_syntaxes(tmp_path: Path) -> None:
    """gunicorn serving the sample paged 10 a page (5 pages): each syntax brings all 44 datasets
    into a second store; the paging's own statements stay out; the same pages are unchanged."""
    with serve(tmp_path / "served" / "store", KG_CATALOG_PAGE_SIZE="10") as live:
        served = {row[0].value for row in store_for(make_settings(live.store)).query(DATASETS)}
        assert len(served) == 44
        for fmt in (None, "xml", "jsonld", "nt"):
            into = quick(tmp_path / f"into-{fmt}" / "store")
            spec = SourceSpec("ours", live + "catalog", fmt)
            outcome = harvest(spec, into)
            assert outcome.outcome == "published", (fmt, outcome.reason)
            assert datasets(into) == served, fmt
            ((every, paging),) = [(int(r[0].value), int(r[1].value)) for r in store_for(into).query(PAGING)]
            assert every > 1000 and paging == 0, fmt
            state = load_states(into.store)["ours"]
            assert (state.etag, state.last_modified) == ("", "")  # several pages: no validators kept
        again = harvest(spec, into)
        assert (again.outcome, again.reason) == (
            "unchanged",
            "the same 5 pages (SHA-256) as the last harvest",
        )


def test_pages_in_other_syntaxes_and_old_terms_with_their_own_blank_nodes(
    settings: Settings, portal: Portal, shared: Path
) -> None:
    """A real RDF/XML catalogue page (data.gouv.fr) whose view leads to hand-made Turtle pages in
    Hydra's older terms (PagedCollection, nextPage), then to a real JSON-LD document, the last
    page: every page's datasets arrive, and ``_:c`` on one page is not ``_:c`` on the next."""
    vanves = real(shared, VANVES).replace(
        b'<hydra:first rdf:resource="',
        f'<hydra:next rdf:resource="{portal.url("/p2")}"/>\n    <hydra:first rdf:resource="'.encode(),
    )
    portal.serve("/catalog.rdf", vanves, content_type="application/rdf+xml")
    portal.serve("/p2", page(2, portal.url("/p3"), old_terms=True), content_type="text/turtle")
    portal.serve("/p3", page(3, portal.url("/sports"), old_terms=True), content_type="text/turtle")
    portal.serve("/sports", real(shared, SPORTS), content_type="application/ld+json")
    outcome = harvest(SourceSpec("paged", portal.url("/catalog.rdf"), None), settings)
    assert outcome.outcome == "published", outcome.reason
    found = datasets(settings)
    assert {"http://portal.test/dataset/2", "http://portal.test/dataset/3"} <= found
    assert len([d for d in found if "opendatasoft" in d]) == 2 and len(found) >= 5
    desks = store_for(settings).query(
        "SELECT ?d (COUNT(DISTINCT ?fn) AS ?n) WHERE { ?d <http://www.w3.org/ns/dcat#contactPoint> ?c . "
        "?c <http://www.w3.org/2006/vcard/ns#fn> ?fn FILTER STRSTARTS(STR(?d), 'http://portal.test/') } "
        "GROUP BY ?d"
    )
    assert sorted((row[0].value, int(row[1].value)) for row in desks) == [
        ("http://portal.test/dataset/2", 1),
        ("http://portal.test/dataset/3", 1),
    ]
    assert [r.path for r in portal.requests] == ["/catalog.rdf", "/p2", "/p3", "/sports"]


def test_a_first_page_unchanged_is_not_enough(settings: Settings, portal: Portal) -> None:
    """Every harvest reads every page, unconditionally: a change on page 2 alone is published."""
    urls = serve_pages(portal, 2)
    spec = SourceSpec("paged", urls[0], "ttl")
    assert harvest(spec, settings).outcome == "published"
    before = store_for(settings).version()
    again = harvest(spec, settings)
    assert (again.outcome, again.reason) == ("unchanged", "the same 2 pages (SHA-256) as the last harvest")
    assert "if-none-match" not in portal.asked("/p1")[-1].headers and store_for(settings).version() == before
    portal.routes["/p2"].change(page(2, title="Dataset 2, revised"), etag='"p2"')  # the same ETag, even
    changed = harvest(spec, settings)
    assert changed.outcome == "published" and store_for(settings).version() != before
    titles = store_for(settings).query('ASK { ?d <http://purl.org/dc/terms/title> "Dataset 2, revised"@en }')
    assert bool(titles)


@pytest.mark.parametrize(
    "broken",
    ["loop", "500", "html", "not-http"],
)
def test_a_broken_paging_fails_the_source_and_leaves_it_as_it_was(
    settings: Settings, portal: Portal, shared: Path, broken: str
) -> None:
    """A published source, then its third page loops back, answers 500 (after the retries) or an
    HTML page, or names a file: URL: the source fails naming the page, the store and the state's
    validators stay; the next source (a real data.json) is published all the same."""
    urls = serve_pages(portal, 3)
    paged = SourceSpec("paged", urls[0], None)
    assert harvest(paged, settings).outcome == "published"
    before, state = snapshot(settings), load_states(settings.store)["paged"]
    if broken == "loop":
        portal.routes["/p3"].change(page(3, urls[0]))
    elif broken == "not-http":
        portal.routes["/p3"].change(page(3, "file:///etc/passwd"))
    else:
        portal.routes["/p3"].plan = [broken]
    portal.serve("/data.json", real(shared, FLORIDA))
    florida = SourceSpec("florida", portal.url("/data.json"), "data.json")
    outcomes = harvest_all([paged, florida], settings=settings, report=lambda o: None)
    failed = outcomes[0]
    assert failed.outcome == "failed" and failed.exit_code == 2
    reason = {
        "loop": f"{urls[2]}: page 3's next link {urls[0]} leads back to a page read before",
        "not-http": f"{urls[2]}: page 3's next link file:///etc/passwd is not an http(s) URL",
        "500": f"{urls[2]}: the server answered HTTP 500",
        "html": f"{urls[2]}: the server answered with an HTML page",
    }[broken]
    assert failed.reason.startswith(reason), failed.reason
    assert outcomes[1].outcome == "published"
    # florida made a new generation, whose blank nodes have new ids
    assert paged_graph(before) and paged_graph(snapshot(settings)) == paged_graph(before)
    after = load_states(settings.store)["paged"]
    assert (after.outcome, after.run, after.sha256) == ("failed", state.run, state.sha256)


def test_a_next_link_to_another_host_gets_no_credentials(settings: Settings, portal: Portal) -> None:
    """Page 1 on the source's host, with its Authorization; page 2 on another (a second server):
    followed, without the header; a page there that wants it fails, saying why."""
    with Portal() as other:
        other.serve("/p2", page(2), content_type="text/turtle")
        portal.serve("/p1", page(1, other.url("/p2")), content_type="text/turtle")
        secret = {"Authorization": "Bearer s3cret"}
        spec = SourceSpec("paged", portal.url("/p1"), "ttl", headers=secret)
        assert harvest(spec, settings).outcome == "published"
        assert portal.asked("/p1")[0].headers["authorization"] == "Bearer s3cret"
        assert "authorization" not in other.asked("/p2")[0].headers
        assert datasets(settings) == {"http://portal.test/dataset/1", "http://portal.test/dataset/2"}
        other.routes["/p2"].require = secret
        other.routes["/p2"].change(page(2, title="Dataset 2, revised"))
        failed = harvest(spec, settings)
        assert failed.outcome == "failed"
        assert failed.reason == (
            f"{other.url('/p2')}: the server answered HTTP 401 Unauthorized "
            "(the source's headers are sent to its own host only)"
        )


def test_the_cap_on_pages(portal: Portal, tmp_path: Path) -> None:
    urls = serve_pages(portal, 3)
    first = HttpClient(timeout=5.0).get(urls[0])
    spec = SourceSpec("paged", urls[0], "ttl")
    with pytest.raises(InputError, match="stopped after 2 pages: the catalogue has more") as caught:
        paged_catalogue(spec, first, tmp_path, HttpClient(timeout=5.0), accept="text/turtle", max_pages=2)
    assert caught.value.file == urls[1]
    found = paged_catalogue(spec, first, tmp_path, HttpClient(timeout=5.0), accept="text/turtle", max_pages=3)
    assert found is not None and found.pages == 3
