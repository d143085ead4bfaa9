"""Who may write, who may read the private graphs, and CORS for readers.

Writes (SPARQL updates, Graph Store writes) are off unless ``KG_UPDATE_TOKEN``
is set; then they need ``Authorization: Bearer <token>``, compared in
constant time. Reads are open to every origin, so browser-based clients such
as YASGUI work from other sites; credentials are never allowed cross-origin.

The private graphs — quarantine (``{base}graph/quarantine/…``), reports
(``{base}graph/report/…``), the ingest runs (``{base}graph/provenance``, which
name the server's own file paths) — are the store's to name
(:meth:`kg.store.embedded.Store.is_private`) and this module's to guard: :func:`readable`
is the one access policy that every read path of raw graphs asks (``/sparql``,
``/store``, ``/dump.nq``, a resource's RDF). A request that carries
``KG_READ_TOKEN`` or ``KG_UPDATE_TOKEN`` reads them; any other finds them absent
(a 404, or an empty graph inside a query). The HTML pages and their JSON twins
show what they show of them (findings, quarantined records) to everyone.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, abort, current_app, request

from kg.web.answers import cors_headers


def _bearer() -> str:
    """The Flask request's bearer token ("" when it has none)."""
    return bearer_of(request.headers.get("Authorization", ""))


def _is(given: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def require_write_token() -> None:
    """Abort with 403 (writes off) or 401 (missing or wrong token) unless the request may write."""
    token = current_app.config["KG_SETTINGS"].update_token
    if not token:
        abort(403, "writes are off on this service (the operator has not set KG_UPDATE_TOKEN)")
    if not _is(_bearer(), token):
        response = Response("a valid bearer token is needed to write\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
        abort(response)


def bearer_of(authorization: str) -> str:
    """The bearer token of an ``Authorization`` header value ("" when it has none)."""
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def token_reads_private(settings, authorization: str) -> bool:
    """Whether a request with this ``Authorization`` header may read the private graphs: it carries
    the read or the update token. Framework-free: the event-loop front asks it too."""
    given = bearer_of(authorization)
    return bool(given) and (_is(given, settings.read_token) | _is(given, settings.update_token))


def reads_private() -> bool:
    """Whether this Flask request may read the private graphs (:func:`token_reads_private`)."""
    return token_reads_private(current_app.config["KG_SETTINGS"], request.headers.get("Authorization", ""))


def readable(store, graph: str | None, reads: bool | None = None) -> bool:
    """The access policy: may this request read ``graph`` raw (``None``: the default graph)?
    A public graph, yes; a private one (``store.is_private``), only with a token. ``reads``: whether
    the request carries one (:func:`token_reads_private`), for a caller outside Flask."""
    return not store.is_private(graph) or (reads_private() if reads is None else reads)


def require_readable(store, graph: str | None) -> None:
    """Abort with 404, as if the graph did not exist, unless this request may read it."""
    if not readable(store, graph):
        abort(404, f"no graph {graph}")


def register_cors(app: Flask) -> None:
    """CORS headers on the readers' routes (:func:`kg.web.answers.cors_headers` says which)."""

    @app.after_request
    def cors(response: Response) -> Response:
        for name, value in cors_headers(request.path, request.method):
            response.headers[name] = value
        return response
