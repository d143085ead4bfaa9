"""``/sparql`` updates: the SPARQL 1.1 Protocol's update operation, in the Flask app.

Every ``/sparql`` query — by GET, URL-encoded or multipart POST, direct POST, with its Service
Description, 304s and errors — is answered by the event-loop front (:mod:`kg.web.front`,
:mod:`kg.web.sparql_core`), which hands the Flask app only the updates: by URL-encoded POST and
direct POST (``application/sparql-update``), never by GET, and only with the write token
(:mod:`kg.web.auth`). ``using-graph-uri`` / ``using-named-graph-uri`` set an update's dataset;
relative IRIs resolve against the endpoint's URL.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from kg.errors import QueryError
from kg.sparql_text import with_base
from kg.sparql_updates import add_using, declares_using
from kg.web import guard
from kg.web.auth import require_write_token

blueprint = Blueprint("sparql", __name__)

FORM = ("application/x-www-form-urlencoded", "multipart/form-data")


def _update_text() -> str:
    """The update a POST carries, directly or as the form's one ``update`` field.

    The front sends nothing else here; a query sent to the Flask app itself (it serves pages,
    updates and the Graph Store) is refused rather than answered by a second query path.
    """
    if request.mimetype == "application/sparql-update":
        return request.get_data(as_text=True)
    if request.mimetype in FORM and "update" in request.form:
        values = request.form.getlist("update")
        if len(values) > 1:
            abort(400, "more than one 'update' parameter")
        return values[0]
    abort(400, "this app takes SPARQL updates; queries are answered by the front (kg.web.front)")


@blueprint.route("/sparql", methods=["POST"])
def sparql() -> Response:
    text = _update_text()
    guard.check(text)
    return update(text)


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
        current_app.extensions["kg_store"].update(text)
    except QueryError as exc:
        abort(400, str(exc))
    return Response(status=204)
