"""A web worker opens what the pages' first requests would before it takes requests
(kg.web.app.prepare, run by the ASGI front's lifespan startup), on a real seeded store.

And the first request of each page kind over a real socket after ``kg serve`` starts answers 200
(the lifespan path under gunicorn's uvicorn workers).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from live import request, serve

from kg.derived.tables import open_derived
from kg.factory import store_for
from kg.search import query
from kg.settings import Settings
from kg.web.app import build_app, prepare
from kg.web.front import Front


def lifespan(front: Front) -> list[dict]:
    """The startup and shutdown of an ASGI server, as uvicorn sends them; what the app answered."""
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(front({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    return sent


def test_the_startup_opens_the_index_the_tables_and_the_store(seeded: Settings) -> None:
    app = build_app(seeded)
    store = app.extensions["kg_store"]
    key = str(store.path.resolve())
    query._open.pop(key, None)
    threads = app.extensions["kg_pages"].evaluator  # None on a remote store: it evaluates
    assert threads is None or threads._threads._count == 0
    sent = lifespan(Front(app))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert query._open[key].path.parent == store.folder()  # the published generation's index
    assert "vocabulary" in open_derived(store)._memo
    cache = app.jinja_env.cache  # every page template compiled
    assert cache is not None and {"dataset.html", "agency.html", "catalog.html"} <= {key[1] for key in cache}
    if threads is not None:
        assert threads._threads._count == 1  # the store answered a first query, in a thread


def test_a_store_with_nothing_published_is_left_to_the_pages(settings: Settings) -> None:
    app = build_app(settings)
    prepare(app)  # nothing to open: no error
    assert (
        store_for(settings).folder() is None and build_app(settings).test_client().get("/").status_code == 200
    )


def test_the_first_request_of_each_page_kind_after_a_start(tmp_path: Path) -> None:
    with serve(tmp_path / "store") as live:
        for path in ("/", "/dataset/nta-rail-punctuality", "/agency/nta", "/agencies", "/catalog.ttl?page=1",
                     "/datasets?q=rail", "/quality"):  # fmt: skip
            status, _, _ = request(live + path.lstrip("/"))
            assert status == 200, path
