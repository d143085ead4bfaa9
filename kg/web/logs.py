"""Structured request logs: one JSON line per request, with its duration and status."""

from __future__ import annotations

import json
import logging
import sys
import time

from flask import Flask, Response, g, request

log = logging.getLogger("kg.requests")


def register(app: Flask) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def start() -> None:
        g.kg_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.get("kg_started")
        log.info(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "method": request.method,
                    "path": request.path,
                    "query_bytes": len(request.query_string),
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                    "bytes": response.calculate_content_length(),
                    "remote": request.remote_addr,
                }
            )
        )
        return response
