"""What a ``/sparql`` request asks, read from the raw request as the SPARQL 1.1 Protocol sends it.

Queries come by GET (and HEAD), URL-encoded or multipart POST, and direct POST
(``application/sparql-query``); updates by URL-encoded POST and direct POST
(``application/sparql-update``), never by GET. Framework-free, so that the event-loop front
(:mod:`kg.web.front`) reads a request once and answers every query itself; an update is handed on,
whole, to the Flask view (:mod:`kg.web.sparql`). Parameters and forms are decoded by werkzeug's own
functions, as Flask decoded them when it read these requests, and a request the Protocol does not
allow raises the werkzeug error Flask raised for it (its status, name and description).
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from urllib.parse import unquote

from werkzeug.exceptions import BadRequest, MethodNotAllowed, UnsupportedMediaType
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

DIRECT_QUERY = "application/sparql-query"
DIRECT_UPDATE = "application/sparql-update"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
METHODS = ["GET", "HEAD", "OPTIONS", "POST"]  # the route's: any other method is a 405
FORM_LIMIT = 500_000  # a multipart form's fields in memory, at most (Flask's MAX_FORM_MEMORY_SIZE)
FORM_PARTS = 1_000  # a multipart form's parts, at most (Flask's MAX_FORM_PARTS)

QUERY, UPDATE, OPTIONS = "query", "update", "options"


@dataclass(frozen=True)
class Ask:
    """One ``/sparql`` request: its kind (:data:`QUERY`, :data:`UPDATE` or :data:`OPTIONS`) and,
    for a query, what it asks (``text`` "": the Service Description)."""

    kind: str
    text: str = ""
    default: tuple[str, ...] = ()  # default-graph-uri, the query string's then the form's
    named: tuple[str, ...] = ()  # named-graph-uri
    fmt: str = ""  # format= (the query string's first, else the form's)
    accept: str = ""
    if_none_match: str = ""
    authorization: str = ""
    base_url: str = ""  # the endpoint's URL, which relative IRIs resolve against


def pairs(raw: bytes) -> list[tuple[str, str]]:
    """Query-string pairs, decoded as werkzeug decodes ``request.args`` (invalid bytes stay %-encoded),
    and as :func:`urllib.parse.parse_qsl` splits them (blank values kept, empty pieces skipped).

    :raises BadRequest: the query string itself is not UTF-8.
    """
    try:
        raw.decode()
    except UnicodeDecodeError:
        raise BadRequest("the query string is not UTF-8") from None
    found = []
    for piece in raw.split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            found.append((_unquoted(name), _unquoted(value)))
    return found


def _unquoted(raw: bytes) -> str:
    """One %-encoded field (``+`` a space), decoded in C: ``parse_qsl`` decodes escape by escape in
    Python, 0.1 ms for a 750-character query (~220 escapes), a tenth of the front's work on it.
    Every ``%`` becomes a ``\\x`` escape (backslashes doubled first, so no other escape exists) for
    :func:`codecs.escape_decode`. A field with a ``%`` not followed by two hex digits, or whose bytes
    are not UTF-8, is decoded the slow way, which keeps what it cannot decode %-encoded."""
    spaced = raw.replace(b"+", b" ")
    if b"%" not in spaced:
        return spaced.decode()
    try:
        return codecs.escape_decode(spaced.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0].decode()
    except (ValueError, UnicodeDecodeError):
        return unquote(spaced.decode(), errors="werkzeug.url_quote")


def read(
    method: str, query_string: bytes, headers: dict[str, str], body: bytes, *, base_url: str, max_body: int
) -> Ask:
    """What a request to ``/sparql`` asks (``headers``: by lower-case name).

    :raises HTTPException: 405 (another method, or an update by GET), 400 (two ``query``
        parameters, a query and an update at once), 415 (a body of another type), 413 (a form too big).
    """
    if method not in METHODS:
        raise MethodNotAllowed(valid_methods=METHODS)
    if method == "OPTIONS":
        return Ask(OPTIONS)
    args = pairs(query_string)
    form: list[tuple[str, str]] = []
    if method in ("GET", "HEAD"):  # HEAD: the GET's headers, without its body
        if any(name == "update" for name, _ in args):
            raise MethodNotAllowed(description="SPARQL updates must be sent with POST")
        text = _one(args, "query")
    else:
        mimetype, options = parse_options_header(headers.get("content-type", ""))
        mimetype = mimetype.lower()
        if mimetype == DIRECT_QUERY:
            text = body.decode("utf-8", "replace")
        elif mimetype == DIRECT_UPDATE:
            return Ask(UPDATE)
        elif mimetype in FORMS:
            form = _form(body, mimetype, options, max_body)
            names = {name for name, _ in form}
            if "query" in names and "update" in names:
                raise BadRequest("a request carries a query or an update, not both")
            if "update" in names:
                return Ask(UPDATE)
            text = _one(form, "query")
        else:
            raise UnsupportedMediaType(
                f"unsupported request body type {mimetype or '(none)'!r}: use "
                "application/sparql-query, application/sparql-update or application/x-www-form-urlencoded"
            )
    values = args + form
    fmt = next((v for k, v in args if k == "format"), "") or next((v for k, v in form if k == "format"), "")
    return Ask(
        QUERY,
        text,
        tuple(v for k, v in values if k == "default-graph-uri"),
        tuple(v for k, v in values if k == "named-graph-uri"),
        fmt.lower(),
        headers.get("accept", ""),
        headers.get("if-none-match", ""),
        headers.get("authorization", ""),
        base_url,
    )


def _one(found: list[tuple[str, str]], name: str) -> str:
    values = [v for k, v in found if k == name]
    if len(values) > 1:
        raise BadRequest(f"more than one {name!r} parameter")
    return values[0] if values else ""


def _form(body: bytes, mimetype: str, options: dict[str, str], max_body: int) -> list[tuple[str, str]]:
    """A form's fields, parsed by werkzeug's form parser with Flask's limits: a form that cannot be
    parsed is empty, as it was to the Flask view (its files are not fields)."""
    parser = FormDataParser(
        max_form_memory_size=FORM_LIMIT, max_content_length=max_body, max_form_parts=FORM_PARTS
    )
    _, fields, _ = parser.parse(io.BytesIO(body), mimetype, len(body), options)
    return list(fields.items(multi=True))
