"""Media types of SPARQL results and RDF graphs, and content negotiation with q-values.

When nothing in ``Accept`` can be satisfied, the default format is returned
(the SPARQL Protocol allows it, and a useful answer beats a 406 for clients
that send ``*/*``, nothing, or a browser's ``text/html``). ``format=`` (a
short name) wins over ``Accept``, for browsers and download links.
"""

from __future__ import annotations

from flask import request

# short name -> media type; the first entry of each table is its default
RESULTS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
GRAPHS = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "nq": "application/n-quads",
    "trig": "application/trig",
}
ALIASES = {  # other media types clients send for the same formats
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/plain": "nt",
    "application/x-turtle": "ttl",
    "application/json+ld": "jsonld",
}
TEXTUAL = {"csv", "tsv", "ttl", "nt", "nq", "trig"}


def content_type(fmt: str) -> str:
    media = RESULTS.get(fmt) or GRAPHS[fmt]
    return f"{media}; charset=utf-8" if fmt in TEXTUAL else media


def negotiate(table: dict[str, str]) -> str:
    """The short name of the format to answer with, from ``format=`` or ``Accept``."""
    wanted = request.args.get("format", "").lower() or request.form.get("format", "").lower()
    if wanted in table:
        return wanted
    offers = list(table.values()) + [m for m, f in ALIASES.items() if f in table]
    best = request.accept_mimetypes.best_match(offers)
    if best is None:
        return next(iter(table))
    return next((f for f, m in table.items() if m == best), None) or ALIASES[best]


def body_format(mimetype: str) -> str | None:
    """The RDF format of a request body (Graph Store writes), None if unsupported."""
    for fmt, media in GRAPHS.items():
        if media == mimetype and fmt not in ("nq", "trig"):
            return fmt
    alias = ALIASES.get(mimetype)
    return alias if alias in GRAPHS else None
