"""Readers: turn a source (CSV folder, data.json, CKAN JSON or portal, RDF) into records.

Each reader does structure only and streams :mod:`kg.records` records with
their :class:`~kg.records.Origin`. Whatever stops a source from being read as a
whole becomes an :class:`~kg.errors.InputError` that names the file (or URL),
the line or record and the field; no json/csv/rdflib/urllib exception escapes.

This module holds what the readers share — reading a file as UTF-8, parsing
JSON with a useful message, turning JSON values into text — plus
:func:`detect_format` and :func:`read_source`. The reader modules are imported
lazily, so that importing this package does not pull in rdflib.

>>> as_text(3), as_text(None), as_text({"a": [1, 2]}), as_texts(" x ")
('3', '', '{"a":[1,2]}', ['x'])
>>> as_text("caf\\udc92\\x07")  # characters RDF cannot hold: see kg.readers.repairs
'caf\\ufffd\\ufffd'
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from kg.errors import InputError
from kg.readers.repairs import clean_text, compact_json
from kg.records import Record, Skipped

FORMATS = ("csv", "data.json", "ckan", "rdf")

RDF_SUFFIXES = (".ttl", ".rdf", ".owl", ".xml", ".jsonld", ".nt", ".nq", ".trig", ".n3")
# --format values that name one RDF syntax: read as "rdf" in that syntax
RDF_FORMAT_NAMES = (
    "ttl",
    "turtle",
    "xml",
    "jsonld",
    "json-ld",
    "nt",
    "ntriples",
    "nq",
    "nquads",
    "trig",
    "n3",
)

_READERS = {
    "read_csv_folder": "csv_folder",
    "read_data_json": "data_json",
    "read_ckan": "ckan",
    "read_rdf": "rdf",
}

_SHAPES = (
    'data.json: a catalogue object with a "dataset" array, an array of dataset objects (schema 1.0) '
    'or one dataset object (with "title" and "identifier", "distribution" or "accessLevel"); '
    'CKAN: a package with "resources", a list of packages or an Action API answer with "result"; '
    'JSON-LD: an object with "@context" or "@graph"'
)


def __getattr__(name: str) -> Any:
    """``from kg.readers import read_rdf`` works without importing every reader up front."""
    if name in _READERS:
        return getattr(importlib.import_module(f"kg.readers.{_READERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- files -----------------------------------------------------------------


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file that exists, is a file and is not empty."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or folder", file=str(path))
    if p.is_dir():
        raise InputError("is a folder, expected a file", file=str(path))
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    if not data.strip():
        raise InputError("the file is empty", file=str(path))
    return data


def decode_utf8(data: bytes, file: str) -> str:
    """UTF-8 text without a BOM; the offending byte and line when it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start} cannot be decoded "
            "(save the file as UTF-8)",
            file=file,
            line=line,
        ) from exc
    return text.removeprefix("\ufeff")


def read_text(path: str | Path) -> str:
    """The text of a non-empty UTF-8 file (a BOM is accepted)."""
    text = decode_utf8(read_bytes(path), str(path))
    if not text.strip():
        raise InputError("the file is empty", file=str(path))
    return text


def parse_json(text: str, file: str) -> Any:
    """Parse JSON, naming line and column, and saying so when the text just stops (truncated)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            message = f"invalid JSON: the text ends in the middle of a value (truncated?): {exc.msg}"
        else:
            message = f"invalid JSON at column {exc.colno}: {exc.msg}"
        raise InputError(message, file=file, line=exc.lineno) from exc
    except RecursionError as exc:
        raise InputError("invalid JSON: nested too deeply", file=file) from exc
    except ValueError as exc:  # e.g. an integer longer than Python's 4,300-digit limit
        raise InputError(f"invalid JSON: {exc}", file=file) from exc


def load_json(path: str | Path) -> Any:
    return parse_json(read_text(path), str(path))


# --- JSON values as record text ----------------------------------------------


def as_text(value: Any) -> str:
    """A JSON value as record text: strings stripped, None → "", other values as compact JSON;
    characters RDF cannot hold replaced (:mod:`kg.readers.repairs`, whose text_repairs reports them)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value).strip()
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return compact_json(value)


def as_texts(value: Any) -> list[str]:
    """A list of texts from a list, a single value or nothing (types vary in the wild)."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (as_text(v) for v in items) if t]


# --- format detection --------------------------------------------------------


def sniff_json(doc: Any) -> str | None:
    """Which of our formats a parsed JSON document is, or None (the one place that decides)."""
    if isinstance(doc, dict):
        if data_json_shape(doc) == "catalogue":
            return "data.json"
        if "@context" in doc or "@graph" in doc:
            return "rdf"
        if any(k in doc for k in ("resources", "result", "success")):
            return "ckan"
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        if any("resources" in x for x in doc):
            return "ckan"
        if any("@id" in x or "@context" in x or "@graph" in x for x in doc):
            return "rdf"
    return "data.json" if data_json_shape(doc) else None


DataJsonShape = Literal["catalogue", "datasets", "dataset"]
# keys that only a Project Open Data dataset has (any version): with a "title", they make an object
# a dataset; keys of a CKAN package, an Action API answer or JSON-LD make it something else
DATASET_KEYS = (
    "identifier",
    "distribution",
    "accessLevel",
    "accessURL",
    "webService",
    "contactPoint",
    "mbox",
)
_NOT_DATASET_KEYS = ("resources", "id", "name", "result", "success", "@context", "@graph", "dataset")


def data_json_shape(doc: Any) -> DataJsonShape | None:
    """Which shape of data.json a parsed document (or its outline) has, or None.

    ``catalogue``: the schema 1.1 object with a "dataset" array (with or without "@context",
    "@type", "conformsTo"); ``datasets``: a bare array of dataset objects, as schema 1.0 had it
    (CKAN or JSON-LD items win); ``dataset``: one dataset object with no catalogue around it.

    >>> [data_json_shape(d) for d in ({"dataset": []}, [{"title": "T", "identifier": "x"}, 3])]
    ['catalogue', 'datasets']
    >>> [data_json_shape(d) for d in ({"title": "T", "accessLevel": "public"}, {"title": "T"}, [])]
    ['dataset', None, None]
    """
    if isinstance(doc, dict):
        if isinstance(doc.get("dataset"), list):
            return None if _inline_jsonld(doc) else "catalogue"
        return "dataset" if is_dataset(doc) else None
    if isinstance(doc, list) and any(is_dataset(x) for x in doc):
        others = (x for x in doc if isinstance(x, dict))
        if not any(k in x for x in others for k in ("resources", "@id", "@context", "@graph")):
            return "datasets"
    return None


def is_dataset(item: Any) -> bool:
    """Whether a JSON value looks like a data.json dataset object (see :data:`DATASET_KEYS`)."""
    return (
        isinstance(item, dict)
        and "title" in item
        and any(k in item for k in DATASET_KEYS)
        and not any(k in item for k in _NOT_DATASET_KEYS)
    )


def _inline_jsonld(doc: dict) -> bool:
    """A JSON-LD DCAT catalogue may also have a "dataset" array; data.json's context is a URL, but not
    one of the JSON-LD contexts the RDF reader bundles (DCAT-AP's ``Catalogue`` has ``dataset``)."""
    context, conforms = doc.get("@context"), str(doc.get("conformsTo", ""))
    if isinstance(context, str):
        from kg.readers.jsonld_contexts import bundled

        return bundled(context) is not None
    return isinstance(context, dict | list) and "project-open-data" not in conforms


def _detect(location: str) -> tuple[str, Any]:
    """The format of ``location`` and, for JSON, its outline (:func:`kg.readers.json_stream.outline`:
    checked whole, its big arrays as stand-ins of their items), so that the file is checked once."""
    if location.startswith(("http://", "https://")):
        return "ckan", None
    path = Path(location)
    if not path.exists():
        raise InputError("no such file or folder", file=location)
    suffix = path.suffix.lower()
    if path.is_dir() or suffix == ".csv":
        return "csv", None
    if suffix in RDF_SUFFIXES:
        return "rdf", None
    head = _head(path)
    if suffix != ".json" and head not in ("{", "["):
        if head in ("<", "@"):  # XML or Turtle ("@prefix")
            return "rdf", None
        raise InputError(
            f"cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use --format with one of {', '.join(FORMATS)}",
            file=location,
        )
    # read item by item, so that a big file is never held parsed (a data.json of 100,000 datasets
    # is 648 MB parsed); the outline is handed to the reader, which then need not check it again
    from kg.readers.ckan import PACKAGE_ARRAYS, PACKAGE_KEYS
    from kg.readers.json_stream import outline

    keep = dict.fromkeys((*PACKAGE_KEYS, *SNIFFED_KEYS))
    doc = outline(path, arrays=(*PACKAGE_ARRAYS, *_BIG_ARRAYS), keep=keep)
    fmt = sniff_json(doc)
    if fmt is None:
        raise InputError(f"JSON of no known shape (expected {_SHAPES})", file=location)
    return fmt, doc


_BIG_ARRAYS = (("dataset",), ("@graph",))  # data.json's datasets, a JSON-LD graph's nodes
# the keys sniff_json looks for in list items (the outline's stand-ins of items keep only these)
SNIFFED_KEYS = ("@id", "@context", "@graph", "title", *DATASET_KEYS, *_NOT_DATASET_KEYS)


def _head(path: Path) -> str:
    """The first character of a file that is not white space or a BOM ("" for an empty file).

    :raises InputError: if the file cannot be read or is empty.
    """
    data = read_bytes_head(path)
    return data.decode("utf-8", "replace").removeprefix("\ufeff").lstrip()[:1]


def read_bytes_head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a non-empty file that are not white space (as :func:`read_bytes` checks)."""
    if path.is_dir():
        raise InputError("is a folder, expected a file", file=str(path))
    try:
        with open(path, "rb") as handle:
            while block := handle.read(size):
                if block.strip():
                    return block.lstrip()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    raise InputError("the file is empty", file=str(path))


def _passed_over(entries: Iterator[Record | Skipped], skipped: Counter | None) -> Iterator[Record]:
    """The records among ``entries``; the others counted by reason."""
    for entry in entries:
        if isinstance(entry, Skipped):
            if skipped is not None:
                skipped[entry.reason] += 1
            continue
        yield entry


def detect_format(location: str) -> str:
    """One of :data:`FORMATS` for a path or URL: folder/.csv, URL, RDF extension, or JSON by content."""
    return _detect(location)[0]


def read_source(
    location: str,
    *,
    fmt: str | None = None,
    http_timeout: float = 30.0,
    jsonld_fetch: tuple[str, ...] = (),
    skipped: Counter | None = None,
) -> Iterator[Record]:
    """The records of any source; ``fmt`` is one of :data:`FORMATS` (or an RDF syntax), else detected.

    ``http_timeout`` is for a CKAN portal and JSON-LD remote contexts; ``jsonld_fetch`` the URL
    prefixes such contexts may be fetched from when they are not bundled (``KG_JSONLD_FETCH``).
    Entries that are not records of ours (:class:`kg.records.Skipped`: a CKAN harvest source) are
    passed over and counted by reason in ``skipped``, when given.
    """
    doc = None
    rdf_syntax = None
    if fmt is None:
        fmt, doc = _detect(location)
    elif fmt.lower() in RDF_FORMAT_NAMES:
        fmt, rdf_syntax = "rdf", fmt.lower()
    elif fmt not in FORMATS:
        raise InputError(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)} "
            f"(or an RDF syntax: {', '.join(RDF_FORMAT_NAMES)})",
            file=location,
        )
    if fmt == "csv":
        from kg.readers.csv_folder import read_csv_folder

        return read_csv_folder(location)
    if fmt == "data.json":
        from kg.readers.data_json import read_data_json

        return read_data_json(location, outline=doc)
    if fmt == "ckan":
        from kg.readers.ckan import read_ckan

        return _passed_over(read_ckan(location, timeout=http_timeout, outline=doc), skipped)
    from kg.readers.jsonld_contexts import ContextLoader
    from kg.readers.rdf import read_rdf

    return read_rdf(location, fmt=rdf_syntax, contexts=ContextLoader(jsonld_fetch, http_timeout))
