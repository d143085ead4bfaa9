"""Structured request logs: one JSON line per request, with its duration and status."""

from __future__ import annotations

import json
import logging
import sys
import time

from flask import Flask, Response, g, request

log = logging.getLogger("kg.requests")


def setup() -> None:
    """One handler on stderr, once per process."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def register(app: Flask) -> None:
    """Log every request Flask answers."""
    setup()

    @app.before_request
    def start() -> None:
        g.kg_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        write(
            request.method,
            request.path,
            len(request.query_string),
            response.status_code,
            g.get("kg_started"),
            # a streamed body's length is unknown here: asking werkzeug for it would read the whole
            # stream into memory before the first byte is sent (it did: 97 MB held for 60 s)
            response.calculate_content_length() if response.is_sequence else None,
            request.remote_addr,
        )
        return response


def write(
    method: str,
    path: str,
    query_bytes: int,
    status: int,
    started: float | None,
    size: int | None,
    remote: str | None,
) -> None:
    """Log one request: called by Flask's hook and by the event-loop front (:mod:`kg.web.front`) for
    the answers it gives itself, so that every request has the same line whichever path served it."""
    log.info(
        json.dumps(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "method": method,
                "path": path,
                "query_bytes": query_bytes,
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                "bytes": size,
                "remote": remote,
            }
        )
    )
