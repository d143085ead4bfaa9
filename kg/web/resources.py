"""Linked-data pages: every IRI minted under ``KG_BASE_URI`` dereferences, others via /resource?uri=.

``{base}dataset/…``, ``distribution/…``, ``service/…``, ``agency/…`` (and the
``graph/…`` and ``run/…`` names of the provenance graph) are routed relative to
the base's path, read from the settings when the blueprint is registered, so
``https://data.example.org/kg/`` serves ``/kg/dataset/x``. ``/resource?uri=``
does the same for any IRI the store knows (harvested RDF keeps its IRIs).

One answer per format, chosen by ``?format=`` (or a ``.json``/``.ttl``/… suffix)
or ``Accept``: an HTML page, its JSON twin (plain JSON; JSON-LD is an RDF
format), or the resource's concise bounded description as Turtle, JSON-LD,
RDF/XML or N-Triples. ``Vary: Accept, Accept-Language``; ETags follow the store
generation. A quarantined record is shown (200) with a "not published" banner
and its report; an IRI the store knows nothing about is a 404. The RDF of a
resource read from a private graph (a quarantined record with its report, an
ingest run) is raw private data: a 404 unless the request carries a token
(:func:`kg.web.auth.readable`); its HTML page and JSON twin are for everyone.

Here: the routes, the format, the ETag and the cache; what a page shows is
:mod:`kg.web.resource_page`'s.
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.blueprints import BlueprintSetupState

from kg.describe import Describer, Location
from kg.errors import QueryError
from kg.store.results import convert, serialize_triples
from kg.terms import iri_ok, valid_lang
from kg.vocab import PREFIXES
from kg.web.auth import readable, reads_private
from kg.web.cache import etag_for, not_modified
from kg.web.formats import GRAPHS, content_type, negotiate
from kg.web.record_page import gone_ntriples, gone_view, is_record, record_location, removed
from kg.web.resource_page import KINDS, RDF_FORMATS, address, jsonable, page

blueprint = Blueprint("resources", __name__)

FORMATS = {
    "html": "text/html",
    "json": "application/json",
    **{f: GRAPHS[f] for f in ("ttl", "jsonld", "rdf", "nt")},
}
TEMPLATES = {k: f"{k}.html" for k in KINDS} | {"resource": "resource.html"}


@blueprint.record
def _minted_routes(state: BlueprintSetupState) -> None:
    """Routes under the path of the configured base (known only when the app is built)."""
    path = urlsplit(state.app.config["KG_SETTINGS"].base_uri).path or "/"
    state.add_url_rule(f"{path}<any({','.join(KINDS)}):kind>/<slug>", "minted", minted)
    state.add_url_rule(f"{path}<any(graph,run):kind>/<path:slug>", "minted_other", minted)


@blueprint.after_request
def _vary(response: Response) -> Response:
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def minted(kind: str, slug: str) -> Response:
    """A minted IRI: ``{base}{kind}/{slug}``; a ``.json``/``.ttl``/… suffix picks the format,
    unless the store knows the IRI with the suffix itself."""
    base = current_app.config["KG_SETTINGS"].base_uri
    d = _describer()
    iri, fmt = f"{base}{kind}/{slug}", None
    stem, dot, ext = slug.rpartition(".")
    if dot and ext in FORMATS and ext != "html" and not _known(d, iri):
        iri, fmt = f"{base}{kind}/{stem}", ext
    return _respond(d, iri, fmt, bad=404)


@blueprint.route("/resource")
@blueprint.route("/resource.json")
def resource() -> Response:
    """Any IRI the store knows, e.g. a vocabulary concept or a harvested dataset."""
    iri = request.args.get("uri", "").strip()
    if not iri:
        abort(400, "give the IRI to describe: /resource?uri=…")
    if not iri_ok(iri):
        abort(400, f"not an absolute IRI: {iri[:200]!r}")
    fmt = "json" if request.path.endswith(".json") else None
    return _respond(_describer(), iri, fmt, bad=400)


def _describer() -> Describer:
    lang = request.args.get("lang", "")
    if lang and not valid_lang(lang):
        abort(400, f"not a language tag: {lang[:40]!r}")
    langs = [lang] if lang else []
    langs += [value for value, _ in request.accept_languages if valid_lang(value)]
    settings = current_app.config["KG_SETTINGS"]
    query = f"lang={quote(lang)}" if lang else ""
    d = Describer(
        current_app.extensions["kg_pages"],
        settings.base_uri,
        langs=langs,
        root=request.script_root,
        query=query,
    )
    d.cache = current_app.extensions["kg_labels"]
    return d


def _known(d: Describer, iri: str) -> bool:
    try:
        return iri_ok(iri) and d.known(iri)
    except QueryError:  # an IRI the query parser refuses (bad percent-encoding, …)
        return False


def _locate(d: Describer, iri: str, fmt: str, *, bad: int) -> tuple[Location | None, dict | None]:
    """Where ``iri`` is known from, a page reads its description with it: the store, or for our
    catalogue records their history (:mod:`kg.web.record_page`); else, when its source removed
    it, its history (410 Gone); else a 404."""
    if not iri_ok(iri):
        abort(404, f"nothing is known about <{iri[:200]}>")
    if is_record(d, iri):
        loc, gone = record_location(d, iri)
    else:
        try:
            loc = d.locate(iri, parts=fmt not in RDF_FORMATS)
        except QueryError:  # an IRI the query parser refuses (bad percent-encoding, …)
            abort(bad, f"not a valid IRI: {iri[:200]!r}")
        # gone: removed by its source, and no source describes it (links to it may remain)
        gone = removed(d, iri) if loc is None or not loc.rows else None
    if gone is None and loc is None:
        abort(404, f"nothing is known about <{iri}>")
    return (None, gone) if gone is not None else (loc, None)


def _format(fmt: str | None) -> str:
    wanted = request.args.get("format", "")
    if wanted and wanted not in FORMATS:
        abort(400, f"unknown format {wanted[:20]!r}; use one of {', '.join(FORMATS)}")
    return fmt or wanted or negotiate(FORMATS)


def _page_number() -> int:
    """``?page=`` (the agency page's list of datasets): a whole number from 1, else a 400."""
    raw = request.args.get("page", "1").strip()
    if not re.fullmatch(r"[1-9][0-9]{0,5}", raw):
        abort(400, f"page must be a whole number from 1 to 999999, not {raw[:40]!r}")
    return int(raw)


def _respond(d: Describer, iri: str, fmt: str | None, *, bad: int) -> Response:
    """The answer in the negotiated format: from the client's copy (304) or this worker's cache
    when the generation has not changed, else built (the resource is located first: 404)."""
    fmt, number = _format(fmt), _page_number()
    store = current_app.extensions["kg_pages"]
    # the raw triples of a private graph go to token holders only: they get answers of their own
    token = fmt in RDF_FORMATS and reads_private()
    etag = etag_for(store.version(), request.script_root, iri, fmt, d.prefs, d.query, number, token)
    if (cached := not_modified(etag)) is not None:
        return cached
    cache = current_app.extensions["kg_cache"]
    entry = cache.get(("resources", etag))
    if entry is None:
        loc, gone = _locate(d, iri, fmt, bad=bad)
        if gone is not None:
            return _gone(d, iri, gone, fmt)
        if fmt in RDF_FORMATS and not all(readable(store, g) for g in loc.graphs or ()):
            abort(404, f"nothing is known about <{iri}>")  # as if absent, as the Graph Store says
        body, ctype = _body(d, loc, fmt, number)
        cache.put(("resources", etag), body, ctype)
    else:
        body, ctype = entry
    response = Response(body, content_type=ctype)
    response.headers["ETag"] = etag
    if token:
        response.headers["Cache-Control"] = "private"
    response.headers["Link"] = ", ".join(
        f'<{address(d, iri, f)}>; rel="alternate"; type="{FORMATS[f]}"' for f in RDF_FORMATS
    )
    return response


def _gone(d: Describer, iri: str, h: dict, fmt: str) -> Response:
    """410 Gone: what its source removed, said as a page, its JSON twin or the PROV-O of the removal
    (not cached: no ETag, the history says it at once)."""
    if fmt in RDF_FORMATS:
        body, ctype = convert(gone_ntriples(d, iri, h), fmt, prefixes=PREFIXES), content_type(fmt)
    elif fmt == "json":
        view = gone_view(d, iri, h)
        body, ctype = json.dumps(jsonable(view), ensure_ascii=False).encode("utf-8"), "application/json"
    else:
        view = gone_view(d, iri, h)
        body = render_template("gone.html", v=view, title=view["self"].label).encode("utf-8")
        ctype = "text/html; charset=utf-8"
    return Response(body, status=410, content_type=ctype)


def _body(d: Describer, loc: Location, fmt: str, number: int) -> tuple[bytes, str]:
    if fmt in RDF_FORMATS:
        out = io.BytesIO()
        serialize_triples(d.triples(loc), out, fmt, prefixes=PREFIXES)
        return out.getvalue(), content_type(fmt)
    view = page(d, loc, number)
    if fmt == "json":
        return json.dumps(jsonable(view), ensure_ascii=False).encode("utf-8"), "application/json"
    template = TEMPLATES.get(view["kind"], "resource.html")
    html = render_template(template, v=view, title=view["self"].label)
    return html.encode("utf-8"), "text/html; charset=utf-8"
