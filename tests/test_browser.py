"""The site in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

A person's path through the bundled sample, on the real app under gunicorn (tests/live.py):
the home page, a search, ticking a facet, a dataset, its publisher's agency page, the SPARQL
editor running an example, the quality and catalogue pages, the skip link from the keyboard,
and a phone-sized screen. Each page is saved as a screenshot under tests/artifacts/ (ignored by
git) for people to look at.

Skipped, with the reason, when /usr/bin/chromium or the ``playwright`` package is missing;
``.ci/run`` installs both, so CI runs them. The browser never leaves 127.0.0.1: every request
elsewhere is refused and fails the test.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from live import serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # these keep Chromium off the network
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000

if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:
    pytest.skip(
        "browser tests need the playwright package, from the test extra: pip install -e '.[test]'",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("browser") / "store") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A fresh page on the live server, recording script errors and requests that leave it."""

    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", self._route)

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, path: str) -> None:
        response = self.page.goto(urllib.parse.urljoin(self.base, path))
        assert response is not None and response.status == 200, (path, response and response.status)

    def path(self) -> str:
        return urllib.parse.urlsplit(self.page.url).path

    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.page.url).query)

    def shot(self, name: str, *, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)

    def no_horizontal_scroll(self) -> None:
        width, inner = self.page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width <= inner + 1, f"{self.path()} scrolls sideways: {width}px wide in {inner}px"


@pytest.fixture
def tab(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = Tab(context.new_page(), str(live))
    yield tab
    context.close()
    assert tab.errors == [], f"script errors: {tab.errors}"
    assert tab.outside == [], f"requests that left the server: {tab.outside}"


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
