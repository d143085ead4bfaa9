"""``/sparql``: the SPARQL 1.1 Protocol, queries and updates.

Queries by GET, URL-encoded POST and direct POST (``application/sparql-query``);
updates by URL-encoded POST and direct POST (``application/sparql-update``),
never by GET, and only with the write token (:mod:`kg.web.auth`).
``default-graph-uri`` / ``named-graph-uri`` set a query's dataset (otherwise
the default graph is the union of the published graphs, unless the query has
its own ``FROM``); ``using-graph-uri`` / ``using-named-graph-uri`` set an
update's. Results are written by pyoxigraph's own serializers and streamed
to the client as they are produced; small answers are cached per store
generation, and every answer carries an ETag (``If-None-Match`` → 304).
Without a query, the Service Description is returned. The dataset is the public
graphs; a request with a token may name private graphs instead
(:func:`private_dataset`).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, request

from kg.errors import QueryError
from kg.sparql_text import dataset_clauses, declares_dataset, describes_constants, with_base
from kg.sparql_updates import add_using, declares_using
from kg.store.results import convert
from kg.web import answers, formats, guard
from kg.web.auth import readable, require_write_token
from kg.web.cache import etag_for, not_modified

blueprint = Blueprint("sparql", __name__)

FORM = ("application/x-www-form-urlencoded", "multipart/form-data")


def _store():
    return current_app.extensions["kg_store"]


def _one(values: list[str], name: str) -> str:
    if len(values) > 1:
        abort(400, f"more than one {name!r} parameter")
    return values[0] if values else ""


def _operation() -> tuple[str, str]:
    """("query" | "update", text) from the request, per the Protocol's three ways of sending it."""
    if request.method in ("GET", "HEAD"):  # HEAD: the GET's headers, without its body
        if "update" in request.args:
            abort(405, "SPARQL updates must be sent with POST")
        return "query", _one(request.args.getlist("query"), "query")
    if request.mimetype == "application/sparql-query":
        return "query", request.get_data(as_text=True)
    if request.mimetype == "application/sparql-update":
        return "update", request.get_data(as_text=True)
    if request.mimetype in FORM:
        if "query" in request.form and "update" in request.form:
            abort(400, "a request carries a query or an update, not both")
        if "update" in request.form:
            return "update", _one(request.form.getlist("update"), "update")
        return "query", _one(request.form.getlist("query"), "query")
    abort(
        415,
        f"unsupported request body type {request.mimetype or '(none)'!r}: use "
        "application/sparql-query, application/sparql-update or application/x-www-form-urlencoded",
    )


@blueprint.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def sparql() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204)
    kind, text = _operation()
    guard.check(text)
    if kind == "update":
        return update(text)
    if not text.strip():
        return service_description()
    return query(text)


def private_dataset(store, text: str, default: list[str] | None, named: list[str] | None) -> bool:
    """Whether a query runs on the private graphs rather than the public ones.

    The dataset a query names (``default-graph-uri`` / ``named-graph-uri``, else its own ``FROM`` /
    ``FROM NAMED``) decides, through the one access policy (:func:`kg.web.auth.readable`): private
    graphs that this request may read, and nothing else (the two sides live apart: one query
    cannot join them, so naming both is a 400). A private graph named by a request without a token
    is absent: the query runs on the public graphs, where no such graph is. ``GRAPH`` patterns
    range over the dataset's named graphs, so they reach private graphs only when it names them.
    """
    if default is None and named is None:
        if not declares_dataset(text):
            return False
        default, named = dataset_clauses(text)
    graphs = [*(default or ()), *(named or ())]
    private = [g for g in graphs if store.is_private(g)]
    if not private or not all(readable(store, g) for g in private):
        return False
    if len(private) < len(graphs):
        abort(
            400,
            "a query's dataset names private graphs or public ones, not both: they are stored apart "
            "(send one query per side)",
        )
    return True


def query(text: str) -> Response:
    store = _store()
    text = with_base(text, request.base_url)  # relative IRIs: against the endpoint (the key has it)
    default = request.values.getlist("default-graph-uri") or None
    named = request.values.getlist("named-graph-uri") or None
    private = private_dataset(store, text, default, named)
    version = store.version()
    accept = answers.negotiate(formats.requested(), request.headers.get("Accept", ""))
    key = answers.cache_key(text, default or (), named or (), accept, version, private=private)
    etag = answers.key_etag(key)
    if (cached := not_modified(etag)) is not None:
        return cached
    cache = current_app.extensions["kg_cache"]
    if (hit := cache.get(key)) is not None:
        return _response(hit[0], hit[1][0], etag, hit[1][1], private)
    failed = request.environ.get("asgi.scope", {}).get(answers.FAILED)
    if failed is not None:  # the front's client of the pool met it evaluating this very request
        raise failed
    max_rows = current_app.config["KG_SETTINGS"].max_results

    evaluator = current_app.extensions["kg_evaluator"]
    if bounded(text, evaluator):  # bounded work: in this thread, without the trip to a child
        fmt, chunks = _now(store, text, default, named, accept, max_rows, private)
    else:  # killed at the time limit (or the remote store's request timeout)
        fmt, chunks = evaluator.evaluate(text, default, named, accept, max_rows=max_rows, private=private)
    fmt, _, cut = fmt.partition("|")
    ctype = formats.content_type(fmt)
    if isinstance(chunks, list):  # the whole answer is here: one body with its length, one write
        data = b"".join(chunks)
        if len(data) <= cache.max_entry:
            cache.put(key, data, (ctype, cut))
        return _response(data, ctype, etag, cut, private)

    def body() -> Iterator[bytes]:
        kept: list[bytes] | None = []
        size = 0
        for chunk in chunks:
            if kept is not None:
                size += len(chunk)
                kept = kept + [chunk] if size <= cache.max_entry else None
            yield chunk
        if kept is not None:
            cache.put(key, b"".join(kept), (ctype, cut))

    return _response(body(), ctype, etag, cut, private)


def bounded(text: str, evaluator: object) -> bool:
    """Whether a query's work is bounded by the resources it names (``DESCRIBE <iri>``), so that it
    is evaluated in the request's own thread (or the event loop) rather than by an evaluator
    process; never with a remote store, whose answers are passed through."""
    return describes_constants(text) and not getattr(evaluator, "remote", False)


def _response(body, ctype: str, etag: str, cut: str = "", private: bool = False) -> Response:
    """An answer with the headers of :func:`kg.web.answers.answer_headers` (the front sends the same);
    one read from the private graphs is the token holder's, not for shared caches."""
    response = Response(body, content_type=ctype)
    for name, value in answers.answer_headers(etag, cut, current_app.config["KG_SETTINGS"].max_results):
        response.headers[name] = value
    if private:
        response.headers["Cache-Control"] = "private"
    return response


def _now(
    store, text: str, default, named, accept: tuple[str, str], max_rows: int, private: bool
) -> tuple[str, list[bytes]]:
    """Evaluate and serialize in the request's thread: for queries whose work is bounded by the
    resources they name (``DESCRIBE <iri>``), where the trip to an evaluator process would cost
    more than the query (0.3 ms of work against ~0.7 ms of inter-process messages)."""
    buffer = answers.Buffer()
    answers.evaluate(buffer, store, text, default, named, accept, max_rows, private=private)
    return buffer.fmt, buffer.parts


def update(text: str) -> Response:
    require_write_token()
    if not text.strip():
        abort(400, "empty update")
    text = with_base(text, request.base_url)
    default = request.values.getlist("using-graph-uri")
    named = request.values.getlist("using-named-graph-uri")
    if default or named:
        if declares_using(text):
            abort(400, "using-graph-uri / using-named-graph-uri cannot be combined with USING or WITH")
        text = add_using(text, default, named)
    try:
        _store().update(text)
    except QueryError as exc:
        abort(400, str(exc))
    return Response(status=204)


def service_description() -> Response:
    """SPARQL 1.1 Service Description of this endpoint, in the negotiated RDF syntax."""
    store = _store()
    fmt = formats.negotiate({k: v for k, v in formats.GRAPHS.items() if k not in ("nq", "trig")})
    version = store.version()
    etag = etag_for(version, "service-description", fmt, request.base_url)
    if (cached := not_modified(etag)) is not None:
        return cached
    writable = bool(current_app.config["KG_SETTINGS"].update_token)
    body = convert(describe_service(request.base_url, store, writable=writable), fmt, prefixes=SD_PREFIXES)
    return _response(body, formats.content_type(fmt), etag)


SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
SD_PREFIXES = {"sd": SD, "formats": FORMATS_NS, "void": "http://rdfs.org/ns/void#"}
RESULT_FORMAT_IRIS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "JSON-LD",
    "N-Quads",
    "TriG",
)


def describe_service(endpoint: str, store, *, writable: bool) -> str:
    """The Service Description as N-Triples: endpoint, languages, formats, features, graphs and sizes,
    and the base that relative IRIs resolve against (the Protocol leaves it to the service)."""
    e = f"<{endpoint}>"
    lines = [
        f"{e} <{RDF_TYPE}> <{SD}Service> .",
        f"{e} <{SD}endpoint> {e} .",
        f'{e} <{RDFS_COMMENT}> "{BASE_NOTE.format(endpoint=endpoint)}"@en .',
        f"{e} <{SD}supportedLanguage> <{SD}SPARQL11Query> .",
        f"{e} <{SD}feature> <{SD}UnionDefaultGraph> .",
    ]
    if writable:
        lines.append(f"{e} <{SD}supportedLanguage> <{SD}SPARQL11Update> .")
    lines += [f"{e} <{SD}resultFormat> <{FORMATS_NS}{name}> ." for name in RESULT_FORMAT_IRIS]
    lines += [
        f"{e} <{SD}defaultDataset> _:dataset .",
        f"_:dataset <{RDF_TYPE}> <{SD}Dataset> .",
        f"_:dataset <{SD}defaultGraph> _:default .",
        f"_:default <{RDF_TYPE}> <{SD}Graph> .",
    ]
    counted = store.graph_sizes()  # one count of every graph (a scan on a remote store)
    sizes = {g: counted.get(g, 0) for g in store.data_graphs()}  # what queries see
    union = sum(sizes.values())
    lines.append(f'_:default <http://rdfs.org/ns/void#triples> "{union}"^^<{XSD_INT}> .')
    for i, (graph, size) in enumerate(sorted(sizes.items())):
        lines += [
            f"_:dataset <{SD}namedGraph> _:ng{i} .",
            f"_:ng{i} <{RDF_TYPE}> <{SD}NamedGraph> .",
            f"_:ng{i} <{SD}name> <{graph}> .",
            f"_:ng{i} <{SD}graph> _:g{i} .",
            f"_:g{i} <{RDF_TYPE}> <{SD}Graph> .",
            f'_:g{i} <http://rdfs.org/ns/void#triples> "{size}"^^<{XSD_INT}> .',
        ]
    return "\n".join(lines) + "\n"


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
# what :func:`query` and :func:`update` do with a relative IRI (``with_base`` and the request's URL)
BASE_NOTE = (
    "Relative IRIs in a query or an update without a BASE of its own resolve against the URL the "
    "request was sent to, without its query string: this endpoint, {endpoint}"
)
XSD_INT = "http://www.w3.org/2001/XMLSchema#integer"
