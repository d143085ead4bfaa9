"""Each record's history, per source: when it was first seen, last added, last changed, removed.

Why a file per source beside the graphs: a change feed (``/changes``, ``/catalog?modified_since=``)
and a record's page ask "what changed since T" and "when did this record last change"; both are
one indexed read of a small SQLite table, where the same question over the PROV-O statements of
the provenance graph (:mod:`kg.ingest.history` writes both) would be a private-graph query per
request. The file (``records/<source>.history.db`` in the store generation) is written by every
ingest of the source that keeps per-record results (:mod:`kg.ingest.memo`) and published with its
graphs by the same rename, so a killed run leaves it as it was; it is copied forward, never
rewritten in place, and a record gone from the source stays in it, marked removed.

Times are UTC, written ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, so that text order is time order. A
record's time is taken while its run holds the store's write lock, just before publication; one
writer at a time, so a run published later never carries an earlier time than one published
before it: a harvester that asks again ``since`` the newest time it was given misses nothing.

This module reads; it imports nothing of ingest or the web, so both can use it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LAYOUT = "2"  # 2: catalogue record keys (``record``), RDF records' ``parts``; 1 is read without them
READABLE = ("1", "2")  # and brought to LAYOUT by its source's next ingest (kg.ingest.history)
SUFFIX = ".history.db"  # a source's memo file ends ".sqlite": no source's name can make the two meet
FOLDER = "records"  # kg.store.next_generation.FILES: the generation's folder of per-source files
KINDS = ("added", "changed", "removed")

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
  ident TEXT PRIMARY KEY,  -- the record's kind and key as its reader gave them (kg.ingest.digests.identity)
  iri TEXT NOT NULL, kind TEXT NOT NULL,  -- what the mapping made of it: its IRI, dataset/agent/...
  digest BLOB NOT NULL,  -- kg.ingest.digests.record_digest at its last change
  first_seen TEXT NOT NULL,
  added TEXT NOT NULL, added_run TEXT NOT NULL,  -- first seen, or seen again after a removal
  changed TEXT NOT NULL, changed_run TEXT NOT NULL,  -- its triples last changed (or it was added)
  version TEXT NOT NULL,  -- the prov:Entity of its current triples, in the provenance graph
  removed TEXT, removed_run TEXT,  -- NULL while the source has it
  what TEXT NOT NULL DEFAULT '{}',  -- predicates added, removed, changed at the last change (JSON)
  published INTEGER NOT NULL,  -- 1: in the catalogue at its last run; 0: quarantined
  record TEXT NOT NULL DEFAULT '',  -- the last segment of our catalogue record's IRI (kg.iris.record_key)
  parts TEXT NOT NULL DEFAULT '{}'  -- an RDF source's record: a hash of its lines per predicate (JSON)
);
CREATE INDEX by_latest ON records (coalesce(removed, changed));
CREATE INDEX by_changed ON records (changed);
CREATE INDEX by_iri ON records (iri);
CREATE INDEX by_record ON records (record);
"""
# layout 1 -> 2 (kg.ingest.history)
NEW_COLUMNS = ("record TEXT NOT NULL DEFAULT ''", "parts TEXT NOT NULL DEFAULT '{}'")
RECORD_INDEX = "CREATE INDEX by_record ON records (record)"


def stamp(moment: datetime) -> str:
    """A time as the history writes it (UTC, microseconds, ``Z``): text order is time order."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def history_name(source: str) -> str:
    return f"{source}{SUFFIX}"


@dataclass(frozen=True)
class Change:
    """One record in the change feed: its last change since the time asked (added, changed, removed)."""

    iri: str
    source: str
    kind: str  # added, changed or removed
    time: str
    run: str  # the prov:Activity (harvest or ingest run) that made the change
    record_kind: str  # dataset, service, agent, catalog, ...
    version: str  # the prov:Entity of its triples as the change left them (or as they were, removed)
    published: bool  # in the catalogue (else quarantined: its page says why), or was, if removed

    def as_json(self) -> dict:
        return {
            "iri": self.iri,
            "source": self.source,
            "change": self.kind,
            "time": self.time,
            "run": self.run,
            "kind": self.record_kind,
            "version": self.version,
            "published": self.published,
        }


def history_files(folder: Path | None) -> dict[str, Path]:
    """The history file of each source in a generation's folder, by source name."""
    files = folder / FOLDER if folder is not None else None
    if files is None or not files.is_dir():
        return {}
    return {p.name[: -len(SUFFIX)]: p for p in sorted(files.glob(f"*{SUFFIX}"))}


def _open(path: Path, layouts: tuple[str, ...]) -> sqlite3.Connection | None:
    """A published history file of one of ``layouts``, read-only and immutable (a generation's
    files never change)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        if dict(db.execute("SELECT name, value FROM meta")).get("layout") not in layouts:
            db.close()
            return None
        return db
    except sqlite3.Error:
        return None


def _each(
    folder: Path | None, source: str | None = None, layouts: tuple[str, ...] = READABLE
) -> Iterator[tuple[str, sqlite3.Connection]]:
    for name, path in history_files(folder).items():
        if source is not None and name != source:
            continue
        db = _open(path, layouts)
        if db is None:
            continue
        try:
            yield name, db
        finally:
            db.close()


def changes_between(folder: Path | None, since: str, until: str, source: str | None = None) -> list[Change]:
    """Every record whose latest change (added, changed or removed) is in ``[since, until)``, oldest
    first: each record once, in the window of its latest change, so that a harvester that asks
    since its last visit gets each record it must look at once, as it stands now.

    Its kind: removed if that change was its removal, else added if it appeared (first, or again
    after a removal) at ``since`` or later, else changed. The steps between are in the provenance
    graph (:mod:`kg.ingest.history`).
    """
    found: list[Change] = []
    query = """SELECT iri, kind, added, changed, changed_run, removed, removed_run, version, published
        FROM records WHERE coalesce(removed, changed) >= ? AND coalesce(removed, changed) < ?"""
    for name, db in _each(folder, source):
        for iri, kind, added, changed, changed_run, removed, removed_run, version, published in db.execute(
            query, (since, until)
        ):
            if removed is not None:
                how, when, run = "removed", removed, removed_run
            else:
                how, when, run = "added" if added >= since else "changed", changed, changed_run
            found.append(Change(iri, name, how, when, run, kind, version, bool(published)))
    found.sort(key=lambda c: (c.time, c.iri, c.source))
    return found


def newest(folder: Path | None) -> str | None:
    """The newest time any history holds: where a harvester's next ``since`` can start."""
    times = []
    for _, db in _each(folder):
        times += [t for t in db.execute("SELECT max(changed), max(removed) FROM records").fetchone() if t]
    return max(times, default=None)


def changed_since(folder: Path | None, since: str) -> set[str]:
    """The IRIs of the records the sources have now that were added or changed at ``since`` or later."""
    found: set[str] = set()
    for _, db in _each(folder):
        query = "SELECT iri FROM records WHERE changed >= ? AND removed IS NULL"
        found.update(iri for (iri,) in db.execute(query, (since,)))
    return found


def record_times(folder: Path | None, iris: list[str]) -> dict[str, tuple[str, str]]:
    """(first seen, last changed) of those of ``iris`` that a source has now: what the catalogue's
    records say of our copy of each (:func:`kg.catalog.record_lines`)."""
    found: dict[str, tuple[str, str]] = {}
    for _, db in _each(folder):
        for start in range(0, len(iris), 500):
            part = iris[start : start + 500]
            marks = ",".join("?" * len(part))
            query = f"SELECT iri, first_seen, changed FROM records WHERE removed IS NULL AND iri IN ({marks})"
            for iri, first_seen, changed in db.execute(query, part):
                if iri not in found or found[iri][1] < changed:
                    found[iri] = (first_seen, changed)
    return found


_ROW = """SELECT iri, kind, first_seen, added, changed, changed_run, version, removed, removed_run, what,
    published FROM records"""


def of_record(folder: Path | None, iri: str) -> dict | None:
    """A record's history as its page shows it (None when no history holds it): its IRI and source,
    first seen, last added and changed (with the run and what changed), removed. A record that a
    source has now wins over one another source removed, then the latest change."""
    return _best(_ROW + " WHERE iri = ?", (iri,), folder, READABLE)


def of_record_key(folder: Path | None, key: str) -> dict | None:
    """The history of the dataset or data service whose catalogue record ends in ``key``
    (:func:`kg.iris.record_key`); None when none has it (a file still of layout 1 has no keys)."""
    query = _ROW + " WHERE record = ? AND kind IN ('dataset', 'service')"
    return _best(query, (key,), folder, (LAYOUT,))


def _best(query: str, args: tuple, folder: Path | None, layouts: tuple[str, ...]) -> dict | None:
    found = []
    for name, db in _each(folder, layouts=layouts):
        for row in db.execute(query, args):
            iri, kind, first_seen, added, changed, changed_run, version, removed, removed_run, what, pub = row
            found.append({
                "iri": iri,
                "source": name,
                "kind": kind,
                "first_seen": first_seen,
                "added": added,
                "last_changed": changed,
                "changed_by": changed_run,
                "version": version,
                "removed": removed,
                "removed_by": removed_run,
                "what_changed": json.loads(what),
                "published": bool(pub),
            })  # fmt: skip
    found.sort(key=lambda h: (h["removed"] is None, h["removed"] or h["last_changed"]), reverse=True)
    return found[0] if found else None


def parse_time(text: str, now: datetime) -> str:
    """A time a client gave (ISO 8601: a date, or a date and time with or without an offset; without
    one it is UTC), as the history writes times.

    :raises ValueError: not such a time, or later than ``now`` (a change feed has no future).
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not an ISO 8601 date or date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise ValueError(f"{text[:40]!r} is in the future (it is {stamp(now)} here)")
    return stamp(moment)
