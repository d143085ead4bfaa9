"""The change feed for downstream harvesters: ``/changes?since=ISO-8601`` lists the records added,
changed and removed since then (:mod:`kg.history`), as JSON (the default, ``/changes.json``) or RDF
(PROV-O, by ``Accept`` or suffix: ``.ttl``, ``.rdf``, ``.jsonld``, ``.nt``).

Why a route of its own beside ``/catalog?modified_since=``: the catalogue lists what is there, so a
dataset removed since then is not in it; the feed says it went. Each record is listed once, in the
window of its latest change (removed; else added, if it appeared since then; else changed), oldest
first, in pages of
``KG_CATALOG_PAGE_SIZE``; ``next_since`` in the answer is where the next visit starts: no change
published later carries an earlier time (:mod:`kg.history`).

Parameters: ``since`` (required), ``until`` (default: now), ``source`` (one source's records),
``page``; anything else, a time that is no ISO 8601 or in the future, an unknown source or a
page out of range is a 400 (404 for the page) with the house's error body. A remote store
(``KG_STORE_QUERY_URL``) keeps no generations, so no history: the route answers 501 and says so.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, request

from kg.history import Change, changes_between, history_files, newest, parse_time, stamp
from kg.store.results import convert
from kg.vocab import PREFIXES
from kg.web import formats
from kg.web.catalog_views import PAGE_NUMBER, history_folder
from kg.web.record_page import change_ntriples

blueprint = Blueprint("changes_views", __name__)

PARAMETERS = {"since", "until", "source", "page"}
RDF_FORMATS = ("ttl", "rdf", "jsonld", "nt")
OFFERS = {"application/json": "json", **{formats.GRAPHS[f]: f for f in RDF_FORMATS}}


def time_parameter(name: str, now: datetime, *, required: bool) -> str | None:
    """A time parameter as the history writes times; 400 when missing (if ``required``), given
    twice, not ISO 8601 or in the future."""
    values = request.args.getlist(name)
    if len(values) > 1:
        abort(400, f"more than one '{name}' parameter")
    if not values:
        if required:
            abort(
                400, f"'{name}' is required: an ISO 8601 date or date and time, such as 2026-12-01T00:00:00Z"
            )
        return None
    try:
        return parse_time(values[0], now)
    except ValueError as exc:
        abort(400, f"{name}: {exc}")


def page_parameter() -> int:
    values = request.args.getlist("page")
    if len(values) > 1 or (values and not PAGE_NUMBER.fullmatch(values[0].strip())):
        abort(400, "page must be given once, as a whole number")
    return int(values[0]) if values else 1


@blueprint.route("/changes")
@blueprint.route("/changes.<suffix>")
def changes(suffix: str | None = None) -> Response:
    if suffix is not None and suffix not in ("json", *RDF_FORMATS):
        abort(404, f"no change feed as .{suffix[:20]}: use .json, .ttl, .rdf, .jsonld or .nt")
    if unknown := sorted(set(request.args) - PARAMETERS):
        abort(400, f"unknown parameter {unknown[0][:40]!r}: use {', '.join(sorted(PARAMETERS))}")
    fmt = suffix or OFFERS.get(request.accept_mimetypes.best_match(list(OFFERS)) or "", "json")
    answer, items = _answer(history_folder(), suffix)
    if fmt == "json":
        response = Response(json.dumps(answer, ensure_ascii=False) + "\n", content_type="application/json")
    else:
        body = convert(change_ntriples(items), fmt, prefixes=PREFIXES)
        response = Response(body, content_type=formats.content_type(fmt))
    link = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in answer["links"].items() if url)
    response.headers.update({"Vary": "Accept", "Cache-Control": "no-cache", "Link": link})
    return response


def _answer(folder, suffix: str | None) -> tuple[dict, list[Change]]:  # noqa: ANN001 - Path | None
    """The page of the feed the request asks for (as JSON) and its changes."""
    now = datetime.now(UTC)
    since = time_parameter("since", now, required=True)
    until = time_parameter("until", now, required=False) or stamp(now + timedelta(microseconds=1))
    if until < since:
        abort(400, "until is before since")
    source = request.args.get("source")
    if source is not None and source not in (known := history_files(folder)):
        abort(400, f"no history of a source {source[:40]!r}; the sources with one: {', '.join(known)}")
    found = changes_between(folder, since, until, source)
    size = current_app.config["KG_SETTINGS"].catalog_page_size
    number, last = page_parameter(), max(1, -(-len(found) // size))
    if not 1 <= number <= last:
        abort(404, f"page {number} is out of range: the feed has pages 1 to {last}")
    latest = newest(folder)
    ahead = stamp(datetime.fromisoformat(latest) + timedelta(microseconds=1)) if latest else since
    items = found[(number - 1) * size : number * size]
    return {
        "since": since,
        "until": until,
        "next_since": min(until, max(ahead, since)),
        "source": source,
        "total_items": len(found),
        "page": number,
        "pages": last,
        "page_size": size,
        "items": [c.as_json() for c in items],
        "links": _links(number, last, suffix),
    }, items


def _links(number: int, last: int, suffix: str | None) -> dict[str, str | None]:
    """The feed's pages with the same parameters (the request's own, ``page`` replaced)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    path = f"/changes.{suffix}" if suffix else "/changes"

    def url(n: int) -> str:
        return f"{path}?{urlencode([*args, ('page', n)])}"

    return {
        "first": url(1),
        "previous": url(number - 1) if number > 1 else None,
        "next": url(number + 1) if number < last else None,
        "last": url(last),
    }
