"""Structured request logs: one JSON line per request, with its duration and status.

At debug level (``KG_LOG_LEVEL=debug``) every request Flask answers adds a second line with
its store queries (those of :class:`kg.evaluation.page_store.TimedStore`, through which every page queries):
how many, their total time, and the slowest one's time and first line, so that a slow page
names its slow query.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from flask import Flask, Response, g, has_app_context, request

log = logging.getLogger("kg.requests")
LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}


def setup(level: str = "info") -> None:
    """One handler on stderr, once per process; the level of ``KG_LOG_LEVEL``."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(LEVELS.get(level, logging.INFO))


def register(app: Flask, level: str = "info") -> None:
    """Log every request Flask answers."""
    setup(level)

    @app.before_request
    def start() -> None:
        g.kg_started = time.perf_counter()
        g.kg_queries = Queries()

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
        queries = g.get("kg_queries")
        if queries is not None and log.isEnabledFor(logging.DEBUG):
            log.debug(json.dumps({"path": request.path, "status": response.status_code, **queries.summary()}))
        return response


class Queries:
    """The store queries of one request: how many, how long in all, and the slowest."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.slowest = (0.0, "")

    def add(self, sparql: str, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds
        if seconds >= self.slowest[0]:
            self.slowest = (seconds, sparql)

    def summary(self) -> dict:
        seconds, sparql = self.slowest
        first = next((line.strip() for line in sparql.splitlines() if line.strip()), "")
        return {
            "queries": self.count,
            "query_ms": round(self.seconds * 1000, 2),
            "slowest_ms": round(seconds * 1000, 2),
            "slowest": first[:300],
        }


def observe_query(sparql: str, seconds: float) -> None:
    """:class:`kg.evaluation.page_store.TimedStore`'s observer: count the query on the current request."""
    if has_app_context():
        queries = g.get("kg_queries")
        if queries is not None:
            queries.add(sparql, seconds)


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
    the answers it gives itself, so that every request has the same line whichever path served it.

    The record is made and handed to the handlers directly: ``log.info`` also walks the stack to
    find its caller's file and line, which this line never shows; with the time's formatting, once
    a second, that was a third of the 25 us a line cost, on every request of the front.
    """
    if not log.isEnabledFor(logging.INFO):
        return
    line = json.dumps(
        {
            "time": _now(),
            "method": method,
            "path": path,
            "query_bytes": query_bytes,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "bytes": size,
            "remote": remote,
        }
    )
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, None, None))


_stamp: tuple[int, str] = (0, "")


def _now() -> str:
    """The local time to the second, as ``time.strftime`` writes it (formatted once a second)."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second)))
    return _stamp[1]
