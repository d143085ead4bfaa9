"""A source's content, fetched into a temporary folder (or found at its own local path), or the news
that it has not changed since the last harvest.

Fetching whole before ingesting is what keeps a failing portal harmless: an HTML page, a body cut
off, a timeout is found here, before :func:`kg.ingest.run.ingest` (itself all or nothing) is
called, and the source stays as it was. Unchanged is decided by the server (a 304 to a conditional
GET with the last harvest's ETag and Last-Modified) or by the SHA-256 of the content (a server
without validators, a CKAN portal's pages, a local file or folder).

A paged RDF catalogue (a Hydra view on its first page) is followed to its last page
(:mod:`kg.harvest.pages`) and its pages merged into one N-Triples file. A CKAN portal is paged as
``kg ingest`` pages it (:func:`kg.readers.ckan_portal.portal_pages`, on the harvester's client)
and its packages written to one JSON list, read then as a CKAN file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError
from kg.harvest.pages import checked_body, paged_catalogue, suffix_for
from kg.harvest.sources import SourceSpec
from kg.readers.ckan_portal import MAX_PAGES, portal_pages
from kg.readers.http import HttpClient, client_for
from kg.scratch import scratch_folder
from kg.settings import Settings
from kg.store.harvest_state import SourceState

CKAN_ROWS = 100
# a source whose format names one RDF syntax asks for that syntax (a server that negotiates, such as
# our own /catalog, would otherwise answer Turtle to a source read as RDF/XML)
ACCEPT = {
    "data.json": "application/json",
    "ckan": "application/json",
    "jsonld": "application/ld+json, application/json;q=0.9",
    "json-ld": "application/ld+json, application/json;q=0.9",
    **dict.fromkeys(("ttl", "turtle"), "text/turtle, */*;q=0.1"),
    "xml": "application/rdf+xml, */*;q=0.1",
    **dict.fromkeys(("nt", "ntriples"), "application/n-triples, */*;q=0.1"),
    **dict.fromkeys(("nq", "nquads"), "application/n-quads, */*;q=0.1"),
    "trig": "application/trig, */*;q=0.1",
    "n3": "text/n3, text/turtle;q=0.9, */*;q=0.1",
}
RDF_ACCEPT = (
    "text/turtle, application/rdf+xml, application/ld+json, application/n-triples, "
    "application/n-quads, application/trig, application/json;q=0.5, */*;q=0.1"
)


@dataclass(frozen=True)
class Fetched:
    """Content to ingest: ``location`` a local file or folder, with what the state will keep."""

    location: str
    fmt: str | None
    sha256: str
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Unchanged:
    reason: str


def fetch(
    spec: SourceSpec,
    last: SourceState | None,
    client: HttpClient,
    scratch: Path,
    *,
    jsonld_fetch: tuple[str, ...] = (),
) -> Fetched | Unchanged:
    """The source's content, or :class:`Unchanged` when ``last`` (a harvest whose records the store
    still holds, else None) saw the same. ``jsonld_fetch``: where the JSON-LD contexts of a paged
    catalogue's pages may come from (``KG_JSONLD_FETCH``, as for the ingest).

    :raises InputError: the content cannot be had whole (naming the URL or path and the reason).
    """
    if not spec.remote:
        digest = content_hash(Path(spec.url))
        if last and last.sha256 == digest:
            return Unchanged("the same content (SHA-256) as the last harvest")
        return Fetched(spec.url, spec.fmt, digest)
    if spec.fmt == "ckan":
        return _ckan(spec, last, client, scratch)
    return _document(spec, last, client, scratch, jsonld_fetch)


@contextmanager
def fetched_once(url: str, fmt: str | None, settings: Settings) -> Iterator[Fetched]:
    """``kg ingest URL``: the URL's content fetched as a harvest fetches it (the settings' polite
    client, a paged catalogue whole, a CKAN portal paged) into a temporary folder, removed after.
    A URL without a format is a CKAN portal, as ``kg ingest`` has always read it.

    :raises InputError: the content cannot be had whole (naming the URL and the reason).
    """
    if fmt == "csv":
        raise InputError("a CSV folder is read from disk, not from a URL", file=url)
    spec = SourceSpec("url", url, fmt or "ckan")
    with scratch_folder("kg-fetch-") as scratch:
        found = fetch(spec, None, client_for(settings), scratch, jsonld_fetch=settings.jsonld_fetch)
        assert isinstance(found, Fetched)  # nothing to compare with: never Unchanged
        try:
            yield found
        except InputError as exc:  # the ingest's error names the URL, not the temporary copy
            if exc.file and exc.file.startswith(scratch):
                exc.file = url
            raise


def _document(
    spec: SourceSpec,
    last: SourceState | None,
    client: HttpClient,
    scratch: Path,
    jsonld_fetch: tuple[str, ...],
) -> Fetched | Unchanged:
    """One document, or (:mod:`kg.harvest.pages`) every page of a paged RDF catalogue."""
    fmt = (spec.fmt or "").lower()
    accept = ACCEPT.get(fmt, RDF_ACCEPT if fmt else "application/json, " + RDF_ACCEPT)
    answer = client.get(
        spec.url,
        accept=accept,
        headers=spec.headers,
        etag=last.etag if last else "",
        last_modified=last.last_modified if last else "",
    )
    if answer.not_modified:
        return Unchanged("not modified (HTTP 304)")
    body, media = checked_body(spec.url, answer, spec.fmt or "a catalogue")
    paged = paged_catalogue(spec, answer, scratch, client, accept=accept, jsonld_fetch=jsonld_fetch)
    if paged is not None:
        if last and last.sha256 == paged.sha256:
            return Unchanged(f"the same {paged.pages} pages (SHA-256) as the last harvest")
        if paged.pages > 1:  # a 304 to the first page would say nothing of the others
            return Fetched(paged.location, "rdf", paged.sha256)
        return Fetched(
            paged.location, "rdf", paged.sha256, answer.header("ETag"), answer.header("Last-Modified")
        )
    digest = hashlib.sha256(body).hexdigest()
    if last and last.sha256 == digest:
        return Unchanged("the same content (SHA-256) as the last harvest")
    target = scratch / ("document" + suffix_for(spec.url, spec.fmt, media))
    target.write_bytes(body)
    return Fetched(str(target), spec.fmt, digest, answer.header("ETag"), answer.header("Last-Modified"))


def _ckan(
    spec: SourceSpec, last: SourceState | None, client: HttpClient, scratch: Path
) -> Fetched | Unchanged:
    """Every package of the portal, one JSON list in a file, hashed as it is written."""
    target = scratch / "packages.json"
    digest = hashlib.sha256()
    with open(target, "w", encoding="utf-8") as out:
        out.write("[")
        first = True
        pages = portal_pages(
            spec.url, client=client, rows=CKAN_ROWS, max_pages=MAX_PAGES, headers=spec.headers
        )
        for _, batch in pages:
            for _, package in batch:
                text = ("" if first else ",\n") + json.dumps(package, ensure_ascii=False, sort_keys=True)
                out.write(text)
                digest.update(text.encode("utf-8"))
                first = False
        out.write("]\n")
    found = digest.hexdigest()
    if last and last.sha256 == found:
        return Unchanged("the same packages (SHA-256) as the last harvest")
    return Fetched(str(target), "ckan", found)


def content_hash(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files (their relative paths and contents, in order).

    :raises InputError: the path is missing or cannot be read.
    """
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    try:
        for file in files:
            if path.is_dir():
                digest.update(str(file.relative_to(path)).encode("utf-8") + b"\0")
            with open(file, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            digest.update(b"\0")
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    return digest.hexdigest()
