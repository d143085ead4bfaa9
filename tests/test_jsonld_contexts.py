"""JSON-LD remote contexts: the bundled ones expand as the published ones do, the real Czech
catalogues read and ingest, a context under a KG_JSONLD_FETCH prefix is fetched from a real
HTTP server on 127.0.0.1 (and nothing else is), and an unknown one is refused by name.

No test reaches the network: every connection but one to 127.0.0.1 fails the test.
"""

from __future__ import annotations

import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import rdflib
from conftest import BASE, SHARED, open_store, snapshot

from kg.cli import main
from kg.errors import InputError
from kg.readers.jsonld_contexts import BUNDLED, MAX_REMOTE_CONTEXTS, ContextLoader
from kg.readers.jsonld_fetch import MAX_CONTEXT_BYTES
from kg.readers.rdf import read_rdf
from kg.settings import Settings

OFFICIAL_DCAT_AP = SHARED / "data" / "dcat-ap-shapes" / "3.0.1-extra" / "dcat-ap.context.jsonld"
PORTALS = SHARED / "data" / "real-portals" / "dcat-ap-rdf"
DCAT_AP = "https://semiceu.github.io/DCAT-AP/releases/3.0.1/context/dcat-ap.jsonld"
OFN = "https://ofn.gov.cz/"
OFN_2021 = (
    OFN + "rozhraní-katalogů-otevřených-dat/2021-01-11/kontexty/rozhraní-katalogů-otevřených-dat.jsonld"
)
OFN_2024 = (
    OFN + "dcat-ap-cz-rozhraní-katalogů-otevřených-dat/2024-05-28/kontexty/" + OFN_2021.rsplit("/", 1)[1]
)
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
SDO = "http://schema.org/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
UNKNOWN = "https://contexts.example.org/catalogue.jsonld"


@pytest.fixture(autouse=True)
def only_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that is not to 127.0.0.1 (and use no proxy, which would be one)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    real_connect, real_lookup = socket.create_connection, socket.getaddrinfo

    def connect(address, *args, **kwargs):  # noqa: ANN001, ANN202 - socket's API
        assert address[0] == "127.0.0.1", f"a test tried to reach {address}"
        return real_connect(address, *args, **kwargs)

    def lookup(host, *args, **kwargs):  # noqa: ANN001, ANN202
        assert host == "127.0.0.1", f"a test tried to look up {host}"
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)


def shared_file(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"the shared data folder is absent (looked for {path})")
    return path


def write(tmp_path: Path, doc: object, name: str = "doc.jsonld") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def triples(path: Path, contexts: ContextLoader | None = None) -> set[tuple[str, str, str]]:
    """Every triple the reader gives, in N-Triples terms."""
    return {(s.n3(), p.n3(), o.n3()) for r in read_rdf(path, contexts=contexts) for s, p, o in r.triples}


def error_of(path: Path, contexts: ContextLoader | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        list(read_rdf(path, contexts=contexts))
    assert caught.value.file == str(path)
    return caught.value


def iri(value: str) -> str:
    return f"<{value}>"


# ---------------------------------------------------------------- the bundled contexts

LEXICAL = {  # a valid value of each datatype the DCAT-AP context coerces to
    "http://www.w3.org/2001/XMLSchema#decimal": "2.5",
    "http://www.w3.org/2001/XMLSchema#duration": "P1D",
    "http://www.w3.org/2001/XMLSchema#hexBinary": "00ff",
    "http://www.w3.org/2001/XMLSchema#nonNegativeInteger": "42",
    "http://www.w3.org/2001/XMLSchema#dateTime": "2024-05-01T12:00:00",
}


def every_dcat_ap_term(official: dict) -> list[dict]:
    """Nodes that use every term of the official DCAT-AP context: each class with each property
    of its scoped context, each class without properties, each datatype term, and a nested node
    (type-scoped contexts do not reach into it)."""
    nodes: list[dict] = []
    for name, definition in official.items():
        node: dict = {"@id": f"http://example.org/node/{name}", "@type": name}
        if isinstance(definition, dict):
            for prop, term in definition["@context"].items():
                kind = term.get("@type")
                node[prop] = (
                    f"http://example.org/{prop}" if kind == "@id" else LEXICAL.get(kind, f"{name} {prop}")
                )
        elif name.startswith("Xsd:"):
            target = official[name]
            node = {
                "@id": f"http://example.org/value/{name}",
                DCT + "extent": {"@value": LEXICAL[target], "@type": name},
            }
        nodes.append(node)
    nested = {"@id": "http://example.org/d", "@type": "Distribution", "accessUrl": "http://example.org/a"}
    nodes.append({"@id": "http://example.org/ds", "@type": "Dataset", "datasetDistribution": nested})
    return nodes


def test_dcat_ap_context_expands_like_the_official_one(tmp_path: Path) -> None:
    official = json.loads(shared_file(OFFICIAL_DCAT_AP).read_text(encoding="utf-8"))["@context"]
    nodes = every_dcat_ap_term(official)
    # the official file as published, with rdflib (pyoxigraph refuses its Xsd:… terms)
    expected_graph = rdflib.Graph().parse(
        data=json.dumps({"@context": official, "@graph": nodes}), format="json-ld"
    )
    expected = {(s.n3(), p.n3(), o.n3()) for s, p, o in expected_graph}
    ours = triples(write(tmp_path, {"@context": DCAT_AP, "@graph": nodes}))
    assert len(expected) > 170, "the document uses every term"
    assert ours == expected, (sorted(expected - ours)[:5], sorted(ours - expected)[:5])


def probe(context: str) -> tuple[dict, tuple[str, str, str]]:
    """A node in the vocabulary of a bundled context, and a triple it must give."""
    subject = "http://example.org/ds"
    if "dcat-ap-3.0.1" in context:
        return {"@id": subject, "@type": "Dataset", "title": "T"}, (iri(subject), iri(DCT + "title"), '"T"')
    if "schema-org" in context:
        return {"@id": subject, "@type": "Dataset", "name": "T"}, (iri(subject), iri(SDO + "name"), '"T"')
    node = {"iri": subject, "typ": "Datová sada", "název": {"cs": "T"}}
    return node, (iri(subject), iri(DCT + "title"), '"T"@cs')


PUBLISHED = [*BUNDLED.items(), (quote(OFN_2021, safe=":/"), BUNDLED[OFN_2021])]
PUBLISHED.append((quote(OFN_2024, safe=":/").replace("%C3%AD", "%c3%ad"), BUNDLED[OFN_2024]))


@pytest.mark.parametrize(("url", "context"), PUBLISHED, ids=[u for u, _ in PUBLISHED])
def test_every_published_url_reads_with_its_bundled_context(url: str, context: str, tmp_path: Path) -> None:
    node, expected = probe(context)
    assert expected in triples(write(tmp_path, {"@context": url, **node}))


def test_the_two_czech_versions_differ_where_the_published_ones_do(tmp_path: Path) -> None:
    node = {"iri": "http://example.org/ds", "je_součástí": "http://example.org/series"}
    said = [
        triples(write(tmp_path, {"@context": url, **node}, f"{n}.jsonld"))
        for n, url in enumerate((OFN_2021, OFN_2024))
    ]
    assert said == [
        {(iri("http://example.org/ds"), iri(DCT + "isPartOf"), iri("http://example.org/series"))},
        {(iri("http://example.org/ds"), iri(DCAT + "inSeries"), iri("http://example.org/series"))},
    ]


def test_schema_org_context_takes_urls_as_iris_and_dates_as_dates(tmp_path: Path) -> None:
    doc = {
        "@context": "https://schema.org",
        "@id": "http://example.org/ds",
        "@type": "Dataset",
        "name": "Air quality",
        "url": "https://example.org/air",
        "dateModified": "2024-05-01",
        "keywords": "air",
    }
    subject = iri("http://example.org/ds")
    assert triples(write(tmp_path, doc)) == {
        (subject, iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), iri(SDO + "Dataset")),
        (subject, iri(SDO + "name"), '"Air quality"'),
        (subject, iri(SDO + "url"), iri("https://example.org/air")),
        (subject, iri(SDO + "dateModified"), f'"2024-05-01"^^{iri(SDO + "Date")}'),
        (subject, iri(SDO + "keywords"), '"air"'),
    }


def test_import_of_a_bundled_context_with_a_term_of_ones_own(tmp_path: Path) -> None:
    doc = {
        "@context": {"@version": 1.1, "@import": "http://schema.org/", "name": DCT + "title"},
        "@id": "http://example.org/ds",
        "name": "Air quality",
        "url": "https://example.org/air",
    }
    assert triples(write(tmp_path, doc)) == {
        (iri("http://example.org/ds"), iri(DCT + "title"), '"Air quality"'),
        (iri("http://example.org/ds"), iri(SDO + "url"), iri("https://example.org/air")),
    }


# ---------------------------------------------------------------- the real Czech catalogues

CZECH = {
    "data.mvcr.gov.cz-ciselnik-sporty.jsonld": 151,
    "open.datakhk.cz-katalog.jsonld": 174,
}


PU = "https://data.gov.cz/slovník/podmínky-užití/"
SHORT = {DCT: "dct:", DCAT: "dcat:", PU: "pu:", "http://www.w3.org/2006/vcard/ns#": "vcard:"}
SHORT |= {"http://xmlns.com/foaf/0.1/": "foaf:", "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf:"}
# What the MV ČR record gives with the published 2021-01-11 context (rdflib): predicate -> kinds of
# objects (an IRI, a blank node, a literal in a language) and how many
MVCR = {
    "dct:accrualPeriodicity": {"iri": 1}, "dct:conformsTo": {"iri": 5}, "dct:description": {"@cs": 1},
    "dct:format": {"iri": 8}, "dct:publisher": {"iri": 1}, "dct:spatial": {"iri": 1},
    "dct:title": {"@cs": 11, "@en": 10}, "rdf:type": {"iri": 21}, "vcard:fn": {"@cs": 1},
    "vcard:hasEmail": {"iri": 1}, "dcat:accessService": {"iri": 1}, "dcat:accessURL": {"iri": 9},
    "dcat:contactPoint": {"blank": 1}, "dcat:distribution": {"iri": 9}, "dcat:downloadURL": {"iri": 8},
    "dcat:endpointDescription": {"iri": 1}, "dcat:endpointURL": {"iri": 1},
    "dcat:keyword": {"@cs": 3, "@en": 1}, "dcat:mediaType": {"iri": 8}, "dcat:servesDataset": {"iri": 1},
    "dcat:theme": {"iri": 1}, "foaf:page": {"iri": 1}, "pu:autorské-dílo": {"iri": 9},
    "pu:databáze-chráněná-zvláštními-právy": {"iri": 9}, "pu:databáze-jako-autorské-dílo": {"iri": 9},
    "pu:osobní-údaje": {"iri": 9}, "pu:specifikace": {"blank": 9},
}  # fmt: skip


def profile(said: set[tuple[str, str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for _, predicate, obj in said:
        name = predicate[1:-1]
        for namespace, prefix in SHORT.items():
            name = name.replace(namespace, prefix)
        kind = (
            "iri" if obj[0] == "<" else "blank" if obj[0] == "_" else obj[obj.rindex('"') + 1 :] or "literal"
        )
        out.setdefault(name, {}).setdefault(kind, 0)
        out[name][kind] += 1
    return out


@pytest.mark.parametrize(("name", "count"), sorted(CZECH.items()))
def test_czech_catalogues_give_the_triples_their_published_contexts_give(name: str, count: int) -> None:
    said = triples(shared_file(PORTALS / name))
    assert len(said) == count
    if name.startswith("data.mvcr"):
        assert profile(said) == MVCR
        dataset = iri("https://data.mvcr.gov.cz/zdroj/datové-sady/číselníky/sporty")
        assert (dataset, iri(DCT + "title"), '"Číselník pro sporty"@cs') in said
    else:
        assert profile(said)["dcat:dataset"] == {"iri": 165}


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The process environment for :func:`kg.cli.main` on the ``settings`` store."""
    for name in [n for n in os.environ if n.startswith("KG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KG_STORE", str(settings.store))
    monkeypatch.setenv("KG_BASE_URI", BASE)
    monkeypatch.setenv("KG_WORKERS", "1")
    monkeypatch.setenv("KG_VALIDATION_BATCH", str(settings.validation_batch))
    return settings


def everything(settings: Settings) -> str:
    """Every graph of the store as N-Quads, the quarantine included."""
    out = io.BytesIO()
    open_store(settings).dump(out, fmt="nq", private=True)
    return out.getvalue().decode("utf-8")


@pytest.mark.parametrize("name", sorted(CZECH))
def test_czech_catalogues_ingest(name: str, cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_file(PORTALS / name)
    assert main(["ingest", str(path), "--source", "cz"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "source cz (rdf)" in out and ": stored" in out
    stored = everything(cli_env)
    key = "<https://data.mvcr.gov.cz/zdroj/datové-sady/číselníky/sporty>"
    key = key if name.startswith("data.mvcr") else "<https://open.datakhk.cz/katalog.jsonld>"
    assert f"{key} <{DCT}title>" in stored, "published or quarantined, with its title"


# ---------------------------------------------------------------- unknown contexts

PLACES = {
    "top": lambda url: {"@context": url, "@id": "http://example.org/a"},
    "list": lambda url: {"@context": [{"dct": DCT}, url], "@id": "http://example.org/a"},
    "import": lambda url: {"@context": {"@version": 1.1, "@import": url}, "@id": "http://example.org/a"},
    "node": lambda url: {"@graph": [{"@context": url, "@id": "http://example.org/a"}]},
    "scoped": lambda url: {"@context": {"T": {"@id": DCAT + "Dataset", "@context": url}}, "@type": "T"},
}


@pytest.mark.parametrize("place", sorted(PLACES))
def test_an_unknown_remote_context_is_refused_by_name(place: str, tmp_path: Path) -> None:
    error = error_of(write(tmp_path, PLACES[place](UNKNOWN)))
    assert UNKNOWN in error.message and "KG_JSONLD_FETCH" in error.message
    assert "https://contexts.example.org/" in error.message, "the prefix to allow"


def test_a_relative_context_is_refused_as_not_fetchable(tmp_path: Path) -> None:
    (tmp_path / "ctx.jsonld").write_text('{"@context": {}}', encoding="utf-8")
    error = error_of(write(tmp_path, {"@context": "ctx.jsonld", "@id": "http://example.org/a"}))
    assert (tmp_path / "ctx.jsonld").resolve().as_uri() in error.message and "inline" in error.message


def test_cli_refuses_an_unknown_context_and_leaves_the_store(
    seeded: Settings, cli_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, {"@context": UNKNOWN, "@id": "http://example.org/a", "title": "A"})
    before = snapshot(seeded)
    assert main(["ingest", str(path), "--source", "sample"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and UNKNOWN in err and "KG_JSONLD_FETCH" in err
    assert snapshot(seeded) == before


def test_too_many_uses_of_a_context_are_refused(tmp_path: Path) -> None:
    nodes = [{"@context": DCAT_AP, "@id": f"http://example.org/{n}", "@type": "Dataset"} for n in range(5000)]
    assert "name the context once" in error_of(write(tmp_path, nodes)).message


# ---------------------------------------------------------------- KG_JSONLD_FETCH


class ContextServer:
    """A real HTTP server on 127.0.0.1 that serves contexts, broken answers and redirects."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests.append(self.path)
                status, ctype, body, headers = server.routes.get(self.path, (404, "text/plain", b"no", {}))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def context(self, path: str, context: object) -> str:
        body = json.dumps({"@context": context}).encode("utf-8")
        self.routes[path] = (200, "application/ld+json", body, {})
        return self.url + path

    def answer(self, path: str, status: int, ctype: str, body: bytes, **headers: str) -> str:
        self.routes[path] = (status, ctype, body, headers)
        return self.url + path


@pytest.fixture
def contexts() -> Iterator[ContextServer]:
    server = ContextServer()
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.context("/ctx/title.jsonld", {"title": DCT + "title"})
    server.context("/ctx/nested.jsonld", ["title.jsonld", {"label": RDFS_LABEL}])
    server.context("/ctx/imports.jsonld", {"@import": "title.jsonld", "label": RDFS_LABEL})
    server.context("/ctx/loop-a.jsonld", "loop-b.jsonld")
    server.context("/ctx/loop-b.jsonld", [{"x": DCT + "x"}, "loop-a.jsonld"])
    server.context("/elsewhere/title.jsonld", {"title": DCT + "title"})
    server.answer("/ctx/out.jsonld", 302, "text/plain", b"", Location="/elsewhere/title.jsonld")
    server.answer("/ctx/in.jsonld", 302, "text/plain", b"", Location="/ctx/title.jsonld")
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://a.example/ld/ctx.jsonld", True),
        ("HTTPS://A.EXAMPLE/ld/ctx.jsonld", True),
        ("https://ofn.gov.cz/rozhran%C3%AD/ctx.jsonld", True),
        ("https://ofn.gov.cz/rozhran%c3%ad/ctx.jsonld", True),
        ("https://a.example/ld", False),
        ("https://a.example/LD/ctx.jsonld", False),
        ("https://a.example.evil.example/ld/ctx.jsonld", False),
        ("https://a.example@evil.example/ld/ctx.jsonld", False),
        ("https://a.example\\@evil.example/ld/ctx.jsonld", False),
        ("https://a.example:8443/ld/ctx.jsonld", False),
        ("ftp://a.example/ld/ctx.jsonld", False),
    ],
)
def test_which_urls_a_prefix_allows(url: str, allowed: bool) -> None:
    assert (
        ContextLoader(fetch=("https://a.example/ld/", "https://ofn.gov.cz/rozhraní/")).allows(url) is allowed
    )


def loader(server: ContextServer, path: str = "/ctx/") -> ContextLoader:
    return ContextLoader(fetch=(server.url + path,), timeout=5)


NODE = {"@id": "http://example.org/a", "title": "T", "label": "L"}
TITLE = (iri("http://example.org/a"), iri(DCT + "title"), '"T"')
LABEL = (iri("http://example.org/a"), iri(RDFS_LABEL), '"L"')


@pytest.mark.parametrize("name", ["nested", "imports"])
def test_an_allowed_context_is_fetched_with_the_contexts_it_names(
    name: str, contexts: ContextServer, tmp_path: Path
) -> None:
    path = write(tmp_path, {"@context": f"{contexts.url}/ctx/{name}.jsonld", **NODE})
    assert triples(path, loader(contexts)) == {TITLE, LABEL}
    assert contexts.requests == [f"/ctx/{name}.jsonld", "/ctx/title.jsonld"]
    assert triples(path, loader(contexts)) == {TITLE, LABEL}
    assert len(contexts.requests) == 2, "fetched once a process"


def test_a_redirect_within_the_allowed_prefix_is_followed(contexts: ContextServer, tmp_path: Path) -> None:
    path = write(
        tmp_path, {"@context": f"{contexts.url}/ctx/in.jsonld", "@id": "http://example.org/a", "title": "T"}
    )
    assert triples(path, loader(contexts)) == {TITLE}
    assert contexts.requests == ["/ctx/in.jsonld", "/ctx/title.jsonld"]


def test_a_context_outside_the_allowed_prefixes_is_not_fetched(
    contexts: ContextServer, tmp_path: Path
) -> None:
    url = f"{contexts.url}/elsewhere/title.jsonld"
    error = error_of(write(tmp_path, {"@context": url, **NODE}), loader(contexts))
    assert url in error.message and "KG_JSONLD_FETCH" in error.message
    assert contexts.requests == []


def broken(server: ContextServer, case: str) -> tuple[str, str]:
    """The URL of a broken context and what its error must say."""
    if case == "404":
        url = server.url + "/ctx/missing.jsonld"
        return url, f"{url}: the server answered HTTP 404"
    if case == "html":
        url = server.answer("/ctx/page", 200, "text/html", b"<!DOCTYPE html><p>Hi</p>")
        return url, f"{url}: not JSON"
    if case == "too-large":
        body = b'{"@context": {}, "pad": "' + b"x" * MAX_CONTEXT_BYTES + b'"}'
        url = server.answer("/ctx/big.jsonld", 200, "application/ld+json", body)
        return url, f"{url}: larger than {MAX_CONTEXT_BYTES} bytes"
    if case == "no-context":
        url = server.answer("/ctx/plain.json", 200, "application/json", b'{"a": 1}')
        return url, f"{url}: a JSON document without @context"
    if case == "loop":
        url = server.url + "/ctx/loop-a.jsonld"
        return url, f"{url} includes itself ({url} -> {server.url}/ctx/loop-b.jsonld -> {url})"
    if case == "too-many":
        for n in range(MAX_REMOTE_CONTEXTS + 1):
            server.context(f"/ctx/chain-{n}.jsonld", [f"chain-{n + 1}.jsonld", {f"t{n}": f"{DCT}t{n}"}])
        last = f"{server.url}/ctx/chain-{MAX_REMOTE_CONTEXTS}.jsonld"
        return (
            server.url + "/ctx/chain-0.jsonld",
            f"more than {MAX_REMOTE_CONTEXTS} remote contexts (the last: {last})",
        )
    url = server.url + "/ctx/out.jsonld"
    return (
        url,
        f"{url}: redirected to {server.url}/elsewhere/title.jsonld, which KG_JSONLD_FETCH does not allow",
    )


@pytest.mark.parametrize(
    "case", ["404", "html", "too-large", "no-context", "loop", "too-many", "redirect-out"]
)
def test_a_broken_fetched_context_is_a_clear_error(
    case: str, contexts: ContextServer, tmp_path: Path
) -> None:
    url, expected = broken(contexts, case)
    error = error_of(write(tmp_path, {"@context": url, **NODE}), loader(contexts))
    assert expected in error.message
    assert "/elsewhere/title.jsonld" not in contexts.requests, "nothing outside the prefix is fetched"


def test_cli_fetches_under_kg_jsonld_fetch_only(
    contexts: ContextServer, cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url = f"{contexts.url}/ctx/nested.jsonld"
    path = write(tmp_path, {"@context": url, **NODE, "@type": DCAT + "Dataset"})
    assert main(["ingest", str(path), "--source", "fetched"]) == 2
    assert url in capsys.readouterr().err and contexts.requests == []
    monkeypatch.setenv("KG_JSONLD_FETCH", f"https://other.example/, {contexts.url}/ctx/")
    assert main(["ingest", str(path), "--source", "fetched"]) == 0, capsys.readouterr().err
    assert contexts.requests == ["/ctx/nested.jsonld", "/ctx/title.jsonld"]
    assert '<http://example.org/a> <http://purl.org/dc/terms/title> "T"' in everything(cli_env)
