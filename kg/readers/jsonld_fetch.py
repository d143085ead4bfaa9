"""Fetch one JSON-LD context document over HTTP(S), for :mod:`kg.readers.jsonld_contexts`.

Only URLs the operator allows (``KG_JSONLD_FETCH``) get here, and a redirect is followed only to a
URL that is allowed too: otherwise an allowed host could send the reader anywhere. Every failure
(HTTP error, no answer, too big, not JSON, no ``@context``) is an InputError that names the file
being read and the context's URL.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib import request as urlrequest
from urllib.error import HTTPError, URLError
from urllib.parse import quote

from kg.errors import InputError

MAX_CONTEXT_BYTES = 2 << 20  # a fetched context document (schema.org's full one is 175 KB)
USER_AGENT = "agency-kg/0.1 (JSON-LD context loader; Python urllib)"
ACCEPT = "application/ld+json, application/json;q=0.9"
_URI_SAFE = "".join(chr(c) for c in range(33, 127))  # printable ASCII: kept; spaces, non-ASCII: escaped


class _Refused(Exception):
    """A redirect to a URL that is not allowed."""


def fetch_context(url: str, *, allows: Callable[[str], bool], timeout: float, file: str) -> Any:
    """The parsed context document at ``url`` (a JSON object with ``@context``).

    :raises InputError: naming ``file`` and ``url``: no answer, an HTTP error, a redirect that
        ``allows`` refuses, a body larger than ``MAX_CONTEXT_BYTES``, or not a context document.
    """

    def fail(reason: str) -> InputError:
        return InputError(f"JSON-LD remote context {url}: {reason}", file=file)

    request = urlrequest.Request(
        quote(url, safe=_URI_SAFE), headers={"User-Agent": USER_AGENT, "Accept": ACCEPT}
    )
    try:
        with _opener(allows).open(request, timeout=timeout) as response:
            body = response.read(MAX_CONTEXT_BYTES + 1)
    except _Refused as exc:
        raise fail(f"redirected to {exc}, which KG_JSONLD_FETCH does not allow") from exc
    except HTTPError as exc:
        raise fail(f"the server answered HTTP {exc.code} {exc.reason}") from exc
    except URLError as exc:
        raise fail(f"cannot be fetched: {exc.reason}") from exc
    except TimeoutError as exc:
        raise fail(f"no answer within {timeout:g} s") from exc
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise fail(f"cannot be fetched: {exc}") from exc
    if len(body) > MAX_CONTEXT_BYTES:
        raise fail(f"larger than {MAX_CONTEXT_BYTES} bytes")
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail("not JSON (a JSON-LD context document was expected)") from exc
    if not isinstance(doc, dict) or "@context" not in doc:
        raise fail("a JSON document without @context (a JSON-LD context document was expected)")
    return doc


def _opener(allows: Callable[[str], bool]) -> urlrequest.OpenerDirector:
    """HTTP(S) only, the environment's proxies, and redirects only to allowed URLs."""

    class Redirects(urlrequest.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's API
            if not allows(newurl):
                raise _Refused(newurl)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urlrequest.OpenerDirector()
    for handler in (
        urlrequest.ProxyHandler(),
        urlrequest.HTTPHandler(),
        urlrequest.HTTPSHandler(),
        urlrequest.HTTPDefaultErrorHandler(),
        Redirects(),
        urlrequest.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener
