"""A CKAN portal's packages over its Action API: one ``package_show`` call or ``package_search`` pages.

The requests go through the project's one HTTP client (:mod:`kg.readers.http`: every network
failure an :class:`~kg.errors.InputError` that names the URL, a redirect never leaves HTTP(S));
what is CKAN's is here: the paging, an HTML page where JSON was expected, CKAN's own error message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kg.errors import InputError
from kg.readers.ckan_packages import Batch, api_error, packages
from kg.readers.files import decode_utf8, parse_json
from kg.readers.http import FetchError, HttpClient
from kg.readers.text import as_text

MAX_PAGES = 10_000


def portal_pages(
    url: str, *, client: HttpClient, rows: int, max_pages: int, headers: Mapping[str, str] | None = None
) -> Iterator[Batch]:
    """(page URL, packages) of a portal: one ``package_show``/action call, or ``package_search`` pages;
    ``headers`` (a harvest source's credentials) go with every request."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if "/action/" in path and not path.endswith("/action/package_search"):
        yield url, list(enumerate(packages(fetch_json(url, client=client, headers=headers), url)))
        return
    if not path.endswith("/action/package_search"):
        path += "/api/3/action/package_search"
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("rows", "start")]
    seen: set[str] = set()
    start = 0
    for _ in range(max_pages):
        page_url = urlunsplit(
            (parts.scheme, parts.netloc, path, urlencode([*query, ("rows", rows), ("start", start)]), "")
        )
        doc = fetch_json(page_url, client=client, headers=headers)
        found = packages(doc, page_url)  # raises on success=false and on shapes that are no CKAN at all
        result = doc.get("result") if isinstance(doc, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("results"), list):
            raise InputError('not a package_search answer (no "result": {"results": [...]})', file=page_url)
        new = [(i, p) for i, p in enumerate(found) if as_text(p.get("id") or p.get("name")) not in seen]
        if not new:  # an empty page, or a portal that ignores "start"
            return
        seen.update(as_text(p.get("id") or p.get("name")) for _, p in new)
        yield page_url, new
        start += len(found)
        count = result.get("count")
        if isinstance(count, int) and start >= count:
            return
    raise InputError(f"stopped after {max_pages} pages of {rows} packages: the portal has more", file=url)


def fetch_json(url: str, *, client: HttpClient, headers: Mapping[str, str] | None = None) -> Any:
    """GET a CKAN API URL and parse its JSON, turning every failure into an InputError naming the URL."""
    try:
        answer = client.get(url, accept="application/json", headers=headers)
    except FetchError as exc:
        if exc.status is not None and 400 <= exc.status < 500:
            raise FetchError(exc.message + _error_body(exc.body), url=url, status=exc.status) from exc
        raise
    body = answer.body
    if "html" in answer.header("Content-Type").lower() or body.lstrip()[:1] == b"<":
        raise InputError(
            "the portal answered with an HTML page, not CKAN JSON (is this the address of a CKAN portal?)",
            file=url,
        )
    if not body.strip():
        raise InputError("the portal answered with an empty body", file=url)
    return parse_json(decode_utf8(body, url), url)


def _error_body(body: bytes) -> str:
    """CKAN explains 404/409 answers in a JSON body: quote its message."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:
        return ""
    return f": {api_error(doc)}" if isinstance(doc, dict) and "error" in doc else ""
