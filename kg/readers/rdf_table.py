"""The triples of a parsed RDF file, kept by subject in a temporary SQLite database.

Why not in Python: rdflib holds ~1.6 KB per triple (a 100,000-dataset Turtle file,
4.6 M triples, would need ~7 GB), and even bare strings for every term would be
several hundred MB. Here the triples live in a private temporary database
(SQLite's ``""`` file name: on disk, deleted when the connection closes, with a
small page cache), and only the records being yielded become rdflib terms.

A row is ``(s, p, k, o, x, r)``: the subject's key (the IRI, or ``_:`` and the
blank node's id, as record keys are written), the predicate's number in
:attr:`TripleTable.names`, the object's kind (:data:`IRI`, :data:`BLANK`,
:data:`LITERAL`), the object's key or lexical form, for a literal the number of
its datatype IRI or ``@`` and its language tag, and the record (``r``) that owns
the subject, once :meth:`TripleTable.claim` has given it one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from rdflib import BNode, Literal, URIRef

IRI, BLANK, LITERAL = 0, 1, 2
XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")
Row = tuple[str, int, int, str, Any]  # s, p, k, o, x
Triple = tuple[Any, Any, Any]
_CHUNK = 500  # keys per "IN (...)" query: well under SQLite's 32,766 variables
_SCHEMA = (
    "CREATE TABLE t (s TEXT NOT NULL, p INTEGER NOT NULL, k INTEGER NOT NULL, o TEXT NOT NULL,"
    " x INTEGER, r INTEGER)"
)


class TripleTable:
    """Triples by subject on disk; which record owns which subject; rdflib terms on the way out."""

    def __init__(self) -> None:
        # private, temporary, on disk (removed when closed); used by one generator at a time, which
        # may be resumed on another thread than the one that parsed the file
        self.db = sqlite3.connect("", check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(_SCHEMA)
        self.names: dict[str, int] = {}  # predicate and datatype IRIs, "@" + language tags
        self._terms: list[Any] = []  # names as rdflib terms (language tags as str), by number
        self.count = 0

    def close(self) -> None:
        self.db.close()

    def name(self, value: str) -> int | None:
        """The number of a predicate or datatype IRI, or None if no triple uses it."""
        return self.names.get(value)

    def load(self, rows: Iterable[tuple[str, str, int, str, str | None]]) -> None:
        """Add ``(subject key, predicate IRI, kind, object, datatype IRI or "@" + language)`` rows."""
        names = self.names

        def numbered() -> Iterator[Row]:
            for s, p, k, o, x in rows:
                pid = names.get(p)
                if pid is None:
                    pid = names[p] = len(names)
                xid = None if x is None else names.get(x)
                if x is not None and xid is None:
                    xid = names[x] = len(names)
                yield s, pid, k, o, xid

        self.db.executemany("INSERT INTO t (s, p, k, o, x) VALUES (?, ?, ?, ?, ?)", numbered())
        self.db.execute("CREATE INDEX t_s ON t (s)")
        self.count = self.db.execute("SELECT count(*) FROM t").fetchone()[0]
        self._terms = [value if value.startswith("@") else URIRef(value) for value in names]

    # --- questions about the whole file (one pass over the table each)

    def subjects_typed(self, classes: Iterable[str]) -> Iterator[tuple[str, str]]:
        """(subject, class) for every ``rdf:type`` triple whose class is one of ``classes``."""
        type_id = self.name("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        wanted = sorted(set(classes))
        if type_id is None or not wanted:
            return iter(())
        marks = ",".join("?" * len(wanted))
        query = f"SELECT s, o FROM t WHERE p = ? AND k = {IRI} AND o IN ({marks})"
        return iter(self.db.execute(query, (type_id, *wanted)).fetchall())

    def objects_of(self, predicates: Iterable[str]) -> set[str]:
        """The IRI and blank-node objects of these predicates."""
        ids = [i for p in predicates if (i := self.name(p)) is not None]
        if not ids:
            return set()
        query = f"SELECT DISTINCT o FROM t WHERE k < {LITERAL} AND p IN ({','.join('?' * len(ids))})"
        return {o for (o,) in self.db.execute(query, ids)}

    def subjects_among(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that are the subject of a triple."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(keys))):
            query = f"SELECT DISTINCT s FROM t WHERE s IN ({','.join('?' * len(chunk))})"
            found.update(s for (s,) in self.db.execute(query, chunk))
        return found

    def referenced(self, blanks: Iterable[str]) -> set[str]:
        """Those of these blank nodes that are the object of another node's triple."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (n TEXT PRIMARY KEY) WITHOUT ROWID")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((b,) for b in blanks))
        query = f"SELECT DISTINCT o FROM t WHERE k = {BLANK} AND o != s AND o IN (SELECT n FROM wanted)"
        return {o for (o,) in self.db.execute(query)}

    # --- records

    def claim(self, node: str, record: int) -> list[tuple[int, int, str]]:
        """Give a subject not yet owned to ``record``: its ``(p, k, o)``, or [] (owned, or no triples)."""
        query = "UPDATE t SET r = ? WHERE s = ? AND r IS NULL RETURNING p, k, o"
        return self.db.execute(query, (record, node)).fetchall()

    def claimed(self) -> None:
        """Every claim is made: index the owners, for :meth:`record_rows`."""
        self.db.execute("CREATE INDEX t_r ON t (r)")

    def record_rows(self, record: int | None) -> list[Row]:
        """The rows of the subjects a record owns (``None``: of those no record owns)."""
        where = "r IS NULL" if record is None else "r = ?"
        args = () if record is None else (record,)
        return self.db.execute(f"SELECT s, p, k, o, x FROM t WHERE {where}", args).fetchall()

    def rows_of(self, subjects: Iterable[str], predicates: Iterable[str] | None = None) -> list[Row]:
        """The rows of these subjects (of these predicates only, if given)."""
        only = ""
        ids: list[int] = []
        if predicates is not None:
            ids = [i for p in predicates if (i := self.name(p)) is not None]
            if not ids:
                return []
            only = f" AND p IN ({','.join('?' * len(ids))})"
        rows: list[Row] = []
        for chunk in _chunks(sorted(set(subjects))):
            query = f"SELECT s, p, k, o, x FROM t WHERE s IN ({','.join('?' * len(chunk))}){only}"
            rows.extend(self.db.execute(query, (*chunk, *ids)))
        return rows

    # --- rdflib terms

    def triples(self, rows: Iterable[Row]) -> list[Triple]:
        """The rows as distinct rdflib triples (two lexical forms rdflib normalises alike are one)."""
        terms = self._terms
        out: dict[Triple, None] = {}
        for s, p, k, o, x in rows:
            subject = BNode(s[2:]) if s.startswith("_:") else URIRef(s)
            if k == IRI:
                obj: Any = URIRef(o)
            elif k == BLANK:
                obj = BNode(o[2:])
            else:
                obj = _literal(o, terms[x])
            out[(subject, terms[p], obj)] = None
        return list(out)


def _literal(lexical: str, kind: Any) -> Literal:
    """A literal as rdflib's own parsers make it: a language tag, else the datatype but for
    xsd:string, which is a plain literal (pyoxigraph does not tell ``"a"`` from ``"a"^^xsd:string``)."""
    if isinstance(kind, URIRef):
        return Literal(lexical) if kind == XSD_STRING else Literal(lexical, datatype=kind)
    return Literal(lexical, lang=kind[1:])


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]
