"""What a ``/sparql`` query answer is, without a web framework: negotiated formats, the cache key,
the ETag, the response headers, and the evaluation of a query into a sink.

The protocol core (:mod:`kg.web.sparql_core`) and its drivers (:mod:`kg.web.front`,
:mod:`kg.web.loop_answers`) use them; the worker's evaluation threads evaluate with the same
:func:`evaluate`.
Each takes plain values (the query text, the ``format=`` value, the ``Accept`` header) rather
than a request object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from kg.evaluation.answer_writer import evaluate  # the threads' own: answers cannot differ
from kg.web import formats

__all__ = [
    "Accept",
    "Buffer",
    "Sink",
    "answer_headers",
    "cache_key",
    "cors_headers",
    "encoded",
    "etag_for",
    "evaluate",
    "key_etag",
    "matches",
    "negotiate",
]

# the ``format=`` values and Accept headers a query may ask for, as (results format, graph format)
Accept = tuple[str, str]


def negotiate(wanted: str, accept: str) -> Accept:
    """The (SELECT/ASK format, CONSTRUCT/DESCRIBE format) a request asks for, from ``format=``
    (``wanted``, a short name, lower-cased here) and its ``Accept`` header."""
    wanted = wanted.lower()
    return formats.choose(formats.RESULTS, wanted, accept), formats.choose(formats.GRAPHS, wanted, accept)


def cache_key(
    text: str,
    default: Sequence[str],
    named: Sequence[str],
    accept: Accept,
    version: str,
    *,
    private: bool = False,
) -> tuple:
    """The result cache's key of an answer: everything its bytes depend on, the store's version
    included, so that a new generation can never be answered from an old entry, and the side it
    was read from (``private``: a token holder's, :func:`kg.web.sparql_core.private_dataset`), so that
    a request without a token can never be answered from a token holder's entry."""
    return (text, tuple(default), tuple(named), accept, private, version)


def etag_for(version: str, *parts: object) -> str:
    """A weak ETag that starts with the store's version: it changes with every commit."""
    digest = hashlib.sha1(repr(parts).encode("utf-8")).hexdigest()[:16]
    return f'W/"{version}-{digest}"'


def key_etag(key: tuple) -> str:
    """The ETag of the answer cached under ``key`` (:func:`cache_key`; its last part is the version)."""
    return etag_for(key[-1], *key)


def matches(etag: str, if_none_match: str) -> bool:
    """Whether the client already holds this answer (its ``If-None-Match`` lists ``etag``)."""
    return bool(etag.strip('W/"')) and etag in [t.strip() for t in if_none_match.split(",")]


def answer_headers(etag: str, cut: str, max_rows: int, *, private: bool = False) -> list[tuple[str, str]]:
    """The headers of every query answer after its Content-Type and Content-Length: the ETag, what
    it varies on, revalidation (an answer read from the private graphs is the token holder's, not
    for shared caches), and — when a SELECT was cut at ``max_rows`` — the truncation."""
    headers = [("ETag", etag), ("Vary", "Accept"), ("Cache-Control", "private" if private else "no-cache")]
    if cut:
        headers += [
            ("KG-Results-Truncated", "true"),
            ("KG-Result-Limit", str(max_rows)),
            ("Warning", f'199 kg "results cut at {max_rows} rows (KG_MAX_RESULTS)"'),
        ]
    return headers


def cors_headers(path: str, method: str) -> list[tuple[str, str]]:
    """CORS for readers: every origin may read ``/sparql``, ``/store`` (and the graphs under it)
    and ``/.well-known/`` (credentials never); preflight answers also list what may be sent."""
    if path not in ("/sparql", "/store") and not path.startswith(("/.well-known/", "/store/")):
        return []
    headers = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "ETag, Content-Type")]
    if method == "OPTIONS":
        headers += [
            ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
            ("Access-Control-Allow-Headers", "Content-Type, Accept"),
            ("Access-Control-Max-Age", "86400"),
        ]
    return headers


def encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as an ASGI server takes them."""
    return [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]


class Sink(Protocol):
    """Where :func:`evaluate` writes: the answer's format first, then its bytes."""

    def started(self, fmt: str) -> None: ...
    def write(self, data: bytes) -> int: ...


class Buffer:
    """A sink that keeps the whole answer in memory (bounded answers: ``DESCRIBE <iri>``)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.fmt = ""

    def started(self, fmt: str) -> None:
        self.fmt = fmt

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass
