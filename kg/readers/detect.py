"""Which format a source is: a folder or ``.csv``, a URL (CKAN), an RDF extension, or JSON by content.

:func:`sniff_json` is the one place that tells the JSON formats apart (data.json, CKAN, JSON-LD),
on a parsed document or on the outline of a big file (:func:`kg.readers.json_stream.outline`:
checked whole, its big arrays as stand-ins of their items), so a file is read once to decide.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from kg.errors import InputError
from kg.readers.files import read_bytes_head

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

_SHAPES = (
    'data.json: a catalogue object with a "dataset" array, an array of dataset objects (schema 1.0) '
    'or one dataset object (with "title" and "identifier", "distribution" or "accessLevel"); '
    'CKAN: a package with "resources", a list of packages or an Action API answer with "result"; '
    'JSON-LD: an object with "@context" or "@graph"'
)


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


def detect(location: str) -> tuple[str, Any]:
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
    from kg.readers.ckan_packages import PACKAGE_ARRAYS, PACKAGE_KEYS
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


def detect_format(location: str) -> str:
    """One of :data:`FORMATS` for a path or URL: folder/.csv, URL, RDF extension, or JSON by content."""
    return detect(location)[0]
