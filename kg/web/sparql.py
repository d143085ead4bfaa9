"""``/sparql``: the SPARQL 1.1 Protocol (queries), results streamed by pyoxigraph's serializers.

Content negotiation: SELECT/ASK results as SPARQL JSON (default), XML, CSV or
TSV; CONSTRUCT/DESCRIBE as Turtle (default), N-Triples, RDF/XML or JSON-LD.
An ``Accept`` that none of these satisfies gets the default (the Protocol
allows it; clients that send ``*/*`` or nothing expect a useful answer).
A ``format=`` parameter (json, xml, csv, tsv, ttl, nt, rdf, jsonld) wins over
``Accept`` for browsers. Without a query, a Service Description is returned.
"""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, request

from kg.store import is_boolean, is_graph, serialize_results, serialize_triples
from kg.vocab import PREFIXES

blueprint = Blueprint("sparql", __name__)

RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "ttl",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "application/rdf+xml": "rdf",
    "application/ld+json": "jsonld",
}
MEDIA = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "ttl": "text/turtle; charset=utf-8",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
}


def negotiate(table: dict[str, str], default: str) -> str:
    """The format for this request: ``format=`` first, then ``Accept`` with q-values."""
    wanted = request.values.get("format", "").lower()
    if wanted in table.values():
        return wanted
    best = request.accept_mimetypes.best_match(list(table), default=None)
    if best is None or request.accept_mimetypes.best in ("*/*", None):
        return default
    return table[best]


def _query_text() -> str:
    if request.method == "GET":
        queries = request.args.getlist("query")
    elif request.mimetype == "application/sparql-query":
        queries = [request.get_data(as_text=True)]
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if "update" in request.form:
            abort(403, "SPARQL updates are not enabled on this endpoint")
        queries = request.form.getlist("query")
    else:
        abort(
            415,
            f"unsupported request body type {request.mimetype!r}: use "
            "application/sparql-query or application/x-www-form-urlencoded",
        )
    if len(queries) > 1:
        abort(400, "more than one query parameter")
    return queries[0] if queries else ""


@blueprint.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    text = _query_text()
    store = current_app.extensions["kg_store"]
    if not text.strip():
        return service_description(store)
    default = request.values.getlist("default-graph-uri") or None
    named = request.values.getlist("named-graph-uri") or None
    result = store.query(text, default_graphs=default, named_graphs=named)
    if is_graph(result):
        fmt = negotiate(GRAPH_TYPES, "ttl")
        body = io.BytesIO()
        serialize_triples(result, body, fmt, prefixes=PREFIXES)
    else:
        fmt = negotiate(RESULT_TYPES, "json")
        if is_boolean(result) and fmt in ("csv", "tsv"):
            fmt = "json"
        body = io.BytesIO()
        serialize_results(result, body, fmt)
    response = Response(body.getvalue(), mimetype=MEDIA[fmt].split(";")[0])
    response.headers["Content-Type"] = MEDIA[fmt]
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def service_description(store) -> Response:
    """SPARQL 1.1 Service Description of this endpoint, in Turtle."""
    endpoint = request.base_url
    graphs = "".join(f"      sd:namedGraph [ sd:name <{g}> ] ;\n" for g in store.data_graphs())
    body = f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix formats: <http://www.w3.org/ns/formats/> .

<{endpoint}> a sd:Service ;
  sd:endpoint <{endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query ;
  sd:feature sd:UnionDefaultGraph ;
  sd:resultFormat formats:SPARQL_Results_JSON, formats:SPARQL_Results_XML, formats:SPARQL_Results_CSV,
    formats:SPARQL_Results_TSV, formats:Turtle, formats:N-Triples, formats:RDF_XML, formats:JSON-LD ;
  sd:defaultDataset [ a sd:Dataset ;
{graphs}      sd:defaultGraph [ a sd:Graph ] ] .
"""
    response = Response(body, mimetype="text/turtle")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
