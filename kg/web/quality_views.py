"""/quality: validation outcomes per source and agency, and the MQA-style score of every dataset.

Every number is read back from the store with SPARQL (so the page works the
same on a remote store): ingest runs, rule counts (``kgq:validationResults``)
and quarantined records from the provenance and quarantine graphs, the
datasets' DQV measurements (:mod:`kg.quality`) from the data graphs. The
page has a JSON twin, ``/quality.json`` (or ``Accept: application/json``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from rdflib import Literal

from kg.iris import Minter
from kg.quality import ASSESSABLE_POINTS, DIMENSIONS, INDICATORS, MAX_POINTS, RATINGS
from kg.validation import SEVERITIES
from kg.vocab import DCAT, DCT, DQV, FOAF, KGO, PROV, QUALITY, SH, SKOS
from kg.web.cache import etag_for, not_modified
from kg.web.errors import wants_json
from kg.web.search_views import page_link

blueprint = Blueprint("quality_views", __name__)

PAGE_SIZE = 50
RULES_SHOWN = 30  # per source, most frequent first
AGENCIES_SHOWN = 200  # worst average first
_COUNTS = ("read", "published", "quarantined", "violations", "warnings")
_SEVERITY = {str(iri): name for iri, name in SEVERITIES.items()}
_BY_IRI = {str(i.iri): i.label for i in INDICATORS}
_PAGE = re.compile(r"^[1-9][0-9]{0,5}$")
_IRI = re.compile(r'^(https?|urn):[^\s<>"{}|^`\\]*$')
_PREFIXES = (
    f"PREFIX dqv: <{DQV}> PREFIX kgq: <{QUALITY}> PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}> "
    f"PREFIX sh: <{SH}> PREFIX dct: <{DCT}> PREFIX dcat: <{DCAT}> PREFIX foaf: <{FOAF}> "
    f"PREFIX skos: <{SKOS}>\n"
)


def _rows(query: str, *, private: bool = False) -> list[dict[str, str | None]]:
    """SELECT rows as plain strings; ``private``: on the private graphs (quarantine, runs), where GRAPH
    reaches each of them. In an evaluator process, stopped at KG_QUERY_TIMEOUT (:mod:`kg.timed`)."""
    store = current_app.extensions["kg_pages"]
    result = store.query(_PREFIXES + query, default_graphs=[] if private else None, private=private)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in result]


def _number(value: str | None) -> float | None:
    return round(float(value), 2) if value not in (None, "") else None


def _count(value: str | None) -> int:
    return int(float(value)) if value else 0


def _values(iris: list[str | None]) -> str:
    """IRIs for a VALUES clause; anything that is not a plain absolute IRI is left out."""
    return " ".join(f"<{iri}>" for iri in iris if iri and _IRI.match(iri))


def _page_arg(name: str) -> int:
    raw = request.args.get(name, "1").strip()
    if not _PAGE.match(raw):
        abort(400, description=f"{name} must be a whole number from 1 to 999999, not {raw[:40]!r}")
    return int(raw)


def _graphs() -> tuple[str, str]:
    iris = Minter(current_app.config["KG_SETTINGS"].base_uri)
    return iris.provenance_graph(), iris.quarantine_graph("x").removesuffix("x")


# ---------------------------------------------------------------- sources


def sources() -> list[dict[str, Any]]:
    """The current run of every source, with its counts and its most frequent rules."""
    provenance, _ = _graphs()
    runs = _rows(
        f"""SELECT ?run ?source ?ended ?read ?published ?quarantined ?violations ?warnings WHERE {{
          GRAPH <{provenance}> {{ ?run kgo:current true ; kgo:source ?source .
            OPTIONAL {{ ?run prov:endedAtTime ?ended }} OPTIONAL {{ ?run kgo:recordsRead ?read }}
            OPTIONAL {{ ?run kgo:recordsPublished ?published }}
            OPTIONAL {{ ?run kgo:recordsQuarantined ?quarantined }}
            OPTIONAL {{ ?run kgo:violations ?violations }} OPTIONAL {{ ?run kgo:warnings ?warnings }} }}
        }} ORDER BY ?source""",
        private=True,
    )
    rules = _rows(
        f"""SELECT ?run ?severity ?rule ?message ?count WHERE {{ GRAPH <{provenance}> {{
            ?run kgo:current true . ?m dqv:computedOn ?run ; dqv:isMeasurementOf kgq:validationResults ;
               dqv:value ?count ; sh:resultSeverity ?severity ; sh:resultMessage ?message .
            OPTIONAL {{ ?m kgo:rule ?rule }} }} }} ORDER BY ?run DESC(?count) ?message""",
        private=True,
    )
    by_run: dict[str | None, list[dict[str, Any]]] = {}
    for r in rules:
        by_run.setdefault(r["run"], []).append(
            {"severity": _SEVERITY.get(r["severity"] or "", "info"), "rule": r["rule"],
             "message": r["message"], "count": _count(r["count"])}
        )  # fmt: skip
    return [
        {"source": run["source"], "run": run["run"], "ended": run["ended"],
         **{k: _count(run[k]) for k in _COUNTS}, "rules_total": len(by_run.get(run["run"], [])),
         "rules": by_run.get(run["run"], [])[:RULES_SHOWN]}
        for run in runs
    ]  # fmt: skip


# ---------------------------------------------------------------- agencies


def agencies() -> list[dict[str, Any]]:
    """Datasets published, average score and quarantined records per publisher, worst average first."""
    _, quarantine = _graphs()
    published = _rows("""SELECT ?agency (COUNT(DISTINCT ?d) AS ?datasets) (COUNT(?score) AS ?scored)
        (AVG(?score) AS ?average) WHERE { ?d a dcat:Dataset ; dct:publisher ?agency .
          OPTIONAL { ?m dqv:computedOn ?d ; dqv:isMeasurementOf kgq:score ; dqv:value ?score } }
        GROUP BY ?agency""")
    held = _rows(
        f"""SELECT ?agency (COUNT(DISTINCT ?key) AS ?quarantined) WHERE {{ GRAPH ?g {{
            ?r a kgo:QuarantinedRecord ; kgo:recordKey ?key . ?key dct:publisher ?agency }}
          FILTER(STRSTARTS(STR(?g), {Literal(quarantine).n3()})) }} GROUP BY ?agency""",
        private=True,
    )
    table: dict[str, dict[str, Any]] = {}
    for row in published:
        table[row["agency"] or ""] = {
            "datasets": _count(row["datasets"]),
            "scored": _count(row["scored"]),
            "average_score": _number(row["average"]) if _count(row["scored"]) else None,
            "quarantined": 0,
        }
    for row in held:
        entry = table.setdefault(
            row["agency"] or "", {"datasets": 0, "scored": 0, "average_score": None, "quarantined": 0}
        )
        entry["quarantined"] = _count(row["quarantined"])
    worst = sorted(
        table.items(), key=lambda kv: (kv[1]["average_score"] is None, kv[1]["average_score"] or 0, kv[0])
    )
    shown = worst[:AGENCIES_SHOWN]
    names = _names([iri for iri, _ in shown])
    return [{"agency": iri, "name": names.get(iri) or iri, "page": page_link(iri), **v} for iri, v in shown]


def _names(iris: list[str]) -> dict[str, str]:
    """A name per agency, published or else quarantined (an agency may only be described there)."""
    values = _values(list(iris))
    if not values:
        return {}
    pattern = "?a foaf:name|skos:prefLabel ?n"
    query = "SELECT ?a (SAMPLE(?n) AS ?name) WHERE {{ VALUES ?a {{ {} }} {} }} GROUP BY ?a"
    names = {
        row["a"] or "": row["name"] or ""
        for row in _rows(query.format(values, f"GRAPH ?g {{ {pattern} }}"), private=True)
    }
    names.update({row["a"] or "": row["name"] or "" for row in _rows(query.format(values, pattern))})
    return names


# ---------------------------------------------------------------- scores


def indicators() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The summary, the average points per dimension and per indicator over every scored dataset."""
    rows = _rows("""SELECT ?metric (SUM(?v) AS ?total) (COUNT(?v) AS ?n) WHERE {
        ?m a dqv:QualityMeasurement ; dqv:isMeasurementOf ?metric ; dqv:value ?v
        FILTER(isNumeric(?v)) } GROUP BY ?metric""")
    totals = {row["metric"]: (float(row["total"] or 0), _count(row["n"])) for row in rows}
    scored = totals.get(str(QUALITY.score), (0.0, 0))[1]
    ratings = _rows("""SELECT ?rating (COUNT(*) AS ?n) WHERE {
        ?m dqv:isMeasurementOf kgq:rating ; dqv:value ?rating } GROUP BY ?rating""")

    def average(iri: object) -> float | None:
        return round(totals.get(str(iri), (0.0, 0))[0] / scored, 2) if scored else None

    per_indicator = [
        {"metric": str(i.iri), "name": i.name, "label": i.label, "dimension": i.dimension, "points": i.points,
         "assessed": i.assessed, "how": i.how, "average": average(i.iri) if i.assessed else None}
        for i in INDICATORS
    ]  # fmt: skip
    per_dimension = [
        _dimension(dim, [i for i in per_indicator if i["dimension"] == dim], scored) for dim in DIMENSIONS
    ]
    summary = {
        "datasets_scored": scored,
        "average_score": average(QUALITY.score),
        "average_percentage": average(QUALITY.percentage),
        "max_points": MAX_POINTS,
        "assessable_points": ASSESSABLE_POINTS,
        "ratings": {name: 0 for name, _ in RATINGS}
        | {r["rating"]: _count(r["n"]) for r in ratings if _rating(r["rating"])},
    }
    return summary, per_dimension, per_indicator


def _dimension(dim: str, own: list[dict[str, Any]], scored: int) -> dict[str, Any]:
    assessed = [i for i in own if i["assessed"]]
    return {"dimension": str(QUALITY[dim]), "label": dim.capitalize(),
            "points": sum(i["points"] for i in own), "assessable": sum(i["points"] for i in assessed),
            "average": round(sum(i["average"] for i in assessed), 2) if scored else None}  # fmt: skip


def datasets(page: int) -> dict[str, Any]:
    """One page of scored datasets, worst score first, each with the indicators it earned nothing on."""
    total = _count(_rows("SELECT (COUNT(*) AS ?n) WHERE { ?m dqv:isMeasurementOf kgq:score }")[0]["n"])
    _check_page(page, total)
    rows = _rows(f"""SELECT ?d ?score (SAMPLE(?p) AS ?percentage) (SAMPLE(?r) AS ?rating)
        (SAMPLE(?t) AS ?title) (SAMPLE(?a) AS ?publisher) WHERE {{
          {{ SELECT ?d ?score WHERE {{
               ?m dqv:isMeasurementOf kgq:score ; dqv:computedOn ?d ; dqv:value ?score }}
             ORDER BY ?score STR(?d) LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE} }}
          OPTIONAL {{ ?mp dqv:isMeasurementOf kgq:percentage ; dqv:computedOn ?d ; dqv:value ?p }}
          OPTIONAL {{ ?mr dqv:isMeasurementOf kgq:rating ; dqv:computedOn ?d ; dqv:value ?r }}
          OPTIONAL {{ ?d dct:title ?t }} OPTIONAL {{ ?d dct:publisher ?a }}
        }} GROUP BY ?d ?score ORDER BY ?score STR(?d)""")
    gaps = _gaps([row["d"] or "" for row in rows])
    items = [
        {"dataset": row["d"], "page": page_link(row["d"]), "title": row["title"] or row["d"],
         "publisher": row["publisher"], "score": _number(row["score"]),
         "percentage": _number(row["percentage"]), "rating": _rating(row["rating"]),
         "gaps": gaps.get(row["d"] or "", [])}
        for row in rows
    ]  # fmt: skip
    return _paged(items, page, total, "page")


def _rating(value: str | None) -> str | None:
    return value if value in dict(RATINGS) else None


def _gaps(iris: list[str]) -> dict[str, list[str]]:
    values = _values(list(iris))
    if not values:
        return {}
    rows = _rows(f"""SELECT ?d ?metric WHERE {{ VALUES ?d {{ {values} }}
        ?m dqv:computedOn ?d ; dqv:isMeasurementOf ?metric ; dqv:value ?v
        FILTER(isNumeric(?v) && ?v = 0) }}""")
    out: dict[str, list[str]] = {}
    for row in rows:
        indicator = _BY_IRI.get(row["metric"] or "")
        if indicator:
            out.setdefault(row["d"] or "", []).append(indicator)
    return {k: sorted(v) for k, v in out.items()}


def quarantined(page: int) -> dict[str, Any]:
    """One page of quarantined records (every source), with their violation messages."""
    _, prefix = _graphs()
    where = f"""GRAPH ?g {{ ?r a kgo:QuarantinedRecord ; kgo:recordKey ?key }}
        FILTER(STRSTARTS(STR(?g), {Literal(prefix).n3()}))"""
    total = _count(_rows(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", private=True)[0]["n"])
    _check_page(page, total)
    rows = _rows(
        f"""SELECT ?g ?r ?key (SAMPLE(?o) AS ?origin) (SAMPLE(?t) AS ?title) WHERE {{ {where}
          OPTIONAL {{ GRAPH ?g {{ ?r kgo:sourceLocation ?o }} }}
          OPTIONAL {{ GRAPH ?g {{ ?key dct:title ?t }} }}
        }} GROUP BY ?g ?r ?key ORDER BY ?g STR(?key) LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}""",
        private=True,
    )
    values = _values([row["r"] for row in rows])
    results = _rows(
        f"""SELECT ?r ?severity ?message WHERE {{ VALUES ?r {{ {values} }} GRAPH ?g {{
            ?r kgo:report ?x . ?x sh:resultSeverity ?severity ; sh:resultMessage ?message }} }}
          ORDER BY ?r ?message""",
        private=True,
    ) if values else []  # fmt: skip
    items = []
    for row in rows:
        own = [r for r in results if r["r"] == row["r"]]
        items.append(
            {
                "source": (row["g"] or "").removeprefix(prefix),
                "record": row["key"],
                "title": row["title"],
                "origin": row["origin"],
                "violations": [r["message"] for r in own if r["severity"] == str(SH.Violation)],
                "warnings": sum(1 for r in own if r["severity"] == str(SH.Warning)),
            }
        )
    return _paged(items, page, total, "qpage")


def _check_page(page: int, total: int) -> None:
    if page > 1 and (page - 1) * PAGE_SIZE >= total:
        abort(404, description=f"there is no page {page}: {total} items, {PAGE_SIZE} a page")


def _paged(items: list[dict[str, Any]], page: int, total: int, param: str) -> dict[str, Any]:
    pages = max(1, -(-total // PAGE_SIZE))

    def link(number: int) -> str | None:
        if not 1 <= number <= pages:
            return None
        args = {k: v for k, v in request.args.items() if k in ("page", "qpage")} | {param: str(number)}
        return f"{request.path}?{urlencode(sorted(args.items()))}"

    return {"page": page, "pages": pages, "page_size": PAGE_SIZE, "total": total, "items": items,
            "prev": link(page - 1), "next": link(page + 1)}  # fmt: skip


# ---------------------------------------------------------------- the route


@blueprint.route("/quality")
@blueprint.route("/quality.json")
def quality() -> Response | str:
    page, qpage = _page_arg("page"), _page_arg("qpage")
    as_json = wants_json()
    etag = etag_for(current_app.extensions["kg_pages"].version(), "quality", page, qpage, as_json)
    cached = not_modified(etag)
    if cached is not None:
        return cached
    summary, dimensions, per_indicator = indicators()
    data = {
        "title": "Metadata quality",
        "summary": summary,
        "dimensions": dimensions,
        "indicators": per_indicator,
        "sources": sources(),
        "agencies": agencies(),
        "datasets": datasets(page),
        "quarantined": quarantined(qpage),
    }
    response = jsonify(data) if as_json else Response(render_template("quality.html", **data))
    response.headers["ETag"] = etag
    response.vary.add("Accept")
    return response
