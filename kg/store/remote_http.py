"""A remote store over HTTP: the connection pool, one request, and what an answer means.

The names the service keeps in the store's own state graph (:data:`STATE`: the published
version, the graphs it wrote outside its own), the media types of the answers, and the one
rule for failures (:func:`check_answer`: a 4xx is the request's fault) live here, shared by
the reading side (:mod:`kg.store.remote_read`) and a write (:mod:`kg.store.remote_write`).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import urllib3

from kg.errors import QueryError, QueryTimeout, StoreError

STATE = "urn:kg:state"
VERSION = "urn:kg:version"
GRAPHS = "urn:kg:graph"  # graphs the service wrote outside its own ``<base>graph/`` (by GSP or update)
EMPTY = "urn:kg:empty"  # a graph never written: names an empty default graph or no named graphs
RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/tab-separated-values": "tsv",
    "text/csv": "csv",
}
GRAPH_TYPES = {
    "application/n-triples": "nt",
    "text/turtle": "ttl",
    "application/rdf+xml": "rdf",
    "application/ld+json": "jsonld",
    "application/n-quads": "nq",
    "application/trig": "trig",
}
MEDIA = {v: k for k, v in (RESULT_TYPES | GRAPH_TYPES).items()}


class RemoteEndpoints:
    """The store's three endpoints (SPARQL query, update, Graph Store) behind one connection pool.

    :param timeout: seconds to wait for the store's answer to a request (reads and writes).
    """

    def __init__(
        self,
        *,
        query_url: str,
        update_url: str,
        gsp_url: str,
        user: str = "",
        password: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.query_url, self.update_url, self.gsp_url = query_url, update_url, gsp_url
        self.timeout = timeout
        headers = {"User-Agent": "kg"}
        if user:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        retries = urllib3.Retry(total=3, connect=3, read=0, status=0, other=0, backoff_factor=0.2)
        self._http = urllib3.PoolManager(maxsize=16, headers=headers, retries=retries)

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse:
        """One request to the store; connection errors are retried with back-off (3 times).

        :raises QueryTimeout: if the store did not answer within ``timeout`` seconds.
        :raises StoreError: if the store cannot be reached.
        """
        limit = urllib3.Timeout(connect=min(5.0, timeout or self.timeout), read=timeout or self.timeout)
        try:
            return self._http.request(
                method, url, body=body, headers=headers, timeout=limit, preload_content=not stream
            )
        except urllib3.exceptions.MaxRetryError as exc:
            if isinstance(exc.reason, urllib3.exceptions.ReadTimeoutError):
                raise QueryTimeout(
                    f"the remote store did not answer within {limit.read_timeout:g} s"
                ) from exc
            raise StoreError(f"the remote store at {url} cannot be reached: {exc.reason}") from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise QueryTimeout(f"the remote store did not answer within {limit.read_timeout:g} s") from exc
        except urllib3.exceptions.HTTPError as exc:
            raise StoreError(f"the remote store at {url} failed: {exc}") from exc

    def post_update(self, sparql: str) -> None:
        """POST one SPARQL update request (a write's publication, or a cleanup).

        :raises QueryError: if the store refuses it; :raises StoreError: on any other failure.
        """
        response = self.request(
            "POST",
            self.update_url,
            body=sparql.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update"},
        )
        check_answer(response, "update")

    def graph_url(self, graph: str) -> str:
        """The Graph Store Protocol URL of a graph (indirect identification: ``?graph=``)."""
        return f"{self.gsp_url}{'&' if '?' in self.gsp_url else '?'}{urlencode({'graph': graph})}"


def check_answer(response: urllib3.BaseHTTPResponse, what: str) -> None:
    """A 4xx is the request's fault (the store's message as a QueryError); anything else a StoreError."""
    if response.status < 300:
        return
    text = response.data.decode("utf-8", "replace").strip()[:2000]
    if 400 <= response.status < 500 and response.status not in (401, 403, 404, 407, 408, 429):
        raise QueryError(text or f"the remote store refused the {what} ({response.status})")
    raise StoreError(f"the remote store answered the {what} with {response.status}: {text[:300]}")


BOOLEAN = b"http://www.w3.org/2001/XMLSchema#boolean"


def canonical_booleans(data: bytes) -> bytes:
    """SPARQL JSON results with xsd:boolean values in canonical form: Virtuoso writes ``1``/``0``
    where the app's code, like Oxigraph, reads ``true``/``false``."""
    if BOOLEAN not in data or not data.lstrip().startswith(b"{"):
        return data
    doc = json.loads(data)
    for row in doc.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("datatype") == BOOLEAN.decode() and term.get("value") in ("1", "0"):
                term["value"] = "true" if term["value"] == "1" else "false"
    return json.dumps(doc).encode()


def media_type(response: urllib3.BaseHTTPResponse) -> str:
    """The media type of an answer, without its parameters, in lower case."""
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()
