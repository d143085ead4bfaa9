"""A records file of :mod:`kg.ingest.memo` read by those who use what it keeps after the run: the
delta write (:mod:`kg.ingest.delta`) and the records' history (:mod:`kg.ingest.history`).

Why apart from the memo: the memo writes the file during a run; these read a finished one (a
generation's, or the run's own) for other purposes.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from kg.ingest.memo import Result


def results_of(path: Path, idents: Iterable[str]) -> Iterator[tuple[str, Result]]:
    """The results a records file (a generation's, or this run's :attr:`Memo.target`) keeps for
    these records, in the file's order: what :mod:`kg.ingest.delta` takes out of a graph and adds."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        wanted = json.dumps(sorted(idents))
        query = "SELECT ident, result FROM records WHERE ident IN (SELECT value FROM json_each(?))"
        for ident, blob in db.execute(query, (wanted,)):
            yield ident, pickle.loads(zlib.decompress(blob))
    finally:
        db.close()


def kept_records(path: Path) -> dict[str, tuple[str, bytes, str, int]]:
    """Every record a records file keeps: identity -> its IRI, digest, kind, whether published."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT ident, key, digest, kind, publishable FROM records")
        return {ident: (key, digest, kind, publishable) for ident, key, digest, kind, publishable in rows}
    finally:
        db.close()


def records_signature(path: Path) -> str:
    """The signature a records file was finished with ("" if it has none, or cannot be read)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = db.execute("SELECT value FROM meta WHERE name = 'signature'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return ""
    return found[0] if found else ""
