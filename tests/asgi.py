"""An in-process client of the ASGI front (kg/web/front.py): the real app, no server, no socket.

The front answers every ``/sparql`` query (the Flask app keeps pages, updates and the Graph Store,
which the front hands to it through a2wsgi), so in-process tests of ``/sparql`` drive the front:
one ASGI request per call, its messages collected. The calls and responses look like Flask's
test client's (``get``/``post``/``head`` with ``query_string``, ``data``, ``headers``;
``status_code``, ``headers``, ``data``, ``get_json()``), so a test reads the same either way.
A tiny driver of our own rather than httpx's ASGITransport: httpx is no dependency of the
project, and ~60 lines cover what the tests send.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any

from flask import Flask
from werkzeug.datastructures import Headers

from kg.web.front import Front


class Answer:
    """One response: status, headers (any case) and body."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers  # as sent: lower-case names, bytes
        self.headers = Headers([(k.decode("latin1"), v.decode("latin1")) for k, v in headers])
        self.data = body

    @property
    def mimetype(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.text if as_text else self.data

    def get_json(self) -> Any:
        return json.loads(self.data)

    @property
    def is_json(self) -> bool:
        return self.mimetype == "application/json" or self.mimetype.endswith("+json")

    @property
    def json(self) -> Any:
        return self.get_json()


class FrontClient:
    """Requests to ``Front(app)``, in process: ``call`` is what a connection would carry."""

    def __init__(self, app: Flask | Front) -> None:
        self.front = app if isinstance(app, Front) else Front(app)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.open(path, method="GET", **kwargs)

    def head(self, path: str, **kwargs: Any) -> Answer:
        return self.open(path, method="HEAD", **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.open(path, method="POST", **kwargs)

    def put(self, path: str, **kwargs: Any) -> Answer:
        return self.open(path, method="PUT", **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.open(path, method="DELETE", **kwargs)

    def open(
        self,
        path: str,
        *,
        method: str = "GET",
        query_string: dict | list | str | None = None,
        data: dict | list | str | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> Answer:
        headers = dict(headers or {})
        if isinstance(data, (dict, list)):  # a form, as Flask's test client sends one
            data, content_type = urllib.parse.urlencode(data, doseq=True), "application/x-www-form-urlencoded"
        body = data.encode() if isinstance(data, str) else (data or b"")
        if content_type:
            headers["Content-Type"] = content_type
        if body:
            headers["Content-Length"] = str(len(body))
        if isinstance(query_string, (dict, list)):
            query_string = urllib.parse.urlencode(query_string, doseq=True)
        path, _, in_path = path.partition("?")  # "/page?a=1", as Flask's test client takes it
        query = "&".join(q for q in (in_path, query_string) if q)
        return asyncio.run(self.call(method, urllib.parse.unquote(path), query.encode(), headers, body))

    async def call(
        self, method: str, path: str, query: bytes, headers: dict[str, str], body: bytes
    ) -> Answer:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
            "method": method, "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
            "headers": [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000), "server": ("localhost", 80),
        }  # fmt: skip
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict] = []

        async def receive() -> dict:  # the body, then nothing until the connection closes (never here)
            if messages:
                return messages.pop()
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def collect(message: dict) -> None:
            sent.append(message)

        await self.front(scope, receive, collect)
        start = next(m for m in sent if m["type"] == "http.response.start")
        data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Answer(start["status"], start["headers"], data)


def flask_scopes(front: Front) -> list[dict[str, Any]]:
    """The scopes of the requests ``front`` hands to the Flask app from now on (a list that grows),
    so that a test can say which requests never reached Flask."""
    real, scopes = front.wsgi, []

    async def recorded(scope, receive, send) -> None:
        scopes.append(scope)
        await real(scope, receive, send)

    front.wsgi = recorded
    return scopes
