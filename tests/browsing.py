"""What the browser tests share: Debian's Chromium driven headless by Playwright, a tab that records
script errors and refuses every request that leaves the server, screenshots in tests/artifacts/.

A test module calls :func:`require_chromium` before it imports Playwright: without
``/usr/bin/chromium`` or the ``playwright`` package the module is skipped, with the reason
(``.ci/run`` installs Chromium; ``make test`` installs the test extra).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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


def require_chromium() -> None:
    """Skip the calling test module, with the reason, when the browser cannot be driven."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)",
            allow_module_level=True,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "browser tests need the playwright package, from the test extra: pip install -e '.[test]'",
            allow_module_level=True,
        )


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


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

    def open(self, path: str, status: int = 200) -> None:
        response = self.page.goto(urllib.parse.urljoin(self.base, path))
        assert response is not None and response.status == status, (path, response and response.status)

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


@contextmanager
def tab_on(browser: Browser, base: str, **options: Any) -> Iterator[Tab]:
    """A tab in a fresh context (``options``: e.g. ``java_script_enabled=False``); after the test,
    no script error and no request that left the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", **options)
    tab = Tab(context.new_page(), base)
    yield tab
    context.close()
    assert tab.errors == [], f"script errors: {tab.errors}"
    assert tab.outside == [], f"requests that left the server: {tab.outside}"
