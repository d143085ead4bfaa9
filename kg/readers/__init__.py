"""Readers: turn a source (CSV folder, data.json, CKAN JSON or portal, RDF) into records.

Each reader does structure only and streams :mod:`kg.records` records with
their :class:`~kg.records.Origin`. Whatever stops a source from being read as a
whole becomes an :class:`~kg.errors.InputError` that names the file (or URL),
the line or record and the field; no json/csv/rdflib/urllib exception escapes.

This module is the readers' front door, :func:`read_source`; what they share is
beside it: :mod:`kg.readers.files` (a file as UTF-8, JSON with a useful message),
:mod:`kg.readers.text` (JSON values as record text, characters RDF cannot hold
replaced), :mod:`kg.readers.detect` (which format a source is) and :mod:`kg.readers.http`
(the project's one HTTP client: a CKAN portal, JSON-LD contexts, the harvester). The reader
modules are imported lazily, so that importing this package does not pull in rdflib.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from kg.errors import InputError
from kg.readers.detect import FORMATS, RDF_FORMAT_NAMES, detect
from kg.records import Record, Skipped

if TYPE_CHECKING:
    from kg.readers.http import HttpClient

_READERS = {
    "read_csv_folder": "csv_folder",
    "read_data_json": "data_json",
    "read_ckan": "ckan",
    "read_rdf": "rdf",
}


def __getattr__(name: str) -> Any:
    """``from kg.readers import read_rdf`` works without importing every reader up front."""
    if name in _READERS:
        return getattr(importlib.import_module(f"kg.readers.{_READERS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _passed_over(entries: Iterator[Record | Skipped], skipped: Counter | None) -> Iterator[Record]:
    """The records among ``entries``; the others counted by reason."""
    for entry in entries:
        if isinstance(entry, Skipped):
            if skipped is not None:
                skipped[entry.reason] += 1
            continue
        yield entry


def read_source(
    location: str,
    *,
    fmt: str | None = None,
    http_timeout: float = 30.0,
    jsonld_fetch: tuple[str, ...] = (),
    skipped: Counter | None = None,
    client: HttpClient | None = None,
) -> Iterator[Record]:
    """The records of any source; ``fmt`` is one of :data:`FORMATS` (or an RDF syntax), else detected.

    ``client`` fetches a CKAN portal's pages (default: one with ``http_timeout`` and no retries);
    ``http_timeout`` is for JSON-LD remote contexts; ``jsonld_fetch`` the URL
    prefixes such contexts may be fetched from when they are not bundled (``KG_JSONLD_FETCH``).
    Entries that are not records of ours (:class:`kg.records.Skipped`: a CKAN harvest source) are
    passed over and counted by reason in ``skipped``, when given.
    """
    doc = None
    rdf_syntax = None
    if fmt is None:
        fmt, doc = detect(location)
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

        return _passed_over(read_ckan(location, timeout=http_timeout, outline=doc, client=client), skipped)
    from kg.readers.jsonld_contexts import ContextLoader
    from kg.readers.rdf import read_rdf

    return read_rdf(location, fmt=rdf_syntax, contexts=ContextLoader(jsonld_fetch, http_timeout))
