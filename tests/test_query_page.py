"""/query: the SPARQL editor page, rendered on the server, and its JSON twin /query.json.

The real app on a real on-disk store with the bundled sample, its queries in the evaluation
threads /sparql uses; the page over a real socket with tests/live.py.
"""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser

import pytest
from asgi import FrontClient
from conftest import BASE, make_settings, seed
from live import request as http
from live import serve

from kg.web.app import build_app
from kg.web.query_editor import EXAMPLES, ROW_LIMIT

DCAT = "http://www.w3.org/ns/dcat#"
HOSTILE = """PREFIX ex: <http://example.org/>
SELECT ?text ?iri ?evil WHERE {
  BIND("<script>alert('x')</script> & \\"quotes\\"" AS ?text)
  BIND(<javascript:alert(1)> AS ?iri)
  BIND(IRI(CONCAT("http://kg.test/", "/evil.example/x")) AS ?evil)
}"""


@pytest.fixture(scope="module")
def client(tmp_path_factory, seeded_template):
    store = tmp_path_factory.mktemp("query") / "store"
    app = build_app(seed(make_settings(store), seeded_template))
    yield app.test_client()


class Table(HTMLParser):
    """The cells of the results table, as text, and the links in it."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._in: str | None = None
        self._table = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "results-table" in (attrs.get("class") or ""):
            self._table = True
        if not self._table:
            return
        if tag == "tr":
            self._row: list[str] = []
        elif tag in ("td", "th"):
            self._in, self._text = tag, ""
        elif tag == "a":
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if not self._table:
            return
        if tag in ("td", "th"):
            self._row.append(self._text.strip())
            self._in = None
        elif tag == "tr":
            (self.headers if not self.rows and not self.headers else self.rows).append(self._row)
        elif tag == "table":
            self._table = False

    def handle_data(self, data):
        if self._in:
            self._text += data


def table(html: str) -> Table:
    parser = Table()
    parser.feed(html)
    if parser.headers:
        parser.headers = parser.headers[0]
    return parser


def run_json(client, query: str):
    return client.get("/query.json", query_string={"query": query})


def run_html(client, query: str):
    return client.get("/query", query_string={"query": query}, headers={"Accept": "text/html"})


# ---------------------------------------------------------------- the page


def test_editor_page_works_without_javascript(client):
    response = client.get("/query", headers={"Accept": "text/html"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count("<h1>") == 1
    for element in ('id="query-editor"', 'id="run-query"', 'id="results"', 'id="examples"'):
        assert element in html
    assert '<form id="query-form" class="query-form" method="get" action="/query">' in html
    assert '<label for="query-editor">' in html and 'name="query"' in html
    assert "/static/query.js" in html
    for example in EXAMPLES:
        assert f'href="/query?query={urllib.parse.quote(example.query, safe="/")}"' in html
    data = client.get("/query.json").get_json()
    assert [e["id"] for e in data["examples"]] == [e.id for e in EXAMPLES] and data["limit"] == ROW_LIMIT
    assert client.get("/static/query.js").status_code == 200


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_every_example_runs_and_answers_on_the_sample(client, example):
    data = run_json(client, example.query).get_json()
    assert data["kind"] in ("select", "graph", "ask"), data
    if data["kind"] == "ask":
        assert data["boolean"] is True
    else:
        assert data["rows"] and not data["truncated"]
        assert all(len(row) == len(data["variables"]) for row in data["rows"])
    response = run_html(client, example.query)
    assert response.status_code == 200
    assert "could not be run" not in response.get_data(as_text=True)


def test_html_table_and_json_twin_have_the_same_rows(client):
    query = EXAMPLES[0].query  # datasets per theme: IRIs, language-tagged labels, integers
    data = run_json(client, query).get_json()
    parsed = table(run_html(client, query).get_data(as_text=True))
    assert parsed.headers == data["variables"] == ["theme", "label", "datasets"]

    def shown(cell) -> str:
        if cell is None:
            return ""
        if cell["lang"]:
            return f"{cell['value']} @{cell['lang']}"
        return f"{cell['value']} xsd:integer" if cell["datatype"].endswith("#integer") else cell["value"]

    assert parsed.rows == [[shown(c) for c in row] for row in data["rows"]]
    assert parsed.links == [row[0]["link"] for row in data["rows"]]
    assert all(link.startswith("/resource?uri=http") for link in parsed.links)


def test_iris_link_to_their_pages(client):
    data = run_json(client, f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} ORDER BY ?d LIMIT 3").get_json()
    for (cell,) in data["rows"]:
        assert cell["type"] == "iri" and cell["link"] == "/" + cell["value"][len(BASE) :]
    html = run_html(client, f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }} ORDER BY ?d LIMIT 3").get_data(
        as_text=True
    )
    assert f'<a href="{data["rows"][0][0]["link"]}">{data["rows"][0][0]["value"]}</a>' in html


def test_hostile_values_are_escaped_and_never_become_links(client):
    response = run_html(client, HOSTILE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert 'href="javascript:' not in html and "//evil.example" not in table(html).links[0]
    (row,) = run_json(client, HOSTILE).get_json()["rows"]
    text, iri, evil = row
    assert text["value"] == "<script>alert('x')</script> & \"quotes\""
    assert iri["type"] == "iri" and iri["link"] == ""  # shown as text, not linked
    assert evil["link"].startswith("/resource?uri=") and not evil["link"].startswith("//")


def test_construct_is_a_three_column_table_and_ask_a_boolean(client):
    graph = next(e for e in EXAMPLES if e.id == "graph").query
    data = run_json(client, graph).get_json()
    assert data["kind"] == "graph" and data["variables"] == ["subject", "predicate", "object"]
    assert all(len(row) == 3 for row in data["rows"]) and data["rows"]
    assert table(run_html(client, graph).get_data(as_text=True)).headers == ["subject", "predicate", "object"]
    assert set(data["downloads"]) == {"ttl", "nt", "rdf", "jsonld"}
    html = run_html(client, f"ASK {{ ?d a <{DCAT}Catalog> }}").get_data(as_text=True)
    assert "<strong>yes (true)</strong>" in html
    assert run_json(client, "ASK { <urn:x> <urn:y> <urn:z> }").get_json()["boolean"] is False


def test_results_are_capped_with_a_note(client):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    data = run_json(client, query).get_json()
    assert len(data["rows"]) == ROW_LIMIT and data["truncated"] is True
    html = run_html(client, query).get_data(as_text=True)
    assert len(table(html).rows) == ROW_LIMIT
    assert f"only the first {ROW_LIMIT:,} are shown" in html
    graph = run_json(client, "CONSTRUCT WHERE { ?s ?p ?o }").get_json()
    assert len(graph["rows"]) == ROW_LIMIT and graph["truncated"] is True


def test_download_links_in_every_format_work(client):
    query = f"SELECT ?d WHERE {{ ?d a <{DCAT}Dataset> }}"
    data = run_json(client, query).get_json()
    media = {"json": "sparql-results+json", "xml": "sparql-results+xml", "csv": "text/csv", "tsv": "tab-sep"}
    assert set(data["downloads"]) == set(media)
    html = run_html(client, query).get_data(as_text=True)
    endpoint = FrontClient(client.application)  # the ASGI front answers /sparql
    for fmt, url in data["downloads"].items():
        assert url.startswith("/sparql?") and f"format={fmt}" in url
        assert url.replace("&", "&amp;") in html
        response = endpoint.get(url)
        assert response.status_code == 200 and media[fmt] in response.headers["Content-Type"], fmt
    graph = run_json(client, next(e for e in EXAMPLES if e.id == "graph").query).get_json()
    assert endpoint.get(graph["downloads"]["nt"]).headers["Content-Type"].startswith("application/n-triples")


# ---------------------------------------------------------------- bad input


def test_bad_query_shows_the_parser_message_with_400(client):
    bad = "SELECT ?x WHERE { ?x ?p }"
    response = run_html(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The query could not be run" in html and 'role="alert"' in html
    assert "Traceback" not in html
    assert f">{bad}</textarea>" in html  # kept in the editor, to be fixed
    body = run_json(client, bad).get_json()
    assert run_json(client, bad).status_code == 400
    assert body["error"] == "Bad query" and body["status"] == 400 and body["detail"]
    assert body["detail"].split(":")[0] in html


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", 400, "SERVICE"),
        ("SELECT * WHERE " + "{" * 100 + "}" * 100, 400, "nests"),
        ("<script>alert(1)</script>", 400, "&lt;script&gt;"),
    ],
)
def test_refused_queries_are_explained_in_the_page(client, query, status, words):
    response = run_html(client, query)
    html = response.get_data(as_text=True)
    assert response.status_code == status and words in html and "Traceback" not in html
    assert "<script>alert" not in html
    assert run_json(client, query).status_code == status


def test_two_query_parameters_are_refused(client):
    response = client.get("/query.json?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400 and "more than one" in response.get_json()["detail"]


def test_form_post_and_accept_json(client):
    response = client.post(
        "/query", data={"query": EXAMPLES[0].query}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200 and response.get_json()["kind"] == "select"
    response = client.post("/query", data={"query": EXAMPLES[0].query}, headers={"Accept": "text/html"})
    assert response.status_code == 200 and "results-table" in response.get_data(as_text=True)


# ---------------------------------------------------------------- over a real socket


def test_query_page_over_a_real_socket(tmp_path):
    with serve(tmp_path / "store") as live:
        query = next(e for e in EXAMPLES if e.id == "publishers").query
        url = live + "query?" + urllib.parse.urlencode({"query": query})
        status, headers, body = http(url, headers={"Accept": "text/html"})
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"National Transport Authority" in body
        status, headers, body = http(live + "query.json?" + urllib.parse.urlencode({"query": "SELECT WHERE"}))
        assert status == 400 and headers["Content-Type"].startswith("application/json")
        status, headers, body = http(
            live + "query.json",
            method="POST",
            data=urllib.parse.urlencode({"query": query}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200 and b'"kind":"select"' in body.replace(b" ", b"")
        status, headers, body = http(live + "static/query.js")
        assert status == 200 and b"query-editor" in body
