"""``/store``: the SPARQL 1.1 Graph Store HTTP Protocol, indirect and direct identification.

``?graph=IRI`` names a graph, ``?default`` the store's own default graph (the
one a plain ``INSERT DATA`` writes to; reads of the SPARQL default graph see
it inside the union of the published graphs); a URL under ``/store/`` names the
graph whose IRI it is (direct identification: ``PUT /store/people/1`` writes
the graph ``<{url}store/people/1>``). Status codes as the Recommendation gives
them: GET/HEAD 200 or 404; PUT 201 when the graph is new, else 204; POST 201
when new, else 204; DELETE 204 or 404; a body that does not parse 400; a body
type we cannot read 415. A POST to ``/store`` itself, naming no graph, creates
a graph with a new IRI under ``/store/`` and answers 201 with it in
``Location``; a ``multipart/form-data`` POST or PUT merges its parts (each in
its own RDF syntax) into the graph, in one write. Writes need the token; a
private graph (quarantine, report, provenance) is read only with a token
(:func:`kg.web.auth.readable`), and is a 404 to any other request.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, current_app, request

from kg.errors import InputError
from kg.store.results import merged_ntriples, serialize_triples
from kg.terms import iri_ok
from kg.vocab import PREFIXES
from kg.web import formats
from kg.web.auth import require_readable, require_write_token
from kg.web.cache import etag_for, not_modified

blueprint = Blueprint("gsp", __name__)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]
NEW = object()  # _target: a POST that names no graph, which creates one


def _target() -> str | None | object:
    """The graph a request is about: its IRI, None for the default graph, or :data:`NEW`."""
    graphs = request.args.getlist("graph")
    has_default = "default" in request.args
    if not graphs and not has_default and request.method == "POST":
        return NEW
    if has_default == bool(graphs) or len(graphs) > 1:
        abort(400, "name exactly one graph: ?graph=IRI or ?default")
    if graphs:
        return _checked(graphs[0])
    return None


def _checked(iri: str) -> str:
    """A graph IRI the store can hold, else a 400."""
    if not iri.startswith(("http://", "https://", "urn:")) or not iri_ok(iri):
        abort(400, f"not an absolute IRI: {iri[:200]!r}")
    return iri


@blueprint.route("/store", methods=METHODS)
def graph_store() -> Response:
    if request.method == "OPTIONS":
        return Response(status=204)
    return _serve(_target())


@blueprint.route("/store/<path:name>", methods=METHODS)
def graph_store_direct(name: str) -> Response:
    """Direct identification: the request's URL, without its query string, is the graph's IRI."""
    if request.method == "OPTIONS":
        return Response(status=204)
    if "graph" in request.args or "default" in request.args:
        abort(400, "a graph named by its URL takes neither ?graph nor ?default")
    return _serve(_checked(request.base_url))


def _serve(graph: str | None | object) -> Response:
    store = current_app.extensions["kg_store"]
    if request.method in ("GET", "HEAD"):
        return read(store, graph)  # type: ignore[arg-type]
    require_write_token()
    if request.method == "DELETE":
        if not store.delete_graph(graph):
            abort(404, f"no graph {graph}")
        return Response(status=204)
    data, fmt = _body()
    new = graph is NEW
    if new:
        graph = f"{request.url_root}store/{uuid.uuid4().hex}"
    try:
        created = store.put_graph(graph, data, fmt, replace=request.method == "PUT")
    except InputError as exc:
        abort(400, str(exc))
    response = Response(status=201 if created else 204)
    if new:
        response.headers["Location"] = graph
    return response


def _body() -> tuple[bytes, str]:
    """The request's RDF and its syntax; a multipart form's parts merged as N-Triples."""
    if request.mimetype == "multipart/form-data":
        parts = []
        for _, part in request.files.items(multi=True):
            fmt = formats.body_format(part.mimetype)
            if fmt is None:
                abort(
                    415, f"cannot read a {part.mimetype or '(missing)'} part {part.filename or part.name!r}"
                )
            parts.append((part.read(), fmt))
        if not parts:
            abort(400, "a multipart/form-data body needs at least one file part")
        try:
            return merged_ntriples(parts), "nt"
        except InputError as exc:
            abort(400, str(exc))
    fmt = formats.body_format(request.mimetype)
    if fmt is None:
        abort(
            415,
            f"cannot read a {request.mimetype or '(missing)'} body: send Turtle, N-Triples, "
            "RDF/XML, JSON-LD or multipart/form-data",
        )
    return request.get_data(), fmt


def read(store, graph: str | None) -> Response:
    require_readable(store, graph)  # before anything else: not even whether it exists
    if not store.has_graph(graph):
        abort(404, f"no graph {graph}")
    fmt = formats.negotiate({k: v for k, v in formats.GRAPHS.items() if k not in ("nq", "trig")})
    etag = etag_for(store.version(), "gsp", graph, fmt)
    if (cached := not_modified(etag)) is not None:
        return cached
    body = b""
    if request.method == "GET":
        from io import BytesIO

        out = BytesIO()
        serialize_triples(store.graph_triples(graph), out, fmt, prefixes=PREFIXES)
        body = out.getvalue()
    response = Response(body, content_type=formats.content_type(fmt))
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept"
    if store.is_private(graph):  # a token's answer: not for shared caches
        response.headers["Cache-Control"] = "private"
    return response
