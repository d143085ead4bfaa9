"""The project's one HTTP client: polite GETs for the CKAN portal reader and the harvester.

With the standard library only (the project has no HTTP client dependency of its own; the remote
store's urllib3 pool speaks SPARQL to one configured server, a different job). What a polite
harvester owes a portal is here once: a User-Agent naming the service and its version,
``Accept-Encoding: gzip``, conditional GETs (ETag, Last-Modified), a timeout, retries with
exponential back-off on timeouts (a body that trickles in counts as one), connection errors, 5xx
and 429 (``Retry-After`` honoured up to :data:`MAX_RETRY_AFTER`), and a minimum interval between
two requests to the same host. What it
refuses is here too: a redirect that leaves HTTP(S) (a portal must not make us read ``file:``), a
body over the size cap (compressed or not), a body shorter than its ``Content-Length`` or a gzip
stream that breaks off. Every failure is a :class:`FetchError` (an :class:`~kg.errors.InputError`)
that names the URL, so no urllib exception escapes.
"""

from __future__ import annotations

import email.utils
import http.client
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from urllib import request as urlrequest
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from kg.errors import InputError
from kg.settings import Settings

try:
    VERSION = metadata.version("agency-kg")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0"
USER_AGENT = f"agency-kg/{VERSION} (agency knowledge graph harvester; Python urllib)"
MAX_RESPONSE_BYTES = 200 * 1024 * 1024
MAX_RETRY_AFTER = 120.0  # seconds: a longer Retry-After is cut to this (the next run tries again)
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# the headers a redirect to another host keeps: the client's own, not the caller's (credentials)
OWN_HEADERS = frozenset({"user-agent", "accept", "accept-encoding", "if-none-match", "if-modified-since"})
READ_SIZE = 1 << 20  # at most this much a piece, as it arrives
MIN_BYTES_PER_SECOND = 1024  # a body must keep coming at least this fast (over each timeout's span)
ERROR_BODY_BYTES = 64 * 1024  # of a 4xx/5xx answer, kept for the caller's message (CKAN explains 404s)


class FetchError(InputError):
    """A GET that failed for good: ``status`` is the last HTTP status (None: no answer at all)."""

    def __init__(self, message: str, *, url: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message, file=url)
        self.status = status
        self.body = body


class RedirectRefused(FetchError):
    """A redirect to a URL the caller does not allow (``target``)."""

    def __init__(self, url: str, target: str) -> None:
        super().__init__(f"redirected to {target}, which is not allowed", url=url)
        self.target = target


@dataclass(frozen=True)
class Answer:
    """A 2xx answer with its (decoded) body, or a 304 (``not_modified``) with none."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str:
        return self.headers.get(name, "") or ""


@dataclass
class HttpClient:
    """GETs with retries and a pause per host; one client is shared by all the requests of a run,
    so that its pause per host holds across sources and pages.

    :param retries: attempts after the first, for failures that may pass (see the module).
    :param backoff: seconds before the first retry; doubled before each next one.
    :param host_interval: least seconds between the starts of two requests to one host.
    """

    timeout: float = 30.0
    retries: int = 0
    backoff: float = 1.0
    host_interval: float = 0.0
    max_bytes: int = MAX_RESPONSE_BYTES
    sleep: Callable[[float], None] = time.sleep
    _last_request: dict[str, float] = field(default_factory=dict, repr=False)

    def get(
        self,
        url: str,
        *,
        accept: str = "*/*",
        headers: Mapping[str, str] | None = None,
        etag: str = "",
        last_modified: str = "",
        redirects: Callable[[str], bool] | None = None,
    ) -> Answer:
        """GET ``url``; with ``etag``/``last_modified`` (the validators of an earlier answer) a
        conditional GET, whose 304 is returned as an :class:`Answer` that is ``not_modified``.
        ``redirects``: which URLs a redirect may lead to (default: any http(s) URL).

        :raises FetchError: naming ``url``, after the retries, for the last failure.
        :raises RedirectRefused: a redirect to a URL that ``redirects`` refuses.
        """
        sent = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip", **(headers or {})}
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            self._pause_for_host(url)
            try:
                return self._once(url, sent, redirects)
            except _Retryable as failure:
                if attempt == attempts:
                    suffix = f" ({attempts} attempts)" if attempts > 1 else ""
                    raise FetchError(
                        failure.message + suffix, url=url, status=failure.status, body=failure.body
                    ) from None
                wait = failure.retry_after
                self.sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1))
        raise AssertionError("not reached")

    def _pause_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        last = self._last_request.get(host)
        if last is not None and self.host_interval > 0:
            wait = self.host_interval - (time.monotonic() - last)
            if wait > 0:
                self.sleep(wait)
        self._last_request[host] = time.monotonic()

    def _once(self, url: str, headers: dict[str, str], redirects: Callable[[str], bool] | None) -> Answer:
        request = urlrequest.Request(url, headers=headers)
        try:
            with _opener(redirects).open(request, timeout=self.timeout) as response:
                raw = self._read(response)
                answered, status = response.geturl(), response.status
                found = response.headers  # an email Message: names looked up in any case
        except _Refused as exc:
            raise RedirectRefused(url, exc.target) from None
        except HTTPError as exc:
            return self._http_error(url, exc)
        except URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _Retryable(f"no answer within {self.timeout:g} s") from exc
            raise _Retryable(f"cannot reach the server: {exc.reason}") from exc
        except TimeoutError as exc:
            raise _Retryable(f"no answer within {self.timeout:g} s") from exc
        except http.client.IncompleteRead as exc:
            raise FetchError(
                f"the answer was cut off after {len(exc.partial)} bytes (truncated body)", url=url
            ) from exc
        except (http.client.HTTPException, OSError) as exc:
            raise _Retryable(f"the connection to the server failed: {exc}") from exc
        return Answer(answered, status, found, self._body(url, raw, found))

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        """The body as it arrives, up to one byte over the cap. The socket's timeout bounds each wait
        for a piece, not the whole: a server that sends a few bytes at a time, each within the
        timeout, would hold a harvest for hours. So over every ``timeout`` seconds at least
        :data:`MIN_BYTES_PER_SECOND` a second must come, or the answer fails as a timeout does."""
        pieces: list[bytes] = []
        size = window_bytes = 0
        window_start = time.monotonic()
        while size <= self.max_bytes:
            piece = response.read1(min(READ_SIZE, self.max_bytes + 1 - size))
            if not piece:
                break
            pieces.append(piece)
            size += len(piece)
            window_bytes += len(piece)
            elapsed = time.monotonic() - window_start
            if elapsed >= self.timeout:
                if window_bytes < MIN_BYTES_PER_SECOND * elapsed:
                    raise _Retryable(
                        f"the answer came too slowly: fewer than {MIN_BYTES_PER_SECOND} bytes a second "
                        f"over {self.timeout:g} s"
                    )
                window_start, window_bytes = time.monotonic(), 0
        return b"".join(pieces)

    def _http_error(self, url: str, exc: HTTPError) -> Answer:
        """A 304 is an answer; a status worth another try is retried; any other is final."""
        headers = exc.headers if exc.headers is not None else {}
        if exc.code == 304:
            return Answer(url, 304, headers)
        try:
            body = exc.read(ERROR_BODY_BYTES)
        except (OSError, http.client.HTTPException):
            body = b""
        message = f"the server answered HTTP {exc.code} {exc.reason}"
        if exc.code in RETRIED_STATUSES or exc.code >= 500:
            raise _Retryable(message, exc.code, body, retry_after(headers.get("Retry-After") or ""))
        raise FetchError(message, url=url, status=exc.code, body=body)

    def _body(self, url: str, raw: bytes, headers: Mapping[str, str]) -> bytes:
        """The body as sent, checked against its Content-Length and the cap, then un-gzipped."""
        if len(raw) > self.max_bytes:
            raise FetchError(f"larger than {self.max_bytes} bytes", url=url)
        length = (headers.get("Content-Length") or "").strip()
        if length.isdigit() and int(length) != len(raw):
            raise FetchError(
                f"the answer was cut off: Content-Length says {length} bytes, {len(raw)} arrived "
                "(truncated body)",
                url=url,
            )
        if (headers.get("Content-Encoding") or "").strip().lower() in ("gzip", "x-gzip"):
            return self._gunzip(url, raw)
        return raw

    def _gunzip(self, url: str, raw: bytes) -> bytes:
        """Decompressed at most to the cap (a small gzip may unpack to gigabytes)."""
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = unzip.decompress(raw, self.max_bytes + 1)
        except zlib.error as exc:
            raise FetchError(f"the gzip body cannot be decompressed: {exc}", url=url) from exc
        if len(body) > self.max_bytes:
            raise FetchError(f"larger than {self.max_bytes} bytes once decompressed", url=url)
        if not unzip.eof:
            raise FetchError("the gzip body breaks off before its end (truncated body)", url=url)
        return body


def client_for(settings: Settings) -> HttpClient:
    """The client every fetch of a command shares (``kg harvest``, ``kg ingest URL``), polite as
    the settings say: ``KG_HTTP_TIMEOUT``, ``KG_HTTP_RETRIES``, ``KG_HTTP_BACKOFF``,
    ``KG_HTTP_HOST_INTERVAL``."""
    return HttpClient(
        timeout=settings.http_timeout,
        retries=settings.http_retries,
        backoff=settings.http_backoff,
        host_interval=settings.http_host_interval,
    )


class _Retryable(Exception):
    """A failure that may pass: a timeout, no connection, a 5xx or a 429."""

    def __init__(
        self, message: str, status: int | None = None, body: bytes = b"", retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.retry_after = retry_after


def retry_after(value: str, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), at most
    :data:`MAX_RETRY_AFTER`; None when absent or unreadable.

    >>> retry_after("3"), retry_after("86400"), retry_after("soon")
    (3.0, 120.0, None)
    >>> retry_after("Mon, 07 Dec 2026 08:00:10 GMT", datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    10.0
    """
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class _Refused(Exception):
    """Raised inside urllib's redirect handling: a redirect the caller does not allow."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class _Redirects(urlrequest.HTTPRedirectHandler):
    """urllib's redirects (which never leave HTTP(S) here), each checked by ``allows`` first."""

    def __init__(self, allows: Callable[[str], bool] | None) -> None:
        self.allows = allows

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 - urllib's API
        if self.allows is not None and not self.allows(newurl):
            raise _Refused(newurl)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).netloc.lower() != urlsplit(req.full_url).netloc.lower():
            for name in list(new.headers):  # urllib would send a source's credentials to the other host
                if name.lower() not in OWN_HEADERS:
                    new.remove_header(name)
        return new


def _opener(allows: Callable[[str], bool] | None = None) -> urlrequest.OpenerDirector:
    """HTTP(S) only: unlike ``build_opener``, a redirect cannot lead to ``file:`` or ``ftp:``."""
    opener = urlrequest.OpenerDirector()
    for handler in (
        urlrequest.ProxyHandler(),  # the environment's proxy settings, as every HTTP client honours them
        urlrequest.HTTPHandler(),
        urlrequest.HTTPSHandler(),
        urlrequest.HTTPDefaultErrorHandler(),
        _Redirects(allows),
        urlrequest.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener
