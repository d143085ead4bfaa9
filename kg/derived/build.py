"""The builder of the derived tables: one store builder, run with every new generation.

It runs after the search index's (:func:`kg.search.build.build_index`), in the same file, and has
each part build its tables in turn: :mod:`kg.derived.agencies`, :mod:`kg.derived.catalog`,
:mod:`kg.derived.descriptions`,
:mod:`kg.derived.member_descriptions`, :mod:`kg.derived.void`, :mod:`kg.derived.quarantine`,
:mod:`kg.derived.quality`, then the home page's summary, which reads the others' rows.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from kg.derived import (
    agencies,
    catalog,
    descriptions,
    member_descriptions,
    node_updates,
    quality,
    quarantine,
    void,
)
from kg.derived.member_reach import Reach
from kg.derived.tables import COPIES_FROM, SCHEMA, VERSION, Build, Layout, Scores, has_tables, tables_version
from kg.errors import StoreError
from kg.iris import Minter
from kg.search.tables import INDEX_FILE
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.generation import Generation

NOTHING = "urn:kg:nothing-changed"  # the one graph an upgrade "changes": none, so builders copy


def build_derived(
    generation: Generation,
    *,
    settings: Settings,
    scores: Scores | None = None,
    fresh: descriptions.Descriptions | None = None,
    reach: Reach | None = None,
) -> None:
    """The derived tables of a new generation, in its ``search.sqlite`` (a store builder);
    ``scores`` and ``fresh``: what an ingest's workers made of the graphs it loads (points per
    quality indicator, the catalogue pages' rows), so that those are not read from the store;
    ``reach``: the listing of the previous members' rows, started by an earlier builder."""
    try:
        _build(generation, settings, scores, fresh, reach)
    finally:
        if reach is not None:
            reach.close()


def _build(
    generation: Generation,
    settings: Settings,
    scores: Scores | None,
    fresh: descriptions.Descriptions | None,
    reach: Reach | None,
) -> None:
    target = generation.folder / INDEX_FILE
    if not target.is_file():
        raise StoreError(
            f"the search index of {generation.folder.name} is missing: register build_index first"
        )
    db = sqlite3.connect(target)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;")
    modules = (agencies, catalog, descriptions, member_descriptions, quarantine, quality, void)
    for module in modules:
        for table in module.TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")  # the search index copied the previous file
    db.execute("DROP TABLE IF EXISTS derived")
    db.executescript(SCHEMA + "".join(module.SCHEMA for module in modules))
    previous = generation.previous / INDEX_FILE if generation.previous else None
    incremental = bool(generation.changed) and _usable(previous)
    if incremental:
        db.execute("ATTACH DATABASE ? AS old", (f"file:{previous}?mode=ro",))
    build = Build(db, generation, Layout(settings.base_uri), settings, incremental)
    agencies.build(build)
    catalog.build(build)
    node_updates.build(build, fresh)  # descriptions.build, by the touched subjects when it can
    member_descriptions.build(build, reach)
    void.build(build)
    quarantine.build(build)
    quality.build(build, scores)
    catalog.build_home(build)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('derived', ?)", (VERSION,))
    db.commit()
    if incremental:
        db.execute("DETACH DATABASE old")
    db.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # published right after: the tables must be on disk
    finally:
        os.close(fd)


def _usable(path: Path | None) -> bool:
    """Whether a previous generation's file has derived tables of a version to copy from."""
    return path is not None and path.is_file() and has_tables(path, COPIES_FROM)


def upgrade(store: Store) -> str | None:
    """Derive the published generation's tables again if another version of this code made them
    (or none did); the version found then, else None.

    A write that changes no graph: a new generation whose RDF is a checkpoint of the current one
    (hard links), the search index copied, the derived tables copied where :data:`COPIES_FROM`
    allows and made anew where not. Without it, every page that reads them answers 503 until the
    next ingest.
    """
    folder = store.folder()
    if folder is None or not (folder / INDEX_FILE).is_file():
        return None
    found = tables_version(folder / INDEX_FILE)
    if found == VERSION:
        return None
    with store.write(changed=(NOTHING,)):
        pass
    return found or "none"


def minted_elsewhere(store: Store, base: str) -> str | None:
    """Why the store's data was not made under ``base`` (``KG_BASE_URI``), or None when it was.

    The derived tables key records by the IRIs the ingest minted under its base. A server started
    with another base would derive them again from graphs it does not know (catalogue pages without
    their concepts, silently) and serve links that resolve nowhere. Every ingest writes the
    vocabulary graph under its base, so a store that has graphs but not that one was made under
    another base.
    """
    graph = Minter(base).vocabulary_graph()
    if not store.named_graphs() or store.has_graph(graph):
        return None
    return (
        f"the store has graphs but not <{graph}>, which every kg ingest under KG_BASE_URI={base} "
        "writes: its data was made under another base (or not by kg ingest)"
    )
