"""One function shapes every error body: JSON for API clients, a page for browsers."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kg.errors import InputError, QueryError, QueryTimeout, StoreBusy, StoreError
from kg.evaluation.page_store import PageTimeout


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.path.endswith(".json")


def error_response(status: int, title: str, detail: str) -> Response:
    """The body of every error the app returns."""
    if wants_json():
        response = jsonify({"error": title, "status": status, "detail": detail})
    elif request.path in ("/sparql", "/store") or request.path.startswith("/store/"):
        response = Response(f"{title}: {detail}\n", mimetype="text/plain")
    else:
        response = Response(render_template("error.html", status=status, title=title, detail=detail))
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.response is not None:  # a ready response (401 with WWW-Authenticate)
            return exc.response
        return error_response(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError) -> Response:
        return error_response(400, "Bad query", str(exc))

    @app.errorhandler(QueryTimeout)
    def query_timeout(exc: QueryTimeout) -> Response:
        """503: a /sparql query, or one of a page's own queries
        (:class:`kg.evaluation.page_store.PageTimeout`), ran out of time and its evaluator was
        killed; the reader is told so, and when to try again."""
        title = "Page took too long" if isinstance(exc, PageTimeout) else "Query stopped"
        response = error_response(503, title, str(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(InputError)
    def input_error(exc: InputError) -> Response:
        return error_response(400, "Bad input", str(exc))

    @app.errorhandler(StoreBusy)
    def store_busy(exc: StoreBusy) -> Response:
        response = error_response(503, "Store busy", "another write is in progress; try again shortly")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError) -> Response:
        app.logger.error("store error: %s", exc)
        return error_response(503, "Store unavailable", "the store cannot be read right now")

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Response:
        app.logger.exception("internal error")
        return error_response(500, "Internal server error", "the error was logged")
