"""The CKAN reader: package dicts from files and from a portal (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT
from in_process import kg_here

from kg.errors import InputError
from kg.readers import json_stream, read_source
from kg.readers.ckan import ckan_records, read_ckan
from kg.readers.files import load_json
from kg.records import AgencyRecord, DatasetRecord, Origin

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"…/shared/data/samples not found: {path}")
    return path


def package(number: int, org: str = "org-1") -> dict:
    return {
        "id": f"id-{number}",
        "name": f"dataset-{number}",
        "title": f"Dataset {number}",
        "notes": "Notes",
        "organization": {"id": org, "name": org, "title": org.upper(), "description": ""},
        "tags": [{"name": "t"}],
        "resources": [{"id": f"r-{number}", "url": f"https://files.example/{number}.csv", "format": "CSV"}],
    }


def search_page(count: int, *packages: dict) -> dict:
    return {"help": "…", "success": True, "result": {"count": count, "results": list(packages)}}


def datasets(records: list) -> list[DatasetRecord]:
    return [r for r in records if isinstance(r, DatasetRecord)]


def read_error(location: str | Path, **options: float) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_ckan(location, **options))
    assert info.value.file and str(info.value).startswith(info.value.file)  # the message names the file/URL
    return info.value


# --- files ---------------------------------------------------------------------------


def test_full_dcat_ap_sample() -> None:
    records = list(read_ckan(sample("ckan_full_dataset_dcat_ap.json")))
    (agency,) = [r for r in records if isinstance(r, AgencyRecord)]
    (ds,) = datasets(records)
    assert records.index(agency) < records.index(ds)
    assert (agency.key, agency.name, agency.classification) == (
        "http://example.org/publisher-id",
        {"": "Test Publisher"},
        "public_body",
    )
    assert ds.key == "test-dataset-shacl" and ds.identifier == "xx-some-dataset-id-yy"
    assert ds.publisher == agency.key and ds.title == {"": "Test DCAT dataset"}
    assert ds.keywords == [("Tag 1", ""), ("Tag 2", "")]
    assert ds.themes == [
        "https://example.org/uri/theme1",
        "https://example.org/uri/theme2",
        "https://example.org/uri/theme3",
    ]
    assert (ds.issued, ds.modified, ds.frequency) == ("2024-05-01", "2024-05-05", "monthly")
    assert (ds.temporal_start, ds.temporal_end) == ("1905-03-01", "2013-01-05")
    assert ds.spatial == ["https://sws.geonames.org/6361390/"]
    assert ds.other_identifiers == ["alt-id-1", "alt-id-2"] and ds.conforms_to == ["Standard 1", "Standard 2"]
    assert (ds.contact.name, ds.contact.email, ds.contact.url) == (
        "Contact 1",
        "contact1@example.org",
        "https://example.org",
    )
    assert ds.extra["dcat_type"] == "test-type" and "applicable_legislation" in ds.extra
    # read in part (first contact, first period, place URI): kept whole too, so nothing is lost
    assert "Contact 2" in ds.extra["contact"] and "2024-04-10" in ds.extra["temporal_coverage"]
    assert "coordinates" in ds.extra["spatial_coverage"]
    (dist,) = ds.distributions
    assert (dist.access_url, dist.download_url, dist.byte_size) == (
        "https://example.com/data.csv",
        "https://example.com/data.csv",
        "12323",
    )
    assert dist.checksum == "4304cf2e751e6053c90b1804c89c0ebb758f395a"
    assert dist.licence == "http://creativecommons.org/licenses/by/3.0/"
    assert dist.origin.field == "resources[0]"


def test_multilingual_sample() -> None:
    (ds,) = datasets(list(read_ckan(sample("ckan_dataset_multilingual.json"))))
    assert ds.key == "test-dataset-multilingual"  # no id: the name
    assert ds.title == {
        "en": "Test DCAT dataset",
        "ca": "Conjunt de dades de prova DCAT",
        "es": "Conjunto de datos de prueba DCAT",
    }
    assert (
        ("Roures", "ca") in ds.keywords and ("Oaks", "en") in ds.keywords and ("Oaks", "") not in ds.keywords
    )
    assert ds.provenance == "Statement about provenance" and "Una declaració" in ds.extra["provenance"]
    assert ds.distributions[0].title["es"] == "Recurso 1"


def test_package_show_envelope_from_data_gov_hk() -> None:
    records = list(read_ckan(sample("data.gov.hk.package_show.json")))
    (agency,) = [r for r in records if isinstance(r, AgencyRecord)]
    (ds,) = datasets(records)
    assert (agency.key, agency.name) == ("f8f00a79-abdb-4f6b-9dec-10a88d59b4e4", {"": "Planning Department"})
    assert ds.key == "312c1ce8-e90e-4661-a28d-37204f3dfa44" and ds.publisher == agency.key
    assert ds.extra["name"] == "hk-pland-pland1-2021-based-tpedm"
    assert (ds.frequency, ds.licence, ds.themes) == ("Every five years", "", ["Population"])
    assert (ds.contact.name, ds.contact.email, ds.contact.phone) == (
        "Planning Department",
        "enquire@pland.gov.hk",
        "2231 5000",
    )
    assert ds.issued == "2024-12-29T16:32:09.605948"  # metadata_created, for want of "issued"
    (dist,) = ds.distributions
    assert dist.format == "API" and dist.download_url == ""
    assert dist.access_url.startswith("https://portal.csdi.gov.hk/geoportal/")


def test_list_and_package_search_files(tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([package(1), package(2, org="org-2")]), encoding="utf-8")
    records = list(read_ckan(listed))
    assert [r.key for r in records] == ["org-1", "id-1", "org-2", "id-2"]
    searched = tmp_path / "search.json"
    searched.write_text(json.dumps(search_page(2, package(1), package(2))), encoding="utf-8")
    records = list(read_ckan(searched))
    assert [r.key for r in records] == ["org-1", "id-1", "id-2"]
    assert records[2].origin.record == 1 and records[2].origin.file == str(searched)


def test_legacy_extras_and_fallbacks(tmp_path: Path) -> None:
    extras = {
        "theme": '["http://t/1", "http://t/2"]',
        "publisher_name": "Pub",
        "publisher_uri": "http://pub",
        "frequency": "http://freq/monthly",
        "issued": "2020-01-01",
        "contact_email": "c@x.example",
        "custom": "kept",
    }
    doc = {
        "name": "legacy",
        "title": "Legacy",
        "metadata_created": "2019-06-27 12:41:27",
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "resources": [
            {"url": "https://x.example/upload/file", "url_type": "upload"},
            {"url": "https://x.example/page.html"},
            {"url": "https://x.example/data.zip", "size": None},
        ],
    }
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    agency, ds = list(read_ckan(path))
    assert (agency.key, agency.name, agency.identifier) == ("http://pub", {"": "Pub"}, "http://pub")
    assert agency.origin.field == "publisher_name"
    assert ds.themes == ["http://t/1", "http://t/2"] and ds.frequency == "http://freq/monthly"
    assert ds.issued == "2020-01-01" and ds.contact.email == "c@x.example"
    assert ds.extra == {"custom": "kept"}
    assert [d.download_url for d in ds.distributions] == [
        "https://x.example/upload/file",
        "",
        "https://x.example/data.zip",
    ]


def test_author_is_the_last_publisher_fallback(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps({"id": "p", "author": "A. Uthor", "author_email": "a@x.example", "resources": []}), "utf-8"
    )
    agency, ds = list(read_ckan(path))
    assert (agency.key, agency.contact.email, ds.publisher) == ("A. Uthor", "a@x.example", "A. Uthor")
    assert agency.origin == Origin(str(path), record=0, field="author")
    assert (ds.contact.name, ds.contact.email) == ("A. Uthor", "a@x.example")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"success": False, "error": {"message": "Not authorized"}}, "success=false: Not authorized"),
        ({"success": True, "result": ["a", "b"]}, "package_list"),
        ({"foo": 1}, "not a CKAN package"),
        (42, "JSON of no known shape"),
    ],
)
def test_files_of_the_wrong_shape(tmp_path: Path, doc: object, message: str) -> None:
    path = tmp_path / "ckan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    error = read_error(path)
    assert error.file == str(path) and message in error.message


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "ckan.json"
    path.write_text('{"success": true, "result": {"id": "x", "resources": [', encoding="utf-8")
    error = read_error(path)
    assert error.file == str(path) and error.line == 1 and "truncated" in error.message


# --- portal ---------------------------------------------------------------------------------


@dataclass
class Portal:
    """A fake CKAN portal: recorded answers by request path, and the requests it received."""

    url: str = ""
    routes: dict[str, tuple[int, str, bytes, float, dict[str, str]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)

    def answer(
        self, path: str, doc: object, *, status: int = 200, content_type: str = "application/json"
    ) -> None:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.routes[path] = (status, content_type, body, 0.0, {})

    def stall(self, path: str, seconds: float) -> None:
        self.routes[path] = (200, "application/json", b"{}", seconds, {})

    def redirect(self, path: str, location: str) -> None:
        self.routes[path] = (302, "text/plain", b"", 0.0, {"Location": location})


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Portal]:
    for name in PROXY_VARIABLES:  # a proxy from the environment would take requests off loopback
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    state = Portal()
    not_found = (404, "application/json", b'{"success": false, "error": {"message": "Not found"}}', 0.0, {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            state.requests.append(self.path)
            state.user_agents.append(self.headers.get("User-Agent", ""))
            status, content_type, body, delay, headers = state.routes.get(self.path, not_found)
            time.sleep(delay)
            try:
                self.send_response(status)
                for name, value in {"Content-Type": content_type, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server API
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


SEARCH = "/api/3/action/package_search"


def test_portal_is_paged_until_count(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?rows=2&start=0", search_page(3, package(1), package(2)))
    portal.answer(f"{SEARCH}?rows=2&start=2", search_page(3, package(3, org="org-2")))
    records = list(read_ckan(portal.url + "/", rows=2))
    assert portal.requests == [f"{SEARCH}?rows=2&start=0", f"{SEARCH}?rows=2&start=2"]
    assert [r.key for r in records] == ["org-1", "id-1", "id-2", "org-2", "id-3"]
    third = records[-1]
    assert third.origin.file == f"{portal.url}{SEARCH}?rows=2&start=2" and third.origin.record == 0
    assert third.distributions[0].download_url == "https://files.example/3.csv"
    assert all(agent.startswith("agency-kg/") for agent in portal.user_agents)


def test_paging_stops_on_an_empty_page_and_on_a_repeated_page(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?rows=2&start=0", search_page(10, package(1), package(2)))
    portal.answer(f"{SEARCH}?rows=2&start=2", search_page(10))
    assert len(datasets(list(read_ckan(portal.url, rows=2)))) == 2
    assert len(portal.requests) == 2
    portal.requests.clear()
    portal.answer(f"{SEARCH}?rows=2&start=2", search_page(10, package(1), package(2)))  # ignores start
    assert len(datasets(list(read_ckan(portal.url, rows=2)))) == 2
    assert len(portal.requests) == 2


def test_url_with_package_search_and_a_query(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?q=air&rows=2&start=0", search_page(1, package(1)))
    records = list(read_ckan(f"{portal.url}{SEARCH}?q=air&rows=50", rows=2))
    assert portal.requests == [f"{SEARCH}?q=air&rows=2&start=0"]
    assert [r.key for r in records] == ["org-1", "id-1"]


def test_url_with_package_show(portal: Portal) -> None:
    portal.answer("/api/3/action/package_show?id=abc", {"success": True, "result": package(7)})
    records = list(read_ckan(f"{portal.url}/api/3/action/package_show?id=abc"))
    assert [r.key for r in records] == ["org-1", "id-7"]
    assert portal.requests == ["/api/3/action/package_show?id=abc"]


def test_portal_answering_500(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?rows=100&start=0", b"Internal error", status=500, content_type="text/plain")
    error = read_error(portal.url)
    assert error.file == f"{portal.url}{SEARCH}?rows=100&start=0"
    assert "HTTP 500" in error.message


def test_portal_answering_404_quotes_ckan_message(portal: Portal) -> None:
    error = read_error(f"{portal.url}/api/3/action/package_show?id=missing")
    assert error.file == f"{portal.url}/api/3/action/package_show?id=missing"
    assert "HTTP 404" in error.message and "Not found" in error.message


def test_portal_answering_html(portal: Portal) -> None:
    portal.answer(
        f"{SEARCH}?rows=100&start=0", b"<!doctype html><html>Welcome</html>", content_type="text/html"
    )
    error = read_error(portal.url)
    assert error.file == f"{portal.url}{SEARCH}?rows=100&start=0" and "HTML" in error.message


def test_portal_answering_success_false(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?rows=100&start=0", {"success": False, "error": {"message": "Search error"}})
    assert "success=false: Search error" in read_error(portal.url).message


def test_portal_answering_invalid_json(portal: Portal) -> None:
    portal.answer(f"{SEARCH}?rows=100&start=0", b'{"success": true, "result": {"count": 1, "res')
    error = read_error(portal.url)
    assert "invalid JSON" in error.message and error.line == 1


def test_portal_that_cannot_be_reached() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = read_error(f"http://127.0.0.1:{port}/")
    assert error.file == f"http://127.0.0.1:{port}{SEARCH}?rows=100&start=0"
    assert "cannot reach" in error.message


def test_portal_that_does_not_answer_in_time(portal: Portal) -> None:
    portal.stall(f"{SEARCH}?rows=100&start=0", 1.0)
    assert "no answer within 0.2 s" in read_error(portal.url, timeout=0.2).message


def test_portal_reader_never_leaves_loopback(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    portal.answer(f"{SEARCH}?rows=1&start=0", search_page(2, package(1)))
    portal.answer(f"{SEARCH}?rows=1&start=1", search_page(2, package(2)))
    connections: list[tuple] = []
    real_connect = socket.create_connection

    def recording_connect(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        connections.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording_connect)
    assert len(datasets(list(read_ckan(portal.url, rows=1)))) == 2
    port = int(portal.url.rsplit(":", 1)[1])
    assert connections and set(connections) == {("127.0.0.1", port)}


def test_portal_redirect_to_a_local_file_is_not_followed(portal: Portal, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(search_page(1, package(1))), encoding="utf-8")
    portal.redirect(f"{SEARCH}?rows=100&start=0", secret.as_uri())
    error = read_error(portal.url)
    assert error.file == f"{portal.url}{SEARCH}?rows=100&start=0"
    assert "302" in error.message and "not allowed" in error.message


# --- a file read one package at a time -------------------------------------------------------

LEGACY = {  # test_legacy_extras_and_fallbacks's package
    "name": "legacy",
    "title": "Legacy",
    "extras": [{"key": "publisher_name", "value": "Pub"}, {"key": "theme", "value": '["http://t/1"]'}],
    "resources": [{"url": "https://x.example/upload/file", "url_type": "upload"}],
}
CKAN_DOCS = {  # every shape packages() accepts, with the packages the tests above use
    "package": package(1),
    "package-without-organization": {"id": "p", "author": "A. Uthor", "resources": []},
    "legacy": LEGACY,
    "list": [package(1), package(2, org="org-2"), LEGACY, package(3)],
    "empty-list-envelope": {"success": True, "result": []},
    "package-show": {"help": "…", "success": True, "result": package(7)},
    "package-search": search_page(4, package(1), package(2, org="org-2"), LEGACY, package(3, org="org-2")),
    "package-search-empty": search_page(0),
    "result-list": {"success": True, "result": [package(5), package(6)]},
    "result-before-success": {"result": {"results": [package(8)], "count": 1}, "success": True},
    "detect-samples": {"help": "…", "success": True, "result": {"name": "p"}},
}


def write_doc(path: Path, doc: object, indent: int | None = None) -> Path:
    path.write_text(json.dumps(doc, indent=indent, ensure_ascii=False), encoding="utf-8")
    return path


def parsed_whole(path: Path) -> list:
    """What the reader gave when it parsed the file whole."""
    with open(path, encoding="utf-8") as f:
        return list(ckan_records(json.load(f), str(path)))


def generated(tmp_path: Path, n: int) -> Path:
    """bench/generate.py's package_search file of ``n`` packages."""
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_generate", gen)
    spec.loader.exec_module(gen)
    return gen.generate(n, 1, "ckan", tmp_path)


@pytest.mark.parametrize("chunk", [7, 1 << 20], ids=["chunk7", "chunk1M"])
@pytest.mark.parametrize("name", sorted(CKAN_DOCS))
def test_streamed_records_are_those_of_the_parsed_file(
    tmp_path: Path, monkeypatch, name: str, chunk: int
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", chunk)  # values cut at every possible place
    for indent in (None, 2):
        path = write_doc(tmp_path / f"{name}.json", CKAN_DOCS[name], indent)
        whole = parsed_whole(path)
        assert list(read_ckan(path)) == whole
        assert list(read_source(str(path))) == whole  # the outline of format detection handed over
        assert list(read_source(str(path), fmt="ckan")) == whole


@pytest.mark.parametrize(
    "name",
    ["ckan_full_dataset_dcat_ap.json", "ckan_dataset_multilingual.json", "data.gov.hk.package_show.json"],
)
def test_streamed_records_of_the_real_samples(shared: Path, name: str) -> None:
    path = shared / "data" / "samples" / name
    assert list(read_ckan(path)) == parsed_whole(path)
    assert list(read_source(str(path))) == parsed_whole(path)


def test_streamed_records_of_a_generated_package_search(tmp_path: Path, monkeypatch) -> None:
    path = generated(tmp_path, 300)
    whole = parsed_whole(path)
    assert sum(isinstance(r, DatasetRecord) for r in whole) >= 300
    assert list(read_ckan(path)) == whole
    monkeypatch.setattr(json_stream, "CHUNK", 1000)
    records = list(read_source(str(path)))
    assert records == whole and records[-1].origin.record == 299


def test_the_packages_are_not_held_parsed(tmp_path: Path, monkeypatch) -> None:
    """The reader holds one package at a time (and a piece of the file): far less than the parsed file."""
    monkeypatch.setattr(json_stream, "CHUNK", 1 << 16)
    path = generated(tmp_path, 2000)
    tracemalloc.start()
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        parsed = tracemalloc.get_traced_memory()[0]
        del doc
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        count = sum(1 for _ in read_source(str(path)))
        held = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert count > 2000 and held < parsed / 10, (held, parsed)


def many(count: int) -> str:
    return ",\n".join(json.dumps(package(i)) for i in range(count))


def streamed_error(path: Path) -> InputError:
    """The reader's error, raised before any record (the reader checks the file when called)."""
    with pytest.raises(InputError) as info:
        read_ckan(path)
    assert info.value.file == str(path) and str(info.value).startswith(str(path))
    with pytest.raises(InputError) as detected:
        read_source(str(path))
    assert detected.value.message == info.value.message and detected.value.line == info.value.line
    return info.value


def whole_error(path: Path) -> tuple:
    with pytest.raises(InputError) as info:
        list(ckan_records(load_json(path), str(path)))
    return info.value.line, info.value.record, info.value.message


def test_truncated_inside_the_results_far_into_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", 4096)
    text = '{"help": "…", "success": true, "result": {"count": 3000, "results": [\n' + many(3000) + "]}}"
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"id-2500"') + 20], encoding="utf-8")
    error = streamed_error(path)
    assert error.line == 2502 and "truncated" in error.message
    assert (error.line, error.record, error.message) == whole_error(path)
    path.write_text(text[:-1], encoding="utf-8")  # the envelope's end cut
    error = streamed_error(path)
    assert error.line == 3001 and "truncated" in error.message and "Expecting ',' delimiter" in error.message


def test_invalid_json_far_into_a_list_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[\n" + many(2000) + ',\n{"id": "x" "title": "X"}\n]', encoding="utf-8")
    error = streamed_error(path)
    assert error.line == 2002 and "column 12: Expecting ',' delimiter" in error.message
    assert (error.line, error.record, error.message) == whole_error(path)


def test_a_byte_that_is_not_utf8_far_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    text = '{"success": true, "result": {"results": [\n' + many(2000) + ',\n{"title": "Caf\u00e9"}]}}'
    path.write_bytes(text.encode("latin-1"))
    error = streamed_error(path)
    assert error.line == 2002 and "not UTF-8" in error.message and "0xE9" in error.message
    assert (error.line, error.record, error.message) == whole_error(path)


@pytest.mark.parametrize(
    ("text", "record", "message"),
    [
        ('{"success": true, "result": [ITEMS, "name-1"]}', 1500, "a list of package names (package_list)"),
        ('[ITEMS, {"notes": "x"}]', 1500, "not a CKAN package"),
        ('{"result": {"results": [ITEMS, 42]}, "success": true}', 1500, "not a CKAN package"),
        (
            '{"result": {"results": [ITEMS, "n"]}, "success": false, "error": {"message": "No"}}',
            None,
            "success=false: No",
        ),
        (
            '{"help": "…", "success": false, "error": {"name": ["Missing value"]}}',
            None,
            '{"name":["Missing value"]}',
        ),
        ('{"result": 42, "success": true}', None, "JSON of no known shape"),
    ],
)
def test_bad_packages_fail_before_any_record(
    tmp_path: Path, text: str, record: int | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text.replace("ITEMS", many(1500)), encoding="utf-8")
    error = streamed_error(path)
    assert error.record == record and message in error.message and error.line is None
    assert (error.line, error.record, error.message) == whole_error(path)


def test_json_of_no_known_shape_and_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    for doc, message in [
        (42, "no known shape"),
        ("text", "no known shape"),
        ({"rows": [1]}, "not a CKAN package"),
    ]:
        write_doc(path, doc)
        assert message in read_error(path).message
        assert (None, read_error(path).record, read_error(path).message) == whole_error(path)
        with pytest.raises(InputError, match="JSON of no known shape"):
            read_source(str(path))
    path.write_text(" \n", encoding="utf-8")
    assert streamed_error(path).message == "the file is empty"


BAD_FILES = {  # name: (text, words kg ingest says)
    "truncated": (
        '{"success": true, "result": {"results": [\nITEMS,\n{"id": "x", "title": "X',
        ["line 202", "truncated"],
    ),
    "not-utf8": ('[ITEMS,\n{"title": "Caf\u00e9"}]', ["line 201", "UTF-8", "0xE9"]),
    "no-known-shape": ('{"rows": [ITEMS]}', ["no known shape"]),
    "success-false": ('{"success": false, "error": {"message": "Not found"}}', ["success=false: Not found"]),
    "package-names": ('{"success": true, "result": [ITEMS, "a-name"]}', ["record 200", "package_list"]),
    "empty": ("", ["empty"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused_by_kg_ingest(case: str, tmp_path: Path, kg_env: dict, settings) -> None:
    text, words = BAD_FILES[case]
    path = tmp_path / f"{case}.json"
    encoding = "latin-1" if case == "not-utf8" else "utf-8"
    path.write_bytes(
        text.replace("ITEMS", ",\n".join(json.dumps(package(i)) for i in range(200))).encode(encoding)
    )
    result = kg_here("ingest", path, "--source", "ckan-file", env=kg_env)
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    for word in [str(path), *words]:
        assert word in result.stderr, result.stderr
    assert not settings.store.exists()  # nothing stored


def test_packages_that_are_not_datasets_are_passed_over_and_counted(tmp_path):
    """catalog.data.gov's list of harvest sources: packages of type "harvest" hold no dataset."""
    from collections import Counter

    from kg.readers import read_source

    packages = [
        {"name": "dod-json", "title": "DOD JSON", "type": "harvest", "resources": []},
        {"name": "air", "title": "Air", "notes": "Air quality", "type": "dataset", "resources": []},
        {"name": "Map", "title": "Map", "notes": "A map", "type": "Dataset", "resources": []},  # DKAN's case
        {"name": "idea", "title": "Idea", "type": "showcase", "resources": []},
    ]
    path = tmp_path / "packages.json"
    path.write_text(json.dumps(packages), encoding="utf-8")
    skipped: Counter = Counter()
    records = list(read_source(str(path), fmt="ckan", skipped=skipped))
    assert [r.title for r in records] == [{"": "Air"}, {"": "Map"}]
    assert skipped == {
        "CKAN packages of type 'harvest' (not datasets)": 1,
        "CKAN packages of type 'showcase' (not datasets)": 1,
    }
