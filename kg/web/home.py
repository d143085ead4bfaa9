"""Home and health: what the catalogue holds, as a page and as JSON (``/index.json``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from kg.web.search_views import page_link
from kg.web.tables import derived

blueprint = Blueprint("home", __name__)

EMPTY = {
    "counts": {"agencies": 0, "datasets": 0, "distributions": 0, "services": 0},
    "agencies": [],
    "themes": [],
    "recent": [],
}


def overview() -> dict:
    """Counts, the agencies and themes with most datasets, the recently modified datasets: derived
    once per generation (:func:`kg.derived.catalog.build_home`), read here as one row."""
    tables = derived()
    return (tables.value("home") if tables else None) or dict(EMPTY)


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
    return render_template("home.html", top=top, page_link=page_link, **data)


@blueprint.route("/health")
def health() -> Response:
    """200 when the store answers a query, 503 otherwise (for load balancers and monitors).

    On the request's own thread, not an evaluation thread: an ASK of one pattern stops at the
    first triple it finds (bounded), and health must answer while every evaluation thread is busy."""
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
