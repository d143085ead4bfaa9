"""The front's reading of a ``/sparql`` query string: the same pairs werkzeug's ``request.args``
gave (``parse_qsl`` with werkzeug's error handler), by a decoder that works in C.

The decoder (:func:`kg.web.sparql_request.pairs`) turns ``%XX`` into escapes for
:func:`codecs.escape_decode`; these tests hold it to ``parse_qsl`` on the strings where the two
could part: backslashes (escape_decode's own escape character), ``%`` without two hex digits,
``+``, bytes that are not UTF-8 once decoded, non-ASCII characters between escapes, empty pieces.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

import pytest
import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import BadRequest

from kg.web.sparql_request import pairs


def reference(raw: bytes) -> list[tuple[str, str]]:
    """What the Flask view read: werkzeug's ``request.args`` is ``parse_qsl`` with this handler."""
    return parse_qsl(raw.decode(), keep_blank_values=True, errors="werkzeug.url_quote")


PIECES = st.sampled_from(
    ["%", "%2", "%2G", "%41", "%4a", "%C3", "%A9", "%C3%A9", "%FF", "%5C", "%25", "%26", "%3D", "\\",
     "\\x41", "\\n", "+", "&", "=", "&&", "é", "€", "a", "query", "Z", " ", "#", "\n"]
)  # fmt: skip


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(PIECES | st.text(max_size=3), max_size=24).map("".join))
@example("query=%5C%5Cx41&x")
@example("a=%C3é%A9")  # an escaped sequence cut by a literal non-ASCII character
@example("=&=%&%%=1")
def test_pairs_decode_as_parse_qsl(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    try:
        raw.decode()
    except UnicodeDecodeError:
        return  # not UTF-8: a 400, tested below
    assert pairs(raw) == reference(raw)


def test_a_real_query_round_trips() -> None:
    query = 'PREFIX dct: <http://purl.org/dc/terms/>\nSELECT * { ?s dct:title "a\\"b + c & d = é" }'
    raw = f"query={quote(query, safe='')}&default-graph-uri=urn%3Ag&format=json&named-graph-uri=".encode()
    assert pairs(raw) == [
        ("query", query),
        ("default-graph-uri", "urn:g"),
        ("format", "json"),
        ("named-graph-uri", ""),
    ]


def test_escaped_bytes_that_are_not_utf8_stay_escaped() -> None:
    assert pairs(b"query=ASK%FF%20{}") == [("query", "ASK%FF {}")]


def test_a_query_string_that_is_not_utf8_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        pairs(b"query=\xff")
