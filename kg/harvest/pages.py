"""A paged RDF catalogue, followed from its first page to its last and merged into one N-Triples file.

An RDF document that carries a Hydra view (:mod:`kg.readers.rdf_pages`) is a page of a catalogue;
its ``hydra:next`` (or ``hydra:nextPage``) is followed, page after page, in whatever RDF syntax each
page comes, on the harvest's one client (its pause per host, its retries). All or nothing: a page
that cannot be had or read fails the whole source, which stays as it was.

The guards: at most :data:`MAX_PAGES` pages; a next link seen before (a loop) or one that is not
http(s) fails the source; two different next links on one page too (which one is the catalogue?).
A next link to another host is followed, as a redirect is, but without the source's own headers:
credentials go only to the host the sources file names.

Unchanged is decided on all the pages: the SHA-256 of their bodies, in order. A 304 to a
conditional GET of the first page would say nothing of the others, so no validators are kept
for a catalogue of several pages and every harvest reads every page; a catalogue of one page
(a view with no next link) keeps its ETag and Last-Modified, since that page is all of it, and a
page that grows a next link is a changed page.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import urldefrag, urlsplit

from kg.errors import InputError
from kg.harvest.sources import SourceSpec
from kg.readers.ckan_portal import MAX_PAGES
from kg.readers.detect import RDF_FORMAT_NAMES, RDF_SUFFIXES, sniff_json
from kg.readers.http import Answer, FetchError, HttpClient
from kg.readers.jsonld_contexts import ContextLoader
from kg.readers.rdf import syntax_of
from kg.readers.rdf_pages import HYDRA_MARK, PageLinks, copy_page

SUFFIX_BY_TYPE = {
    "text/turtle": ".ttl",
    "application/x-turtle": ".ttl",
    "application/rdf+xml": ".rdf",
    "application/ld+json": ".jsonld",
    "application/n-triples": ".nt",
    "application/n-quads": ".nq",
    "application/trig": ".trig",
    "text/n3": ".n3",
    "application/json": ".json",
}


@dataclass(frozen=True)
class Paged:
    """The pages' triples in one N-Triples file (``location``), and the SHA-256 of their bodies."""

    location: str
    sha256: str
    pages: int


def checked_body(url: str, answer: Answer, expected: str) -> tuple[bytes, str]:
    """The answer's body and media type, unless it is an HTML page or empty (a portal's error page
    or maintenance notice sent with 200).

    :raises InputError: naming ``url``.
    """
    body = answer.body
    media = answer.header("Content-Type").split(";")[0].strip().lower()
    if "html" in media or body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise InputError(
            f"the server answered with an HTML page ({media or 'no type'}), not {expected}", file=url
        )
    if not body.strip():
        raise InputError("the server answered with an empty body", file=url)
    return body, media


def suffix_for(url: str, fmt: str | None, media: str) -> str:
    """A file suffix the readers know the syntax by: the URL's own, else the answer's media type's."""
    own = PurePosixPath(urlsplit(url).path).suffix.lower()
    if own in (*RDF_SUFFIXES, ".json"):
        return own
    return SUFFIX_BY_TYPE.get(media, ".json" if fmt in ("data.json", None) else "")


def paged_catalogue(
    spec: SourceSpec,
    first: Answer,
    scratch: Path,
    client: HttpClient,
    *,
    accept: str,
    jsonld_fetch: tuple[str, ...] = (),
    max_pages: int = MAX_PAGES,
) -> Paged | None:
    """Every page of the catalogue whose first page ``first`` is, or None when ``first`` is no page
    of a paged RDF catalogue (not RDF, or no Hydra view on it).

    :raises InputError: a page cannot be had or read, or the paging is broken (naming the page).
    """
    body, media = checked_body(first.url, first, "RDF")
    if HYDRA_MARK not in body or not _is_rdf(spec.fmt, media, body):
        return None
    target = scratch / "pages.nt"
    walk = _Walk(spec, client, scratch, ContextLoader(jsonld_fetch, client.timeout), accept)
    with open(target, "wb") as out:
        pages, digest = walk.every_page(first, out, max_pages)
    if not pages:
        target.unlink()
        return None
    return Paged(str(target), digest, pages)


def _is_rdf(fmt: str | None, media: str, body: bytes) -> bool:
    """Whether the document is RDF: by the source's format, else (JSON) by its content."""
    if fmt:
        return fmt == "rdf" or fmt.lower() in RDF_FORMAT_NAMES
    if body.lstrip()[:1] not in (b"{", b"["):
        return True  # XML, Turtle, N-Triples: what a JSON format never is
    try:
        return sniff_json(json.loads(body)) == "rdf"
    except ValueError:
        return False


def _next(url: str, links: PageLinks, seen: set[str], number: int, max_pages: int) -> str | None:
    """The page after ``url``, checked against the guards; None after the last."""
    if len(links.next) > 1:
        raise InputError(
            f"page {number} names {len(links.next)} next pages: {', '.join(links.next)}", file=url
        )
    if not links.next:
        return None
    following = links.next[0]
    if urlsplit(following).scheme not in ("http", "https"):
        raise InputError(f"page {number}'s next link {following} is not an http(s) URL", file=url)
    if urldefrag(following)[0] in seen:
        raise InputError(f"page {number}'s next link {following} leads back to a page read before", file=url)
    if number >= max_pages:
        raise InputError(f"stopped after {max_pages} pages: the catalogue has more", file=url)
    return following


@dataclass
class _Walk:
    """What each page needs: the client, the source's headers (for its own host only), a scratch
    file per page (each parsed from disk, as the readers read, then removed)."""

    spec: SourceSpec
    client: HttpClient
    scratch: Path
    contexts: ContextLoader
    accept: str

    def get(self, url: str) -> Answer:
        """A page after the first: the source's headers only if it is on the source's host."""
        own_host = urlsplit(url).netloc.lower() == urlsplit(self.spec.url).netloc.lower()
        try:
            return self.client.get(url, accept=self.accept, headers=self.spec.headers if own_host else None)
        except FetchError as exc:
            if not own_host and self.spec.headers and exc.status in (401, 403):
                exc.message += " (the source's headers are sent to its own host only)"
            raise

    def every_page(self, first: Answer, out: IO[bytes], max_pages: int) -> tuple[int, str]:
        """(how many pages, the SHA-256 of their bodies) once every page is copied to ``out``;
        (0, "") when the first page has no Hydra view (a document, not a page)."""
        digest = hashlib.sha256()
        seen = {urldefrag(self.spec.url)[0]}
        answer, number = first, 1
        while True:
            url = answer.url  # where the page was found, after any redirect
            if number > 1 and urldefrag(url)[0] in seen:
                raise InputError(f"page {number} was redirected back to a page read before", file=url)
            seen.add(urldefrag(url)[0])
            body, media = checked_body(url, answer, "RDF")
            digest.update(len(body).to_bytes(8, "big") + body)
            links = self.copy(url, body, media, number, out)
            if number == 1 and not links.paged:
                return 0, ""
            following = _next(url, links, seen, number, max_pages)
            if following is None:
                return number, digest.hexdigest()
            answer, number = self.get(following), number + 1

    def copy(self, url: str, body: bytes, media: str, number: int, out: IO[bytes]) -> PageLinks:
        """One page's triples appended to ``out``, parsed from a scratch file in its own syntax."""
        fmt = self.spec.fmt if self.spec.fmt and self.spec.fmt.lower() in RDF_FORMAT_NAMES else None
        page = self.scratch / f"page{suffix_for(url, fmt, media)}"
        page.write_bytes(body)
        try:
            syntax = syntax_of(page, fmt)
            return copy_page(page, syntax, url=url, number=number, out=out, contexts=self.contexts)
        finally:
            page.unlink()
