"""A CKAN portal's packages over its Action API: one ``package_show`` call or ``package_search`` pages.

With the standard library only (the project has no HTTP client dependency), so every network
failure is mapped here to an :class:`~kg.errors.InputError` that names the URL; a redirect never
leaves HTTP(S).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib import request as urlrequest
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kg.errors import InputError
from kg.readers.ckan_packages import Batch, api_error, packages
from kg.readers.files import decode_utf8, parse_json
from kg.readers.text import as_text

USER_AGENT = "agency-kg/0.1 (CKAN harvester; Python urllib)"
MAX_RESPONSE_BYTES = 200 * 1024 * 1024
MAX_PAGES = 10_000


def portal_pages(url: str, *, timeout: float, rows: int, max_pages: int) -> Iterator[Batch]:
    """(page URL, packages) of a portal: one ``package_show``/action call, or ``package_search`` pages."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if "/action/" in path and not path.endswith("/action/package_search"):
        yield url, list(enumerate(packages(fetch_json(url, timeout=timeout), url)))
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
        doc = fetch_json(page_url, timeout=timeout)
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


def fetch_json(url: str, *, timeout: float) -> Any:
    """GET a CKAN API URL and parse its JSON, turning every failure into an InputError naming the URL."""
    request = urlrequest.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with _opener().open(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "")
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except HTTPError as exc:
        detail = _error_body(exc)
        raise InputError(f"the portal answered HTTP {exc.code} {exc.reason}{detail}", file=url) from exc
    except URLError as exc:
        raise InputError(f"cannot reach the portal: {exc.reason}", file=url) from exc
    except TimeoutError as exc:
        raise InputError(f"no answer within {timeout:g} s", file=url) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise InputError(f"the connection to the portal failed: {exc}", file=url) from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise InputError(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes", file=url)
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise InputError(
            "the portal answered with an HTML page, not CKAN JSON (is this the address of a CKAN portal?)",
            file=url,
        )
    if not body.strip():
        raise InputError("the portal answered with an empty body", file=url)
    return parse_json(decode_utf8(body, url), url)


def _opener() -> urlrequest.OpenerDirector:
    """HTTP(S) only: unlike ``build_opener``, a redirect cannot lead to ``file:`` or ``ftp:``."""
    opener = urlrequest.OpenerDirector()
    for handler in (
        urlrequest.ProxyHandler(),  # the environment's proxy settings, as every HTTP client honours them
        urlrequest.HTTPHandler(),
        urlrequest.HTTPSHandler(),
        urlrequest.HTTPDefaultErrorHandler(),
        urlrequest.HTTPRedirectHandler(),
        urlrequest.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _error_body(exc: HTTPError) -> str:
    """CKAN explains 404/409 answers in a JSON body: quote its message."""
    try:
        doc = json.loads(exc.read(64 * 1024).decode("utf-8"))
    except (OSError, ValueError, http.client.HTTPException):
        return ""
    return f": {api_error(doc)}" if isinstance(doc, dict) and "error" in doc else ""
