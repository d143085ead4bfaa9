"""The triples of a parsed RDF file, kept by subject in a temporary SQLite database.

Why not in Python: rdflib holds ~1.6 KB per triple (a 100,000-dataset Turtle file,
4.6 M triples, would need ~7 GB), and even bare strings for every term would be
several hundred MB. Here the triples live in a private temporary database
(SQLite's ``""`` file name: on disk, deleted when the connection closes, with a
small page cache), and a record leaves it as rows (:class:`TableRows`), which
become rdflib terms only where they are used: in the ingest's worker processes.

A row is ``(s, p, k, o, x, r)``: the subject's key (the IRI, or ``_:`` and the
blank node's id, as record keys are written), the predicate's number in
:attr:`TripleTable.names`, the object's kind (:data:`IRI`, :data:`BLANK`,
:data:`LITERAL`), the object's key or lexical form, for a literal the number of
its datatype IRI or ``@`` and its language tag, and the record (``r``) that owns
the subject, once :meth:`TripleTable.claim` has given it one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

IRI, BLANK, LITERAL = 0, 1, 2
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
Row = tuple[str, int, int, str, Any]  # s, p, k, o, x
Triple = tuple[Any, Any, Any]
_CHUNK = 500  # keys per "IN (...)" query: well under SQLite's 32,766 variables
_SCHEMA = (
    "CREATE TABLE t (s TEXT NOT NULL, p INTEGER NOT NULL, k INTEGER NOT NULL, o TEXT NOT NULL,"
    " x INTEGER, r INTEGER)"
)


class TripleTable:
    """Triples by subject on disk; which record owns which subject; records' rows on the way out."""

    def __init__(self) -> None:
        # private, temporary, on disk (removed when closed); used by one generator at a time, which
        # may be resumed on another thread than the one that parsed the file
        self.db = sqlite3.connect("", check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(_SCHEMA)
        self.names: dict[str, int] = {}  # predicate and datatype IRIs, "@" + language tags
        self._names: tuple[str, ...] = ()  # names by number
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
        self._names = tuple(self.names)

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

    def claim_alone(self, root: str, record: int) -> list[Row] | None:
        """Give a record's root subject to it if no blank node is an object of its triples: then
        they are all it reaches, and no other record can claim them (a root is nobody's part), so
        the claim is final in any order. Its rows, or None (nothing claimed)."""
        if self.db.execute(f"SELECT 1 FROM t WHERE s = ? AND k = {BLANK} LIMIT 1", (root,)).fetchone():
            return None
        query = "UPDATE t SET r = ? WHERE s = ? AND r IS NULL RETURNING s, p, k, o, x"
        return self.db.execute(query, (record, root)).fetchall()

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

    # --- records' rows

    def rows(self, own: list[Row], context: list[Row]) -> TableRows:
        """A record's rows (its triples and its context), as they leave the table."""
        return TableRows(self._names, own, context)


@dataclass(frozen=True)
class TableRows:
    """A record's triples and context as table rows, with the names their numbers stand for.

    Why not rdflib terms: making them cost the reading process ~45 s for 100,000 datasets, and
    pickling them to a worker cost both sides again (unpickling a URIRef checks the IRI anew, a
    Literal parses its value anew). Rows are strings and numbers; the worker makes the terms
    (:meth:`terms`, with a cache of its own). ``names`` is the table's one tuple: pickled once
    per batch, not once per record.
    """

    names: tuple[str, ...]
    own: list[Row]
    context: list[Row]

    def terms(self) -> tuple[list[Triple], list[Triple]]:
        """The record's triples and context as rdflib triples (:func:`triples`)."""
        return triples(self.own, self.names), triples(self.context, self.names)


def triples(rows: Iterable[Row], names: Sequence[str]) -> list[Triple]:
    """The rows as distinct rdflib triples (lexical forms rdflib normalises alike are one), in
    a stable order: subject, predicate, then the object as text."""
    node, literal, name = _TERMS.node, _TERMS.literal, _TERMS.name
    keyed: dict[tuple[str, str, str], Triple] = {}  # equal texts, equal terms: one triple
    for s, p, k, o, x in rows:
        if k == LITERAL:
            obj = literal(o, names[x])
            text = f'"{obj}"@{obj.language or ""}^^{obj.datatype or ""}'
        else:
            obj, text = node(o), o
        keyed[(s, names[p], text)] = (node(s), name(names[p]), obj)
    return [keyed[key] for key in sorted(keyed)]


class _TermCache:
    """rdflib terms by their text, up to ``size`` of each kind: making a URIRef checks the IRI and a
    typed Literal parses its value, and the same terms come back (a publisher, a theme, a date).
    One per process (a worker keeps its own from batch to batch)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.nodes: dict[str, Any] = {}
        self.literals: dict[tuple[str, str], Literal] = {}
        self.names: dict[str, URIRef] = {}  # predicates and datatypes: few, never dropped

    def node(self, key: str) -> Any:
        term = self.nodes.get(key)
        if term is None:
            if len(self.nodes) >= self.size:
                self.nodes.clear()
            term = self.nodes[key] = BNode(key[2:]) if key.startswith("_:") else URIRef(key)
        return term

    def name(self, iri: str) -> URIRef:
        term = self.names.get(iri)
        if term is None:
            term = self.names[iri] = URIRef(iri)
        return term

    def literal(self, lexical: str, kind: str) -> Literal:
        """``kind``: the datatype IRI, or ``@`` and the language tag."""
        term = self.literals.get((lexical, kind))
        if term is None:
            if len(self.literals) >= self.size:
                self.literals.clear()
            term = self.literals[(lexical, kind)] = self._literal(lexical, kind)
        return term

    def _literal(self, lexical: str, kind: str) -> Literal:
        """A literal as rdflib's own parsers make it: a language tag, else the datatype but for
        xsd:string, which is a plain literal (pyoxigraph does not tell ``"a"`` from ``"a"^^xsd:string``)."""
        if kind.startswith("@"):
            return Literal(lexical, lang=kind[1:])
        return Literal(lexical) if kind == XSD_STRING else Literal(lexical, datatype=self.name(kind))


_TERMS = _TermCache()


class QuotedTriple(ValueError):
    """An RDF-star triple term: not something a record (rdflib triples) can hold."""


def _quoted(term: Any) -> str:
    raise QuotedTriple(f"RDF-star quoted triples are not read: {term}")


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]
