"""What the remote store relies on, checked over plain HTTP against real ``oxigraph serve`` and Virtuoso.

Each server is started once per module (:mod:`servers`) in a temporary folder on 127.0.0.1. The
tests pin the standard behaviour both give, and the differences (``QUIRKS``) the remote store must
work around, so that a server upgrade that changes one shows up here first.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import Message

import pytest
import servers

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
EX = "http://ex/"
NT = {"Content_Type": "application/n-triples"}
SELECT_TYPES = ["application/sparql-results+json", "application/sparql-results+xml"]
SELECT_TYPES += ["text/tab-separated-values", "text/csv"]
# Observed differences (Virtuoso 7.2.5 from Debian 12, oxigraph 0.5). "capped": answers are cut
# at ResultSetMaxRows (10000) rows; "union_default": no default-graph-uri means all graphs.
QUIRKS = {
    "oxigraph": {"atomic": True, "union_default": False, "capped": False, "gsp_replace": 204},
    "virtuoso": {"atomic": False, "union_default": True, "capped": True, "gsp_replace": 200},
}


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    reason = servers.oxigraph_available() if request.param == "oxigraph" else servers.virtuoso_available()
    if reason:
        pytest.skip(reason)
    start = servers.start_oxigraph if request.param == "oxigraph" else servers.start_virtuoso
    with start(tmp_path_factory.mktemp(request.param) / "db") as running:
        yield running


def http(
    method: str, url: str, body: str | None = None, timeout: float = 30, **headers: str
) -> tuple[int, dict[str, str], str]:
    """One request; an error status is an answer too. ``_`` stands for ``-`` in header names."""
    data = body.encode() if body is not None else None
    names = {key.replace("_", "-"): value for key, value in headers.items()}
    request = urllib.request.Request(url, data=data, method=method, headers=names)
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, _lower(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read().decode(errors="replace")


def _lower(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def update(server: servers.RemoteServer, text: str) -> int:
    return http("POST", server.update_url, text, Content_Type="application/sparql-update")[0]


def insert(server: servers.RemoteServer, graph: str, subject: str, value: str) -> None:
    """One triple ``<ex:subject> <ex:p> "value"`` into graph ``ex:graph``."""
    text = f'INSERT DATA {{ GRAPH <{EX}{graph}> {{ <{EX}{subject}> <{EX}p> "{value}" }} }}'
    assert update(server, text) in (200, 204)


def query_url(server: servers.RemoteServer, query: str, *params: tuple[str, str]) -> str:
    return server.query_url + "?" + urllib.parse.urlencode([("query", query), *params])


def select(server: servers.RemoteServer, query: str, *params: tuple[str, str]) -> list[dict[str, str]]:
    """SELECT by GET with protocol parameters; rows as {var: value} from the JSON results."""
    status, _, body = http("GET", query_url(server, query, *params), Accept="application/sparql-results+json")
    assert status == 200, body
    rows = json.loads(body)["results"]["bindings"]
    return [{name: cell["value"] for name, cell in row.items()} for row in rows]


def graph_url(server: servers.RemoteServer, graph: str) -> str:
    return server.gsp_url + "?" + urllib.parse.urlencode({"graph": EX + graph})


def test_update_then_select(server: servers.RemoteServer) -> None:
    insert(server, "g1", "s", "v")
    query = f"SELECT ?s ?o WHERE {{ GRAPH <{EX}g1> {{ ?s <{EX}p> ?o }} }}"
    assert select(server, query) == [{"s": f"{EX}s", "o": "v"}]
    form = urllib.parse.urlencode({"update": f'INSERT DATA {{ GRAPH <{EX}g1> {{ <{EX}s> <{EX}p> "w" }} }}'})
    status, _, body = http("POST", server.update_url, form, Content_Type="application/x-www-form-urlencoded")
    assert status in (200, 204), body
    assert len(select(server, query)) == 2


def test_dataset_parameters(server: servers.RemoteServer) -> None:
    insert(server, "d1", "a", "in d1")
    insert(server, "d2", "b", "in d2")
    default, named = ("default-graph-uri", f"{EX}d1"), ("named-graph-uri", f"{EX}d2")
    plain = f'SELECT ?s WHERE {{ ?s <{EX}p> ?o FILTER(?o IN ("in d1", "in d2")) }} ORDER BY ?s'
    assert select(server, plain, default) == [{"s": f"{EX}a"}]
    assert select(server, plain, default, named) == [{"s": f"{EX}a"}]
    in_graphs = f"SELECT ?g ?s WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}"  # d2 only
    assert select(server, in_graphs, default, named) == [{"g": f"{EX}d2", "s": f"{EX}b"}]
    # No dataset parameters: oxigraph's default graph is the real (empty) one, Virtuoso's all graphs.
    union = [{"s": f"{EX}a"}, {"s": f"{EX}b"}]
    assert select(server, plain) == (union if QUIRKS[server.name]["union_default"] else [])


def test_multi_operation_update(server: servers.RemoteServer) -> None:
    insert(server, "a", "old", "o")
    insert(server, "st", "new", "n")
    text = f"DROP SILENT GRAPH <{EX}a> ; MOVE SILENT GRAPH <{EX}st> TO GRAPH <{EX}a> ;\n"
    text += f'INSERT DATA {{ GRAPH <{EX}log> {{ <{EX}run> <{EX}p> "1" }} }}'
    assert update(server, text) in (200, 204)
    query = (
        f"SELECT ?g ?s {{ GRAPH ?g {{ ?s ?p ?o }} VALUES ?g {{ <{EX}a> <{EX}st> <{EX}log> }} }} ORDER BY ?g"
    )
    assert select(server, query) == [{"g": f"{EX}a", "s": f"{EX}new"}, {"g": f"{EX}log", "s": f"{EX}run"}]


def test_failed_multi_operation_update(server: servers.RemoteServer) -> None:
    """The second operation fails: oxigraph applies none of the request, Virtuoso keeps the first."""
    text = f'INSERT DATA {{ GRAPH <{EX}at> {{ <{EX}x> <{EX}p> "1" }} }} ; DROP GRAPH <{EX}none>'
    assert update(server, text) == 500
    kept = select(server, f"SELECT ?s WHERE {{ GRAPH <{EX}at> {{ ?s ?p ?o }} }}")
    assert kept == ([] if QUIRKS[server.name]["atomic"] else [{"s": f"{EX}x"}])


def test_graph_store_protocol(server: servers.RemoteServer) -> None:
    url = graph_url(server, "gsp")
    nt = f'<{EX}a> <{EX}p> "x" .\n<{EX}a> <{EX}p> "é\\n"@fr .\n<{EX}a> <{EX}p> _:b1 .\n'
    assert http("PUT", url, nt, **NT)[0] == 201
    assert http("PUT", url, nt, **NT)[0] == QUIRKS[server.name]["gsp_replace"]
    assert http("POST", url, f'<{EX}a> <{EX}q> "y" .\n', **NT)[0] in (200, 204)
    status, headers, body = http("GET", url, Accept="application/n-triples")
    assert status == 200 and headers["content-type"].startswith("application/n-triples")
    lines = sorted(" ".join(line.split()) for line in body.splitlines() if line.strip())
    assert len(lines) == 4 and f'<{EX}a> <{EX}q> "y" .' in lines
    assert any(line.startswith(f"<{EX}a> <{EX}p> _:") for line in lines)
    french = f"SELECT ?o WHERE {{ GRAPH <{EX}gsp> {{ ?s ?p ?o FILTER(lang(?o) = 'fr') }} }}"
    assert select(server, french) == [{"o": "é\n"}]
    assert http("DELETE", url)[0] in (200, 204)
    assert http("GET", url, Accept="application/n-triples")[0] == 404
    assert http("DELETE", url)[0] == 404
    assert http("POST", graph_url(server, "gsp2"), nt, **NT)[0] == 201  # POST creating a graph


@pytest.mark.parametrize("accept", SELECT_TYPES)
def test_select_formats(server: servers.RemoteServer, accept: str) -> None:
    insert(server, "f", "s", "v")
    url = query_url(server, f"SELECT ?s ?o WHERE {{ GRAPH <{EX}f> {{ ?s ?p ?o }} }}")
    status, headers, body = http("GET", url, Accept=accept)
    assert status == 200 and headers["content-type"].startswith(accept), headers
    if accept.endswith("json"):
        assert json.loads(body)["results"]["bindings"][0]["o"] == {"type": "literal", "value": "v"}
    elif accept.endswith("xml"):
        ns = "{http://www.w3.org/2005/sparql-results#}"
        assert [uri.text for uri in ET.fromstring(body).iter(f"{ns}uri")] == [f"{EX}s"]
    elif accept == "text/csv":
        assert list(csv.reader(io.StringIO(body)))[1] == [f"{EX}s", "v"]
    else:  # TSV: Virtuoso writes IRIs as quoted strings, not <...> as the TSV format asks.
        iri = f'"{EX}s"' if server.name == "virtuoso" else f"<{EX}s>"
        assert body.splitlines()[1].split("\t") == [iri, '"v"']


@pytest.mark.parametrize("accept", ["application/n-triples", "text/turtle"])
def test_construct_formats(server: servers.RemoteServer, accept: str) -> None:
    insert(server, "c", "s", "v")
    url = query_url(server, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{EX}c> {{ ?s ?p ?o }} }}")
    status, headers, body = http("GET", url, Accept=accept)
    assert status == 200 and headers["content-type"].startswith(accept), headers
    assert '"v"' in body and (f"<{EX}s>" in body or "ns0:s" in body)  # Virtuoso's Turtle uses prefixes


def test_post_query(server: servers.RemoteServer) -> None:
    """POST with ``query=`` in a form body works on both; Virtuoso never answers application/sparql-query."""
    form = urllib.parse.urlencode({"query": "ASK {}"})
    status, _, text = http(
        "POST", server.query_url, form, Content_Type="application/x-www-form-urlencoded", Accept="text/csv"
    )
    assert status == 200 and text.split() in (["true"], ['"bool"', "1"]), text
    direct = {"Content_Type": "application/sparql-query", "Accept": "text/csv"}
    if server.name == "oxigraph":
        assert http("POST", server.query_url, "ASK {}", **direct)[0] == 200
    else:
        with pytest.raises(TimeoutError):
            http("POST", server.query_url, "ASK {}", timeout=1, **direct)


def test_result_row_cap(server: servers.RemoteServer) -> None:
    """Virtuoso cuts answers at 10000 rows: SELECT says so in a header; CONSTRUCT and GSP GET do not."""
    url = graph_url(server, "big")
    assert http("PUT", url, "".join(f'<{EX}r{i}> <{EX}p> "{i}" .\n' for i in range(10005)), **NT)[0] == 201
    capped = QUIRKS[server.name]["capped"]
    select_all = f"SELECT ?s WHERE {{ GRAPH <{EX}big> {{ ?s ?p ?o }} }}"
    _, headers, body = http("GET", query_url(server, select_all), Accept="text/tab-separated-values")
    assert len(body.splitlines()) - 1 == (10000 if capped else 10005)
    assert headers.get("x-sparql-maxrows") == ("10000" if capped else None)
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{EX}big> {{ ?s ?p ?o }} }}"
    for graph_answer in (query_url(server, construct), url):
        body = http("GET", graph_answer, Accept="application/n-triples")[2]
        assert len(body.splitlines()) == (10001 if capped else 10005)
    # Paging past the cap: ORDER BY with OFFSET+LIMIT over it fails on Virtuoso (SR353) unless the
    # ordering is in a subquery.
    ordered = f"SELECT ?s WHERE {{ {{ {select_all} ORDER BY ?s }} }} OFFSET 10000 LIMIT 100"
    assert len(select(server, ordered)) == 5
    status = http("GET", query_url(server, select_all + " ORDER BY ?s OFFSET 10000 LIMIT 100"))[0]
    assert status == (500 if capped else 200)


def test_syntax_errors_are_400(server: servers.RemoteServer) -> None:
    assert http("GET", query_url(server, "SELEC * WHERE {"))[0] == 400
    assert update(server, "INSERT DATA { GRAPH") == 400


def test_virtuoso_auth_endpoints_use_digest(server: servers.RemoteServer) -> None:
    if server.name != "virtuoso":
        pytest.skip("Virtuoso's -auth endpoints only")
    url = server.gsp_url + "-auth?" + urllib.parse.urlencode({"graph": f"{EX}dig"})
    status, headers, _ = http("PUT", url, f'<{EX}a> <{EX}p> "d" .\n', **NT)
    assert status == 401 and headers["www-authenticate"].startswith("Digest")
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    root = urllib.parse.urljoin(server.gsp_url, "/")
    passwords.add_password(None, root, servers.DBA_USER, servers.DBA_PASSWORD)
    digest = urllib.request.HTTPDigestAuthHandler(passwords)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), digest)
    request = urllib.request.Request(url, data=f'<{EX}a> <{EX}p> "d" .\n'.encode(), method="PUT")
    request.add_header("Content-Type", "application/n-triples")
    with opener.open(request, timeout=30) as response:
        assert response.status == 201
