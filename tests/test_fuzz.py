"""Property-based fuzzing (hypothesis): readers, routes and hostile metadata.

* **Readers**: random bytes, random JSON-ish documents and *mutations* of real
  inputs (the bundled sample, bench/generate.py output) go through
  ``list(read_source(...))`` for every format. The only exception allowed is
  :class:`kg.errors.InputError`, naming a file; a whole ingest
  (``store_it=False``) may only raise :class:`kg.errors.KgError` subclasses,
  and ``kg ingest`` may only exit 0, 2 or 3 with a message, never a traceback.
* **Routes**: one live server (gunicorn, writes enabled) gets random and
  mutated query strings, headers and bodies on ``/sparql``, ``/datasets``,
  ``/resource``, ``/store``, the resource pages, ``/catalog``, ``/quality`` and
  ``/query``: no status >= 500, no "Traceback" in a body or in the server log.
* **Hostile strings**: a CSV source whose values carry script tags, quote
  breakouts, ``javascript:`` IRIs and ``</title>`` is ingested into that server;
  every page that shows them must escape them, every JSON twin must hand them
  back as data.

Runs are derandomized (the same examples every run, no example database), so CI
is stable; a failure prints the example to reproduce it. Bugs found in ``kg/``
are pinned as explicit ``xfail(strict=True)`` cases at the end of each part; the
property tests tolerate exactly what a pinned bug does (its exception type and
message, or a 500 for a request that carries its trigger), nothing more, so they
keep hunting for other bugs. A fixed bug makes its xfail case XPASS (a failure):
then remove its entry from ``KNOWN_BUGS`` / ``KNOWN_SERVER_ERRORS``.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_from_bytes, unquote_to_bytes, urlencode, urlsplit

import pyoxigraph
import pytest
import rdflib
from conftest import ROOT, SAMPLE_CSV, SAMPLE_DATA_JSON, make_settings, open_store
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from in_process import kg_here
from live import Headers, serve

from kg.errors import InputError, KgError
from kg.ingest.run import ingest
from kg.readers import read_source

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
ROUTE_FUZZ = settings(FUZZ, max_examples=50)
TOKEN = "fuzz-token"

# ================================================================ inputs: seeds, payloads, mutations

# fmt: off
HOSTILE_TEXT = [
    "<script>alert(1)</script>", '"onmouseover="alert(1)', "'", '"', "javascript:alert(1)", "</title>",
    "\x00", "\ufeff", "\u2028", "\r\n", "💥", "a" * 300, "%00", "%zz", "%", "{{7*7}}", "${7*7}",
    "' OR '1'='1", "../../etc/passwd", "http://", "urn:", "_:b0", "NaN", "-1", "0",
    "99999999999999999999", "http://[oops]/x.csv", "https://[::1/x", "1e999", " ", "",
]
# fmt: on
# fmt: off
HOSTILE_BYTES = [t.encode("utf-8") for t in HOSTILE_TEXT] + [
    b",", b";", b"\n", b"\r", b"\t", b'""', b"{", b"}", b"[", b"]", b"<", b">", b"@", b"\\",
    b"\xef\xbb\xbf",  # a BOM in the middle
    b"\xff\xfe",  # a UTF-16 BOM
    b"\xff", b"\x80",
    b"\xc3",  # a truncated two-byte sequence
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xc0\xaf",  # an overlong encoding
    b"\\u0000", b"\\ud800", b"@prefix x: <", b"<http://example.org/x>", b"null", b"true",
    b'"@context": "http://remote.example/ctx"', b"<!DOCTYPE r [<!ENTITY a 'aaaaaaaaaa'>]>",
    b"[[[[[[[[[[[[[[[[[[[[",
    b"1" * 5000,  # more digits than int() takes
    b"<http://example.org/`x>", b"http://example.org/{x}",
]
# fmt: on
# fmt: off
JSON_KEYS = [
    # data.json
    "dataset", "conformsTo", "title", "description", "identifier", "keyword", "publisher", "name",
    "subOrganizationOf", "contactPoint", "fn", "hasEmail", "distribution", "downloadURL", "accessURL",
    "mediaType", "format", "license", "modified", "issued", "accrualPeriodicity", "spatial",
    "temporal", "theme", "landingPage", "language", "accessLevel", "bureauCode", "programCode",
    "references",
    # CKAN
    "resources", "result", "results", "success", "error", "count", "organization", "groups", "tags",
    "extras", "key", "value", "url", "notes", "id", "metadata_modified", "author", "maintainer_email",
    "display_name", "translated", "title_translated",
    # JSON-LD
    "@context", "@graph", "@id", "@type", "@value", "@language", "@list", "@vocab", "@base", "@import",
]
# fmt: on
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(HOSTILE_TEXT)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(JSON_KEYS) | st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


def _load_generator():
    name = "bench_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "generate.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@cache
def seeds() -> dict[str, bytes | dict[str, bytes]]:
    """Real inputs of every format: the bundled sample and a few generated records."""
    out: dict[str, bytes | dict[str, bytes]] = {
        "csv": {p.name: p.read_bytes() for p in sorted(SAMPLE_CSV.glob("*.csv"))},
        "data.json": SAMPLE_DATA_JSON.read_bytes(),
    }
    gen = _load_generator()
    with tempfile.TemporaryDirectory(prefix="fuzz-seeds-") as folder:
        out["ckan"] = gen.generate(3, 1, "ckan", Path(folder)).read_bytes()
        ttl = gen.generate(3, 1, "ttl", Path(folder)).read_bytes()
    graph = rdflib.Graph().parse(data=ttl, format="turtle")
    out["ttl"] = ttl
    out["nt"] = graph.serialize(format="nt", encoding="utf-8")
    out["jsonld"] = graph.serialize(format="json-ld", encoding="utf-8")
    out["xml"] = graph.serialize(format="xml", encoding="utf-8")
    return out


def _pos(data: st.DataObject, blob: bytes) -> int:
    return data.draw(st.integers(0, len(blob)), label="at")


def _lines(blob: bytes) -> list[bytes]:
    return blob.splitlines(keepends=True) or [b""]


def _delete(data, blob):
    i = _pos(data, blob)
    return blob[:i] + blob[i + data.draw(st.integers(1, 64), label="length") :]


def _insert(data, blob):
    i = _pos(data, blob)
    payload = data.draw(st.sampled_from(HOSTILE_BYTES) | st.binary(min_size=1, max_size=16), label="payload")
    return blob[:i] + payload + blob[i:]


def _flip(data, blob):
    if not blob:
        return blob
    i = data.draw(st.integers(0, len(blob) - 1), label="at")
    return blob[:i] + bytes([blob[i] ^ data.draw(st.integers(1, 255), label="xor")]) + blob[i + 1 :]


def _truncate(data, blob):
    return blob[: _pos(data, blob)]


def _duplicate_line(data, blob):
    lines = _lines(blob)
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    return b"".join(lines[: i + 1] + lines[i:])


def _delete_line(data, blob):
    lines = _lines(blob)
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    return b"".join(lines[:i] + lines[i + 1 :])


def _swap_lines(data, blob):
    lines = _lines(blob)
    i, j = (data.draw(st.integers(0, len(lines) - 1), label="line") for _ in range(2))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def _swap_columns(data, blob):
    """Swap two columns in every row (header included, or not: then the values land in the wrong place)."""
    try:
        rows = list(csv.reader(io.StringIO(blob.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        return blob
    width = max((len(r) for r in rows), default=0)
    if width < 2:
        return blob
    i, j = (data.draw(st.integers(0, width - 1), label="column") for _ in range(2))
    header_too = data.draw(st.booleans(), label="header too")
    for n, row in enumerate(rows):
        if (n or header_too) and max(i, j) < len(row):
            row[i], row[j] = row[j], row[i]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _bom(data, blob):
    return data.draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf" * 2])) + blob


def _reencode(data, blob):
    """As a spreadsheet might save it: Latin-1, Windows-1252 or UTF-16."""
    text = blob.decode("utf-8", errors="replace")
    codec = data.draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le"]), label="codec")
    return text.encode(codec, errors="replace")


def _line_ends(data, blob):
    return blob.replace(b"\n", data.draw(st.sampled_from([b"\r\n", b"\r", b"\n\n", b"\x00\n"])))


BYTE_MUTATIONS = (_delete, _insert, _flip, _truncate, _duplicate_line, _delete_line, _swap_lines, _bom)
CSV_MUTATIONS = BYTE_MUTATIONS + (_swap_columns, _reencode, _line_ends)
TEXT_MUTATIONS = BYTE_MUTATIONS + (_reencode, _line_ends)


def mutate(data: st.DataObject, blob: bytes, ops=TEXT_MUTATIONS, *, most: int = 4) -> bytes:
    """One to ``most`` mutations of ``blob`` (each may also undo part of another)."""
    for _ in range(data.draw(st.integers(1, most), label="mutations")):
        blob = data.draw(st.sampled_from(ops), label="op")(data, blob)
    return blob


def _json_paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _json_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _json_paths(value, (*path, i))


def mutate_json(data: st.DataObject, doc):
    """Structural mutations: replace, drop, duplicate or retype values anywhere in the tree."""
    for _ in range(data.draw(st.integers(1, 4), label="json mutations")):
        paths = list(_json_paths(doc))
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(
            st.sampled_from(["replace", "drop", "duplicate", "wrap", "stringify"]), label="act"
        )
        if not path:
            doc = data.draw(JSON_VALUES) if action == "replace" else [doc] if action == "wrap" else doc
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key, value = path[-1], parent[path[-1]]
        if action == "replace":
            parent[key] = data.draw(JSON_VALUES, label="value")
        elif action == "drop":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(value)))
        elif action == "wrap":
            parent[key] = [value]
        else:
            parent[key] = json.dumps(value) if not isinstance(value, str) else {"value": value}
    return doc


# ================================================================ readers

READERS = {  # name → (seed, file name, fmt given to read_source)
    "data.json": ("data.json", "data.json", "data.json"),
    "ckan": ("ckan", "ckan.json", "ckan"),
    "ttl": ("ttl", "catalog.ttl", "ttl"),
    "nt": ("nt", "catalog.nt", "nt"),
    "jsonld": ("jsonld", "catalog.jsonld", "jsonld"),
    "xml": ("xml", "catalog.rdf", "xml"),
}


# Bugs this file found in kg/ (see the xfail cases below). The property tests tolerate exactly these
# exceptions (type and message) so that they keep hunting for others; each has a strict xfail case, which
# starts failing (XPASS) once the bug is fixed: then remove its line here.
KNOWN_BUGS: dict[str, tuple[type, str]] = {}


def known_bug(exc: BaseException) -> str | None:
    for name, (kind, pattern) in KNOWN_BUGS.items():
        if type(exc) is kind and re.search(pattern, str(exc)):
            return name
    return None


def consume(location: Path, fmt: str | None, root: Path) -> None:
    """Read everything; the only acceptable failure is an InputError naming a file under ``root``."""
    try:
        list(read_source(str(location), fmt=fmt))
    except InputError as exc:
        assert exc.file, f"the InputError names no file: {exc}"
        assert exc.file in str(exc)
        assert Path(exc.file).resolve().is_relative_to(root.resolve()), exc.file
    except Exception as exc:
        if known_bug(exc) is None:
            raise


def write_csv_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return folder


@FUZZ
@given(data=st.data())
def test_csv_reader_mutated_sample(data):
    files = dict(seeds()["csv"])
    for _ in range(data.draw(st.integers(1, 2), label="files")):
        name = data.draw(st.sampled_from(sorted(files)), label="file")
        files[name] = mutate(data, files[name], CSV_MUTATIONS)
    if data.draw(st.booleans(), label="drop a file"):
        files.pop(data.draw(st.sampled_from(sorted(files)), label="dropped"))
    with tempfile.TemporaryDirectory(prefix="fuzz-csv-") as root:
        folder = write_csv_folder(Path(root) / "src", files)
        target = folder if data.draw(st.booleans(), label="folder") else folder / "datasets.csv"
        consume(target, data.draw(st.sampled_from(["csv", None]), label="fmt"), Path(root))


@FUZZ
@given(
    name=st.sampled_from(["agencies.csv", "datasets.csv", "distributions.csv", "services.csv"]),
    rows=st.lists(st.lists(st.text(max_size=12) | st.sampled_from(HOSTILE_TEXT), max_size=6), max_size=6),
    header=st.lists(
        st.sampled_from(
            [
                "id",
                "name",
                "title",
                "description",
                "publisher",
                "dataset",
                "parent",
                "title@fr",
                "keywords@",
                "@",
                "ID ",
                "download_url",
                "access_url",
                "Titel",
            ]
        )
        | st.text(max_size=8),
        max_size=6,
    ),
)
def test_csv_reader_random_tables(name, rows, header):
    """A random table in place of one file of the sample (header made of real and bogus columns)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    files = {**seeds()["csv"], name: out.getvalue().encode("utf-8", errors="surrogatepass")}
    with tempfile.TemporaryDirectory(prefix="fuzz-csv-") as root:
        consume(write_csv_folder(Path(root) / "src", files), "csv", Path(root))


@pytest.mark.parametrize("reader", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_file_reader_mutated_real_input(reader, data):
    seed, file_name, fmt = READERS[reader]
    blob = mutate(data, seeds()[seed])
    with tempfile.TemporaryDirectory(prefix="fuzz-file-") as root:
        path = Path(root) / file_name
        path.write_bytes(blob)
        consume(path, data.draw(st.sampled_from([fmt, None]), label="fmt"), Path(root))


@pytest.mark.parametrize("reader", ["data.json", "ckan", "jsonld"])
@FUZZ
@given(data=st.data())
def test_json_reader_structurally_mutated_input(reader, data):
    seed, file_name, fmt = READERS[reader]
    doc = mutate_json(data, json.loads(seeds()[seed]))
    with tempfile.TemporaryDirectory(prefix="fuzz-json-") as root:
        path = Path(root) / file_name
        path.write_text(json.dumps(doc, ensure_ascii=data.draw(st.booleans())), encoding="utf-8")
        consume(path, data.draw(st.sampled_from([fmt, None]), label="fmt"), Path(root))


@pytest.mark.parametrize("fmt", ["data.json", "ckan", "jsonld", None])
@FUZZ
@given(doc=JSON_VALUES, wrap=st.sampled_from(["as is", "dataset", "result", "resources", "graph"]))
def test_json_reader_random_documents(fmt, doc, wrap):
    """Random JSON, on its own or inside the envelope each reader looks for."""
    doc = {
        "as is": doc,
        "dataset": {"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [doc]},
        "result": {"success": True, "result": {"count": 1, "results": [doc]}},
        "resources": {"name": "x", "title": "x", "resources": [doc]},
        "graph": {"@context": {"dcat": "http://www.w3.org/ns/dcat#"}, "@graph": [doc]},
    }[wrap]
    with tempfile.TemporaryDirectory(prefix="fuzz-json-") as root:
        path = Path(root) / "doc.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        consume(path, fmt, Path(root))


@pytest.mark.parametrize(
    "fmt, suffix",
    [
        ("csv", ".csv"),
        ("data.json", ".json"),
        ("ckan", ".json"),
        ("ttl", ".ttl"),
        ("nt", ".nt"),
        ("jsonld", ".jsonld"),
        ("xml", ".rdf"),
        (None, ".json"),
        (None, ""),
        (None, ".ttl"),
    ],
)
@FUZZ
@given(blob=st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(blob=b"")
@example(blob=b"   \n\t")
@example(blob=b"\xef\xbb\xbf")
@example(blob=b"[" * 100_000)
@example(blob=b"{" * 50_000)
def test_reader_random_bytes(fmt, suffix, blob):
    with tempfile.TemporaryDirectory(prefix="fuzz-bytes-") as root:
        if fmt == "csv":
            files = {**seeds()["csv"], "datasets.csv": blob}
            path = write_csv_folder(Path(root) / "src", files) / "datasets.csv"
        else:
            path = Path(root) / f"input{suffix}"
            path.write_bytes(blob)
        consume(path, fmt, Path(root))


def mutated_source(data, root: Path, kind: str, *, structural: bool = False) -> Path:
    """A seed source of ``kind`` with a few mutations, written under ``root``; ``structural``: JSON
    sources may instead get their structure mutated (keys, types, nesting)."""
    if kind == "csv":
        files = dict(seeds()["csv"])
        name = data.draw(st.sampled_from(sorted(files)), label="file")
        files[name] = mutate(data, files[name], CSV_MUTATIONS, most=2)
        return write_csv_folder(root / "src", files)
    seed, file_name, _ = READERS[kind]
    location = root / file_name
    blob = seeds()[seed]
    if structural and kind != "ttl" and data.draw(st.booleans(), label="structural"):
        blob = json.dumps(mutate_json(data, json.loads(blob))).encode("utf-8")
    else:
        blob = mutate(data, blob, most=2)
    location.write_bytes(blob)
    return location


@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_ingest_mutated_inputs_raise_only_kg_errors(data):
    """The whole pipeline (read, map, validate) on mutated inputs: only the project's own errors."""
    kind = data.draw(st.sampled_from(["csv", "data.json", "ckan", "ttl"]), label="kind")
    with tempfile.TemporaryDirectory(prefix="fuzz-ingest-") as root:
        location = mutated_source(data, Path(root), kind, structural=True)
        settings_ = make_settings(Path(root) / "store", workers=1)
        try:
            ingest(str(location), settings=settings_, source="fuzz", store_it=False)
        except KgError:
            pass
        except Exception as exc:
            if known_bug(exc) is None:
                raise
        assert not (Path(root) / "store").exists(), "store_it=False wrote a store"


@settings(FUZZ, max_examples=5)
@given(data=st.data())
def test_cli_ingest_mutated_inputs_exit_cleanly(data):
    """``kg ingest`` on a mutated source: exit 0, 2 (input) or 3 (strict); a message, never a traceback.

    The command's ``main`` in this process (:mod:`in_process`: its exit code and output as a
    subprocess's, without a Python start and the kg imports per example); an exception it let out
    would fail the test here as its traceback would in the subprocess's stderr."""
    kind = data.draw(st.sampled_from(["csv", "data.json", "ttl"]), label="kind")
    with tempfile.TemporaryDirectory(prefix="fuzz-cli-") as root:
        location = mutated_source(data, Path(root), kind)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
        env.update(KG_STORE=str(Path(root) / "store"), KG_BASE_URI="http://kg.test/", KG_WORKERS="1")
        done = kg_here("ingest", location, "--source", "fuzz", "--strict", env=env)
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
        if done.returncode == 70:  # "kg: internal error (ValueError: …)": only a pinned bug may end so
            assert any(re.search(p, done.stderr) for _, p in KNOWN_BUGS.values()), done.stderr
        else:
            assert done.returncode in (0, 2, 3), (done.returncode, done.stderr)
        if done.returncode == 2:
            assert str(location) in done.stderr, done.stderr
        assert done.returncode != 0 or "stored" in done.stdout


# ---------------------------------------------------------------- readers: bugs found (pinned)

HUGE_INT = "1" * 5000  # Python's int() refuses more than 4300 digits (sys.int_info.default_max_str_digits)
BAD_IRI_INPUTS = {  # an object IRI rdflib parses (with a warning) but then refuses to write as N3
    "ttl": "<http://example.org/d> a <http://www.w3.org/ns/dcat#Dataset> ;\n"
    '  <http://purl.org/dc/terms/title> "x" ;\n'
    "  <http://www.w3.org/ns/dcat#landingPage> <http://example.org/`x> .\n",
    "nt": '<http://example.org/d> <http://purl.org/dc/terms/title> "x" .\n'
    "<http://example.org/d> <http://www.w3.org/ns/dcat#landingPage> <http://example.org/{x}> .\n",
    "jsonld": json.dumps(
        {
            "@id": "http://example.org/d",
            "http://purl.org/dc/terms/title": "x",
            "http://www.w3.org/ns/dcat#landingPage": {"@id": "http://example.org/`x"},
        }
    ),
    "xml": '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dcat="http://www.w3.org/ns/dcat#"><rdf:Description rdf:about="http://example.org/d">'
    '<dcat:landingPage rdf:resource="http://example.org/`x"/></rdf:Description></rdf:RDF>',
}


def strict_reader(path: Path, fmt: str | None) -> None:
    """``consume`` without the known-bug tolerance."""
    try:
        list(read_source(str(path), fmt=fmt))
    except InputError as exc:
        assert exc.file == str(path), exc


@pytest.mark.parametrize("fmt", ["data.json", "ckan", "jsonld", None])
def test_json_number_with_5000_digits_is_an_input_error(fmt, tmp_path):
    path = tmp_path / "input.json"
    path.write_text(f'{{"dataset": [{HUGE_INT}], "resources": [], "@graph": []}}', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        list(read_source(str(path), fmt=fmt))
    assert caught.value.file == str(path)


@pytest.mark.parametrize("fmt", sorted(BAD_IRI_INPUTS))
def test_rdf_iri_with_excluded_characters_is_repaired_not_refused(fmt, tmp_path):
    """One bad IRI never refuses a file: it is percent-encoded before validation, with a note."""
    path = tmp_path / f"input.{fmt}"
    path.write_text(BAD_IRI_INPUTS[fmt], encoding="utf-8")
    summary = ingest(str(path), settings=make_settings(tmp_path / "store", workers=1))
    # the link, and the class its range gives the page (kg.mapping.rdf.entailed_types): both encoded
    assert summary.stored and summary.repairs["kgo:repair/iri-encoding"] == 2, summary.repairs
    store = open_store(tmp_path / "store")
    query = "SELECT ?p WHERE { GRAPH ?g { ?d <http://www.w3.org/ns/dcat#landingPage> ?p } }"
    pages = [row["p"].value for private in (False, True) for row in store.query(query, private=private)]
    assert pages in (["http://example.org/%60x"], ["http://example.org/%7Bx%7D"]), pages


@pytest.mark.parametrize("url", ["http://[oops]/a.csv", "https://[::1/a.csv"])
def test_ckan_resource_url_with_bracketed_host(url, tmp_path):
    path = tmp_path / "ckan.json"
    package = {"name": "x", "title": "X", "notes": "d", "resources": [{"url": url, "format": "CSV"}]}
    path.write_text(json.dumps(package), encoding="utf-8")
    strict_reader(path, "ckan")


def test_ingest_landing_page_with_bracketed_host(tmp_path):
    files = dict(seeds()["csv"])
    rows = list(csv.DictReader(io.StringIO(files["datasets.csv"].decode("utf-8"), newline="")))
    rows[0]["landing_page"] = "http://[oops]/x"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    folder = write_csv_folder(tmp_path / "src", {**files, "datasets.csv": out.getvalue().encode("utf-8")})
    with contextlib.suppress(KgError):
        ingest(str(folder), settings=make_settings(tmp_path / "store", workers=1), store_it=False)


# ================================================================ routes


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The sample served by gunicorn, with writes on (so /store and updates are exercised)."""
    with serve(tmp_path_factory.mktemp("fuzz-live") / "store", KG_UPDATE_TOKEN=TOKEN) as server:
        yield server


def call(
    live: str,
    method: str,
    target: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw request (http.client: any method, header and body, no proxy, no redirects)."""
    parts = urlsplit(live)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, Headers(response.getheaders()), response.read()
    finally:
        conn.close()


def check(
    live: str, method: str, target: str, *, known: str | None = None, **kwargs
) -> tuple[int, dict[str, str], bytes]:
    """Send a request; no 5xx (unless the input triggers the ``known`` bug), no traceback in the body."""
    status, head, body = call(live, method, target, **kwargs)
    if known is None:
        assert status < 500, f"{method} {target} → {status}: {body[:500]!r}"
    sent = unquote_to_bytes(target) + (kwargs.get("body") or b"")
    if b"Traceback" in body and b"Traceback" not in sent:  # (an error message may quote the request)
        raise AssertionError(f"{method} {target} → a traceback: {body[:2000]!r}")
    return status, head, body


SAMPLE_IRIS = {
    "dataset": ["vea-air-no2-hourly", "vea-air-pm10-daily"],
    "distribution": ["vea-air-no2-hourly-csv", "vea-air-no2-hourly-json"],
    "agency": ["mei", "vea", "vea-air"],
    "service": ["vea-air-quality-api"],
}
# fmt: off
ACCEPTS = [
    "*/*", "text/html", "application/json", "application/sparql-results+json",
    "application/sparql-results+xml", "text/csv", "text/tab-separated-values", "text/turtle",
    "application/n-triples", "application/ld+json", "application/rdf+xml", "application/n-quads",
    "application/trig", "text/plain", "image/png", "text/html;q=0.1, application/json;q=0.9",
    "application/json;q=0", "*/*;q=abc", "text/*", ";;;", ",",
    "application/sparql-results+json;charset=utf-8", "text/turtle;q=1.5",
]
# fmt: on
# fmt: off
CONTENT_TYPES = [
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data", "multipart/form-data; boundary=xyz", "application/sparql-query",
    "application/sparql-update", "text/turtle", "application/n-triples", "application/ld+json",
    "application/rdf+xml", "application/json", "text/plain", "application/octet-stream", "", ";",
    "text/turtle;charset=latin-1",
]
# fmt: on
QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5",
    "PREFIX dcat: <http://www.w3.org/ns/dcat#> SELECT ?d WHERE { ?d a dcat:Dataset } LIMIT 10",
    "PREFIX dct: <http://purl.org/dc/terms/> SELECT ?t (STRLEN(?t) AS ?n) WHERE { ?d dct:title ?t "
    'FILTER(CONTAINS(LCASE(?t), "air")) } ORDER BY ?t LIMIT 20',
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n) LIMIT 10",
    "ASK { ?s a <http://www.w3.org/ns/dcat#Dataset> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 20",
    "DESCRIBE <{base}dataset/vea-air-no2-hourly>",
    "SELECT * FROM <{base}graph/sample> WHERE { ?s ?p ?o } LIMIT 3",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 3",
    'SELECT (xsd:integer("x") AS ?i) (1/0 AS ?z) (STRDT("1", <x:y>) AS ?l) WHERE {}',
    'PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT (xsd:dateTime("2024-13-45") AS ?d) WHERE {}',
    'SELECT * WHERE { VALUES ?x { 1 2.5 "a"@en <urn:x> } BIND(?x + 1 AS ?y) }',
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    'SELECT ?s WHERE { ?s <http://purl.org/dc/terms/title> ?t FILTER(REGEX(?t, "(a+)+b")) } LIMIT 5',
    "SELECT ?x WHERE { BIND(<javascript:alert(1)> AS ?x) }",
    'SELECT * WHERE { ?s ?p "<script>alert(1)</script>" }',
]
UPDATES = [
    'INSERT DATA { GRAPH <urn:fuzz:g> { <urn:fuzz:s> <urn:fuzz:p> "o" } }',
    'DELETE DATA { GRAPH <urn:fuzz:g> { <urn:fuzz:s> <urn:fuzz:p> "o" } }',
    'INSERT DATA { <urn:fuzz:s> <urn:fuzz:p> "<script>alert(1)</script>"@en }',
    "LOAD <http://127.0.0.1:9/x.ttl> INTO GRAPH <urn:fuzz:g>",
    "INSERT { GRAPH <urn:fuzz:g> { ?s <urn:fuzz:seen> true } } WHERE { GRAPH <urn:fuzz:g> { ?s ?p ?o } }",
]
TURTLE_BODY = (
    b'@prefix ex: <http://example.org/> .\nex:a ex:b "c"@en ; ex:d 1 ; ex:e ( 1 2 ) ; ex:f [ ex:g ex:h ] .\n'
)
BODIES = [
    TURTLE_BODY,
    b'<http://example.org/a> <http://example.org/b> "c" .\n',
    b'{"@context": {"ex": "http://example.org/"}, "@id": "ex:a", "ex:b": "c"}',
    b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    b'xmlns:ex="http://example.org/"><rdf:Description rdf:about="http://example.org/a"><ex:b>c</ex:b>'
    b"</rdf:Description></rdf:RDF>",
]
# fmt: off
WORDS = [
    "air", "water", "quality", "NO2", "road", "daily", "AND", "OR", "NOT", "NEAR", "*", '"', "^", "-",
    "(", ")", ":", "title:air", "air*", '"air quality"', "NEAR(air water)", "ö", "日本", "%", "_",
]
# fmt: on


def text_values() -> st.SearchStrategy[str]:
    return st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40) | st.sampled_from(WORDS)


def encode_params(data: st.DataObject, params: list[tuple[str, str]]) -> str:
    """A query string: names and values percent-encoded, sometimes with raw bytes or broken escapes."""
    parts = []
    for name, value in params:
        how = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "bytes", "raw"]), label="encoding")
        if how == "utf-8":
            parts.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        elif how == "bytes":  # invalid UTF-8 after percent-decoding
            parts.append(
                f"{quote(name, safe='')}={quote_from_bytes(data.draw(st.binary(max_size=12)), safe='')}"
            )
        else:  # whatever survives as a request target, broken %-escapes included
            raw = quote(value, safe="%&=+;/?:@[]!$'()*,")
            parts.append(f"{quote(name, safe='')}={raw}")
    glue = data.draw(st.sampled_from(["&", "&", "&", ";", "&&"]), label="glue")
    return glue.join(parts)


def mutated_target(data: st.DataObject, target: str) -> str:
    """A real request target, mutated as bytes and re-encoded so that it can still be sent."""
    blob = mutate(data, target.encode("utf-8"), BYTE_MUTATIONS, most=3)
    return "/" + quote_from_bytes(blob.lstrip(b"/"), safe="/?&=%+;:@,")


def headers_for(data: st.DataObject, *, content_type: bool = False, token: bool = False) -> dict[str, str]:
    headers = {}
    if data.draw(st.booleans(), label="accept"):
        headers["Accept"] = data.draw(
            st.sampled_from(ACCEPTS)
            | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
        )
    if data.draw(st.booleans(), label="accept-language"):
        headers["Accept-Language"] = data.draw(
            st.sampled_from(["fr", "en;q=0.5, fr", "*", "x-;q=", "zz-ZZZZ"])
        )
    if content_type:
        headers["Content-Type"] = data.draw(st.sampled_from(CONTENT_TYPES), label="content-type")
    if token:
        headers["Authorization"] = data.draw(
            st.sampled_from([f"Bearer {TOKEN}", "Bearer wrong", "Basic Zm9vOmJhcg==", "Bearer", ""]),
            label="auth",
        )
    if data.draw(st.booleans(), label="conditional"):
        headers["If-None-Match"] = data.draw(st.sampled_from(['"x"', "*", "", 'W/"1"']))
    return {k: v for k, v in headers.items() if v}


GRAPH_PARAMS = ("default-graph-uri", "named-graph-uri")


def ox_iri_ok(value: str) -> bool:
    try:
        pyoxigraph.NamedNode(value)
    except ValueError:
        return False
    return True


def bad_graph_iri(target: str, body: bytes | None = None, content_type: str = "") -> str | None:
    """``"sparql-graph-iri"`` when the request names a dataset graph Oxigraph refuses (a pinned bug)."""
    pairs = parse_qsl(urlsplit(target).query, keep_blank_values=True, errors="replace")
    if body is not None and content_type.startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors="replace")
    bad = any(name in GRAPH_PARAMS and not ox_iri_ok(value) for name, value in pairs)
    return "sparql-graph-iri" if bad else None


def bad_store_graph(target: str) -> str | None:
    """``"store-graph-iri"`` when ``/store`` is given a graph IRI Oxigraph refuses (a pinned bug)."""
    pairs = parse_qsl(urlsplit(target).query, keep_blank_values=True, errors="replace")
    return "store-graph-iri" if any(n == "graph" and not ox_iri_ok(v) for n, v in pairs) else None


def sparql_text(data: st.DataObject, live: str, pool: list[str]) -> str:
    text = data.draw(st.sampled_from(pool), label="seed query").replace("{base}", live)
    how = data.draw(st.sampled_from(["as is", "mutated", "random"]), label="query kind")
    if how == "mutated":
        text = mutate(data, text.encode("utf-8"), BYTE_MUTATIONS, most=3).decode("utf-8", errors="replace")
    elif how == "random":
        text = data.draw(st.text(max_size=80) | st.sampled_from(HOSTILE_TEXT))
    return text


@ROUTE_FUZZ
@given(data=st.data())
def test_sparql_get(live, data):
    params = (
        [("query", sparql_text(data, live, QUERIES))] if data.draw(st.booleans(), label="has query") else []
    )
    extra = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        "default-graph-uri",
                        "named-graph-uri",
                        "format",
                        "query",
                        "update",
                        "timeout",
                        "using-graph-uri",
                        "x",
                    ]
                ),
                st.sampled_from([f"{live}graph/sample", "urn:fuzz:g", "json", "csv", "ttl", "xml", "html"])
                | text_values(),
            ),
            max_size=3,
        ),
        label="extra",
    )
    target = "/sparql?" + encode_params(data, params + extra)
    if data.draw(st.integers(0, 4), label="mutate target") == 0:
        target = mutated_target(data, target)
    check(live, "GET", target, headers=headers_for(data), known=bad_graph_iri(target))


@ROUTE_FUZZ
@given(data=st.data())
def test_sparql_post(live, data):
    kind = data.draw(st.sampled_from(["query", "update"]), label="kind")
    text = sparql_text(data, live, QUERIES if kind == "query" else UPDATES)
    headers = headers_for(data, content_type=True, token=True)
    ctype = headers.get("Content-Type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        params = [(kind, text)] + data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(
                        [
                            "query",
                            "update",
                            "default-graph-uri",
                            "using-graph-uri",
                            "using-named-graph-uri",
                            "format",
                        ]
                    ),
                    text_values(),
                ),
                max_size=2,
            )
        )
        body = encode_params(data, params).encode("ascii")
    elif data.draw(st.integers(0, 5), label="raw body") == 0:
        body = data.draw(st.binary(max_size=200))
    else:
        body = text.encode("utf-8")
    query = encode_params(
        data,
        data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["default-graph-uri", "using-graph-uri", "format", "query"]),
                    text_values(),
                ),
                max_size=2,
            )
        ),
    )
    target = f"/sparql?{query}"
    check(
        live,
        data.draw(st.sampled_from(["POST", "POST", "POST", "PUT", "OPTIONS", "DELETE"])),
        target,
        body=body,
        headers=headers,
        known=bad_graph_iri(target, body, ctype),
    )


@ROUTE_FUZZ
@given(data=st.data())
def test_datasets_search(live, data):
    names = [
        "q",
        "q",
        "sort",
        "page",
        "size",
        "theme",
        "publisher",
        "format",
        "licence",
        "keyword",
        "language",
    ]
    values = (
        st.sampled_from(
            WORDS
            + [
                "relevance",
                "modified",
                "title",
                "0",
                "-1",
                "101",
                "10000",
                "1e3",
                "２",
                "ENVI",
                "http://publications.europa.eu/resource/authority/data-theme/ENVI",
                f"{live}agency/vea",
                "CSV",
                "en",
                "air quality",
            ]
        )
        | text_values()
        | st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join)
    )
    params = data.draw(st.lists(st.tuples(st.sampled_from(names) | st.text(max_size=6), values), max_size=6))
    path = data.draw(st.sampled_from(["/datasets", "/datasets", "/datasets.json"]), label="path")
    target = f"{path}?{encode_params(data, params)}"
    if data.draw(st.integers(0, 4), label="mutate target") == 0:
        target = mutated_target(data, target)
    check(live, data.draw(st.sampled_from(["GET", "GET", "HEAD", "POST"])), target, headers=headers_for(data))


@ROUTE_FUZZ
@given(data=st.data())
def test_resource(live, data):
    iris = [f"{live}{kind}/{slug}" for kind, slugs in SAMPLE_IRIS.items() for slug in slugs] + [
        "http://publications.europa.eu/resource/authority/data-theme/ENVI",
        "http://www.w3.org/ns/dcat#Dataset",
        "javascript:alert(1)",
        "urn:fuzz:s",
        f"{live}graph/sample",
        "mailto:x@example.org",
        "http://x.example/a#b",
    ]
    uri = data.draw(st.sampled_from(iris), label="iri")
    how = data.draw(st.sampled_from(["as is", "mutated", "random"]), label="iri kind")
    if how == "mutated":
        uri = mutate(data, uri.encode(), BYTE_MUTATIONS, most=2).decode("utf-8", errors="replace")
    elif how == "random":
        uri = data.draw(text_values())
    params = [("uri", uri)] + data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(["lang", "format", "uri", "page"]),
                st.sampled_from(["fr", "en", "json", "ttl", "jsonld", "rdf", "nt", "html", "x"])
                | text_values(),
            ),
            max_size=2,
        )
    )
    path = data.draw(st.sampled_from(["/resource", "/resource", "/resource.json"]), label="path")
    check(
        live,
        data.draw(st.sampled_from(["GET", "GET", "HEAD"])),
        f"{path}?{encode_params(data, params)}",
        headers=headers_for(data),
    )


@ROUTE_FUZZ
@given(data=st.data())
def test_graph_store(live, data):
    graphs = [
        "urn:fuzz:g",
        "http://fuzz.example/g1",
        "https://fuzz.example/g/2",
        f"{live}graph/fuzz",
        "http://[oops]/g",
        "urn:",
    ]
    which = data.draw(st.sampled_from(["graph", "graph", "default", "both", "none", "two", "random"]))
    if which in ("graph", "both", "two"):
        params = [("graph", data.draw(st.sampled_from(graphs)))]
        if which == "both":
            params.append(("default", ""))
        if which == "two":
            params.append(("graph", data.draw(st.sampled_from(graphs))))
    elif which == "default":
        params = [("default", "")]
    elif which == "random":
        params = [("graph", data.draw(text_values() | st.sampled_from(graphs).map(lambda g: g + " x")))]
    else:
        params = []
    method = data.draw(st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"]))
    body = None
    if method in ("PUT", "POST", "PATCH"):
        body = data.draw(st.sampled_from(BODIES), label="body")
        how = data.draw(st.sampled_from(["as is", "mutated", "random"]), label="body kind")
        if how == "mutated":
            body = mutate(data, body, most=3)
        elif how == "random":
            body = data.draw(st.binary(max_size=200))
    headers = headers_for(data, content_type=method in ("PUT", "POST", "PATCH"), token=method != "GET")
    target = f"/store?{encode_params(data, params)}"
    check(live, method, target, body=body, headers=headers, known=bad_store_graph(target))


@ROUTE_FUZZ
@given(data=st.data())
def test_pages(live, data):
    kind = data.draw(
        st.sampled_from(
            [
                "dataset",
                "distribution",
                "agency",
                "service",
                "catalog",
                "quality",
                "query",
                "home",
                "graph",
                "void",
            ]
        )
    )
    if kind in SAMPLE_IRIS:
        slug = data.draw(st.sampled_from(SAMPLE_IRIS[kind]) | text_values(), label="slug")
        suffix = data.draw(
            st.sampled_from(["", "", ".json", ".ttl", ".jsonld", ".rdf", ".nt", ".html", ".x"])
        )
        target = f"/{kind}/{quote(slug, safe='')}{suffix}"
        params = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["format", "lang"]),
                    st.sampled_from(["json", "ttl", "fr", "html"]) | text_values(),
                ),
                max_size=2,
            )
        )
    elif kind == "catalog":
        target = "/catalog" + data.draw(
            st.sampled_from(["", "", ".json", ".ttl", ".jsonld", ".rdf", ".nt", ".x"])
        )
        params = data.draw(
            st.lists(
                st.tuples(
                    st.just("page"),
                    st.sampled_from(["1", "2", "0", "-1", "1.5", " 1", "9" * 40, "１"]) | text_values(),
                ),
                max_size=2,
            )
        )
    elif kind == "quality":
        target = data.draw(st.sampled_from(["/quality", "/quality.json"]))
        params = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["page", "qpage", "x"]),
                    st.sampled_from(["1", "2", "0", "99999999", "-3"]) | text_values(),
                ),
                max_size=2,
            )
        )
    elif kind == "query":
        target = data.draw(st.sampled_from(["/query", "/query.json"]))
        params = [("query", sparql_text(data, live, QUERIES))]
    elif kind == "graph":
        target = data.draw(st.sampled_from(["/graph/sample", "/graph/provenance", "/run/sample/x"]))
        params = []
    elif kind == "void":
        target = data.draw(st.sampled_from(["/.well-known/void", "/index.json", "/health", "/"]))
        params = []
    else:
        target, params = "/", []
    target = f"{target}?{encode_params(data, params)}" if params else target
    if data.draw(st.integers(0, 4), label="mutate target") == 0:
        target = mutated_target(data, target)
    check(
        live,
        data.draw(st.sampled_from(["GET", "GET", "GET", "HEAD", "POST"])),
        target,
        headers=headers_for(data),
    )


# ================================================================ hostile strings

SCRIPT = "<script>alert(1)</script>"
QUOTE_BREAK = '"onmouseover="alert(1)'
APOS_BREAK = "x'onfocus='alert(2)"
JS = "javascript:alert(1)"
TITLE_END = "</title>"
MARK = "hostile-marker"
EVIL_TITLE = f"{SCRIPT} {QUOTE_BREAK} {APOS_BREAK} {TITLE_END} {MARK}"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def hostile_folder(folder: Path) -> Path:
    """A CSV source whose texts, keywords and URLs carry markup, quote breakouts and javascript: IRIs.

    ``evil-dataset`` and ``evil-agency`` are published (they show up in search, home and catalogue);
    ``evil-js`` (javascript: landing page, documentation and download URL) and ``evil-agency-js``
    (javascript: homepage) break DCAT-AP rules and are quarantined: their pages still show them.
    """
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, rows: list[dict[str, str]]) -> None:
        with open(folder / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    agency = {"type": "agency", "acronym": APOS_BREAK, "email": "desk@evil.example"}
    write(
        "agencies.csv",
        [
            {
                **agency,
                "id": "evil-agency",
                "name": f"{SCRIPT} Agency {QUOTE_BREAK} {MARK}",
                "description": f"{TITLE_END}{SCRIPT} described {QUOTE_BREAK}",
                "homepage": "https://evil.example/",
            },
            {
                **agency,
                "id": "evil-agency-js",
                "name": f"{SCRIPT} JS agency {MARK}",
                "description": f"{TITLE_END} {APOS_BREAK}",
                "homepage": JS,
            },
        ],
    )
    dataset = {
        "description": f"{SCRIPT} {QUOTE_BREAK} {APOS_BREAK} {TITLE_END} description",
        "keywords": f"{SCRIPT};{QUOTE_BREAK};{APOS_BREAK};{TITLE_END};{MARK}",
        "themes": "ENVI",
        "issued": "2026-12-01",
        "modified": "2026-12-01",
        "licence": "CC-BY-4.0",
        "access_rights": "public",
        "contact_name": f"{SCRIPT} desk",
        "contact_email": "desk@evil.example",
        "provenance": f"{SCRIPT} provenance",
    }
    write(
        "datasets.csv",
        [
            {
                **dataset,
                "id": "evil-dataset",
                "title": EVIL_TITLE,
                "title@fr": f"{SCRIPT} titre {MARK}",
                "publisher": "evil-agency",
                "landing_page": f"https://evil.example/{QUOTE_BREAK}",
                "contact_url": "https://evil.example/contact",
                "documentation": "https://evil.example/docs",
            },
            {
                **dataset,
                "id": "evil-js",
                "title": f"{SCRIPT} javascript links {MARK}",
                "title@fr": "",
                "publisher": "evil-agency",
                "landing_page": JS,
                "contact_url": JS,
                "documentation": JS,
            },
        ],
    )
    write(
        "distributions.csv",
        [
            {
                "dataset": "evil-dataset",
                "id": "evil-access",
                "title": f"{TITLE_END} access {APOS_BREAK} {SCRIPT}",
                "description": f"{QUOTE_BREAK} plain",
                "access_url": f"https://evil.example/a{QUOTE_BREAK}",
                "download_url": "",
                "format": "CSV",
                "licence": "",
                "rights": SCRIPT,
            },
            {
                "dataset": "evil-js",
                "id": "evil-download",
                "title": f"{SCRIPT} download {QUOTE_BREAK}",
                "description": f"{APOS_BREAK} {TITLE_END}",
                "access_url": "https://evil.example/access",
                "download_url": JS,
                "format": SCRIPT,
                "licence": "CC-BY-4.0",
                "rights": SCRIPT,
            },
        ],
    )
    return folder


@pytest.fixture(scope="module")
def hostile(live, tmp_path_factory) -> str:
    done = live.kg(
        "ingest", hostile_folder(tmp_path_factory.mktemp("hostile") / "src"), "--source", "hostile"
    )
    assert "stored" in done.stdout, done.stdout
    return live


def get(live: str, target: str, accept: str) -> tuple[int, dict[str, str], bytes]:
    return check(live, "GET", target, headers={"Accept": accept})


def assert_escaped(html: str, where: str) -> None:
    low = html.lower()
    assert "<script>alert" not in low, f"{where}: an unescaped <script>"
    assert QUOTE_BREAK not in html and "'onfocus='" not in html, f"{where}: an attribute breakout"
    assert not re.search(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", low), (
        f"{where}: a javascript: link"
    )
    assert low.count("</title>") == 1, f"{where}: the title was closed early"
    assert not re.search(r"""[\s"']onmouseover\s*=""", low), f"{where}: an event handler attribute"


def hostile_query() -> str:
    return (
        "PREFIX dct: <http://purl.org/dc/terms/> SELECT ?d ?t ?x WHERE { ?d dct:title ?t "
        f'FILTER(CONTAINS(?t, "{MARK}")) OPTIONAL {{ ?d <http://www.w3.org/ns/dcat#landingPage> ?x }} }}'
    )


HOSTILE_PAGES = {  # page → (path, must show the escaped <script> as text)
    "home": ("/", True),
    "search": (f"/datasets?q={MARK}", True),
    "search-keyword": ("/datasets?" + urlencode({"keyword": MARK}), True),
    "dataset": ("/dataset/evil-dataset", True),
    "dataset-fr": ("/dataset/evil-dataset?lang=fr", True),
    "dataset-js": ("/dataset/evil-js", True),
    "distribution": ("/distribution/evil-access", True),
    "distribution-js": ("/distribution/evil-download", True),
    "agency": ("/agency/evil-agency", True),
    "agency-js": ("/agency/evil-agency-js", True),
    "quality": ("/quality", True),
    "catalog": ("/catalog", True),
    "query": ("/query?" + urlencode({"query": hostile_query()}), True),
}


@pytest.mark.parametrize("page", list(HOSTILE_PAGES))
def test_hostile_strings_escaped_in_html(hostile, page):
    target, shown = HOSTILE_PAGES[page]
    status, head, body = get(hostile, target, "text/html")
    assert status == 200, (target, body[:300])
    assert head["Content-Type"].startswith("text/html")
    html = body.decode("utf-8")
    assert_escaped(html, target)
    if shown:
        assert ESCAPED_SCRIPT in html, f"{target}: the markup is not shown as text"


def test_hostile_strings_escaped_on_resource_page(hostile):
    target = "/resource?" + urlencode({"uri": f"{hostile}dataset/evil-dataset"})
    status, _, body = get(hostile, target, "text/html")
    assert status == 200
    html = body.decode("utf-8")
    assert_escaped(html, target)
    assert ESCAPED_SCRIPT in html


def test_hostile_javascript_iris_are_shown_but_never_links(hostile):
    """The javascript: landing page, contact page, documentation, homepage and download URL: text only."""
    for page in ("dataset-js", "distribution-js", "agency-js"):
        target = HOSTILE_PAGES[page][0]
        html = get(hostile, target, "text/html")[2].decode()
        assert JS in html, f"{target}: the javascript: value is not shown at all"
        assert not re.search(r"""href\s*=\s*["']?\s*javascript""", html, re.I), target
        data = json.loads(get(hostile, target + ".json", "application/json")[2])
        assert JS in strings(data), f"{target}.json: the javascript: value is not in the data"
        assert not [o for o in objects(data) if str(o.get("href") or "").lower().startswith("javascript")]


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def objects(value) -> list[dict]:
    if isinstance(value, dict):
        return [value] + [o for v in value.values() for o in objects(v)]
    if isinstance(value, list):
        return [o for v in value for o in objects(v)]
    return []


JSON_TWINS = {  # page → (path, Accept)
    "home": ("/index.json", "application/json"),
    "search": (f"/datasets.json?q={MARK}", "application/json"),
    "dataset": ("/dataset/evil-dataset.json", "application/json"),
    "dataset-js": ("/dataset/evil-js?format=json", "application/json"),
    "distribution": ("/distribution/evil-access.json", "application/json"),
    "agency": ("/agency/evil-agency.json", "application/json"),
    "quality": ("/quality.json", "application/json"),
    "catalog": ("/catalog.json", "application/json"),
    "resource": ("/resource.json?" + urlencode({"uri": "{base}dataset/evil-dataset"}), "application/json"),
    "query": ("/query.json?" + urlencode({"query": hostile_query()}), "application/json"),
    "sparql": ("/sparql?" + urlencode({"query": hostile_query()}), "application/sparql-results+json"),
}


@pytest.mark.parametrize("page", list(JSON_TWINS))
def test_hostile_strings_round_trip_in_json(hostile, page):
    target, accept = JSON_TWINS[page]
    status, head, body = get(hostile, target.replace("%7Bbase%7D", quote(hostile, safe="")), accept)
    assert status == 200, (target, body[:300])
    assert head["Content-Type"].split(";")[0] in ("application/json", "application/sparql-results+json")
    texts = strings(json.loads(body))  # valid JSON
    hostile_texts = [t for t in texts if SCRIPT in t]
    assert hostile_texts, f"{target}: the hostile text is not in the data"
    for t in texts:  # data, not markup: nothing was entity-escaped on the way
        assert "&lt;" not in t and "&#34;" not in t and "&#39;" not in t and "&quot;" not in t, (target, t)
    if page in ("dataset", "search", "query", "sparql", "resource", "home"):
        assert EVIL_TITLE in texts, f"{target}: the title did not round-trip exactly"


# ---------------------------------------------------------------- routes: bugs found (pinned)

# The tracebacks those bugs leave in the server log: (a frame on the way, the exception line).
KNOWN_SERVER_ERRORS: dict[str, tuple[str, str]] = {}


@pytest.mark.parametrize(
    "how, param, value",
    [
        ("GET", "default-graph-uri", "json"),
        ("GET", "named-graph-uri", "http://x y"),
        ("POST", "default-graph-uri", ""),
    ],
)
def test_sparql_dataset_graph_that_is_not_an_iri_is_a_400(live, how, param, value):
    fields = urlencode({"query": "ASK { ?s ?p ?o }", param: value})
    if how == "GET":
        status, _, body = call(live, "GET", f"/sparql?{fields}")
    else:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = call(live, "POST", "/sparql", body=fields.encode(), headers=headers)
    assert status == 400, (status, body[:300])


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
@pytest.mark.parametrize("graph", ["http://[oops]/g", "http://x y/g"])
def test_store_graph_iri_oxigraph_refuses_is_a_400(live, method, graph):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/turtle"}
    body = TURTLE_BODY if method == "PUT" else None
    status, _, text = call(live, method, "/store?" + urlencode({"graph": graph}), body=body, headers=headers)
    assert status == 400, (status, text[:300])


# ================================================================ last: the server log


def tracebacks(log: str) -> list[tuple[str, str]]:
    """Every traceback in a log: (its frames, its exception line)."""
    out, lines = [], log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            out.append(("\n".join(lines[i + 1 : j]), lines[j] if j < len(lines) else ""))
    return out


def test_server_log_has_no_traceback(live):
    """Runs after the route tests (file order): the app logged no internal error but the pinned bugs'."""
    log = live.log.read_text(errors="replace")
    assert "CRITICAL" not in log and "WORKER TIMEOUT" not in log, log[-4000:]
    for frames, exception in tracebacks(log):
        assert any(
            frame in frames and re.search(pattern, exception)
            for frame, pattern in KNOWN_SERVER_ERRORS.values()
        ), f"an internal error in the server log: {exception}\n{frames[-3000:]}"
    assert log.count("ERROR in errors: internal error") == len(tracebacks(log))
