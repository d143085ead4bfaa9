"""The site in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

A person's path through the bundled sample, on the real app under gunicorn (tests/live.py):
the home page, a search, ticking a facet, a dataset, its publisher's agency page, the SPARQL
editor running an example, the quality and catalogue pages, the skip link from the keyboard,
and a phone-sized screen; then every other kind of page once (distribution, data service, the
agency directory, a source's and an agency's quality, ``/resource``, an error page). Each page
is saved as a screenshot under tests/artifacts/ (ignored by git) for people to look at; the
agency directory and an agency's page are tested in depth in tests/test_browser_agencies.py.

Skipped, with the reason, when /usr/bin/chromium or the ``playwright`` package is missing
(tests/browsing.py); ``.ci/run`` installs both, so CI runs them. The browser never leaves
127.0.0.1: every request elsewhere is refused and fails the test.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from browsing import require_chromium
from live import serve

require_chromium()

from browsing import Tab, chromium, tab_on  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("browser") / "store") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def tab(browser, live):
    with tab_on(browser, str(live)) as tab:
        yield tab


def results_total(tab: Tab) -> int:
    heading = tab.page.locator("#results-heading").inner_text()
    found = re.match(r"([\d,]+) datasets?", heading)
    assert found, heading
    return int(found.group(1).replace(",", ""))


def facet_count(tab: Tab, checkbox_id: str) -> int:
    text = tab.page.locator(f"label[for='{checkbox_id}'] .n").inner_text()
    return int(text.strip("()").replace(",", ""))


def test_home(tab):
    tab.open("/")
    expect(tab.page.locator("main h1")).to_be_visible()
    counts = tab.page.locator("ul.counts li")
    assert counts.count() >= 3
    text = counts.all_inner_texts()
    assert any(re.match(r"44\s+datasets?", t) for t in text), text
    assert tab.page.locator("main .bar").count() > 0
    tab.shot("home.png")


def test_from_the_home_page_a_theme_and_a_recent_dataset_are_a_click_away(tab):
    tab.open("/")
    theme = tab.page.locator("main section", has_text="Datasets per theme").locator(".bar").first
    label = theme.locator(".label a").inner_text()
    shown = int(theme.locator(".n").inner_text())
    theme.locator(".label a").click()
    tab.page.wait_for_url(re.compile(r"/datasets\?"))
    assert tab.path() == "/datasets" and len(tab.query()["theme"]) == 1
    assert results_total(tab) == shown > 0
    ticked = tab.page.locator("aside.datasets-facets input[name='theme']:checked")
    assert (
        ticked.count() == 1
        and label in tab.page.locator(f"label[for='{ticked.get_attribute('id')}']").inner_text()
    )

    tab.open("/")
    recent = tab.page.locator("main section", has_text="Recently modified").locator("ol li a").first
    title = recent.inner_text()
    recent.click()
    tab.page.wait_for_url(re.compile(r"/dataset/"))
    expect(tab.page.locator("main h1")).to_have_text(title)


def test_search_then_tick_a_facet(tab):
    tab.open("/")
    box = tab.page.locator("header.site #site-search")
    box.fill("air")
    box.press("Enter")
    tab.page.wait_for_url(re.compile(r"/datasets\?"))
    assert tab.path() == "/datasets" and tab.query()["q"] == ["air"]
    hits = tab.page.locator("ol.hits > li")
    expect(hits.first).to_be_visible()
    total = results_total(tab)
    assert total == hits.count() > 1
    expect(tab.page.locator("ol.hits mark").first).to_have_text(re.compile("air", re.I))
    tab.shot("search.png")

    # A theme that only some of the hits have: ticking it narrows the results to its count.
    themes = tab.page.locator("fieldset:has(legend:text-is('Theme')) input[type=checkbox]")
    assert themes.count() > 0
    pick = None
    for i in range(themes.count()):
        candidate = themes.nth(i).get_attribute("id")
        if 0 < facet_count(tab, candidate) < total:
            pick = candidate
            break
    assert pick, "no theme facet narrows the search"
    expected = facet_count(tab, pick)
    value = tab.page.locator(f"#{pick}").get_attribute("value")
    tab.page.locator(f"#{pick}").click()
    expect(tab.page.locator(f"#{pick}")).to_be_checked()
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Apply filters").click()
    assert tab.query()["theme"] == [value] and tab.query()["q"] == ["air"]
    expect(tab.page.locator(f"#{pick}")).to_be_checked()
    assert results_total(tab) == expected < total
    assert tab.page.locator("ol.hits > li").count() == expected
    tab.shot("search-facet.png")


def test_dataset_then_its_publisher(tab):
    tab.open("/datasets?q=nitrogen")
    link = tab.page.locator("ol.hits > li h3 a").first
    title = link.inner_text().strip()
    assert title
    link.click()
    tab.page.wait_for_url(re.compile(r"/dataset/"))
    expect(tab.page.locator("main h1")).to_have_text(title)
    expect(tab.page.locator("article.resource .kind")).to_contain_text("Dataset")
    assert tab.page.locator("article.resource .card").count() > 0  # its distributions
    tab.shot("dataset.png")

    publisher = tab.page.locator("dl.facts dt:text-is('Publisher') + dd a").first
    name = publisher.inner_text().strip()
    publisher.click()
    tab.page.wait_for_url(re.compile(r"/agency/"))
    expect(tab.page.locator("main h1")).to_have_text(name)
    expect(tab.page.locator("article.resource .kind")).to_contain_text("Agency")
    tree = tab.page.locator(".tree")
    expect(tab.page.locator("#tree-h")).to_be_visible()
    expect(tree.locator("[aria-current=page]")).to_have_text(name)
    assert tree.locator("a").count() >= 1, "the unit's parent bodies are not shown"
    tab.shot("agency.png")


def test_query_page_runs_an_example(tab):
    tab.open("/query")
    expect(tab.page.locator(".editor.enhanced pre.highlight")).to_be_attached()  # query.js ran
    tab.page.evaluate("window.stayed = true")  # gone if the page reloads instead of fetching
    example = tab.page.locator("#examples #example-themes")
    example.click()
    editor = tab.page.locator("#query-editor")
    expect(editor).to_have_value(example.get_attribute("data-query"))
    rows = tab.page.locator("#results table tbody tr")
    expect(rows.first).to_be_visible()
    tab.page.locator("#results").evaluate("node => { node.textContent = ''; }")
    tab.page.locator("#run-query").click()
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    expect(tab.page.locator("#results .count")).to_have_text(f"{rows.count()} rows.")
    assert tab.page.evaluate("window.stayed") is True
    assert tab.path() == "/query" and "query" in tab.query()
    tab.shot("query.png")


@pytest.mark.parametrize(
    ("path", "heading", "shot"),
    [("/quality", "Metadata quality", "quality.png"), ("/catalog", "Catalogue", "catalog.png")],
)
def test_quality_and_catalogue(tab, path, heading, shot):
    tab.open(path)
    expect(tab.page.locator("main h1")).to_have_text(heading)
    assert tab.page.locator("main table tbody tr").count() > 0
    tab.shot(shot)


def test_skip_link_is_the_first_tab_stop(tab):
    tab.open("/datasets")
    tab.page.keyboard.press("Tab")
    skip = tab.page.locator("a.skip")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, f"the focused skip link is off screen: {box}"
    tab.shot("skip-link.png", full_page=False)
    tab.page.keyboard.press("Enter")
    # the fragment navigation follows the key press: wait for it (read at once, it lost the race
    # under load, 2 runs in 20)
    tab.page.wait_for_function("location.hash === '#main'")
    assert urllib.parse.urlsplit(tab.page.url).fragment == "main"
    tab.page.keyboard.press("Tab")  # the next stop is the first control in main, not the header's
    assert tab.page.evaluate("document.activeElement.closest('main') !== null")
    expect(tab.page.locator("main #q")).to_be_focused()


def test_phone_width(tab):
    tab.page.set_viewport_size({"width": 390, "height": 844})
    pages = [
        ("/", "home-phone.png"),
        ("/datasets?q=air", "search-phone.png"),
        ("/dataset/vea-air-no2-hourly", "dataset-phone.png"),
    ]
    for path, shot in pages:
        tab.open(path)
        expect(tab.page.locator("main h1")).to_be_visible()
        tab.no_horizontal_scroll()
        tab.shot(shot)


@pytest.mark.parametrize(
    ("path", "kind", "heading", "shot"),
    [
        ("/distribution/vea-air-no2-hourly-csv", "Distribution", None, "distribution.png"),
        ("/service/vea-air-quality-api", "Data service", "Air quality API", "service.png"),
        ("/agencies", None, "Agencies", "agencies.png"),
        ("/quality?source=sample", None, "Metadata quality", "quality-source.png"),
        ("/quality?agency={base}agency/vea-air", None, "Metadata quality", "quality-agency.png"),
        (
            "/resource?uri=http://publications.europa.eu/resource/authority/data-theme/ENVI",
            "Resource",
            None,
            "resource.png",
        ),
    ],  # fmt: skip
)
def test_every_other_page_kind(tab, live, path, kind, heading, shot):
    tab.open(path.format(base=urllib.parse.quote(str(live), safe="")))
    expect(tab.page.locator("main h1")).to_be_visible()
    if kind:
        expect(tab.page.locator("article.resource .kind")).to_contain_text(kind)
    if heading:
        expect(tab.page.locator("main h1")).to_have_text(heading)
    tab.shot(shot)


def test_quality_views_of_a_source_and_an_agency_follow_from_the_quality_page(tab):
    tab.open("/quality")
    with tab.page.expect_navigation():
        tab.page.locator("main a[href*='source=sample']").first.click()
    assert tab.query()["source"] == ["sample"]
    expect(tab.page.locator("main h1")).to_have_text("Metadata quality")
    tab.page.go_back()
    with tab.page.expect_navigation():
        tab.page.locator("main a[href*='quality?agency=']").first.click()
    assert tab.path() == "/quality" and tab.query()["agency"][0].startswith(tab.base)


def test_an_error_page(tab):
    tab.open("/dataset/no-such-dataset", status=404)
    expect(tab.page.locator("main h1")).to_contain_text("404")
    expect(tab.page.locator("header.site #site-search")).to_be_visible()  # a way on from here
    tab.shot("error-404.png")
    expected = [e for e in tab.errors if "status of 404" in e]  # the console's note of the page's own status
    assert len(expected) == 1
    tab.errors.remove(expected[0])
