"""``/query``: a SPARQL editor page with example queries, and its JSON twin ``/query.json``.

The page works without JavaScript: the form sends ``GET /query?query=…`` and the
results are rendered here as a table (IRIs linked to their pages, at most
:data:`ROW_LIMIT` rows, with download links in every result format of
``/sparql``). ``kg/static/query.js`` adds syntax highlighting, runs queries with
``fetch`` on ``/query.json`` — which answers with the very rows, cells and links
the table shows, so the IRI → page rule lives only here — and fills the editor
from the examples.

Queries go through the same gate as ``/sparql`` (:mod:`kg.web.guard`: size,
nesting, no ``SERVICE``) and the same evaluation threads, waited for until
``KG_QUERY_TIMEOUT``. Results are read as SPARQL TSV (SELECT) or N-Triples
(CONSTRUCT, DESCRIBE), one row a line, so reading stops after the row limit and
the rest of the work is stopped (at its next write), however large the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from rdflib import BNode, Literal, URIRef
from rdflib.plugins.parsers.ntriples import W3CNTriplesParser
from rdflib.util import from_n3
from werkzeug.exceptions import HTTPException

from kg.errors import QueryError, QueryTimeout
from kg.vocab import PREFIXES, XSD
from kg.web import guard
from kg.web.cache import etag_for, not_modified
from kg.web.errors import wants_json
from kg.web.search_views import page_link

blueprint = Blueprint("query", __name__)

ROW_LIMIT = 1000
RESULT_DOWNLOADS = ("json", "xml", "csv", "tsv")
GRAPH_DOWNLOADS = ("ttl", "nt", "rdf", "jsonld")
_SHORT = sorted(((ns, p) for p, ns in PREFIXES.items()), key=lambda item: -len(item[0]))


@dataclass(frozen=True)
class Example:
    """A query that shows what the catalogue can answer; each returns rows on the bundled sample."""

    id: str
    title: str
    query: str


_P = {
    "dcat": "PREFIX dcat: <http://www.w3.org/ns/dcat#>",
    "dct": "PREFIX dct: <http://purl.org/dc/terms/>",
    "foaf": "PREFIX foaf: <http://xmlns.com/foaf/0.1/>",
    "org": "PREFIX org: <http://www.w3.org/ns/org#>",
    "skos": "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
}


def _example(id_: str, title: str, prefixes: str, body: str) -> Example:
    head = "\n".join(_P[name] for name in prefixes.split())
    return Example(id_, title, f"{head}\n\n{body.strip()}\n")


EXAMPLES = (
    _example(
        "themes",
        "Datasets per theme",
        "dcat skos",
        """
SELECT ?theme (SAMPLE(?name) AS ?label) (COUNT(DISTINCT ?dataset) AS ?datasets)
WHERE {
  ?dataset a dcat:Dataset ; dcat:theme ?theme .
  OPTIONAL { ?theme skos:prefLabel ?name FILTER(langMatches(lang(?name), "en")) }
}
GROUP BY ?theme
ORDER BY DESC(?datasets)""",
    ),
    _example(
        "hierarchy",
        "Each agency and the bodies above it",
        "foaf org",
        """
# org:subOrganizationOf links bodies, org:unitOf a unit to its body; + follows them upwards
SELECT ?agency ?name ?above ?aboveName
WHERE {
  ?agency (org:subOrganizationOf|org:unitOf)+ ?above .
  OPTIONAL { ?agency foaf:name ?name FILTER(lang(?name) = "") }
  OPTIONAL { ?above foaf:name ?aboveName FILTER(lang(?aboveName) = "") }
}
ORDER BY ?aboveName ?name""",
    ),
    _example(
        "formats",
        "File formats in use",
        "dcat dct skos",
        """
SELECT ?format (SAMPLE(?name) AS ?label) (COUNT(DISTINCT ?distribution) AS ?distributions)
WHERE {
  ?distribution a dcat:Distribution ; dct:format ?format .
  OPTIONAL { ?format skos:prefLabel ?name FILTER(langMatches(lang(?name), "en")) }
}
GROUP BY ?format
ORDER BY DESC(?distributions)""",
    ),
    _example(
        "recent",
        "Most recently modified datasets",
        "dcat dct foaf",
        """
SELECT ?dataset ?title ?modified ?publisher
WHERE {
  ?dataset a dcat:Dataset ; dct:title ?title ; dct:modified ?modified .
  FILTER(lang(?title) = "" || langMatches(lang(?title), "en"))
  OPTIONAL { ?dataset dct:publisher/foaf:name ?publisher FILTER(lang(?publisher) = "") }
}
ORDER BY DESC(?modified)
LIMIT 10""",
    ),
    _example(
        "licences",
        "Licences of the distributions (an empty licence: distributions without one)",
        "dcat dct skos",
        """
SELECT ?licence (SAMPLE(?name) AS ?label) (COUNT(DISTINCT ?distribution) AS ?distributions)
WHERE {
  ?distribution a dcat:Distribution .
  OPTIONAL {
    ?distribution dct:license ?licence .
    OPTIONAL { ?licence skos:prefLabel ?name FILTER(langMatches(lang(?name), "en")) }
  }
}
GROUP BY ?licence
ORDER BY DESC(?distributions)""",
    ),
    _example(
        "services",
        "Data services and the datasets they serve",
        "dcat dct",
        """
SELECT ?service ?title ?endpoint ?dataset ?served
WHERE {
  ?service a dcat:DataService ; dct:title ?title .
  OPTIONAL { ?service dcat:endpointURL ?endpoint }
  OPTIONAL { ?service dcat:servesDataset ?dataset . ?dataset dct:title ?served
             FILTER(lang(?served) = "" || langMatches(lang(?served), "en")) }
}
ORDER BY ?title ?served""",
    ),
    _example(
        "publishers",
        "Datasets per publisher",
        "dcat dct foaf",
        """
SELECT ?publisher (SAMPLE(?name) AS ?label) (COUNT(DISTINCT ?dataset) AS ?datasets)
WHERE {
  ?dataset a dcat:Dataset ; dct:publisher ?publisher .
  OPTIONAL { ?publisher foaf:name ?name FILTER(lang(?name) = "") }
}
GROUP BY ?publisher
ORDER BY DESC(?datasets)""",
    ),
    _example(
        "graph",
        "The agency hierarchy as a graph (CONSTRUCT)",
        "foaf org",
        """
CONSTRUCT { ?agency foaf:name ?name ; org:subOrganizationOf ?parent }
WHERE {
  ?agency a org:Organization ; foaf:name ?name .
  OPTIONAL { ?agency org:subOrganizationOf|org:unitOf ?parent }
}""",
    ),
    _example(
        "ask",
        "Does every dataset have a contact point? (ASK)",
        "dcat",
        """
ASK {
  FILTER NOT EXISTS {
    ?dataset a dcat:Dataset .
    FILTER NOT EXISTS { ?dataset dcat:contactPoint ?contact }
  }
}""",
    ),
)


def iri_link(iri: str) -> str:
    """The page in this app that shows ``iri``, "" when it has none (only http(s) IRIs have one).

    :func:`kg.web.search_views.page_link` decides; the result is also checked to be a path on
    this site, so that an IRI such as ``{base}/evil.example/x`` cannot become the
    protocol-relative link ``//evil.example/x``.
    """
    link = page_link(iri) or ""
    if link and (not link.startswith("/") or link.startswith(("//", "/\\"))):
        return "/resource?" + urlencode({"uri": iri})
    return link


def short_name(iri: str) -> str:
    """``dcat:Dataset`` for a term of a known namespace, else the IRI."""
    for ns, prefix in _SHORT:
        if iri.startswith(ns) and len(iri) > len(ns):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


@dataclass(frozen=True)
class Cell:
    """One value of a result, as the table and the JSON twin show it."""

    type: str  # "iri", "bnode" or "literal"
    value: str
    lang: str = ""
    datatype: str = ""
    link: str = ""


@dataclass
class Outcome:
    """The results of one query: rows of cells (CONSTRUCT: subject, predicate, object) or a boolean."""

    kind: str  # "select", "ask" or "graph"
    variables: list[str] = field(default_factory=list)
    rows: list[list[Cell | None]] = field(default_factory=list)
    boolean: bool | None = None
    truncated: bool = False


def cell(term) -> Cell:
    if isinstance(term, URIRef):
        return Cell("iri", str(term), link=iri_link(str(term)))
    if isinstance(term, BNode):
        return Cell("bnode", f"_:{term}")
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype and term.datatype != XSD.string else ""
        return Cell("literal", str(term), lang=term.language or "", datatype=datatype)
    return Cell("literal", str(term))


def run(text: str) -> Outcome:
    """Evaluate a query as ``/sparql`` does and read at most ROW_LIMIT rows of its results.

    :raises QueryError: if it does not parse or fails; :raises QueryTimeout: if it runs out of time.
    """
    guard.check(text)
    fmt, lines, more = _lines(text, ROW_LIMIT + 1)
    if fmt == "json":
        return Outcome("ask", boolean=bool(json.loads(b"".join(lines))["boolean"]))
    if fmt == "nt":
        sink = _Triples()
        W3CNTriplesParser(sink).parsestring(b"".join(lines[:ROW_LIMIT]))
        rows = [[cell(t) for t in triple] for triple in sink.triples]
        return Outcome(
            "graph", ["subject", "predicate", "object"], rows, truncated=more or len(lines) > ROW_LIMIT
        )
    header = lines[0].decode("utf-8").rstrip("\n") if lines else ""
    variables = [name.lstrip("?$") for name in header.split("\t")] if header else []
    body = lines[1 : ROW_LIMIT + 1]
    rows = [[_tsv_cell(raw) for raw in line.decode("utf-8").rstrip("\n").split("\t")] for line in body]
    return Outcome("select", variables, rows, truncated=more or len(lines) > ROW_LIMIT + 1)


def _tsv_cell(raw: str) -> Cell | None:
    if not raw:
        return None
    try:
        return cell(from_n3(raw))
    except Exception:  # noqa: BLE001 - a value we cannot read is shown as it came
        return Cell("literal", raw)


class _Triples:
    def __init__(self) -> None:
        self.triples: list[tuple] = []

    def triple(self, s, p, o) -> None:
        self.triples.append((s, p, o))


def _lines(text: str, limit: int) -> tuple[str, list[bytes], bool]:
    """(format, the first ``limit`` + 1 lines of the answer, whether more followed)."""
    fmt, chunks = current_app.extensions["kg_evaluator"].evaluate(text, None, None, ("tsv", "nt"))
    lines, more = _take(chunks, limit + 1)
    return fmt, lines, more


def _take(chunks: Iterable[bytes], limit: int) -> tuple[list[bytes], bool]:
    """Split chunks into lines; stop (and close the producer, which stops its work) after ``limit``."""
    lines: list[bytes] = []
    rest = b""
    more = False
    iterator = iter(chunks)
    try:
        for chunk in iterator:
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            lines += [part + b"\n" for part in parts]
            if len(lines) > limit:
                more = True
                break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    if rest and not more:
        lines.append(rest)
    return lines[:limit], more or len(lines) > limit


def downloads(text: str, kind: str) -> dict[str, str]:
    """Links to the whole answer from ``/sparql``, in every format it has for this kind of query."""
    names = GRAPH_DOWNLOADS if kind == "graph" else RESULT_DOWNLOADS
    if kind == "ask":
        names = ("json", "xml")
    return {fmt: "/sparql?" + urlencode({"query": text, "format": fmt}) for fmt in names}


def _query_text() -> str:
    values = request.values.getlist("query")
    if len(values) > 1:
        abort(400, "more than one 'query' parameter")
    return values[0] if values else ""


@blueprint.route("/query", methods=["GET", "POST"])
@blueprint.route("/query.json", methods=["GET", "POST"])
def query_page() -> Response | tuple[str, int] | str:
    text = _query_text()
    as_json = wants_json()
    if not text.strip():
        if as_json:
            return jsonify({"query": "", "examples": [asdict(e) for e in EXAMPLES], "limit": ROW_LIMIT})
        return _page(EXAMPLES[0].query)
    store = current_app.extensions["kg_store"]
    etag = etag_for(store.version(), "query", text, as_json)
    if (cached := not_modified(etag)) is not None:
        return cached
    if as_json:  # errors take the one shape of kg.web.errors
        response = jsonify(_as_json(text, run(text)))
    else:
        try:
            outcome = run(text)
        except (QueryError, QueryTimeout, HTTPException) as exc:
            # The page itself, with the query kept in the editor and the parser's message under it.
            status = getattr(exc, "code", None) or (503 if isinstance(exc, QueryTimeout) else 400)
            return _page(text, error=getattr(exc, "description", None) or str(exc)), status
        response = Response(_page(text, outcome=outcome, downloads=downloads(text, outcome.kind)))
    response.headers.update({"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache"})
    return response


def _page(text: str, **context: object) -> str:
    examples = [asdict(example) for example in EXAMPLES]
    return render_template(
        "query.html", query=text, examples=examples, limit=ROW_LIMIT, short_name=short_name, **context
    )


def _as_json(text: str, outcome: Outcome) -> dict:
    rows = [[asdict(c) if c is not None else None for c in row] for row in outcome.rows]
    return {
        "query": text,
        "kind": outcome.kind,
        "variables": outcome.variables,
        "rows": rows,
        "boolean": outcome.boolean,
        "truncated": outcome.truncated,
        "limit": ROW_LIMIT,
        "downloads": downloads(text, outcome.kind),
    }
