"""What the harvester keeps between two harvests of a source: ``KG_STORE/harvest.json``.

Why beside the store, in its folder: the state describes what the store holds (the ETag,
Last-Modified and SHA-256 of the document whose records the store has now, the ingest run that
published them), so it belongs to that store and to no other; the folder is there for an embedded
and a remote store alike (:mod:`kg.settings`: ``KG_STORE``), and a generation's folder would be
the wrong place (an unchanged harvest makes no generation, but its attempt is news). Why not in
the store's provenance graph: a 304 would then cost a new generation. The run IRI ties the two:
a harvest trusts the validators only while the source's current run is the one they came with
(a ``kg ingest``, ``kg remove`` or ``kg restore`` in between makes them stale).

One small JSON file, written whole to a temporary file and renamed over the old one (so a reader,
``kg sources`` or ``/quality``, sees the old state or the new one), under a lock of its own: two
harvests may finish at once. It holds no header and no credential. The per-record hashes (change
detection by record, :mod:`kg.ingest.memo`) are not here but in the store generation whose graphs
they describe, so that a harvest killed half-way leaves both as they were; this file only keeps the
last attempt's counts of them. ``version`` says which layout a file has.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from kg.errors import StoreError
from kg.store.lock import write_lock

STATE_FILE = "harvest.json"
LOCK_FILE = "harvest.lock"
VERSION = 1
OUTCOMES = ("published", "unchanged", "failed")


@dataclass
class SourceState:
    """One source's harvest: the last attempt, and what the last successful one found."""

    name: str
    url: str = ""
    attempted: str = ""  # ISO 8601, UTC: the last attempt's start
    outcome: str = ""  # one of OUTCOMES
    reason: str = ""  # why it failed, or how it was found unchanged
    next_run: str = ""  # ISO 8601, UTC, from the schedule (sooner after busy_wait); "" without one
    busy_wait: float = 0.0  # --loop found the store busy: seconds it waits before next_run; else 0
    published_at: str = ""  # the last harvest that published
    run: str = ""  # that harvest's ingest run (kg.ingest's provenance IRI)
    counts: dict[str, int] = field(default_factory=dict)  # read, published, quarantined of that run
    etag: str = ""  # validators of the document that run read
    last_modified: str = ""
    sha256: str = ""  # of that document (a folder: of its files)
    changes: dict[str, int] = field(default_factory=dict)  # the last attempt's records: added, changed,
    # removed, unchanged against what the store held (empty: not known, e.g. it failed)


def state_file(folder: str | Path) -> Path:
    return Path(folder) / STATE_FILE


def load_states(folder: str | Path) -> dict[str, SourceState]:
    """Every source's state; none when no harvest ran here.

    :raises StoreError: the file is there but cannot be read as a harvest state.
    """
    path = state_file(folder)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{path}: the harvest state cannot be read ({exc}); move it away to start again"
        ) from exc
    if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("sources"), dict):
        raise StoreError(f"{path}: not a harvest state of version {VERSION}; move it away to start afresh")
    known = {f.name for f in fields(SourceState)}
    states = {}
    for name, entry in doc["sources"].items():
        if isinstance(entry, dict):
            states[name] = SourceState(**{k: v for k, v in entry.items() if k in known})
    return states


def save_state(folder: str | Path, state: SourceState) -> None:
    """Put one source's state into the file (the others as they are), atomically.

    :raises StoreError: the file cannot be written (its folder read-only, the disk full).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with write_lock(folder / LOCK_FILE, wait=30.0):
            states = load_states(folder)
            states[state.name] = state
            doc = {"version": VERSION, "sources": {n: asdict(s) for n, s in sorted(states.items())}}
            _write_atomically(state_file(folder), json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise StoreError(f"cannot write the harvest state in {folder}: {exc}") from exc


def _write_atomically(path: Path, text: str) -> None:
    handle, tmp = tempfile.mkstemp(prefix=".harvest-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
