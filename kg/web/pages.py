"""Home and health: what the catalogue holds, as a page and as JSON."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from kg.vocab import DCAT, DCT, FOAF, ORG, SKOS

blueprint = Blueprint("pages", __name__)

COUNTS = {
    "agencies": ORG.Organization,
    "datasets": DCAT.Dataset,
    "distributions": DCAT.Distribution,
    "services": DCAT.DataService,
}


def _store():
    """The store as pages read it: every query stopped at KG_QUERY_TIMEOUT (:mod:`kg.timed`)."""
    return current_app.extensions["kg_pages"]


def counts() -> dict[str, int]:
    selects = " ".join(
        f"{{ SELECT (COUNT(DISTINCT ?{name}) AS ?n_{name}) WHERE {{ ?{name} a <{cls}> }} }}"
        for name, cls in COUNTS.items()
    )
    row = next(iter(_store().query(f"SELECT * WHERE {{ {selects} }}")))
    return {name: int(row[f"n_{name}"].value) for name in COUNTS}


def _rows(query: str) -> list[dict[str, str]]:
    result = _store().query(query)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else "") for n in names} for row in result]


def overview() -> dict:
    agencies = _rows(f"""SELECT ?agency (SAMPLE(?label) AS ?name) (COUNT(DISTINCT ?d) AS ?datasets) WHERE {{
        ?agency a <{ORG.Organization}> ; <{FOAF.name}> ?label .
        OPTIONAL {{ ?d <{DCT.publisher}> ?agency ; a <{DCAT.Dataset}> }}
      }} GROUP BY ?agency ORDER BY DESC(?datasets) ?name LIMIT 50""")
    themes = _rows(f"""SELECT ?theme (SAMPLE(?l) AS ?label) (COUNT(DISTINCT ?d) AS ?datasets) WHERE {{
        ?d a <{DCAT.Dataset}> ; <{DCAT.theme}> ?theme .
        OPTIONAL {{ ?theme <{SKOS.prefLabel}> ?l FILTER(langMatches(lang(?l), "en")) }}
      }} GROUP BY ?theme ORDER BY DESC(?datasets) LIMIT 20""")
    recent = _rows(f"""SELECT ?dataset (SAMPLE(?t) AS ?title) (MAX(?m) AS ?modified) WHERE {{
        ?dataset a <{DCAT.Dataset}> ; <{DCT.title}> ?t . OPTIONAL {{ ?dataset <{DCT.modified}> ?m }}
      }} GROUP BY ?dataset ORDER BY DESC(?modified) LIMIT 10""")
    for table in (agencies, themes):
        for row in table:
            row["datasets"] = int(row["datasets"])
    return {"counts": counts(), "agencies": agencies, "themes": themes, "recent": recent}


@blueprint.route("/index.json")
def home_json() -> Response:
    data = overview()
    data["title"] = current_app.config["KG_SETTINGS"].catalog_title
    return jsonify(data)


@blueprint.route("/")
def home() -> Response | str:
    data = overview()
    settings = current_app.config["KG_SETTINGS"]
    data["title"] = settings.catalog_title
    if request.accept_mimetypes.best == "application/json":
        return jsonify(data)
    top = max([r["datasets"] for r in data["themes"] + data["agencies"]] or [1]) or 1
    return render_template("home.html", top=top, **data)


@blueprint.route("/health")
def health() -> Response:
    """200 when the store answers a query, 503 otherwise (for load balancers and monitors).

    In this process, not in an evaluator: an ASK of one pattern stops at the first triple it
    finds (bounded), and health must answer while every evaluator is busy."""
    store = current_app.extensions["kg_store"]
    try:
        ok = bool(store.query("ASK { ?s ?p ?o }", default_graphs=[]) is not None)
        body = {
            "status": "ok" if ok else "error",
            "store_version": store.version(),
            "graphs": len(store.named_graphs()),
        }
        return jsonify(body)
    except Exception as exc:  # noqa: BLE001 - health reports any failure as unhealthy
        current_app.logger.error("health check failed: %s", exc)
        response = jsonify({"status": "error", "detail": "the store cannot be queried"})
        response.status_code = 503
        return response
