"""The remote store (kg.store.remote) against real servers: ``oxigraph serve`` and Virtuoso.

The rest of the suite runs on a remote store too (``KG_TEST_STORE=oxigraph``, see
:mod:`backend`); these tests pin what only a remote store has — staging and one-request
publication, a writer killed half-way, the graphs a store has of its own, pass-through
answers, an unreachable or silent store — on both engines, each started on loopback.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib
import servers
from asgi import FrontClient
from conftest import BASE, EMBEDDED, SAMPLE_CSV, make_settings, run_kg, seed
from live import request, serve
from rdflib.compare import isomorphic

from kg.errors import QueryTimeout, StoreError
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.settings import Settings
from kg.web.app import build_app

GRAPH = f"{BASE}graph/one"
DATASET = "http://www.w3.org/ns/dcat#Dataset"
XSD = "http://www.w3.org/2001/XMLSchema#"


class SharedServer:
    """A server of one kind for the module's tests, each of which finds it as it was started: its
    graphs are compared with the ones it began with after every test and the test's own dropped
    (:meth:`servers.RemoteServer.empty_back_to`); a server that this cannot restore is replaced.
    A Virtuoso start takes seconds (most of what a test here cost when each had its own)."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder, self.starts = kind, folder, 0
        self.server = self._start()

    def _start(self) -> servers.RemoteServer:
        self.starts += 1
        folder = self.folder / f"{self.kind}-{self.starts}"
        if self.kind == "virtuoso":  # without its 10,000-row cap
            server = servers.start_virtuoso(folder, max_rows=1_000_000)
        else:
            server = servers.start_oxigraph(folder)
        self.pristine = server.graph_sizes()
        return server

    def reset(self) -> None:
        if not self.server.empty_back_to(self.pristine):
            self.server.stop()
            self.server = self._start()


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def shared_server(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[SharedServer]:
    kind = request.param
    reason = servers.oxigraph_available() if kind == "oxigraph" else servers.virtuoso_available()
    if reason:
        pytest.skip(reason)
    shared = SharedServer(kind, tmp_path_factory.mktemp(kind))
    try:
        yield shared
    finally:
        shared.server.stop()


@pytest.fixture
def remote(shared_server: SharedServer, tmp_path: Path) -> Iterator[Settings]:
    """Settings on a server of each kind that holds none of another test's graphs, with a
    state folder of their own."""
    assert shared_server.server.graph_sizes() == shared_server.pristine, (
        "the server holds another test's graphs"
    )
    server = shared_server.server
    yield make_settings(
        tmp_path / "state",
        store_query_url=server.query_url,
        store_update_url=server.update_url,
        store_gsp_url=server.gsp_url,
        extra={"kind": shared_server.kind},
    )
    shared_server.reset()


def ntriples(value: str, n: int) -> str:
    return "".join(f'<{BASE}thing/{i}> <{BASE}p> "{value}" .\n' for i in range(n))


def values(store) -> list[str]:
    return [r["o"].value for r in store.query(f"SELECT ?o WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")]


def embedded_sample(tmp_path: Path, template: Path) -> Settings:
    """An embedded store holding the bundled sample as conftest's session ingest made it (a copy of
    ``seeded_template``: the same settings and source), to compare a remote ingest with."""
    return seed(make_settings(tmp_path / "embedded", **EMBEDDED), template)


def test_the_sample_ingested_remotely_equals_the_sample_ingested_embedded(remote, tmp_path, seeded_template):
    embedded = embedded_sample(tmp_path, seeded_template)
    summary = ingest(str(SAMPLE_CSV), settings=remote, source="sample")
    assert summary.stored and summary.published == 55
    theirs, ours = store_for(remote), store_for(embedded)
    assert theirs.data_graphs() == ours.data_graphs()
    assert set(theirs.named_graphs()) == set(ours.named_graphs())
    for graph in ours.named_graphs():
        if graph.endswith("/provenance"):
            continue  # run times differ
        a, b = (rdflib.Graph() for _ in range(2))
        got = _nt(theirs, graph)
        if remote.extra["kind"] == "virtuoso":  # keeps xsd:nonNegativeInteger, which Oxigraph
            got = got.replace(f"^^<{XSD}nonNegativeInteger>", f"^^<{XSD}integer>")  # stores as integer
        a.parse(data=got, format="nt")
        b.parse(data=_nt(ours, graph), format="nt")
        assert len(a) == len(b) > 0 and isomorphic(a, b), graph
    assert theirs.graph_sizes() == {g: n for g, n in ours.graph_sizes().items()}
    hits = build_app(remote).test_client().get("/datasets.json?q=air").get_json()
    assert (
        hits["total"] == build_app(embedded).test_client().get("/datasets.json?q=air").get_json()["total"] > 0
    )


def _nt(store, graph: str) -> str:
    out = io.BytesIO()
    store.dump(out, fmt="nt", graph=graph)
    return out.getvalue().decode()


def test_readers_see_the_old_or_the_new_graph_never_half(remote):
    store = store_for(remote)
    store.CHUNK_BYTES = 4096  # many Graph Store requests per load
    with store.write(replace=(GRAPH,)) as writer:
        writer.load_text(ntriples("old", 300), graph=GRAPH)
    seen: set[tuple[int, frozenset[str]]] = set()
    done = threading.Event()
    reader = store_for(remote)

    def read() -> None:
        while not done.is_set():
            found = values(reader)
            seen.add((len(found), frozenset(found)))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(3):
            path = Path(remote.store) / f"new{i}.nt"
            path.write_text(ntriples(f"new{i}", 300 + 100 * i), encoding="utf-8")
            with store.write(replace=(GRAPH,)) as writer:
                writer.load(path, graph=GRAPH)
    finally:
        done.set()
        thread.join()
    allowed = {(300, frozenset({"old"}))} | {(300 + 100 * i, frozenset({f"new{i}"})) for i in range(3)}
    assert seen and seen <= allowed, seen - allowed
    assert values(store) == ["new2"] * 500


CHILD = textwrap.dedent(
    """
    import sys, time
    from kg.factory import store_for
    from kg.settings import load_settings
    store = store_for(load_settings())
    with store.write(replace=("http://kg.test/graph/one",)) as writer:
        writer.load(sys.argv[1], graph="http://kg.test/graph/one")
        print("staged", flush=True)
        time.sleep(120)
    """
)


def test_a_writer_killed_after_staging_leaves_the_store_serving(remote, kg_env, tmp_path):
    store = store_for(remote)
    with store.write(replace=(GRAPH,)) as writer:
        writer.load_text(ntriples("old", 3), graph=GRAPH)
    version = store.version()
    data = tmp_path / "big.nt"
    data.write_text(ntriples("half-written", 2000), encoding="utf-8")
    env = {
        **kg_env,
        "KG_STORE": str(remote.store),
        "KG_STORE_QUERY_URL": remote.store_query_url,
        "KG_STORE_UPDATE_URL": remote.store_update_url,
        "KG_STORE_GSP_URL": remote.store_gsp_url,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "staged"
        child.kill()
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    fresh = store_for(remote)
    assert fresh.version() == version and values(fresh) == ["old"] * 3
    assert GRAPH in fresh.data_graphs() and not [g for g in fresh.named_graphs() if "/staging/" in g]
    with fresh.write(replace=(GRAPH,)) as writer:
        writer.load_text(ntriples("after", 2), graph=GRAPH)
    assert values(fresh) == ["after"] * 2 and fresh.version() > version


def test_private_and_foreign_graphs_stay_out_of_public_queries(remote):
    ingest(str(SAMPLE_CSV), settings=remote, source="sample")
    store = store_for(remote)
    store.post_update('INSERT DATA { GRAPH <urn:someone:else> { <urn:a> <urn:b> "theirs" } }')
    client = FrontClient(build_app(remote))

    def select(query: str, **params: str) -> list[dict]:
        response = client.get(
            "/sparql",
            query_string={"query": query, **params},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["results"]["bindings"]

    graphs = {r["g"]["value"] for r in select("SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }")}
    assert f"{BASE}graph/sample" in graphs and f"{BASE}graph/vocabularies" in graphs
    assert not [g for g in graphs if "quarantine" in g or "report" in g or "provenance" in g or "urn:" in g]
    provenance = f"{BASE}graph/provenance"
    assert select(f"SELECT * FROM <{provenance}> {{ ?s ?p ?o }}") == []
    assert select("SELECT * { ?s ?p 'theirs' }") == []
    assert select("SELECT * { ?s ?p ?o }", **{"default-graph-uri": provenance}) == []
    assert len(select(f"SELECT * FROM <{BASE}graph/sample> {{ ?s a ?t }} LIMIT 5")) == 5
    sources = client.get("/quality.json").get_json()
    assert "sample" in json.dumps(sources)  # the pages still read the private graphs


def test_answers_are_passed_through_as_the_store_wrote_them(remote):
    ingest(str(SAMPLE_CSV), settings=remote, source="sample")
    store = store_for(remote)
    client = FrontClient(build_app(remote))
    query = f"SELECT ?d ?t WHERE {{ ?d a <{DATASET}> ; <http://purl.org/dc/terms/title> ?t }} ORDER BY ?d ?t"
    for accept in ("application/sparql-results+json", "application/sparql-results+xml"):
        ours = client.get("/sparql", query_string={"query": query}, headers={"Accept": accept})
        theirs = store.send_query(query, accept=accept)
        assert ours.status_code == 200 and ours.get_data() == theirs.data
    construct = f"CONSTRUCT {{ ?d a <{DATASET}> }} WHERE {{ ?d a <{DATASET}> }}"
    ours = client.get(
        "/sparql", query_string={"query": construct}, headers={"Accept": "application/n-triples"}
    )
    assert (
        ours.status_code == 200
        and ours.get_data() == store.send_query(construct, accept="application/n-triples").data
    )
    assert len(rdflib.Graph().parse(data=ours.get_data(), format="nt")) == 44
    capped = FrontClient(build_app(dataclasses.replace(remote, max_results=7)))
    cut = capped.get("/sparql", query_string={"query": query}, headers={"Accept": "text/csv"})
    assert cut.status_code == 200 and cut.headers["KG-Results-Truncated"] == "true"
    assert len(cut.get_data(as_text=True).strip().splitlines()) == 8  # the header and 7 rows


def test_updates_and_graph_store_writes_through_the_app(remote):
    settings = make_settings(
        remote.store,
        **{k: getattr(remote, k) for k in ("store_query_url", "store_update_url", "store_gsp_url")},
        update_token="t",
    )
    client = FrontClient(build_app(settings))
    auth = {"Authorization": "Bearer t"}
    assert (
        client.post(
            "/sparql", data={"update": 'INSERT DATA { <urn:x> <urn:y> "default" }'}, headers=auth
        ).status_code
        == 204
    )
    ask = client.get(
        "/sparql",
        query_string={"query": 'ASK { <urn:x> <urn:y> "default" }'},
        headers={"Accept": "application/json"},
    )
    assert ask.get_json()["boolean"] is True
    url = "/store?" + urllib.parse.urlencode({"graph": "http://elsewhere.example/g"})
    put = client.put(
        url, data=b'<urn:s> <urn:p> "put" .', headers={**auth, "Content-Type": "application/n-triples"}
    )
    assert put.status_code == 201
    assert b'"put"' in client.get(url, headers={"Accept": "application/n-triples"}).get_data()
    assert (
        client.put(
            url, data=b"<urn:s> <urn:p> .", headers={**auth, "Content-Type": "text/turtle"}
        ).status_code
        == 400
    )
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url).status_code == 404
    ingest(str(SAMPLE_CSV), settings=settings, source="sample")  # public graphs and private ones
    store = store_for(settings)
    private = {g: store.graph_sizes().get(g) for g in store.named_graphs() if store.is_private(g)}
    assert private and store.data_graphs()
    assert client.post("/sparql", data={"update": "DROP ALL"}, headers=auth).status_code == 204
    store.new_request()  # a version read a moment ago is no longer the published one
    ask = client.get(
        "/sparql", query_string={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/json"}
    )
    assert store.data_graphs() == [] and ask.get_json()["boolean"] is False
    # only the public graphs, as on the embedded store (whose private graphs are stored apart)
    assert {g: store.graph_sizes().get(g) for g in store.named_graphs() if store.is_private(g)} == private


def test_an_unreachable_store_is_a_clear_error_and_a_503(tmp_path, kg_env):
    port = servers.free_port()
    urls = {f"store_{k}_url": f"http://127.0.0.1:{port}/{k}" for k in ("query", "update", "gsp")}
    settings = make_settings(tmp_path / "state", **urls)
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}.*cannot be reached"):
        store_for(settings).version()
    assert time.monotonic() - started > 1.0, "connection errors are retried with back-off"
    response = build_app(settings).test_client().get("/health", headers={"Accept": "application/json"})
    assert response.status_code == 503
    env = {**kg_env, **{f"KG_{k.upper()}": v for k, v in urls.items()}}
    done = run_kg("ingest", SAMPLE_CSV, "--source", "sample", env=env)
    assert done.returncode != 0 and "cannot be reached" in done.stderr


def test_a_silent_store_is_a_timeout(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts, never answers
    try:
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        settings = make_settings(
            tmp_path / "state",
            store_query_url=f"{base}/q",
            store_update_url=f"{base}/u",
            store_gsp_url=f"{base}/g",
            query_timeout=1,
            http_timeout=1,
        )
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            store_for(settings).query("ASK {}", timeout=1)
        assert time.monotonic() - started < 5
        response = FrontClient(build_app(settings)).get("/sparql", query_string={"query": "ASK {}"})
        assert response.status_code == 503
    finally:
        listener.close()


def test_the_app_under_gunicorn_serves_a_remote_store(remote):
    env = {
        "KG_STORE_QUERY_URL": remote.store_query_url,
        "KG_STORE_UPDATE_URL": remote.store_update_url,
        "KG_STORE_GSP_URL": remote.store_gsp_url,
    }
    with serve(Path(remote.store), **env) as live:
        status, _, body = request(f"{live}datasets.json?q=air")
        assert status == 200 and json.loads(body)["total"] > 0
        status, _, body = request(
            live
            + "sparql?"
            + urllib.parse.urlencode(
                {"query": "SELECT (COUNT(*) AS ?n) { ?d a <http://www.w3.org/ns/dcat#Dataset> }"}
            ),
            headers={"Accept": "application/sparql-results+json"},
        )
        assert status == 200 and json.loads(body)["results"]["bindings"][0]["n"]["value"] == "44"
        dataset = json.loads(request(f"{live}datasets.json?q=air")[2])["results"][0]["iri"]
        page = dataset.replace(BASE, live) if dataset.startswith(BASE) else dataset
        assert request(page)[0] == 200


def test_a_second_web_machine_builds_its_search_index_from_the_store(remote, tmp_path):
    ingest(str(SAMPLE_CSV), settings=remote, source="sample")
    elsewhere = dataclasses.replace(remote, store=tmp_path / "second-machine")  # same store, own folder
    client = build_app(elsewhere).test_client()
    deadline = time.monotonic() + 60
    while (total := client.get("/datasets.json").get_json()["total"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # built in the background; an empty search meanwhile
    assert total == 44
    first = build_app(remote).test_client().get("/datasets.json?q=air").get_json()
    assert client.get("/datasets.json?q=air").get_json() == first


def test_both_stores_have_the_whole_interface(remote):
    import inspect

    from kg.store.embedded import Store
    from kg.store.interface import GraphStore
    from kg.store.remote import RemoteStore

    embedded = Store(remote.store / "embedded")
    assert isinstance(embedded, GraphStore) and isinstance(store_for(remote), GraphStore)
    for name, method in inspect.getmembers(GraphStore, inspect.isfunction):
        if name.startswith("_"):
            continue
        wanted = inspect.signature(method)
        for implementation in (Store, RemoteStore):
            got = inspect.signature(getattr(implementation, name))
            assert list(got.parameters)[: len(wanted.parameters)] == list(wanted.parameters), (
                f"{implementation.__name__}.{name}{got} is not {name}{wanted}"
            )


def page_paths(client) -> list[str]:
    """One path of every page kind and its JSON twin, found from the sample's own pages."""
    dataset = client.get("/datasets.json?q=air").get_json()["results"][0]["iri"].replace(BASE, "/")
    distribution = client.get(f"{dataset}.json").get_json()["distributions"][0]
    agency = client.get("/agencies.json").get_json()["agencies"][0]["page"]
    concept = urllib.parse.urlencode({"uri": distribution["formats"][0]["iri"]})
    paths = [
        "/",
        "/index.json",
        "/datasets?q=air",
        "/datasets.json?q=air&sort=title",
        "/agencies",
        "/agencies.json",
    ]
    paths += [
        dataset,
        f"{dataset}.json",
        f"{dataset}.ttl",
        distribution["term"]["href"],
        agency,
        f"{agency}.json",
    ]
    paths += [
        "/catalog",
        "/catalog.json",
        "/catalog.ttl?page=1",
        f"/resource?{concept}",
        f"/resource.json?{concept}",
    ]
    return paths + ["/quality", "/quality.json", "/quality.json?source=sample", "/.well-known/void", "/query"]


def test_every_page_kind_reads_a_remote_store_as_the_embedded_one(remote, tmp_path, seeded_template):
    """Each store's SPARQL dialect reads the pages' queries alike (Virtuoso's compiler fails on
    some forms Oxigraph takes): every page kind answers, and its JSON twin says the same."""
    embedded = embedded_sample(tmp_path, seeded_template)
    ingest(str(SAMPLE_CSV), settings=remote, source="sample")
    ours, theirs = build_app(embedded).test_client(), build_app(remote).test_client()
    for path in page_paths(ours):
        mine, other = ours.get(path), theirs.get(path)
        assert other.status_code == mine.status_code == 200, (path, other.get_data(as_text=True)[:300])
        if mine.is_json:
            a, b = (
                json.dumps(timeless(x.get_json()), indent=1, sort_keys=True).splitlines()
                for x in (mine, other)
            )
            assert a == b, (path, "\n".join(list(difflib.unified_diff(a, b, n=2))[:60]))


def timeless(value):
    """A JSON answer without the moments of its ingest (each store had its own)."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in ("started", "ended", "modified", "run")}
    return [timeless(v) for v in value] if isinstance(value, list) else value
