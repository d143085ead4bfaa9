"""The agency directory (``/agencies``) and an agency's page in a real browser (Debian's Chromium).

On the app under gunicorn (tests/live.py) serving the bundled sample and a second source, made
here, with an agency that publishes more datasets than a page lists (120 of its own, 5 in each of
its two units). Everything a person does here works without JavaScript, so these tabs run with
it turned off: the tree opens by its ``<details>``, the filters and the search box are a form,
the datasets are paged by links. Screenshots go to tests/artifacts/.

Skipped, with the reason, without /usr/bin/chromium or the ``playwright`` package (tests/browsing.py).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from browsing import require_chromium
from live import serve

require_chromium()

from browsing import Tab, chromium, tab_on  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.slow

OWN, PER_UNIT, LISTED = 120, 5, 50  # datasets of the agency, of each unit; a page lists 50


def paging_source(folder: Path) -> Path:
    """A ministry, an agency with two units, and their datasets (half on environment, half on
    transport), as a small CSV folder."""
    folder.mkdir()
    agencies = [
        ("pm", "Paging Ministry", "", "ministry", "PG-GOV-1", "info@pm.example", ""),
        ("pa", "Paging Agency", "pm", "agency", "PG-GOV-2", "contact@pa.example", "+999 1 2345"),
        ("pa-archive", "Archive Unit", "pa", "unit", "", "", ""),
        ("pa-survey", "Survey Unit", "pa", "unit", "", "", ""),
    ]
    datasets = [(f"pa-{i:03d}", "pa", ("ENVI", "TRAN")[i % 2]) for i in range(1, OWN + 1)]
    datasets += [(f"{u}-{i}", u, "ENVI") for u in ("pa-archive", "pa-survey") for i in range(1, PER_UNIT + 1)]
    _write(
        folder / "agencies.csv", ["id", "name", "parent", "type", "identifier", "email", "phone"], agencies
    )
    _write(
        folder / "datasets.csv",
        ["id", "title", "description", "publisher", "themes", "keywords", "licence"],
        [
            (d, f"Paging dataset {d}", f"Records {d} of the {p} body.", p, t, "paging", "CC-BY-4.0")
            for d, p, t in datasets
        ],
    )
    _write(
        folder / "distributions.csv",
        ["dataset", "id", "download_url", "format"],
        [(d, f"{d}-csv", f"https://files.paging.example/{d}.csv", "CSV") for d, _, _ in datasets],
    )
    return folder


def _write(path: Path, header: list[str], rows: list[tuple]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agencies")
    with serve(folder / "store") as server:
        server.ingest(paging_source(folder / "paging"), "paging")
        yield server


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def tab(browser, live):
    with tab_on(browser, str(live), java_script_enabled=False) as tab:
        yield tab


def matching(tab: Tab) -> list[str]:
    """Names of the bodies that match the filters (the greyed ones are their parents, for context)."""
    return [name.strip() for name in tab.page.locator(".tree .agency:not(.context) > a").all_inner_texts()]


def submit(tab: Tab) -> None:
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Show").click()


def test_the_tree_opens_without_javascript(tab):
    tab.open("/agencies")
    agency = tab.page.locator("details:has(> summary a:text-is('Veloria Environment Agency'))")
    unit = agency.locator("a:text-is('Water Quality Unit')")
    expect(agency).not_to_have_attribute("open", "")
    expect(unit).to_be_hidden()
    agency.locator("> summary small").first.click()  # the summary, not the agency's link in it
    expect(agency).to_have_attribute("open", "")
    expect(unit).to_be_visible()
    expect(agency.locator("a:text-is('Air Monitoring Unit')")).to_be_visible()
    assert tab.path() == "/agencies" and tab.query() == {}  # nothing was loaded: no script, no request
    tab.shot("agencies-open.png")


def test_the_search_box_and_the_filters_narrow_the_list(tab):
    tab.open("/agencies")
    everyone = tab.page.locator(".tree .agency").count()
    tab.page.locator("#agency-q").fill("water")
    submit(tab)
    assert tab.query()["q"] == ["water"]
    assert matching(tab) == ["Water Quality Unit"]
    expect(tab.page.locator("main")).to_contain_text("1 agency match")
    context = tab.page.locator(".tree .agency.context > a").all_inner_texts()
    assert context == ["Ministry of Environment and Infrastructure", "Veloria Environment Agency"]
    tab.shot("agencies-search.png")

    tab.page.locator("#agency-q").fill("")
    tab.page.locator("#agency-type").select_option("unit")
    submit(tab)
    assert tab.query() == {"type": ["unit"]}
    units = matching(tab)
    assert len(units) == 6 and "Archive Unit" in units and "Water Quality Unit" in units
    expect(tab.page.locator("main")).to_contain_text("6 agencies match")

    tab.page.locator("#agency-type").select_option("")
    tab.page.locator("#agency-source").select_option("paging")
    submit(tab)
    assert tab.query() == {"source": ["paging"]}
    assert sorted(matching(tab)) == ["Archive Unit", "Paging Agency", "Paging Ministry", "Survey Unit"]
    assert tab.page.locator(".tree .agency").count() < everyone
    tab.shot("agencies-filtered.png")


def test_an_agency_page_shows_who_it_is_and_where_it_sits(tab):
    tab.open("/agency/pa")
    expect(tab.page.locator("main h1")).to_have_text("Paging Agency")
    facts = tab.page.locator("article.resource > dl.facts")
    expect(facts.locator("dt:text-is('Identifier') + dd")).to_have_text("PG-GOV-2")
    expect(facts.locator("dt:text-is('Kind') + dd")).to_have_text("agency")
    contact = tab.page.locator("#contact")
    expect(contact.locator("a[href='mailto:contact@pa.example']")).to_be_visible()
    expect(contact).to_contain_text("+999 1 2345")

    tree = tab.page.locator(".tree")
    expect(tree.locator("a:text-is('Paging Ministry')")).to_be_visible()  # its parent
    me = tree.locator("li:has(> strong[aria-current=page])")
    expect(me.locator("> strong")).to_have_text("Paging Agency")
    assert me.locator("> ul > li > a").all_inner_texts() == ["Archive Unit", "Survey Unit"]  # its units
    expect(tree.locator("li:has(> a:text-is('Paging Ministry')) strong[aria-current=page]")).to_be_attached()
    tab.shot("agency-page.png")


def test_an_agency_page_pages_its_datasets(tab):
    tab.open("/agency/pa")
    section = tab.page.locator("section[aria-labelledby=datasets-h]")
    expect(section.locator("h2")).to_have_text(f"Datasets ({OWN})")
    seen: list[str] = []
    pages = -(-OWN // LISTED)
    for number in range(1, pages + 1):
        titles = section.locator("> ul > li").all_inner_texts()
        assert len(titles) == min(LISTED, OWN - (number - 1) * LISTED)
        assert titles == sorted(titles) and not set(titles) & set(seen)
        seen += titles
        expect(section.locator(".pager span")).to_have_text(f"Page {number} of {pages}")
        if number < pages:
            with tab.page.expect_navigation():
                section.locator(".pager a[rel=next]").click()
            assert tab.query()["page"] == [str(number + 1)]
    expect(section.locator(".pager a[rel=next]")).to_have_count(0)
    assert len(seen) == OWN and seen[0] == "Paging dataset pa-001"
    tab.shot("agency-last-page.png")


def test_an_agency_page_sums_up_what_it_and_its_units_publish(tab):
    tab.open("/agency/pa")
    summary = tab.page.locator("section.summary")
    expect(summary.locator("h2")).to_have_text("Published by it and the 2 bodies below it")
    total = OWN + 2 * PER_UNIT
    expect(summary.locator("p").first).to_contain_text(f"{total} datasets")
    quality = summary.locator("dt:text-is('Quality') + dd")
    expect(quality).to_contain_text(f"{total} datasets scored")
    environment = summary.locator("dt:text-is('Themes') + dd a:text-is('Environment')")
    count = re.search(r"Environment \((\d+)\)", summary.locator("dt:text-is('Themes') + dd").inner_text())
    assert count and int(count.group(1)) == OWN // 2 + 2 * PER_UNIT

    with tab.page.expect_navigation():
        environment.click()
    assert tab.path() == "/datasets" and len(tab.query()["publisher"]) == 3
    heading = tab.page.locator("#results-heading").inner_text()
    assert heading.startswith(f"{count.group(1)} datasets"), heading
    tab.page.go_back()

    with tab.page.expect_navigation():
        quality.locator("a:text-is('its quality page')").click()
    assert tab.path() == "/quality" and tab.query()["agency"] == [f"{tab.base}agency/pa"]
    expect(tab.page.locator("main h1")).to_have_text("Metadata quality")
    tab.shot("quality-of-an-agency.png")
