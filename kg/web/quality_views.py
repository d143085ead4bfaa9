"""/quality: validation outcomes per source and agency, and the MQA-style score of every dataset.

Everything is read from the data derived with the store generation (:mod:`kg.derived.quality`,
:mod:`kg.derived.quarantine`): the current ingest run of each source with its rule tallies, the
quarantined records, every measured dataset's score and points per indicator, and their sums per
source and publisher.
Each read is bounded (a range of ranks, a few rows by key); none is a store query, so the page
costs the same on a catalogue of any size. The whole store, one source (``?source=name``) or one
agency (``?agency=IRI``: the datasets it publishes) is shown; the JSON twin is ``/quality.json``
(or ``Accept: application/json``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from kg.derived.quality import COLUMNS, RATING_NAMES, agency_rows
from kg.derived.tables import Derived, Layout
from kg.errors import StoreError
from kg.quality import (
    ASSESSABLE_POINTS,
    ASSESSED,
    DIMENSIONS,
    INDICATORS,
    MAX_POINTS,
    percentage,
    rating,
)
from kg.store.harvest_state import load_states, state_file
from kg.vocab import QUALITY
from kg.web.cache import etag_for, not_modified
from kg.web.errors import wants_json
from kg.web.search_views import page_link
from kg.web.tables import derived

blueprint = Blueprint("quality_views", __name__)

PAGE_SIZE = 50
RULES_SHOWN = 30  # per source, most frequent first
_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")
_SOURCE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
_IRI = re.compile(r'^(https?|urn):[^\s<>"{}|^`\\]{1,2000}$')


class Scope:
    """What the page is about: the whole store, one source or one agency."""

    def __init__(self, source: str | None = None, agency: str | None = None) -> None:
        self.source = source
        self.agency = agency
        layout = Layout(current_app.config["KG_SETTINGS"].base_uri)
        self.quality_graph = f"{layout.quality_prefix}{source}" if source else None
        self.quarantine_graph = f"{layout.quarantine_prefix}{source}" if source else None

    def as_json(self) -> dict[str, str | None]:
        return {"source": self.source, "agency": self.agency}


def _page_arg(name: str) -> int:
    raw = request.args.get(name, "1").strip()
    if not _PAGE.match(raw):
        abort(400, description=f"{name} must be a whole number from 1 to 999999, not {raw[:40]!r}")
    return int(raw)


def _scope(tables: Derived | None) -> Scope:
    """The ``source`` or ``agency`` asked for (400 when malformed or both, 404 when unknown)."""
    source, agency = request.args.get("source", "").strip(), request.args.get("agency", "").strip()
    if source and agency:
        abort(400, description="give source or agency, not both")
    if source and not _SOURCE.match(source):
        abort(400, description=f"source must be a source name of at most 200 characters, not {source[:40]!r}")
    if agency and not _IRI.match(agency):
        abort(400, description=f"agency must be an agency's IRI, not {agency[:40]!r}")
    known = "SELECT 1 FROM quality_totals WHERE source = ? UNION ALL SELECT 1 FROM runs WHERE source = ?"
    if source and not (tables and tables.rows(known, (source, source))):
        abort(404, description=f"there is no source named {source!r}")
    if agency and not (
        tables and tables.rows("SELECT 1 FROM quality_totals WHERE agency = ? LIMIT 1", (agency,))
    ):
        abort(404, description=f"no dataset or quarantined record names {agency} as its publisher")
    return Scope(source or None, agency or None)


# ---------------------------------------------------------------- the summary


def indicators(tables: Derived | None, scope: Scope) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """The summary, the average points per dimension and per indicator over the scope's scored datasets."""
    sums = ", ".join(f"round(sum({c}), 2)" for c in ("scored", "score", *COLUMNS, *RATING_NAMES))
    where, params = _totals_where(scope)
    row = tables.rows(f"SELECT {sums} FROM quality_totals WHERE {where}", params)[0] if tables else None
    row = [value or 0 for value in row] if row else [0] * (2 + len(COLUMNS) + len(RATING_NAMES))
    scored, total = int(row[0]), float(row[1])
    points = dict(zip((i.name for i in ASSESSED), row[2 : 2 + len(COLUMNS)], strict=True))

    def average(value: float) -> float | None:
        return round(value / scored, 2) if scored else None

    per_indicator = [
        {"metric": str(i.iri), "name": i.name, "label": i.label, "dimension": i.dimension, "points": i.points,
         "assessed": i.assessed, "how": i.how, "average": average(points[i.name]) if i.assessed else None}
        for i in INDICATORS
    ]  # fmt: skip
    per_dimension = [
        _dimension(dim, [i for i in per_indicator if i["dimension"] == dim], scored) for dim in DIMENSIONS
    ]
    summary = {
        "datasets_scored": scored,
        "average_score": average(total),
        "average_percentage": percentage(total / scored) if scored else None,
        "max_points": MAX_POINTS,
        "assessable_points": ASSESSABLE_POINTS,
        "ratings": dict(zip(RATING_NAMES, (int(n) for n in row[2 + len(COLUMNS) :]), strict=True)),
    }
    return summary, per_dimension, per_indicator


def _totals_where(scope: Scope) -> tuple[str, tuple]:
    if scope.source:
        return "source = ? AND agency = ''", (scope.source,)
    if scope.agency:
        return "agency = ?", (scope.agency,)
    return "agency = ''", ()


def _dimension(dim: str, own: list[dict[str, Any]], scored: int) -> dict[str, Any]:
    assessed = [i for i in own if i["assessed"]]
    return {"dimension": str(QUALITY[dim]), "label": dim.capitalize(),
            "points": sum(i["points"] for i in own), "assessable": sum(i["points"] for i in assessed),
            "average": round(sum(i["average"] for i in assessed), 2) if scored else None}  # fmt: skip


# ---------------------------------------------------------------- sources and agencies


def sources(tables: Derived | None, scope: Scope) -> list[dict[str, Any]]:
    """The current run of every source in scope, with its counts and its most frequent rules."""
    if tables is None:
        return []
    query = "SELECT source, run, ended, read, published, quarantined, violations, warnings, rules FROM runs"
    if scope.source:
        rows = tables.rows(f"{query} WHERE source = ?", (scope.source,))
    elif scope.agency:
        rows = tables.rows(
            f"{query} WHERE source IN (SELECT source FROM quality_totals WHERE agency = ?) ORDER BY source",
            (scope.agency,),
        )
    else:
        rows = tables.rows(f"{query} ORDER BY source")
    out = []
    for source, run, ended, *counts, rules in rows:
        every = json.loads(rules)
        out.append(
            {"source": source, "run": run, "ended": ended,
             **dict(zip(("read", "published", "quarantined", "violations", "warnings"), counts, strict=True)),
             "rules_total": len(every), "rules": every[:RULES_SHOWN], "view": _view(source=source)}
        )  # fmt: skip
    return out


def agencies(tables: Derived | None, scope: Scope) -> list[dict[str, Any]]:
    """Datasets published, average score and quarantined records per publisher, worst average first."""
    if tables is None:
        return []
    if scope.source or scope.agency:
        where = "source = ? AND agency != ''" if scope.source else "agency = ?"
        rows = tables.rows(
            "SELECT agency, sum(published), sum(scored), round(sum(score), 2), sum(quarantined) "
            "FROM quality_totals "
            f"WHERE {where} GROUP BY agency",
            (scope.source or scope.agency,),
        )
        table = agency_rows(tables.db(), rows)
    else:
        table = tables.value("quality_agencies", [])
    return [{**row, "page": page_link(row["agency"]), "view": _view(agency=row["agency"])} for row in table]


def harvests(scope: Scope) -> list[dict[str, Any]]:
    """Each harvested source's last harvest, its outcome, its records added, changed, removed and
    unchanged (``changes``, None when not known) and its next run (kg.store.harvest_state);
    none when the state cannot be read (``kg harvest`` says why)."""
    try:
        states = load_states(current_app.config["KG_SETTINGS"].store)
    except StoreError:
        return []
    return [
        {"source": s.name, "attempted": s.attempted, "outcome": s.outcome, "reason": s.reason,
         "next_run": s.next_run or None, "published_at": s.published_at or None, "counts": s.counts,
         "changes": s.changes or None}
        for name, s in sorted(states.items())
        if not scope.agency and scope.source in (None, name)
    ]  # fmt: skip


def _harvest_mark() -> int:
    """When the harvest state last changed: an unchanged harvest makes no new generation."""
    try:
        return state_file(current_app.config["KG_SETTINGS"].store).stat().st_mtime_ns
    except OSError:
        return 0


def _view(**scope: str) -> str:
    return f"{request.script_root}/quality?{urlencode(scope)}"


# ---------------------------------------------------------------- datasets and quarantine


def datasets(tables: Derived | None, scope: Scope, page: int) -> dict[str, Any]:
    """One page of scored datasets, worst score first, each with the indicators it earned nothing on."""
    start, names = (page - 1) * PAGE_SIZE, ", ".join(("s.iri", "s.score", *(f"s.{c}" for c in COLUMNS)))
    if tables is None:
        rows, total = [], 0
    elif scope.source:
        total = _last("SELECT max(source_rank) FROM scores WHERE graph = ?", (scope.quality_graph,), tables)
        rows = tables.rows(
            f"SELECT {names} FROM scores s WHERE graph = ? AND source_rank > ? AND source_rank <= ? "
            "ORDER BY source_rank",
            (scope.quality_graph, start, start + PAGE_SIZE),
        )
    elif scope.agency:
        total = _last("SELECT max(rank) FROM agency_scores WHERE agency = ?", (scope.agency,), tables)
        rows = tables.rows(
            f"SELECT {names} FROM agency_scores a JOIN scores s ON s.graph = a.graph AND s.iri = a.iri "
            "WHERE a.agency = ? AND a.rank > ? AND a.rank <= ? ORDER BY a.rank",
            (scope.agency, start, start + PAGE_SIZE),
        )
    else:
        total = _last("SELECT max(rank) FROM scores", (), tables)
        rows = tables.rows(
            f"SELECT {names} FROM scores s WHERE rank > ? AND rank <= ? ORDER BY rank",
            (start, start + PAGE_SIZE),
        )
    _check_page(page, total)
    about = _about(tables, [row[0] for row in rows]) if rows else {}
    items = []
    for iri, score, *points in rows:
        title, publisher = about.get(iri, ("", None))
        by_name = dict(zip((i.name for i in ASSESSED), points, strict=True))
        items.append(
            {"dataset": iri, "page": page_link(iri), "title": title or iri, "publisher": publisher,
             "score": round(score, 2), "percentage": percentage(score), "rating": rating(score),
             "gaps": sorted(i.label for i in ASSESSED if by_name[i.name] == 0)}
        )  # fmt: skip
    return _paged(items, page, total, "page")


def _last(query: str, params: tuple, tables: Derived) -> int:
    """How many items a list has: its last rank or position, read from an index (a count would
    read every row: its cost would grow with the catalogue)."""
    return tables.rows(query, params)[0][0] or 0


def _about(tables: Derived, iris: list[str]) -> dict[str, tuple[str, str | None]]:
    """Title and (first) publisher of each dataset, from the search index's tables."""
    marks = ",".join("?" * len(iris))
    rows = tables.rows(
        "SELECT d.iri, d.title, (SELECT min(t.value) FROM facets f CROSS JOIN terms t ON t.id = f.term "
        f"WHERE f.dataset = d.id AND t.facet = 'publisher') FROM datasets d WHERE d.iri IN ({marks})",
        iris,
    )
    return {iri: (title, publisher) for iri, title, publisher in rows}


def quarantined(tables: Derived | None, scope: Scope, page: int) -> dict[str, Any]:
    """One page of quarantined records, with their violation messages."""
    layout = Layout(current_app.config["KG_SETTINGS"].base_uri)
    start = (page - 1) * PAGE_SIZE
    columns = "graph, record, title, origin, violations, warnings"
    if tables is None:
        rows, total = [], 0
    else:
        column, where, params = "position", "1", ()
        if scope.source:
            column, where, params = "source_position", "graph = ?", (scope.quarantine_graph,)
        elif scope.agency:
            column, where, params = "agency_position", "publisher = ?", (scope.agency,)
        total = _last(f"SELECT max({column}) FROM quarantine WHERE {where}", params, tables)
        rows = tables.rows(
            f"SELECT {columns} FROM quarantine WHERE {where} AND {column} > ? AND {column} <= ? "
            f"ORDER BY {column}",
            (*params, start, start + PAGE_SIZE),
        )
    _check_page(page, total)
    items = [
        {"source": layout.source_of(graph), "record": record, "title": title, "origin": origin,
         "violations": json.loads(violations), "warnings": warnings}
        for graph, record, title, origin, violations, warnings in rows
    ]  # fmt: skip
    return _paged(items, page, total, "qpage")


def _check_page(page: int, total: int) -> None:
    if page > 1 and (page - 1) * PAGE_SIZE >= total:
        abort(404, description=f"there is no page {page}: {total} items, {PAGE_SIZE} a page")


def _paged(items: list[dict[str, Any]], page: int, total: int, param: str) -> dict[str, Any]:
    pages = max(1, -(-total // PAGE_SIZE))

    def link(number: int) -> str | None:
        if not 1 <= number <= pages:
            return None
        kept = ("page", "qpage", "source", "agency")
        args = {k: v for k, v in request.args.items() if k in kept} | {param: str(number)}
        return f"{request.path}?{urlencode(sorted(args.items()))}"

    return {"page": page, "pages": pages, "page_size": PAGE_SIZE, "total": total, "items": items,
            "prev": link(page - 1), "next": link(page + 1)}  # fmt: skip


# ---------------------------------------------------------------- the route


@blueprint.route("/quality")
@blueprint.route("/quality.json")
def quality() -> Response | str:
    page, qpage = _page_arg("page"), _page_arg("qpage")
    tables = derived()
    scope = _scope(tables)
    as_json = wants_json()
    version = tables.version if tables else ""
    etag = etag_for(version, _harvest_mark(), "quality", page, qpage, scope.source, scope.agency, as_json)
    cached = not_modified(etag)
    if cached is not None:
        return cached
    summary, dimensions, per_indicator = indicators(tables, scope)
    data = {
        "title": "Metadata quality",
        "scope": scope.as_json(),
        "summary": summary,
        "dimensions": dimensions,
        "indicators": per_indicator,
        "sources": sources(tables, scope),
        "harvests": harvests(scope),
        "agencies": agencies(tables, scope),
        "datasets": datasets(tables, scope, page),
        "quarantined": quarantined(tables, scope, qpage),
    }
    response = jsonify(data) if as_json else Response(render_template("quality.html", **data))
    response.headers["ETag"] = etag
    response.vary.add("Accept")
    return response
