"""ETags and a bounded in-memory cache of query results.

Both are keyed by the store's generation (:meth:`kg.store.embedded.Store.version`),
which changes on every commit, so an answer can never outlive the data it
was computed from: a new generation is a new key, and old entries age out of
the LRU. Each web worker process has its own cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Response, request

from kg.web.answers import etag_for, matches

__all__ = ["ResultCache", "etag_for", "not_modified"]


def not_modified(etag: str) -> Response | None:
    """A 304 when the client already holds this answer (``If-None-Match``)."""
    if matches(etag, request.headers.get("If-None-Match", "")):
        response = Response(status=304)
        response.headers["ETag"] = etag
        return response
    return None


class ResultCache:
    """An LRU of response bodies, bounded in total bytes; entries larger than ``max_entry`` are not kept."""

    def __init__(self, *, max_bytes: int = 64 << 20, max_entry: int = 8 << 20) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self._entries: OrderedDict[tuple, tuple[bytes, object]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> tuple[bytes, object] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple, body: bytes, content_type: object) -> None:
        if len(body) > self.max_entry:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._entries[key] = (body, content_type)
            self._size += len(body)
            while self._size > self.max_bytes and self._entries:
                _, (dropped, _) = self._entries.popitem(last=False)
                self._size -= len(dropped)
