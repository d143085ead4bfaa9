"""Read CKAN package dicts from a file or from a portal's Action API.

A file may hold one package dict, a list of them, or a saved ``package_show``
/ ``package_search`` answer (``{"success": true, "result": …}``); a portal URL
is paged through ``package_search`` (:mod:`kg.readers.ckan_portal`). Either way
the packages become records here, each agency before its datasets; how a package's
fields are found is :mod:`kg.readers.ckan_packages`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kg.readers import json_stream
from kg.readers.ckan_packages import PACKAGE_ARRAYS, PACKAGE_KEYS, Batch, Package, packages
from kg.readers.ckan_portal import MAX_PAGES, portal_pages
from kg.readers.files import load_json
from kg.readers.http import HttpClient
from kg.readers.text import as_text, replaced_count
from kg.records import Origin, Record, Skipped


def read_ckan(
    path_or_url: str | Path,
    *,
    timeout: float = 30.0,
    rows: int = 100,
    max_pages: int = MAX_PAGES,
    outline: Any = None,
    client: HttpClient | None = None,
) -> Iterator[Record]:
    """Agencies (organisations) and datasets of a CKAN file or portal, each agency before its datasets.

    A file is read twice, one package at a time (:mod:`kg.readers.json_stream`): a first pass
    checks all of it (JSON, shape, every package), so that a broken file fails before any
    record; the second yields the records. ``outline``: that first pass's result, when format
    detection made it. Why: a parsed package_search file is ~7 times the file (2 GB for 100,000
    packages). A file of one package is small, and read whole. ``client`` pages a portal (the
    ingest's is polite as the settings say; default: ``timeout`` and no retries).
    """
    location = str(path_or_url)
    if location.startswith(("http://", "https://")):
        client = client or HttpClient(timeout=timeout)
        return _records(portal_pages(location, client=client, rows=rows, max_pages=max_pages))
    if outline is None:
        outline = json_stream.outline(location, arrays=PACKAGE_ARRAYS, keep=PACKAGE_KEYS)
    found = packages(outline, location)  # the checks, on stand-ins of the packages
    if not isinstance(found, json_stream.Streamed):
        return ckan_records(load_json(location), location)
    return _records([(location, enumerate(json_stream.items(location, found.route)))])


def ckan_records(doc: Any, source: str) -> Iterator[Record]:
    """The records of an already parsed CKAN document (``source`` names it in errors)."""
    return _records([(source, list(enumerate(packages(doc, source))))])


def _records(batches: Iterable[Batch]) -> Iterator[Record | Skipped]:
    seen_agencies: set[str] = set()
    for source, items in batches:
        for index, item in items:
            kind = as_text(item.get("type")) if isinstance(item, dict) else ""
            if kind and kind.lower() != "dataset":  # a harvest source, a showcase …: no dataset
                yield Skipped(Origin(source, record=index), f"CKAN packages of type {kind!r} (not datasets)")
                continue
            mark = replaced_count()  # the repairs of the package's organisation are the dataset's too
            package = Package(item)
            agency = package.publisher(Origin(source, record=index))
            if agency and agency.key not in seen_agencies:
                seen_agencies.add(agency.key)
                yield agency
            publisher = agency.key if agency else ""
            yield package.dataset(Origin(source, record=index), publisher=publisher, since=mark)
