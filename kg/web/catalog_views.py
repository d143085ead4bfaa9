"""The catalogue for harvesters (``/catalog``), its VoID description and the data dump.

``/catalog`` serves one page of the DCAT-AP catalogue (:func:`kg.catalog.write_page`)
with Hydra paging, so that a harvester pulls the whole catalogue page by page:
Turtle for RDF clients (the default, also for ``*/*`` and no ``Accept``), RDF/XML,
JSON-LD and N-Triples by ``Accept`` or by suffix (``/catalog.ttl``, ``.rdf``,
``.jsonld``, ``.nt``), and for people an HTML page (``text/html``) with its JSON
twin (``/catalog.json``). The page size is ``KG_CATALOG_PAGE_SIZE``; ``?page=``
out of range is a 404, anything but a whole number a 400. ``?modified_since=ISO-8601`` pages
the same way through the members added or changed since then (:mod:`kg.history`; the removed
ones are in ``/changes``), its filter kept in every paging link; a time that is not ISO 8601 or
in the future is a 400, and a remote store, which keeps no history, answers 501.

``/.well-known/void`` describes the whole graph with VoID, and ``/dump.nq`` streams
the data graphs it counts (the published sources, the vocabularies, the
catalogue), with their names, as N-Quads: the VoID ``dataDump``. Everything is
read from the data derived with the store generation (:mod:`kg.derived.catalog`: the
member list in page order, each member's description, the VoID statistics) and carries an ETag built
from it: a catalogue page in an RDF syntax asks the store nothing.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from kg.catalog import Member, Page, page_iri, write_page
from kg.derived.catalog import dataset_labels, member_count, member_page, vocabulary_terms
from kg.derived.member_descriptions import DerivedPageData
from kg.derived.tables import chunks
from kg.derived.void import void_ntriples
from kg.history import changed_since, parse_time, record_times
from kg.store.results import convert
from kg.vocab import DCT, FOAF, PREFIXES
from kg.web import formats
from kg.web.auth import readable
from kg.web.cache import etag_for, not_modified
from kg.web.query_editor import iri_link
from kg.web.tables import derived

blueprint = Blueprint("catalog_views", __name__)

RDF_FORMATS = ("ttl", "rdf", "jsonld", "nt")
SUFFIXES = (*RDF_FORMATS, "json")
# media type -> representation of /catalog; the first one is the default
OFFERS = {
    "text/turtle": "ttl",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "application/rdf+xml": "rdf",
    "application/ld+json": "jsonld",
    "application/n-triples": "nt",
    "application/x-turtle": "ttl",
    "application/xml": "rdf",
    "text/xml": "rdf",
}
VOID_FORMATS = {fmt: formats.GRAPHS[fmt] for fmt in RDF_FORMATS}
PAGE_NUMBER = re.compile(r"-?[0-9]{1,30}")
EMPTY_VOID = {"triples": 0, "subjects": 0, "objects": 0, "properties": 0, "entities": 0, "classes": {},
              "vocabularies": [], "subsets": {}, "modified": None}  # fmt: skip


def _store():
    """The store as pages read it: every query stopped at KG_QUERY_TIMEOUT
    (:mod:`kg.evaluation.page_store`); ``/dump.nq`` is a download and is dumped in this process
    (:meth:`kg.evaluation.page_store.TimedStore.dump`)."""
    return current_app.extensions["kg_pages"]


def _settings():
    return current_app.config["KG_SETTINGS"]


def history_folder():  # noqa: ANN201 - Path | None
    """The published generation's folder, whose ``records/`` holds the records' histories
    (:mod:`kg.history`); a 501 for a remote store, which keeps none."""
    if _settings().remote:
        abort(
            501,
            "a remote store (KG_STORE_QUERY_URL) keeps no store generations, so no history of the records: "
            "the change feed and modified_since need the embedded store",
        )
    return current_app.extensions["kg_store"].folder()


def _modified_since() -> str:
    """``modified_since`` as the history writes times, "" when not asked; 400 when given twice, not
    ISO 8601 or in the future."""
    values = request.args.getlist("modified_since")
    if not values:
        return ""
    if len(values) > 1:
        abort(400, "more than one 'modified_since' parameter")
    try:
        return parse_time(values[0], datetime.now(UTC))
    except ValueError as exc:
        abort(400, f"modified_since: {exc}")


def _changed_page(number: int, size: int, since: str) -> Page:
    """Page ``number`` of the members added or changed at ``since`` or later, in the catalogue's order.

    :raises IndexError: if there is no such page.
    """
    iris = sorted(changed_since(history_folder(), since))
    tables = derived()
    rows: list[tuple[int, str, str]] = []
    for part in chunks(iris, 500) if tables else []:
        marks = ",".join("?" * len(part))
        query = f"SELECT position, iri, kind FROM member_order WHERE iri IN ({marks})"
        rows += tables.db().execute(query, part).fetchall()
    rows.sort()
    page = Page(number, size, len(rows), (), f"modified_since={since}")
    if not 1 <= number <= page.last:
        raise IndexError(f"page {number} is out of range: the view has pages 1 to {page.last}")
    chosen = tuple(Member(iri, kind) for _, iri, kind in rows[(number - 1) * size : number * size])
    return replace(page, members=chosen)


def _page(number: int, size: int) -> Page:
    """Page ``number`` of the catalogue: a range of the member list derived with the generation
    (:mod:`kg.derived.catalog`), so that any page costs the same.

    :raises IndexError: if there is no such page (page 1 always exists, if empty).
    """
    tables = derived()
    total = member_count(tables.db()) if tables else 0
    page = Page(number, size, total, ())
    if not 1 <= number <= page.last:
        raise IndexError(f"page {number} is out of range: the catalogue has pages 1 to {page.last}")
    rows = member_page(tables.db(), (number - 1) * size, size) if tables else []
    return Page(number, size, total, tuple(Member(iri, kind) for iri, kind in rows))


def _page_number() -> int:
    values = request.args.getlist("page")
    if len(values) > 1:
        abort(400, "more than one 'page' parameter")
    if not values:
        return 1
    if not PAGE_NUMBER.fullmatch(values[0].strip()):
        abort(400, f"page must be a whole number, not {values[0][:40]!r}")
    return int(values[0])


@blueprint.route("/catalog")
@blueprint.route("/catalog.<suffix>")
def catalog(suffix: str | None = None) -> Response | str:
    if suffix is not None and suffix not in SUFFIXES:
        abort(404, f"no catalogue as .{suffix[:20]}: use one of {', '.join('.' + s for s in SUFFIXES)}")
    best = request.accept_mimetypes.best_match(list(OFFERS))
    fmt = suffix or (OFFERS[best] if best else "ttl")
    settings, store = _settings(), _store()
    number, since = _page_number(), _modified_since()
    try:
        page = (
            _changed_page(number, settings.catalog_page_size, since)
            if since
            else _page(number, settings.catalog_page_size)
        )
    except IndexError as exc:
        abort(404, str(exc))
    etag = etag_for(
        store.version(), "catalog", fmt, number, settings.catalog_page_size, settings.base_uri, since
    )
    if (cached := not_modified(etag)) is not None:
        return cached
    if fmt in RDF_FORMATS:
        out = io.BytesIO()
        tables = derived()
        data = DerivedPageData(tables.db(), tables.memo("vocabulary", vocabulary_terms)) if tables else None
        write_page(settings, page, out, fmt=fmt, data=data, records=_records(page))
        response = Response(out.getvalue(), content_type=formats.content_type(fmt))
    elif fmt == "json":
        response = jsonify(_listing(page, ".json"))
    else:
        response = Response(render_template("catalog.html", **_listing(page, "")))
    response.headers.update(
        {"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache", "Link": _link_header(page, suffix)}
    )
    return response


def _records(page: Page) -> dict[str, tuple[str, str]]:
    """(first seen, last changed) of the page's members, for their catalogue records; none on a
    remote store, which keeps no history."""
    if _settings().remote:
        return {}
    return record_times(current_app.extensions["kg_store"].folder(), [m.iri for m in page.members])


def _page_url(number: int, suffix: str, query: str = "") -> str:
    return f"/catalog{suffix}?{query + '&' if query else ''}page={number}"


def _link_header(page: Page, suffix: str | None) -> str:
    """The paging as HTTP ``Link`` headers too, in the representation asked for."""
    end = f".{suffix}" if suffix else ""
    links = {"first": 1, "last": page.last}
    if page.number > 1:
        links["prev"] = page.number - 1
    if page.number < page.last:
        links["next"] = page.number + 1
    return ", ".join(f'<{_page_url(n, end, page.query)}>; rel="{rel}"' for rel, n in links.items())


def _listing(page: Page, suffix: str) -> dict:
    """What the HTML page shows and its JSON twin returns: the page's members and the paging."""
    settings = _settings()
    labels = _labels([m.iri for m in page.members])
    times = _records(page)
    items = [
        {"iri": m.iri, "kind": m.kind, "link": iri_link(m.iri), **labels.get(m.iri, {})} for m in page.members
    ]
    for item in items:  # our copy's, beside the publisher's "modified"
        item["first_seen"], item["last_changed"] = times.get(item["iri"], (None, None))
    paging = {"first": 1, "previous": page.number - 1 or None, "next": None, "last": page.last}
    if page.number < page.last:
        paging["next"] = page.number + 1
    return {
        "title": settings.catalog_title,
        "catalog": page_iri(settings, page.number).split("?")[0],
        "modified_since": page.query.partition("=")[2] or None,
        "page": page.number,
        "pages": page.last,
        "page_size": page.size,
        "total_items": page.total,
        "items": items,
        "links": {rel: _page_url(n, suffix, page.query) if n else None for rel, n in paging.items()},
        "downloads": {fmt: _page_url(page.number, f".{fmt}", page.query) for fmt in RDF_FORMATS},
        "dump": "/dump.nq",
        "void": "/.well-known/void",
    }


def _labels(iris: list[str]) -> dict[str, dict[str, str]]:
    """Title, publisher name and modification date of each member (English or untagged text first):
    a dataset's from the search index and the agency directory, anything else (data services) by a
    query of the store."""
    tables = derived()
    found = dataset_labels(tables.db(), iris) if tables else {}
    rest = [iri for iri in iris if iri not in found]
    return found | _queried_labels(rest) if rest else found


def _queried_labels(iris: list[str]) -> dict[str, dict[str, str]]:
    values = " ".join(f"<{iri}>" for iri in iris)
    english = 'FILTER(lang({0}) = "" || langMatches(lang({0}), "en"))'
    rows = _store().query(f"""SELECT ?m (SAMPLE(?t) AS ?title) (SAMPLE(?n) AS ?publisher)
        (MAX(?d) AS ?modified) WHERE {{ VALUES ?m {{ {values} }}
          OPTIONAL {{ ?m <{DCT.title}> ?t {english.format("?t")} }}
          OPTIONAL {{ ?m <{DCT.publisher}> ?p . ?p <{FOAF.name}> ?n {english.format("?n")} }}
          OPTIONAL {{ ?m <{DCT.modified}> ?d }} }} GROUP BY ?m""")
    found = {}
    for row in rows:
        found[row["m"].value] = {
            name: row[name].value if row[name] is not None else ""
            for name in ("title", "publisher", "modified")
        }
    return found


@blueprint.route("/.well-known/void")
def void() -> Response:
    """The VoID description of the whole graph (Turtle unless ``Accept`` asks for another syntax)."""
    settings, store = _settings(), _store()
    best = request.accept_mimetypes.best_match(list(VOID_FORMATS.values()))
    fmt = next((f for f, media in VOID_FORMATS.items() if media == best), "ttl")
    etag = etag_for(store.version(), "void", fmt, settings.base_uri)
    if (cached := not_modified(etag)) is not None:
        return cached
    tables = derived()
    stats = tables.value("void") if tables else EMPTY_VOID
    body = convert(void_ntriples(settings, stats), fmt, prefixes=PREFIXES)
    response = Response(body, content_type=formats.content_type(fmt))
    response.headers.update({"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache"})
    return response


@blueprint.route("/dump.nq")
def dump() -> Response:
    """Every data graph, with its name, as N-Quads: what the VoID description counts.

    ``?graphs=all``: every graph this request may read (:func:`kg.web.auth.readable`): the private
    ones too with a token, else the same public graphs (the private ones are absent to it)."""
    wanted = request.args.getlist("graphs")
    if len(wanted) > 1 or (wanted and wanted[0] not in ("public", "all")):
        abort(400, "graphs must be given once, as public (the default) or all")
    store = _store()
    graphs = store.data_graphs()
    if wanted == ["all"]:
        graphs = [g for g in store.named_graphs() if readable(store, g)]
    private = any(store.is_private(g) for g in graphs)
    etag = etag_for(store.version(), "dump", private)
    if (cached := not_modified(etag)) is not None:
        return cached
    response = Response(_quads(store, graphs), content_type=formats.content_type("nq"))
    response.headers.update({"ETag": etag, "Cache-Control": "private, no-cache" if private else "no-cache"})
    return response


def _quads(store, graphs: list[str]) -> Iterator[bytes]:
    """One graph at a time, dumped as N-Triples to a temporary file and given its name line by line.

    A file rather than memory, so that a graph of millions of triples streams in constant memory.
    """
    with tempfile.TemporaryDirectory(prefix="kg-dump-") as folder:
        path = Path(folder) / "graph.nt"
        for graph in graphs:
            store.dump(str(path), fmt="nt", graph=graph)
            name = f"<{graph}> .\n".encode()
            chunk: list[bytes] = []
            with path.open("rb") as lines:
                for line in lines:
                    chunk.append(line[:-2] + name if line.endswith(b" .\n") else line)
                    if len(chunk) >= 2000:
                        yield b"".join(chunk)
                        chunk = []
            if chunk:
                yield b"".join(chunk)
