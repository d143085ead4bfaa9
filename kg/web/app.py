"""The application factory: settings, store, blueprints, error handlers. Wiring only.

Two readers of the store are handed to the views: ``kg_store``, the store itself, for
``/sparql`` (whose queries the ASGI front answers, :mod:`kg.web.front`; the Flask view takes the
updates) and ``/query`` (which send their queries to ``kg_evaluator`` themselves, with streaming
and a row cap), the Graph Store Protocol, the search index and ``/health``; and
``kg_pages`` (:class:`kg.evaluation.page_store.TimedStore`), through which every page of the app (home,
resources, ``/quality``, ``/catalog``, VoID) queries, so that its queries are bounded by
``KG_QUERY_TIMEOUT`` too. On an embedded store both evaluate in the worker's own threads
(:class:`kg.evaluation.thread_evaluator.ThreadEvaluator`): the clients' queries in at most
``KG_QUERY_THREADS`` at once, the pages' in :data:`PAGE_THREADS` of their own, so that a burst of
heavy queries neither shares two cores among so many that each runs out of time (eight 3 s ORDER
BYs at once completed none within 10 s) nor stalls the pages; a remote store evaluates its
queries itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_app_context

from kg.derived.catalog import vocabulary_terms
from kg.derived.tables import open_derived
from kg.errors import StoreError
from kg.evaluation.deadline import Deadline
from kg.evaluation.page_store import TimedStore
from kg.evaluation.thread_evaluator import ThreadEvaluator
from kg.factory import store_for
from kg.search.query import open_index
from kg.settings import Settings, load_settings
from kg.terms import LabelCache

PAGE_THREADS = 8  # the pages' queries evaluated at once per worker (each page's are bounded, cheap)


def build_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the Flask app for ``settings`` (read from the environment when not given).

    Settings are read here, when the factory runs, never at import: tests build
    apps on different stores side by side.
    """
    from kg.web import (
        agencies_views,
        catalog_views,
        changes_views,
        errors,
        gsp,
        home,
        logs,
        quality_views,
        query_editor,
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
    store = app.extensions["kg_store"] = store_for(settings)
    app.extensions["kg_cache"] = ResultCache()
    app.extensions["kg_labels"] = LabelCache()  # labels of what no page is about (kg.terms)
    threads = None
    if settings.remote:  # the store evaluates: its answers are passed through
        from kg.evaluation.passthrough import RemoteAnswers

        app.extensions["kg_evaluator"] = RemoteAnswers(store, timeout=settings.query_timeout)
    else:  # an embedded store: every query in a thread of this process, awaited until KG_QUERY_TIMEOUT
        limit = settings.query_timeout
        app.extensions["kg_evaluator"] = ThreadEvaluator(store, timeout=limit, threads=settings.query_threads)
        # the pages' own threads: clients' queries that fill the endpoint's do not stall the pages
        threads = ThreadEvaluator(store, timeout=limit, threads=PAGE_THREADS)
    app.extensions["kg_pages"] = TimedStore(
        store,
        threads,
        timeout=settings.query_timeout,
        deadline=_page_deadline(settings.query_timeout),
        observe=logs.observe_query,
    )
    if settings.remote:  # each request reads the remote store's version afresh (kg.store.remote)
        app.before_request(store.new_request)
    for view in (
        home,
        sparql,
        gsp,
        search_views,
        catalog_views,
        changes_views,
        query_editor,
        quality_views,
        agencies_views,
        resources,
    ):
        app.register_blueprint(view.blueprint)
    register_cors(app)
    logs.register(app, settings.log_level)
    errors.register(app)
    return app


def prepare(app: Flask) -> None:
    """Open, once, what the first request of each page would otherwise open: the pages' templates
    (compiled), the published generation's search index (:func:`kg.search.query.open_index`) and
    derived tables with the vocabulary's terms (:mod:`kg.derived`), and the store's files (a first
    query).

    A worker does it before it takes requests (the ASGI lifespan startup of
    :class:`kg.web.front.Front`): on a cold page cache, at 1,000,000 datasets, a first agency page
    paid up to 39 s for it, past the query limit (a 503). Bounded: it reads rows by key and asks
    one ``ASK {}``. A store with nothing published, or whose derived data the next write
    will make, is left for the pages (which say why).
    """
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)  # compiled here, ~260 ms, not by each page kind's first request
    store = app.extensions["kg_store"]
    try:
        open_index(store)
        tables = open_derived(store)
    except StoreError as exc:
        app.logger.warning("not prepared: %s", exc)
        return
    if tables is not None:
        tables.memo("vocabulary", vocabulary_terms)
    app.extensions["kg_pages"].warm_up()


def _page_deadline(timeout: float) -> Callable[[], Deadline | None]:
    """The deadline of the current request's queries: ``timeout`` from its first query (kept on
    ``flask.g``, which lives as long as the request), so that one page's queries share one limit."""

    def deadline() -> Deadline | None:
        if not has_app_context():
            return None
        if "kg_deadline" not in g:
            g.kg_deadline = Deadline(timeout)
        return g.kg_deadline

    return deadline
