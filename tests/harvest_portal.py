"""A real HTTP server on 127.0.0.1 that serves real portal files as a portal would, and fails as
portals do: for the harvester's and the HTTP client's tests.

Each path is a :class:`Route`: a body with its media type and, when given, an ETag and a
Last-Modified, answered 304 to a conditional GET that matches them (as a real server does). Its
``plan`` is the behaviour of the next requests, one item each (the last one repeats): ``ok``, a
status number (``500``: with ``Retry-After`` when the route has ``retry_after``), ``html`` (a
welcome page with 200), ``truncated`` (a Content-Length longer than the body, then the connection
closed), ``broken-gzip`` (a gzip stream cut in the middle), ``gzip`` (the body gzipped), ``slow``
(an answer after ``delay`` seconds), ``trickle`` (the headers at once, then the body
:data:`TRICKLE` bytes every ``delay`` seconds, as a portal that sends without end) or ``redirect``
(a 302 to ``location``). Every request is recorded with its headers.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# real portal files the harvest tests serve (paths under ../shared/data)
FLORIDA = "real-portals/data-json/floridadep.gov-rossi.data.json"  # 4 KB, 7 datasets
VANVES = "real-portals/dcat-ap-rdf/data.gouv.fr-ville-de-vanves.rdf"  # 14 KB of RDF/XML
TRICKLE = 16  # bytes a piece, for the step "trickle"
WELCOME = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Portal maintenance</body></html>"


@dataclass
class Route:
    body: bytes
    content_type: str = "application/json"
    etag: str = ""
    last_modified: str = ""
    plan: list[str] = field(default_factory=lambda: ["ok"])
    delay: float = 0.0
    retry_after: str = ""
    require: dict[str, str] = field(default_factory=dict)  # headers without which the answer is 401
    location: str = ""  # where the step "redirect" sends the client (a 302)

    def change(self, body: bytes, *, etag: str = "", last_modified: str = "") -> None:
        """New content, as a portal publishes it: new validators with it."""
        self.body, self.etag, self.last_modified = body, etag, last_modified


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it came


class Portal:
    """The server; ``url(path)`` is a route's address. Use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                portal.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = portal.routes.get(self.path)
                if route is None:
                    return self._send(404, b'{"error": "not found"}', "application/json")
                step = route.plan.pop(0) if len(route.plan) > 1 else route.plan[0]
                if any(self.headers.get(k) != v for k, v in route.require.items()):
                    return self._send(401, b"authorization required", "text/plain")
                if step.isdigit():
                    extra = {"Retry-After": route.retry_after} if route.retry_after else {}
                    return self._send(int(step), b"portal error", "text/plain", extra)
                if step == "redirect":
                    return self._send(302, b"", "text/plain", {"Location": route.location})
                if step == "html":
                    return self._send(200, WELCOME, "text/html; charset=utf-8")
                if step == "slow":
                    time.sleep(route.delay)
                if self._not_modified(route):
                    return self._send(304, b"", "", self._validators(route))
                if step == "truncated":
                    return self._truncated(route)
                if step == "trickle":
                    return self._trickle(route)
                body, extra = route.body, self._validators(route)
                if step in ("gzip", "broken-gzip"):
                    body = gzip.compress(body)
                    body = body[: len(body) // 2] if step == "broken-gzip" else body
                    extra["Content-Encoding"] = "gzip"
                return self._send(200, body, route.content_type, extra)

            def _not_modified(self, route: Route) -> bool:
                tag, since = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if tag is not None:  # RFC 9110: If-None-Match decides when both are sent
                    return bool(route.etag) and tag == route.etag
                return bool(since and route.last_modified and since == route.last_modified)

            @staticmethod
            def _validators(route: Route) -> dict[str, str]:
                found = {"ETag": route.etag} if route.etag else {}
                if route.last_modified:
                    found["Last-Modified"] = route.last_modified
                return found

            def _truncated(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body) + 1000))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True

            def _trickle(self, route: Route) -> None:
                self.send_response(200)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                for start in range(0, len(route.body), TRICKLE):
                    self.wfile.write(route.body[start : start + TRICKLE])
                    self.wfile.flush()  # a client that gave up: BrokenPipeError, ends the handler
                    time.sleep(route.delay)

            def _send(self, status: int, body: bytes, media: str, headers: dict | None = None) -> None:
                self.send_response(status)
                if media:
                    self.send_header("Content-Type", media)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client gone (timed out): expected
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes, **route: object) -> Route:
        self.routes[path] = Route(body, **route)  # type: ignore[arg-type]
        return self.routes[path]

    def asked(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> Portal:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_date(seconds_ago: float = 0.0) -> str:
    """An HTTP date (as Last-Modified carries it), ``seconds_ago`` before now."""
    return formatdate(time.time() - seconds_ago, usegmt=True)
