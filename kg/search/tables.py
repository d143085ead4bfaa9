"""The search index's file: its name, its tables, and the facet bitsets both its sides use.

Built by :mod:`kg.search.build`, read by :mod:`kg.search.query`; see :mod:`kg.search`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np

INDEX_FILE = "search.sqlite"
SCHEMA_VERSION = "2"  # 2: postings and lengths (kg.search.postings)
FACETS = ("theme", "publisher", "format", "licence", "keyword", "language")
# the orders a search's hits are listed in: name -> ORDER BY of ``datasets``
ORDERS = {"modified": "modified DESC, sort_title, id", "title": "sort_title, id"}

TOKENIZE = (
    "unicode61 remove_diacritics 2"  # the text index's tokenizer (kg.search.postings makes its tokens too)
)
SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE datasets(id INTEGER PRIMARY KEY AUTOINCREMENT, iri TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
  description TEXT NOT NULL, modified TEXT NOT NULL, sort_title TEXT NOT NULL);
CREATE INDEX datasets_modified ON datasets(modified DESC, sort_title, id);
CREATE INDEX datasets_title ON datasets(sort_title, id);
CREATE TABLE sources(graph TEXT NOT NULL, dataset INTEGER NOT NULL,
  PRIMARY KEY(graph, dataset)) WITHOUT ROWID;
CREATE INDEX sources_dataset ON sources(dataset);
CREATE TABLE terms(id INTEGER PRIMARY KEY AUTOINCREMENT, facet TEXT NOT NULL, value TEXT NOT NULL,
  label TEXT NOT NULL, iri INTEGER NOT NULL, count INTEGER NOT NULL DEFAULT 0, bits BLOB,
  UNIQUE(facet, value));
CREATE TABLE facets(term INTEGER NOT NULL, dataset INTEGER NOT NULL,
  PRIMARY KEY(term, dataset)) WITHOUT ROWID;
CREATE INDEX facets_dataset ON facets(dataset, term);
CREATE VIRTUAL TABLE text USING fts5(title, keywords, description, tags,
  tokenize = '{TOKENIZE}');
CREATE TABLE postings(token TEXT PRIMARY KEY, docs BLOB NOT NULL, weights BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE lengths(id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL, tokens INTEGER NOT NULL,
  lengths BLOB NOT NULL);
"""


def bitset(ids: Iterable[int] | np.ndarray, top: int) -> int:
    """The set of dataset ids ``ids`` (each at most ``top``) as the bits of one integer; an array of
    ids (every dataset's, 1,000,000 at most) is set by numpy, an iterable one id at a time."""
    if isinstance(ids, np.ndarray):
        every = np.zeros(((top >> 3) + 1) << 3, dtype=bool)
        every[ids] = True
        return int.from_bytes(np.packbits(every, bitorder="little").tobytes(), "little")
    buffer = bytearray((top >> 3) + 1)
    for i in ids:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


def write_orders(db: sqlite3.Connection) -> None:
    """Every dataset id in each of :data:`ORDERS`, one row ``orders(sort, ids)`` each (4 bytes an
    id), made with each generation's index.

    Why: a worker's first search read them from ``datasets`` itself, a pass over a table of every
    dataset (at 1,000,000 datasets 2 s of CPU, and 13 s on a cold page cache, in the first request
    of a page after a start or a new generation); a row read by key is 4 MB there."""
    db.execute("CREATE TABLE IF NOT EXISTS orders(sort TEXT PRIMARY KEY, ids BLOB NOT NULL)")
    db.execute("DELETE FROM orders")
    for sort in ORDERS:
        db.execute("INSERT INTO orders VALUES (?, ?)", (sort, sorted_ids(db, sort).astype("<u4").tobytes()))


def read_orders(db: sqlite3.Connection) -> dict[str, np.ndarray]:
    """The dataset ids in each of :data:`ORDERS` (:func:`write_orders`), or, in an index written
    before it (until the next write), worked out from ``datasets``."""
    try:
        found = dict(db.execute("SELECT sort, ids FROM orders").fetchall())
    except sqlite3.OperationalError:
        found = {}
    return {
        sort: np.frombuffer(found[sort], dtype="<u4").astype(np.int64)
        if sort in found
        else sorted_ids(db, sort)
        for sort in ORDERS
    }


def sorted_ids(db: sqlite3.Connection, sort: str) -> np.ndarray:
    rows = db.execute(f"SELECT id FROM datasets ORDER BY {ORDERS[sort]}")
    return np.fromiter((i for (i,) in rows), dtype=np.int64)
