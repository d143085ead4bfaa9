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

import pyoxigraph as ox
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
        self._names: list[str] = []  # names by number
        self._terms: list[Any] = []  # names as rdflib terms (language tags as str), by number
        self._cache = _TermCache()
        self.count = 0

    def close(self) -> None:
        self.db.close()

    def name(self, value: str) -> int | None:
        """The number of a predicate or datatype IRI, or None if no triple uses it."""
        return self.names.get(value)

    def load(self, quads: Iterable[ox.Quad], *, default_graph_only: bool = False) -> None:
        """Add the triples of these quads, of every graph (or of the default graph only).

        :raises QuotedTriple: for an RDF-star triple term, which records cannot hold.
        """
        rows = self._rows(quads, default_graph_only)
        self.db.executemany("INSERT INTO t (s, p, k, o, x) VALUES (?, ?, ?, ?, ?)", rows)
        self.db.execute("CREATE INDEX t_s ON t (s)")
        self.count = self.db.execute("SELECT count(*) FROM t").fetchone()[0]
        self._names = list(self.names)
        self._terms = [value if value.startswith("@") else URIRef(value) for value in self.names]

    def _rows(self, quads: Iterable[ox.Quad], default_graph_only: bool) -> Iterator[Row]:
        """One row per quad (one loop, inlined: it runs 4.6 M times for 100,000 datasets)."""
        names, default = self.names, ox.DefaultGraph
        named, blank, literal = ox.NamedNode, ox.BlankNode, ox.Literal
        for quad in quads:
            if default_graph_only and type(quad.graph_name) is not default:
                continue
            s, o = quad.subject, quad.object
            kind = type(s)
            s = s.value if kind is named else "_:" + s.value if kind is blank else _quoted(s)
            p = names.get(quad.predicate.value)
            if p is None:
                p = names[quad.predicate.value] = len(names)
            kind = type(o)
            if kind is literal:
                tag = o.language
                x = "@" + tag if tag else o.datatype.value
                number = names.get(x)
                if number is None:
                    number = names[x] = len(names)
                yield s, p, LITERAL, o.value, number
            elif kind is named:
                yield s, p, IRI, o.value, None
            elif kind is blank:
                yield s, p, BLANK, "_:" + o.value, None
            else:
                _quoted(o)

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

    def claim(self, nodes: Iterable[str], record: int) -> list[tuple[str, int, int, str]]:
        """Give the subjects among ``nodes`` that no record owns yet to ``record``: their ``(s, p, k, o)``."""
        rows: list[tuple[str, int, int, str]] = []
        for chunk in _chunks(sorted(set(nodes))):
            marks = ",".join("?" * len(chunk))
            query = f"UPDATE t SET r = ? WHERE s IN ({marks}) AND r IS NULL RETURNING s, p, k, o"
            rows.extend(self.db.execute(query, (record, *chunk)))
        return rows

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
        """The rows as distinct rdflib triples (lexical forms rdflib normalises alike are one), in
        a stable order: subject, predicate, then the object as text."""
        names, terms, node, literal = self._names, self._terms, self._cache.node, self._cache.literal
        keyed: dict[tuple[str, str, str], Triple] = {}  # equal texts, equal terms: one triple
        for s, p, k, o, x in rows:
            if k == LITERAL:
                obj = literal(o, terms[x])
                text = f'"{obj}"@{obj.language or ""}^^{obj.datatype or ""}'
            else:
                obj, text = node(o), o
            keyed[(s, names[p], text)] = (node(s), terms[p], obj)
        return [keyed[key] for key in sorted(keyed)]


class _TermCache:
    """rdflib terms by their text, up to ``size`` of each kind: making a URIRef checks the IRI and a
    typed Literal parses its value, and the same terms come back (a publisher, a theme, a date)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.nodes: dict[str, Any] = {}
        self.literals: dict[tuple[str, Any], Literal] = {}

    def node(self, key: str) -> Any:
        term = self.nodes.get(key)
        if term is None:
            if len(self.nodes) >= self.size:
                self.nodes.clear()
            term = self.nodes[key] = BNode(key[2:]) if key.startswith("_:") else URIRef(key)
        return term

    def literal(self, lexical: str, kind: Any) -> Literal:
        term = self.literals.get((lexical, kind))
        if term is None:
            if len(self.literals) >= self.size:
                self.literals.clear()
            term = self.literals[(lexical, kind)] = _literal(lexical, kind)
        return term


def _literal(lexical: str, kind: Any) -> Literal:
    """A literal as rdflib's own parsers make it: a language tag, else the datatype but for
    xsd:string, which is a plain literal (pyoxigraph does not tell ``"a"`` from ``"a"^^xsd:string``)."""
    if isinstance(kind, URIRef):
        return Literal(lexical) if kind == XSD_STRING else Literal(lexical, datatype=kind)
    return Literal(lexical, lang=kind[1:])


class QuotedTriple(ValueError):
    """An RDF-star triple term: not something a record (rdflib triples) can hold."""


def _quoted(term: Any) -> str:
    raise QuotedTriple(f"RDF-star quoted triples are not read: {term}")


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]
