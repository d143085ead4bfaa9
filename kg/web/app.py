"""The application factory: settings, store, blueprints, error handlers. Wiring only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from kg.evaluator import Evaluator
from kg.ingest import store_for
from kg.settings import Settings, load_settings


def build_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the Flask app for ``settings`` (read from the environment when not given).

    Settings are read here, when the factory runs, never at import: tests build
    apps on different stores side by side.
    """
    from kg.web import (
        catalog_views,
        errors,
        gsp,
        logs,
        pages,
        quality_views,
        query,
        resources,
        search_views,
        sparql,
    )
    from kg.web.auth import register_cors
    from kg.web.cache import ResultCache

    settings = settings or load_settings(**overrides)
    app = Flask("kg", template_folder="templates", static_folder="static")
    app.config.update(
        KG_SETTINGS=settings, MAX_CONTENT_LENGTH=settings.max_body, JSON_SORT_KEYS=False, DEBUG=settings.debug
    )
    app.extensions["kg_store"] = store_for(settings)
    app.extensions["kg_cache"] = ResultCache()
    if settings.evaluators:
        store = app.extensions["kg_store"]
        app.extensions["kg_evaluator"] = Evaluator(
            store.path, store.private_graphs, size=settings.evaluators, timeout=settings.query_timeout
        )
    for view in (pages, sparql, gsp, search_views, catalog_views, query, quality_views, resources):
        app.register_blueprint(view.blueprint)
    register_cors(app)
    logs.register(app)
    errors.register(app)
    return app
