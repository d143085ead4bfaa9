"""The search index's file: its name, its tables, and the facet bitsets both its sides use.

Built by :mod:`kg.search.build`, read by :mod:`kg.search.query`; see :mod:`kg.search`.
"""

from __future__ import annotations

from collections.abc import Iterable

INDEX_FILE = "search.sqlite"
SCHEMA_VERSION = "2"  # 2: postings and lengths (kg.search.postings)
FACETS = ("theme", "publisher", "format", "licence", "keyword", "language")

SCHEMA = """
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
  tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE postings(token TEXT PRIMARY KEY, docs BLOB NOT NULL, weights BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE lengths(id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL, tokens INTEGER NOT NULL,
  lengths BLOB NOT NULL);
"""


def bitset(ids: Iterable[int], top: int) -> int:
    """The set of dataset ids ``ids`` (each at most ``top``) as the bits of one integer."""
    buffer = bytearray((top >> 3) + 1)
    for i in ids:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")
