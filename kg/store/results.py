"""RDF and query answers in pyoxigraph's syntaxes: the formats by short name, serializing and
parsing them, and a SELECT answer cut at a row cap.

Shared by the embedded and the remote store, the evaluators and the web views, so that every
answer is written by pyoxigraph's own serializers (no rebuilding in Python).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pyoxigraph as ox

from kg.errors import InputError

_BLANK_LABEL = re.compile(r"_:[^ ]+")


def without_blank_labels(line: str) -> str:
    """An N-Triples line with every blank node named ``_:b``: what it says but for which blank node.

    >>> without_blank_labels("_:x1 <http://e/p> _:y .")
    '_:b <http://e/p> _:b .'
    """
    return _BLANK_LABEL.sub("_:b", line)


FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "rdf": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
}
RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}


def serialize_results(result, output, fmt: str) -> None:
    """Write query results with pyoxigraph's own serializers (no rebuilding in Python)."""
    if isinstance(result, ox.QueryTriples):
        result.serialize(output, format=FORMATS[fmt])
    else:
        result.serialize(output, format=RESULT_FORMATS[fmt])


def is_boolean(result) -> bool:
    return isinstance(result, ox.QueryBoolean)


def is_graph(result) -> bool:
    return isinstance(result, ox.QueryTriples)


def serialize_triples(triples, output, fmt: str, *, prefixes: dict[str, str] | None = None) -> None:
    """Write triples (from CONSTRUCT results) as ``fmt``; prefixes only where the syntax has them.

    The SPARQL endpoint passes none, as the native server does: the 22 prefixes of
    :data:`kg.vocab.PREFIXES` doubled the cost of a DESCRIBE of one dataset (0.47 against
    0.26 ms, serialization included); pages' downloads, read by people, keep them.
    """
    if isinstance(triples, ox.QueryTriples) and not prefixes:  # in Rust: no Python object per triple
        triples.serialize(output, format=FORMATS[fmt])
    elif fmt in ("ttl", "trig", "rdf", "jsonld"):
        ox.serialize(triples, output, format=FORMATS[fmt], prefixes=prefixes)
    else:
        ox.serialize(triples, output, format=FORMATS[fmt])


def as_quads(triples):
    """Triples as quads in the default graph, for the quad syntaxes (N-Quads, TriG)."""
    return (ox.Quad(t.subject, t.predicate, t.object) for t in triples)


def as_triples(rows):
    """(subject, predicate, object) query terms, e.g. a SELECT's rows, as triples to serialize."""
    return (ox.Triple(s, p, o) for s, p, o in rows)


def parse_ntriples(text: str) -> Iterator[ox.Triple]:
    """The triples of N-Triples text as store terms, to go with a query's answers."""
    return (quad.triple for quad in ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))


CANONICAL_BLANK_NODES = 100  # more in one description: its labels are left out instead (see below)


def canonical_ntriples(text: str) -> list[str]:
    """The lines of an N-Triples description in a canonical form: its blank nodes named by W3C RDF
    Dataset Canonicalization (RDFC-1.0, pyoxigraph's), sorted; two descriptions that differ only
    in their blank nodes' labels give the same lines (a content hash of a record).

    Why RDFC-1.0: a W3C Recommendation whose labels do not change with the library's version
    (pyoxigraph's UNSTABLE may), in Rust (rdflib's ``to_canonical_graph`` is RGDA1 in Python).
    Its worst case is exponential in the blank nodes; a description with more than
    :data:`CANONICAL_BLANK_NODES` of them gets every blank node named ``_:b`` instead (a coarser
    hash, never a hang on a hostile input)."""
    triples = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, lenient=True))
    blanks = {t for q in triples for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)}
    if not blanks:  # nothing to name: the lines as pyoxigraph writes them (half the time)
        return sorted({f"{t.subject} {t.predicate} {t.object} ." for t in triples})
    if len(blanks) > CANONICAL_BLANK_NODES:
        return sorted({without_blank_labels(f"{t.subject} {t.predicate} {t.object} .") for t in triples})
    dataset = ox.Dataset(as_quads(triples))
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(f"{q.subject} {q.predicate} {q.object} ." for q in dataset)


def merged_ntriples(documents: list[tuple[bytes, str]]) -> bytes:
    """Several RDF documents ``(data, format)`` as one N-Triples document, each document's blank
    nodes its own (a Graph Store multipart POST merges its parts into one graph).

    :raises InputError: if a document does not parse.
    """
    out = io.BytesIO()
    for data, fmt in documents:
        try:
            quads = list(ox.parse(data, format=FORMATS[fmt], rename_blank_nodes=True))
        except SyntaxError as exc:
            raise InputError(f"the {fmt} data does not parse: {exc}") from exc
        ox.serialize((q.triple for q in quads), out, format=ox.RdfFormat.N_TRIPLES)
    return out.getvalue()


def convert(
    ntriples: str, fmt: str, *, prefixes: dict[str, str] | None = None, written: bool = False
) -> bytes:
    """Re-serialize N-Triples text in another syntax (for small generated descriptions).

    ``written``: every line was written by pyoxigraph itself (a catalogue page's rows, from the
    store's own N-Triples), so its IRIs are not checked again (pyoxigraph's ``lenient`` parse):
    checking them was ~2/3 of the parse, ~7 ms of a 6,800-triple page at 100,000 datasets.
    Text built from a request or by hand is checked (the default).
    """
    triples = ox.parse(ntriples.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, lenient=written)
    out = io.BytesIO()
    serialize_triples(triples, out, fmt, prefixes=prefixes)
    return out.getvalue()


class _RowLimit(Exception):
    pass


class _CountingSink:
    """Collects TSV result lines and stops the serializer after ``limit`` + 1 of them (header included)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.lines = 0

    def write(self, data: bytes) -> int:
        data = bytes(data)
        self.lines += data.count(b"\n")
        self.parts.append(data)
        if self.lines > self.limit + 1:
            raise _RowLimit
        return len(data)

    def flush(self) -> None:
        pass


def cap_rows(result, limit: int):
    """SELECT results cut to ``limit`` rows: (results, True if rows were cut).

    The results go through SPARQL TSV (lossless: terms in N-Triples syntax, one
    row a line) so that the cut happens on the row count, and the kept rows are
    parsed back for pyoxigraph's serializers to write in the wanted format.
    """
    sink = _CountingSink(limit)
    try:
        result.serialize(sink, format=ox.QueryResultsFormat.TSV)
        truncated = False
    except _RowLimit:
        truncated = True
    lines = b"".join(sink.parts).split(b"\n")
    # complete output ends with a newline (drop the empty tail; an empty line is a row with no
    # bindings); cut output keeps the header and the first ``limit`` rows, all complete
    lines = lines[: limit + 1] if truncated else lines[:-1]
    body = b"\n".join(lines) + b"\n"
    return ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV), truncated
