"""``/agencies``: the directory of who holds what, as a tree, as a page and as JSON (``/agencies.json``).

Every agency with its sub-organisations and units nested under it (a tree of ``<details>`` that
opens without JavaScript), its kind of body, the sources that describe it and the datasets it
publishes, itself and with its units. Filters: ``q`` (words of its names, acronyms included,
without regard to case or accents), ``source``, ``kind`` (its ``org:classification``) and ``type``
(``unit`` or ``organisation``); a filtered tree keeps the ancestors of what matches, as context.
The list is paged by top-level agency (``page``). Everything is read from the directory derived
with the store generation (:mod:`kg.derived.agencies`), whose size is the number of agencies, not
of datasets.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, render_template, request

from kg.derived.agencies import fold
from kg.derived.tables import Derived
from kg.web.cache import etag_for, not_modified
from kg.web.errors import wants_json
from kg.web.search_views import page_link
from kg.web.tables import derived

blueprint = Blueprint("agencies_views", __name__)

ROOTS_PER_PAGE = 50
MAX_Q, MAX_VALUE, MAX_PAGE = 200, 200, 100_000
TYPES = ("organisation", "unit")
PARAMS = ("q", "source", "kind", "type", "page")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COLUMNS = "id, iri, name, parent, depth, unit, kind, datasets, with_units, children"


def _filters() -> dict[str, str]:
    """The request's filters, checked (a bad one is a 400 with the shaped error, never a clamp)."""
    unknown = sorted(set(request.args) - set(PARAMS))
    if unknown:
        abort(400, description=f"unknown parameter {unknown[0][:40]!r}; use {', '.join(PARAMS)}")
    out = {}
    for name in PARAMS:
        values = request.args.getlist(name)
        if len(values) > 1:
            abort(400, description=f"give {name} at most once")
        value = " ".join(values[0].split()) if values else ""
        if len(value) > (MAX_Q if name == "q" else MAX_VALUE) or _CONTROL.search(value):
            abort(400, description=f"{name} is too long or holds control characters")
        out[name] = value
    if out["type"] and out["type"] not in TYPES:
        abort(400, description=f"type must be {' or '.join(TYPES)}, not {out['type'][:40]!r}")
    page = out["page"] if "page" in request.args else "1"  # given, it must be a number
    if not page.isascii() or not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        abort(400, description=f"page must be a whole number from 1 to {MAX_PAGE}")
    out["page"] = page
    return out


def _where(filters: dict[str, str]) -> tuple[str, list]:
    clauses, params = [], []
    for word in fold(filters["q"]).split():
        clauses.append("fold LIKE ? ESCAPE '\\'")
        params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if filters["source"]:
        clauses.append("id IN (SELECT agency FROM agency_sources WHERE source = ?)")
        params.append(filters["source"])
    if filters["kind"]:
        clauses.append("kind = ?")
        params.append(filters["kind"].lower())
    if filters["type"]:
        clauses.append("unit = ?")
        params.append(int(filters["type"] == "unit"))
    return " AND ".join(clauses), params


def directory(tables: Derived | None, filters: dict[str, str]) -> dict[str, Any]:
    """The page of the directory the filters ask for: its trees, the counts and the paging."""
    page = int(filters["page"])
    if tables is None:
        return _shaped([], 0, 0, page, {})
    where, params = _where(filters)
    if where:
        matched = {
            i: json.loads(a)
            for i, a in tables.rows(f"SELECT id, ancestors FROM agencies WHERE {where}", params)
        }
        visible = set(matched) | {a for ancestors in matched.values() for a in ancestors}
        roots = sorted({ancestors[0] if ancestors else i for i, ancestors in matched.items()})
        total = len(matched)
    else:
        total = tables.rows("SELECT count(*) FROM agencies")[0][0]
        roots = [i for (i,) in tables.rows("SELECT id FROM agencies WHERE parent IS NULL ORDER BY id")]
        visible, matched = None, None
    pages = max(1, -(-len(roots) // ROOTS_PER_PAGE))
    if page > pages:
        abort(404, description=f"there is no page {page}: the last page is {pages}")
    shown = roots[(page - 1) * ROOTS_PER_PAGE : page * ROOTS_PER_PAGE]
    rows = []
    for start in range(0, len(shown), 500):
        part = shown[start : start + 500]
        marks = ",".join("?" * len(part))
        rows += tables.rows(f"SELECT {_COLUMNS} FROM agencies WHERE root IN ({marks}) ORDER BY id", part)
    if visible is not None:
        rows = [row for row in rows if row[0] in visible]
    sources = _sources(tables, [row[0] for row in rows])
    trees = _trees(rows, sources, matched)
    return _shaped(trees, total, len(roots), page, tables.value("agency_facets", {}))


def _sources(tables: Derived, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        marks = ",".join("?" * len(part))
        for source, agency in tables.rows(
            f"SELECT source, agency FROM agency_sources WHERE agency IN ({marks}) ORDER BY source", part
        ):
            out.setdefault(agency, []).append(source)
    return out


def _trees(rows: list[tuple], sources: dict[int, list[str]], matched: dict | None) -> list[dict]:
    """Nested nodes from rows in tree order (each row after its parent)."""
    nodes: dict[int, dict[str, Any]] = {}
    roots = []
    for ident, iri, name, parent, depth, unit, kind, datasets, with_units, children in rows:
        node = {
            "iri": iri, "name": name, "page": page_link(iri), "type": TYPES[unit], "kind": kind or None,
            "sources": sources.get(ident, []), "datasets": datasets, "datasets_with_units": with_units,
            "units": children, "depth": depth, "matches": matched is None or ident in matched, "children": [],
        }  # fmt: skip
        nodes[ident] = node
        (nodes[parent]["children"] if parent in nodes else roots).append(node)
    return roots


def _shaped(trees: list[dict], total: int, roots: int, page: int, facets: dict) -> dict[str, Any]:
    pages = max(1, -(-roots // ROOTS_PER_PAGE))
    return {
        "title": "Agencies",
        "total": total,
        "roots": roots,
        "page": page,
        "pages": pages,
        "agencies": trees,
        "facets": {name: [{"value": v, "count": n} for v, n in values] for name, values in facets.items()},
    }


def _url(filters: dict[str, str], suffix: str = "", **changes: str | int) -> str:
    params = {k: v for k, v in filters.items() if v and not (k == "page" and v == "1")}
    params.update({k: str(v) for k, v in changes.items()})
    if params.get("page") == "1":
        del params["page"]
    query = urlencode([(k, params[k]) for k in PARAMS if k in params])
    return f"{request.script_root}/agencies{suffix}" + (f"?{query}" if query else "")


@blueprint.route("/agencies")
@blueprint.route("/agencies.json")
def agencies() -> Response:
    filters = _filters()
    as_json = wants_json()
    tables = derived()
    etag = etag_for(tables.version if tables else "", "agencies", as_json, sorted(filters.items()))
    if (cached := not_modified(etag)) is not None:
        return cached
    data = directory(tables, filters)
    page, pages = data["page"], data["pages"]
    suffix = ".json" if as_json else ""
    data["query"] = {k: filters[k] or None for k in ("q", "source", "kind", "type")}
    data["links"] = {
        "self": _url(filters, suffix),
        "first": _url(filters, suffix, page=1),
        "prev": _url(filters, suffix, page=page - 1) if page > 1 else None,
        "next": _url(filters, suffix, page=page + 1) if page < pages else None,
        "last": _url(filters, suffix, page=pages),
    }
    if as_json:
        response = jsonify(data)
    else:
        filtered = any(filters[k] for k in ("q", "source", "kind", "type"))
        body = render_template("agencies.html", json_url=_url(filters, ".json"), filtered=filtered, **data)
        response = Response(body)
    response.headers["ETag"] = etag
    response.vary.add("Accept")
    return response
