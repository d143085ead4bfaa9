"""Which store the suite runs on: embedded (default) or a real remote server per store.

``KG_TEST_STORE=oxigraph`` (or ``virtuoso``) runs the store, endpoint and UI tests again
with every store folder a test makes backed by a fresh server of that kind, started on a
free loopback port (:mod:`servers`): the folder keeps only the derived files, the graphs
live in the server. ``make test`` runs the suite both ways.
"""

from __future__ import annotations

import os
from pathlib import Path

KIND = os.environ.get("KG_TEST_STORE", "").strip().lower()  # "" = the embedded store
REMOTE = KIND in ("oxigraph", "virtuoso")

# test modules whose tests run on a remote store too; the rest test readers, mapping, shapes,
# the CLI's argument handling or the embedded store's own machinery (generations, evaluation threads).
# Not the browser's (test_browser, test_browser_agencies: ~24 CPU-s of Chromium and gunicorn a run):
# what they add to the pages' tests is the script, the layout and a person's path through them, which
# no store changes; the pages' data on a remote store is tested here in-process and over HTTP
# (test_resources: every kind of page and the agency tree; test_search: search and facets;
# test_quality: the quality views of a source and an agency; test_catalog_views, test_query_page;
# test_agencies: the directory, its counts with units and its filters)
REMOTE_MODULES = {
    "test_store",
    "test_sparql_protocol",
    "test_web",
    "test_resources",
    "test_catalog_views",
    "test_catalog_descriptions",
    "test_query_page",
    "test_agencies",
    "test_search",
    "test_quality",
    "test_ingest",
    "test_bulk_load",
    "test_private_graphs",
    "test_w3c_protocol",
}

_started: list = []


def start(folder: Path):
    """A fresh server of the configured kind whose files live in ``folder``."""
    import servers

    server = servers.start_virtuoso(folder) if KIND == "virtuoso" else servers.start_oxigraph(folder)
    _started.append(server)
    return server


def settings_for(store: Path | str) -> dict[str, str]:
    """Settings overrides that put the graphs of ``store`` in a fresh remote server ({} when embedded)."""
    if not REMOTE:
        return {}
    server = start(Path(f"{store}.{KIND}"))
    return {
        "store_query_url": server.query_url,
        "store_update_url": server.update_url,
        "store_gsp_url": server.gsp_url,
        "store_user": server.user or "",
        "store_password": server.password or "",
    }


def env_for(store: Path | str) -> dict[str, str]:
    """The same as environment variables, for the ``kg`` command and gunicorn."""
    return {f"KG_{k.upper()}": v for k, v in settings_for(store).items()}


def env_of(settings) -> dict[str, str]:
    """The remote-store variables of existing settings (empty when embedded)."""
    if not settings.remote:
        return {}
    names = ("store_query_url", "store_update_url", "store_gsp_url", "store_user", "store_password")
    return {f"KG_{n.upper()}": getattr(settings, n) for n in names}


def started() -> int:
    return len(_started)


def stop_from(mark: int) -> None:
    """Stop the servers started since ``mark`` (a test's own), newest first."""
    while len(_started) > mark:
        _started.pop().stop()
