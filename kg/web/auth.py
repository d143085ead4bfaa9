"""Who may write, and CORS for readers.

Writes (SPARQL updates, Graph Store writes) are off unless ``KG_UPDATE_TOKEN``
is set; then they need ``Authorization: Bearer <token>``, compared in
constant time. Reads are open to every origin, so browser-based clients such
as YASGUI work from other sites; credentials are never allowed cross-origin.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, abort, current_app, request

from kg.web.answers import cors_headers


def require_write_token() -> None:
    """Abort with 403 (writes off) or 401 (missing or wrong token) unless the request may write."""
    token = current_app.config["KG_SETTINGS"].update_token
    if not token:
        abort(403, "writes are off on this service (the operator has not set KG_UPDATE_TOKEN)")
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        response = Response("a valid bearer token is needed to write\n", status=401, mimetype="text/plain")
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg"'
        abort(response)


def register_cors(app: Flask) -> None:
    """CORS headers on the readers' routes (:func:`kg.web.answers.cors_headers` says which)."""

    @app.after_request
    def cors(response: Response) -> Response:
        for name, value in cors_headers(request.path, request.method):
            response.headers[name] = value
        return response
