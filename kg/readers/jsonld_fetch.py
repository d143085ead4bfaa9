"""Fetch one JSON-LD context document over HTTP(S), for :mod:`kg.readers.jsonld_contexts`.

Only URLs the operator allows (``KG_JSONLD_FETCH``) get here, and a redirect is followed only to a
URL that is allowed too: otherwise an allowed host could send the reader anywhere. The request is
the project's one HTTP client's (:mod:`kg.readers.http`); every failure (HTTP error, no answer, too
big, not JSON, no ``@context``) is an InputError that names the file being read and the context's
URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from kg.errors import InputError
from kg.readers.http import FetchError, HttpClient, RedirectRefused

MAX_CONTEXT_BYTES = 2 << 20  # a fetched context document (schema.org's full one is 175 KB)
ACCEPT = "application/ld+json, application/json;q=0.9"
_URI_SAFE = "".join(chr(c) for c in range(33, 127))  # printable ASCII: kept; spaces, non-ASCII: escaped


def fetch_context(url: str, *, allows: Callable[[str], bool], timeout: float, file: str) -> Any:
    """The parsed context document at ``url`` (a JSON object with ``@context``).

    :raises InputError: naming ``file`` and ``url``: no answer, an HTTP error, a redirect that
        ``allows`` refuses, a body larger than ``MAX_CONTEXT_BYTES``, or not a context document.
    """

    def fail(reason: str) -> InputError:
        return InputError(f"JSON-LD remote context {url}: {reason}", file=file)

    client = HttpClient(timeout=timeout, max_bytes=MAX_CONTEXT_BYTES)
    try:
        body = client.get(quote(url, safe=_URI_SAFE), accept=ACCEPT, redirects=allows).body
    except RedirectRefused as exc:
        raise fail(f"redirected to {exc.target}, which KG_JSONLD_FETCH does not allow") from exc
    except FetchError as exc:
        raise fail(exc.message) from exc
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise fail("not JSON (a JSON-LD context document was expected)") from exc
    if not isinstance(doc, dict) or "@context" not in doc:
        raise fail("a JSON document without @context (a JSON-LD context document was expected)")
    return doc
