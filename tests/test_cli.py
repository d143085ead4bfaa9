"""The ``kg`` command: its output and exit codes, mostly from ``main(argv)`` in the test process
(:mod:`in_process`, the same code without a Python start per command); as a real subprocess (it is
the product) where only a process shows it: the entry point's exit codes 0, 2 and 3, another
process holding the store's lock (exit 4), a reader that closes the pipe, ``kg serve``.

File-level bad input: exit 2, one line on stderr naming the file (and the
line, record or column), no traceback, and the store serving exactly what it
served before. Record-level bad input: the record is quarantined with its
report and the rest is published (exit 0), or ``--strict`` refuses it all
(exit 3). Then every command: validate, sources, remove, query, export, and
an ingest while another writer holds the store (exit 4).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import rdflib
from conftest import BASE, SAMPLE_CSV, SAMPLE_DATA_JSON, open_store, run_kg, snapshot
from in_process import kg_here

from kg.settings import Settings
from kg.vocab import DCAT, KGO, SH

DATASETS_IN_SAMPLE = 44


def assert_clean_failure(result, code: int, *expected: str) -> None:
    """Exit ``code``, the expected words on stderr, no traceback anywhere."""
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in result.stderr, f"{text!r} not in stderr: {result.stderr}"


def edit_csv(path: Path, change: Callable[[list[dict[str, str]]], None]) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    change(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def row(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))


# ---------------------------------------------------------------- file-level bad input


def _truncated_json(tmp: Path) -> tuple[Path, list[str]]:
    text = SAMPLE_DATA_JSON.read_text(encoding="utf-8")
    cut = text[: len(text) // 2]
    path = tmp / "truncated.data.json"
    path.write_text(cut, encoding="utf-8")
    return path, [f"line {cut.count(chr(10)) + 1}", "truncated"]


def _unknown_json(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "report.json"
    path.write_text(json.dumps({"rows": [{"a": 1}], "total": 1}), encoding="utf-8")
    return path, ["no known shape"]


def _unknown_column(tmp: Path) -> tuple[Path, list[str]]:
    folder = tmp / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    text = (folder / "datasets.csv").read_text(encoding="utf-8")
    (folder / "datasets.csv").write_text(text.replace(",keywords,", ",keywordz,", 1), encoding="utf-8")
    return folder / "datasets.csv", ["line 1", "keywordz", "unknown column"]


def _missing_column(tmp: Path) -> tuple[Path, list[str]]:
    folder = tmp / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    path = folder / "distributions.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    drop = rows[0].index("dataset")
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([r[:drop] + r[drop + 1 :] for r in rows])
    return path, ["line 1", "field dataset", "missing required column"]


def _turtle_error(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "catalogue.ttl"
    path.write_text(
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
        "@prefix dct: <http://purl.org/dc/terms/> .\n"
        '<http://example.org/d1> a dcat:Dataset ; dct:title "One" .\n'
        '<http://example.org/d2> a dcat:Dataset ; dct:title "Two" \n'
        "<http://example.org/d3> a dcat:Dataset .\n",
        encoding="utf-8",
    )
    return path, ["line 5", "Turtle"]


def _empty_json(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "empty.json"
    path.write_bytes(b"")
    return path, ["empty"]


def _empty_csv(tmp: Path) -> tuple[Path, list[str]]:
    folder = tmp / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    (folder / "datasets.csv").write_bytes(b"")
    return folder / "datasets.csv", ["empty"]


def _no_csv_folder(tmp: Path) -> tuple[Path, list[str]]:
    folder = tmp / "exports"
    folder.mkdir()
    (folder / "README.txt").write_text("the spreadsheets are elsewhere\n", encoding="utf-8")
    return folder, ["agencies.csv", "datasets.csv", "distributions.csv"]


def _latin1_csv(tmp: Path) -> tuple[Path, list[str]]:
    folder = tmp / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    lines = (folder / "datasets.csv").read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"Daily", b"Caf\xe9 daily", 1)  # line 3, saved as Latin-1
    (folder / "datasets.csv").write_bytes(b"".join(lines))
    return folder / "datasets.csv", ["line 3", "UTF-8", "0xE9"]


def _latin1_json(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "latin1.data.json"
    text = '{\n  "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",\n  "dataset": [\n'
    text += '    {"identifier": "d1", "title": "Qualité de l\'air"}\n  ]\n}\n'
    path.write_bytes(text.encode("latin-1"))
    return path, ["line 4", "UTF-8"]


def _record_not_an_object(tmp: Path) -> tuple[Path, list[str]]:
    path = tmp / "agency.data.json"
    doc = {
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "dataset": [{"identifier": "a", "title": "A"}, "not a dataset"],
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path, ["record 1", "JSON object"]


def _no_such_path(tmp: Path) -> tuple[Path, list[str]]:
    return tmp / "no" / "such" / "data.json", ["no such file"]


FILE_LEVEL = {
    "truncated-json": _truncated_json,
    "json-of-no-known-shape": _unknown_json,
    "csv-unknown-column": _unknown_column,
    "csv-missing-column": _missing_column,
    "turtle-syntax-error": _turtle_error,
    "empty-json-file": _empty_json,
    "empty-csv-file": _empty_csv,
    "folder-without-csv": _no_csv_folder,
    "csv-not-utf8": _latin1_csv,
    "json-not-utf8": _latin1_json,
    "no-such-path": _no_such_path,
    "data-json-record-not-an-object": _record_not_an_object,
}


@pytest.mark.parametrize("case", sorted(FILE_LEVEL))
def test_file_level_bad_input_is_refused_and_the_store_unchanged(case, seeded, kg_env, tmp_path):
    (tmp_path / "input").mkdir()
    path, expected = FILE_LEVEL[case](tmp_path / "input")
    before = snapshot(seeded)
    argument = path.parent if path.suffix == ".csv" else path  # a CSV source is its folder
    result = kg_here("ingest", argument, "--source", "sample", env=kg_env)
    assert_clean_failure(result, 2, str(path), *expected)
    assert result.stderr.count("\n") == 1, "one line on stderr"
    assert snapshot(seeded) == before


def test_file_level_bad_input_with_no_store_yet_creates_nothing(settings, kg_env, tmp_path):
    path, expected = _truncated_json(tmp_path)
    result = run_kg("ingest", path, env=kg_env)
    assert_clean_failure(result, 2, str(path), *expected)
    assert not settings.store.exists()


class Portal:
    """A local HTTP server that answers like a broken CKAN portal."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                portal.requests.append(self.path)
                if self.path.startswith("/broken"):
                    status, ctype, body = 500, "text/plain", b"Internal Server Error"
                else:
                    status, ctype = 200, "text/html; charset=utf-8"
                    body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def portal() -> Iterator[Portal]:
    portal = Portal()
    thread = threading.Thread(target=portal.server.serve_forever, daemon=True)
    thread.start()
    yield portal
    portal.server.shutdown()
    portal.server.server_close()


@pytest.mark.parametrize(
    ("where", "expected"),
    [("broken", "HTTP 500"), ("welcome", "HTML page")],
    ids=["http-500", "html-page"],
)
def test_ckan_url_that_fails_is_refused(where, expected, portal, seeded, kg_env):
    before = snapshot(seeded)
    url = f"{portal.url}/{where}/"
    quick = {**kg_env, "KG_HTTP_BACKOFF": "0.01", "KG_HTTP_HOST_INTERVAL": "0"}  # retried, quickly
    result = kg_here("ingest", url, "--source", "sample", env=quick)
    assert_clean_failure(result, 2, f"{portal.url}/{where}", expected)
    assert portal.requests, "the portal was asked"
    assert snapshot(seeded) == before


# ---------------------------------------------------------------- record-level bad input

BROKEN = {  # dataset id -> what was broken
    "vea-noise-maps": "description",
    "mei-budget": "title",
    "nta-driving-licences": "distribution",
}


@pytest.fixture
def broken_csv(tmp_path: Path) -> Path:
    """The bundled sample with three bad records (no description, no title, a distribution without a
    URL) and one whose release date is no date, which is published without it."""
    folder = tmp_path / "broken"
    shutil.copytree(SAMPLE_CSV, folder)

    def datasets(rows: list[dict[str, str]]) -> None:
        row(rows, id="vea-noise-maps")["description"] = ""
        row(rows, id="vea-air-stations")["issued"] = "31/02/2020 maybe"
        row(rows, id="mei-budget")["title"] = ""

    def distributions(rows: list[dict[str, str]]) -> None:
        dist = row(rows, dataset="nta-driving-licences")
        dist["access_url"] = dist["download_url"] = ""

    edit_csv(folder / "datasets.csv", datasets)
    edit_csv(folder / "distributions.csv", distributions)
    return folder


def test_bad_records_are_quarantined_with_their_report_and_the_rest_published(settings, kg_env, broken_csv):
    result = run_kg("ingest", broken_csv, "--source", "broken", env=kg_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout
    assert "quarantined (3)" in out
    header, _, counts = out.splitlines()[1:4]
    assert header.split()[:3] == ["records", "published", "quarantined"]
    assert counts.split()[-5:-2] == ["52", "3", "3"]  # published, quarantined, violations
    assert "1 × left out: values of date properties that are no date" in out
    with open(broken_csv / "datasets.csv", newline="", encoding="utf-8") as f:
        lines = {r["id"]: n for n, r in enumerate(csv.DictReader(f), start=2)}
    for key in BROKEN:  # each quarantined record is named by its file and line
        assert f"datasets.csv, line {lines[key]}" in out, out

    store = open_store(settings)
    quarantined = {
        r["key"].value: (r["severity"].value, r["message"].value)
        for r in store.query(
            f"""SELECT ?key ?severity ?message WHERE {{
                GRAPH <{BASE}graph/quarantine/broken> {{
                    ?q a <{KGO.QuarantinedRecord}> ; <{KGO.recordKey}> ?key ; <{KGO.report}> ?r .
                    ?r a <{SH.ValidationResult}> ; <{SH.resultSeverity}> ?severity ;
                       <{SH.resultMessage}> ?message .
                    FILTER(?severity = <{SH.Violation}>) }} }}""",
            default_graphs=[],
            private=True,
        )
    }
    assert set(quarantined) == {f"{BASE}dataset/{key}" for key in BROKEN}
    assert all(message for _, message in quarantined.values())
    assert "title" in quarantined[f"{BASE}dataset/mei-budget"][1]
    assert "description" in quarantined[f"{BASE}dataset/vea-noise-maps"][1]
    assert "access URL" in quarantined[f"{BASE}dataset/nta-driving-licences"][1]
    # the quarantined records themselves are kept, next to their report
    assert store.query(
        f"""ASK {{ GRAPH <{BASE}graph/quarantine/broken> {{
            <{BASE}dataset/vea-noise-maps> <http://purl.org/dc/terms/title> ?title }} }}""",
        default_graphs=[],
        private=True,
    )
    # the date that is no date is left out of the published record, and kept in its report
    air = f"{BASE}dataset/vea-air-stations"
    assert not store.query(f"ASK {{ <{air}> <http://purl.org/dc/terms/issued> ?date }}")
    report = store.query(
        f"SELECT ?f WHERE {{ GRAPH <{BASE}graph/report/broken> {{ <{air}> <{KGO.findings}> ?f }} }}",
        default_graphs=[],
        private=True,
    )
    (findings,) = [row["f"].value for row in report]
    assert "31/02/2020 maybe" in findings and "kgo:left-out/date" in findings
    assert not store.query(  # the public endpoint's queries do not reach the quarantine
        f"ASK {{ GRAPH ?g {{ <{BASE}dataset/vea-noise-maps> ?p ?o }} }}"
    )

    published = {
        r["d"].value for r in store.query(f"SELECT ?d WHERE {{ ?d a <{DCAT.Dataset}> }}")
    }  # the default graph: published data only
    assert len(published) == DATASETS_IN_SAMPLE - 3
    assert not published & {f"{BASE}dataset/{key}" for key in BROKEN}
    assert f"{BASE}dataset/vea-land-cover" in published

    sources = run_kg("sources", env=kg_env)
    assert sources.returncode == 0
    line = next(li for li in sources.stdout.splitlines() if li.startswith("broken "))
    assert line.split()[1:4] == ["csv", "52", "3"]


def test_strict_refuses_the_whole_source(seeded, kg_env, broken_csv):
    before = snapshot(seeded)
    result = run_kg("ingest", broken_csv, "--source", "sample", "--strict", env=kg_env)
    assert_clean_failure(result, 3, "--strict", "3 of 55")
    assert snapshot(seeded) == before


def test_strict_accepts_a_clean_source(settings, kg_env):
    result = kg_here("ingest", SAMPLE_CSV, "--strict", env=kg_env)
    assert result.returncode == 0, result.stderr
    assert "stored" in result.stdout


def test_validate(settings, kg_env, broken_csv):
    good = kg_here("validate", SAMPLE_CSV, env=kg_env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "not stored" in good.stdout
    bad = kg_here("validate", broken_csv, "--verbose", env=kg_env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "quarantined (3)" in bad.stdout
    assert "warning:" in bad.stdout, "--verbose lists every finding"
    assert "Traceback" not in bad.stdout + bad.stderr
    assert not settings.store.exists(), "validate stores nothing"
    missing = kg_here("validate", broken_csv / "nothing.json", env=kg_env)
    assert_clean_failure(missing, 2, "nothing.json")


# ---------------------------------------------------------------- sources, remove


def test_sources_lists_each_source_with_its_last_run(seeded, kg_env):
    assert kg_here("ingest", SAMPLE_DATA_JSON, "--source", "usa-style", env=kg_env).returncode == 0
    listed = kg_here("sources", env=kg_env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = [li.split() for li in listed.stdout.splitlines() if li and not li.startswith("-")]
    assert header[:4] == ["source", "format", "published", "quarantined"]
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {"sample", "usa-style"}
    assert by_name["sample"][1:6] == ["csv", "55", "0", "0", "119"]  # units: CPOV warnings no more
    # its 44 datasets are the sample's, already published by "sample": held back as duplicates
    assert by_name["usa-style"][1:6] == ["data.json", "7", "44", "44", "138"]
    assert by_name["usa-style"][-1].endswith("data.json")


def test_remove_drops_the_source_from_sources_and_queries(seeded, kg_env):
    assert kg_here("ingest", SAMPLE_DATA_JSON, "--source", "usa-style", env=kg_env).returncode == 0
    # an agency only the data.json source has (data.json agencies are keyed by name)
    agency = 'SELECT ?a WHERE { ?a <http://xmlns.com/foaf/0.1/name> "Air Monitoring Unit" }'
    assert "agency/air-monitoring-unit" in kg_here("query", agency, env=kg_env).stdout

    removed = kg_here("remove", "usa-style", env=kg_env)
    assert removed.returncode == 0, removed.stderr
    assert "removed source usa-style" in removed.stdout
    listed = kg_here("sources", env=kg_env)
    assert "usa-style" not in listed.stdout and "sample" in listed.stdout
    assert "agency/air-monitoring-unit" not in kg_here("query", agency, env=kg_env).stdout
    graphs = open_store(seeded).named_graphs()
    assert f"{BASE}graph/usa-style" not in graphs and f"{BASE}graph/sample" in graphs
    assert f"{BASE}graph/quarantine/usa-style" not in graphs
    again = kg_here("remove", "usa-style", env=kg_env)
    assert_clean_failure(again, 2, "usa-style")


def test_remove_of_an_unknown_source_is_exit_2(seeded, kg_env):
    before = snapshot(seeded)
    unknown = run_kg("remove", "nothing-by-that-name", env=kg_env)
    assert_clean_failure(unknown, 2, "nothing-by-that-name", "kg sources")
    assert snapshot(seeded) == before


def test_sources_on_an_empty_store(settings, kg_env):
    result = kg_here("sources", env=kg_env)
    assert result.returncode == 0
    assert "no sources" in result.stdout


# ---------------------------------------------------------------- query

COUNT_DATASETS = f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{DCAT.Dataset}> }}"
TITLES = f"""SELECT ?d ?title WHERE {{ ?d a <{DCAT.Dataset}> ; <http://purl.org/dc/terms/title> ?title
    FILTER(lang(?title) = "") }} ORDER BY ?d"""


def test_query_table_json_csv(seeded, kg_env):
    table = kg_here("query", COUNT_DATASETS, env=kg_env)
    assert table.returncode == 0, table.stderr
    assert table.stdout.split() == ["n", "--", str(DATASETS_IN_SAMPLE)]

    as_json = kg_here("query", TITLES, "--format", "json", env=kg_env)
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["head"]["vars"] == ["d", "title"]
    titles = {b["d"]["value"]: b["title"]["value"] for b in doc["results"]["bindings"]}
    assert len(titles) == DATASETS_IN_SAMPLE
    assert titles[f"{BASE}dataset/vea-noise-maps"] == "Strategic noise maps"

    as_csv = kg_here("query", TITLES, "--format", "csv", env=kg_env)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["d", "title"]
    assert dict(rows[1:]) == titles

    ask = kg_here("query", f"ASK {{ <{BASE}dataset/vea-noise-maps> a <{DCAT.Dataset}> }}", env=kg_env)
    assert ask.stdout.strip() == "true"
    construct = kg_here("query", f"CONSTRUCT WHERE {{ ?d a <{DCAT.Dataset}> }}", "--format", "nt", env=kg_env)
    assert construct.returncode == 0, construct.stderr
    assert len(rdflib.Graph().parse(data=construct.stdout, format="nt")) == DATASETS_IN_SAMPLE


def test_query_from_a_file(seeded, kg_env, tmp_path):
    query = tmp_path / "count.rq"
    query.write_text(COUNT_DATASETS, encoding="utf-8")
    result = kg_here("query", f"@{query}", "--format", "csv", env=kg_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", str(DATASETS_IN_SAMPLE)]
    missing = kg_here("query", f"@{tmp_path / 'none.rq'}", env=kg_env)
    assert_clean_failure(missing, 2, "none.rq")


@pytest.mark.parametrize(
    "sparql",
    ["SELEC ?s WHERE { ?s ?p ?o }", "SELECT ?s WHERE { ?s ?p ?o", "SELECT ?s WHERE { ?s nope:p ?o }"],
    ids=["keyword", "unclosed", "unknown-prefix"],
)
def test_malformed_query_is_exit_2_with_the_parser_message(sparql, seeded, kg_env):
    result = kg_here("query", sparql, env=kg_env)
    assert_clean_failure(result, 2, "error")
    assert result.stderr.startswith("kg: ")
    assert result.stdout == ""


def test_query_on_an_empty_store(settings, kg_env):
    result = kg_here("query", COUNT_DATASETS, env=kg_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", "-", "0"]


# ---------------------------------------------------------------- export


@pytest.mark.parametrize(
    ("fmt", "syntax"), [("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("rdf", "xml")]
)
def test_export_catalogue(fmt, syntax, seeded, kg_env):
    result = kg_here("export", "--format", fmt, env=kg_env)
    assert result.returncode == 0, result.stderr
    graph = rdflib.Graph().parse(data=result.stdout, format=syntax)
    catalog = rdflib.URIRef(f"{BASE}catalog")
    datasets = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(str(DCAT.Dataset))))
    assert len(datasets) == DATASETS_IN_SAMPLE
    assert set(graph.objects(catalog, rdflib.URIRef(str(DCAT.dataset)))) == datasets
    assert (catalog, rdflib.RDF.type, rdflib.URIRef(str(DCAT.Catalog))) in graph


def test_export_full_dump_keeps_the_graphs(seeded, kg_env):
    result = kg_here("export", "--full", "--format", "nq", env=kg_env)
    assert result.returncode == 0, result.stderr
    dataset = rdflib.Dataset()
    dataset.parse(data=result.stdout, format="nquads")
    graphs = {str(g.identifier) for g in dataset.graphs()}
    assert {f"{BASE}graph/sample", f"{BASE}graph/vocabularies", f"{BASE}graph/provenance"} <= graphs
    assert len(dataset.graph(rdflib.URIRef(f"{BASE}graph/sample"))) > 1000

    wrong = kg_here("export", "--full", "--format", "ttl", env=kg_env)
    assert_clean_failure(wrong, 2, "nq")


def test_export_to_a_file(seeded, kg_env, tmp_path):
    out = tmp_path / "catalogue.ttl"
    result = kg_here("export", "-o", out, env=kg_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    graph = rdflib.Graph().parse(out, format="turtle")
    assert len(set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(str(DCAT.Dataset))))) == 44


def test_export_to_an_unwritable_path_is_a_clean_error(seeded, kg_env, tmp_path):
    target = tmp_path / "no-such-folder" / "catalogue.ttl"
    result = kg_here("export", "-o", target, env=kg_env)
    assert_clean_failure(result, 2, str(target))
    assert "internal error" not in result.stderr


def test_a_reader_that_stops_early_is_no_internal_error(seeded, kg_env):
    from conftest import kg_command

    child = subprocess.Popen(
        [str(kg_command()), "export", "--format", "nt"],
        env=kg_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().endswith(" .\n")
    child.stdout.close()  # like `| head -1`: far more than a pipe buffer is still to come
    stderr = child.stderr.read()
    child.wait(timeout=60)
    assert "internal error" not in stderr
    assert child.returncode != 70


def test_export_of_an_empty_store(settings, kg_env):
    result = kg_here("export", "--format", "nt", env=kg_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# ---------------------------------------------------------------- two writers


def test_ingest_while_another_writer_holds_the_store(seeded: Settings, kg_env):
    before = snapshot(seeded)
    with open(seeded.store / "write.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()}")
        lock.flush()
        result = run_kg("ingest", SAMPLE_DATA_JSON, env=kg_env)
        removal = run_kg("remove", "sample", env=kg_env)
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert_clean_failure(result, 4, "being written", f"process {os.getpid()}", str(seeded.store))
    assert_clean_failure(removal, 4, "being written")
    assert snapshot(seeded) == before
    assert run_kg("remove", "sample", env=kg_env).returncode == 0, "free again"


def test_kg_serve_serves_a_relative_store_from_the_caller_s_folder(tmp_path):
    """``kg serve`` runs gunicorn in the checkout (where app.py is): a relative KG_STORE is still the
    one in the folder the command was run from, so its pages show what was ingested there."""
    import json
    import subprocess
    import time
    import urllib.request

    from live import BIN, free_port

    env = {**os.environ, "KG_STORE": "store", "KG_BASE_URI": "http://kg.test/", "KG_MALLOC": "off"}
    sample = Path(__file__).resolve().parents[1] / "kg" / "sample" / "csv"
    ingest = subprocess.run(
        [BIN / "kg", "ingest", str(sample), "--source", "sample"], cwd=tmp_path, env=env, capture_output=True
    )
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    server = subprocess.Popen(
        [BIN / "kg", "serve", "--port", str(port), "--workers", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.json", timeout=5) as response:
                    home = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "kg serve did not answer"
                time.sleep(0.2)
        ingested = int(re.search(r"(\d+) dataset", ingest.stdout.decode()).group(1))
        assert ingested > 0 and home["counts"]["datasets"] == ingested
    finally:
        server.terminate()
        server.wait(timeout=30)
