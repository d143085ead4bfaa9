"""One function shapes every error body: JSON for API clients, plain text on the endpoints, a page
for browsers; and one table says which status, title and detail each failure gets.

Both are framework-free at their core (:func:`error_of`, :func:`error_body`), so that the
event-loop front (:mod:`kg.web.front`), which answers ``/sparql`` queries without Flask, answers
their errors with the very bytes the Flask app gives its own.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, render_template, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import parse_accept_header

from kg.errors import InputError, QueryError, QueryTimeout, StoreBusy, StoreError
from kg.evaluation.page_store import PageTimeout

log = logging.getLogger("kg")
Headers = list[tuple[str, str]]
ENDPOINTS = ("/sparql", "/store")  # and the graphs under /store/: plain-text errors


def wants_json_for(accept: str, path: str) -> bool:
    """Whether an error goes out as JSON: the client prefers it to HTML, or asked a ``.json`` page."""
    best = parse_accept_header(accept, MIMEAccept).best_match(["text/html", "application/json"])
    return best == "application/json" or path.endswith(".json")


def wants_json() -> bool:
    return wants_json_for(request.headers.get("Accept", ""), request.path)


def is_endpoint(path: str) -> bool:
    """Whether ``path`` is a machine endpoint, whose errors are plain text rather than a page."""
    return path in ENDPOINTS or path.startswith("/store/")


def error_body(status: int, title: str, detail: str, *, as_json: bool) -> tuple[str, bytes]:
    """(Content-Type, body) of an error that is not a page: JSON, or a line of text."""
    if as_json:
        data = {"error": title, "status": status, "detail": detail}
        return "application/json", (json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n").encode()
    return "text/plain; charset=utf-8", f"{title}: {detail}\n".encode()


def error_of(exc: BaseException) -> tuple[int, str, str, Headers]:
    """(status, title, detail, extra headers) of a failure: the one table of what each error is to
    a client. An unexpected one is logged here, with its traceback, and told as a 500."""
    if isinstance(exc, HTTPException):
        extra: Headers = []
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            extra = [("Allow", ", ".join(exc.valid_methods))]
        return exc.code or 500, exc.name, exc.description or "", extra
    if isinstance(exc, QueryError):
        return 400, "Bad query", str(exc), []
    if isinstance(exc, QueryTimeout):  # given up at the deadline: the reader is told when to try again
        title = "Page took too long" if isinstance(exc, PageTimeout) else "Query stopped"
        return 503, title, str(exc), [("Retry-After", "5")]
    if isinstance(exc, InputError):
        return 400, "Bad input", str(exc), []
    if isinstance(exc, StoreBusy):
        return 503, "Store busy", "another write is in progress; try again shortly", [("Retry-After", "2")]
    if isinstance(exc, StoreError):
        log.error("store error: %s", exc)
        return 503, "Store unavailable", "the store cannot be read right now", []
    log.error("internal error", exc_info=exc)
    return 500, "Internal server error", "the error was logged", []


def error_response(status: int, title: str, detail: str) -> Response:
    """The body of every error the app returns."""
    if wants_json() or is_endpoint(request.path):
        ctype, body = error_body(status, title, detail, as_json=wants_json())
        response = Response(body, content_type=ctype)
    else:
        response = Response(render_template("error.html", status=status, title=title, detail=detail))
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(Exception)
    def any_error(exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.response is not None:
            return exc.response  # a ready response (401 with WWW-Authenticate)
        status, title, detail, extra = error_of(exc)
        response = error_response(status, title, detail)
        for name, value in extra:
            response.headers[name] = value
        return response
