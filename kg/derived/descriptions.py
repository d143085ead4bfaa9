"""The catalogue pages' triples, kept per node as N-Triples with each generation.

A catalogue page in an RDF syntax is ~6,000 triples at 100 members a page. Asked of the store,
they cost ~120 ms a page at 100,000 datasets, nearly all of it Oxigraph decoding terms (a COUNT
of the same triples takes ~3 ms), so they are read here once per generation instead, while the
write builds it, and a page joins text (:func:`kg.catalog.page_lines`).

Tables:

* ``node_graphs(id, graph)``: the source graphs (those :func:`kg.catalog.source_graphs` names);
* ``nodes(iri, graph, catalog, ntriples)``: per subject of a source graph (an IRI, or
  ``_:label`` for a blank node, with the store's label), its triples there as N-Triples, the
  integers DCAT-AP types given their datatype back (:func:`kg.catalog.declared_datatype`), and
  the IRIs and blank nodes they lead to (:func:`_row_text`), zlib-compressed with a dictionary of
  the DCAT-AP terms (:data:`ZDICT`); ``catalog``: whether it is typed ``dcat:Catalog`` there;
* the ``derived`` value ``catalog_ntriples``: the catalogue's own graph, read on every write.

Kept up to date per graph: a write copies the rows of the graphs it did not touch from the
previous generation's file and reads each changed graph once (:meth:`Generation.graph_ntriples`).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence

from kg.catalog import Node, declared_datatype, objects
from kg.derived.catalog import concept_ntriples, members_among
from kg.derived.tables import Build
from kg.vocab import ADMS, DCAT, DCT, EU_AUTHORITY, FOAF, RDF, VCARD, XSD

TABLES = ("node_graphs", "nodes")
SCHEMA = """
CREATE TABLE node_graphs(id INTEGER PRIMARY KEY, graph TEXT NOT NULL UNIQUE);
CREATE TABLE nodes(iri TEXT NOT NULL, graph INTEGER NOT NULL, catalog INTEGER NOT NULL,
  ntriples BLOB NOT NULL, PRIMARY KEY(iri, graph)) WITHOUT ROWID;
"""
BATCH = 2000  # rows inserted per executemany
CHUNK = 500  # keys per IN list when reading
_CATALOG_TYPE = f" <{RDF.type}> <{DCAT.Catalog}> .\n"
# What a node's N-Triples repeat most, for zlib to refer to: measured on the generated catalogue
# (100,000 datasets), a node's row of ~1,400 bytes is ~350 compressed alone, ~230 with these.
ZDICT = " .\n".join(
    f"<{term}>"
    for term in (
        FOAF.Document, RDF.type, DCAT.Dataset, DCAT.Distribution, DCAT.DataService, DCAT.contactPoint,
        DCAT.theme, DCAT.keyword, DCAT.landingPage, DCAT.accessURL, DCAT.downloadURL, DCAT.mediaType,
        DCAT.byteSize, DCAT.distribution, DCAT.startDate, DCAT.endDate, DCT.accessRights, DCT.spatial,
        DCT.temporal, DCT.language, DCT.format, DCT.license, DCT.publisher, DCT.creator, DCT.title,
        DCT.description, DCT.identifier, DCT.issued, DCT.modified, DCT.accrualPeriodicity,
        DCT.PeriodOfTime, DCT.Location, ADMS.identifier, VCARD.Kind, VCARD.fn, VCARD.hasEmail,
        XSD.date, XSD.dateTime, f"{XSD}nonNegativeInteger", f"{EU_AUTHORITY}access-right/PUBLIC",
        f"{EU_AUTHORITY}language/ENG", f"{EU_AUTHORITY}file-type/", f"{EU_AUTHORITY}licence/",
        f"{EU_AUTHORITY}data-theme/", f"{EU_AUTHORITY}frequency/",
    )
).encode()  # fmt: skip


def build(b: Build) -> None:
    """The ``nodes`` of every source graph: copied for those the write did not touch, else read."""
    graphs = [g for g in b.generation.data_graphs() if b.layout.holds_members(g)]
    b.db.create_function("merged", 2, _merged, deterministic=True)
    kept = [g for g in graphs if not _must_read(b, g)]
    if b.incremental and kept:
        marks = ",".join("?" * len(kept))
        b.db.execute(f"INSERT INTO node_graphs SELECT * FROM old.node_graphs WHERE graph IN ({marks})", kept)
        b.db.execute("INSERT INTO nodes SELECT n.* FROM old.nodes n JOIN node_graphs g ON g.id = n.graph")
    ours = b.layout.catalog_graph
    b.put("catalog_ntriples", "".join(b.generation.graph_ntriples(ours)) if ours in graphs else "")
    for graph in graphs:
        if _must_read(b, graph):
            (number,) = b.db.execute("SELECT coalesce(max(id), 0) + 1 FROM node_graphs").fetchone()
            b.db.execute("INSERT INTO node_graphs VALUES (?, ?)", (number, graph))
            _read_graph(b, graph, number)


def _must_read(b: Build, graph: str) -> bool:
    """Whether ``graph``'s rows are read anew: it changed, or its blank nodes have other labels."""
    return b.changed(graph) or graph in b.generation.renamed


def _read_graph(b: Build, graph: str, number: int) -> None:
    store_lines(b.db, b.generation.graph_ntriples(graph), number)


def store_lines(db: sqlite3.Connection, lines: Iterable[str], number: int) -> None:
    """One row per subject of the N-Triples ``lines`` of graph ``number``; a subject met again later
    (the store keeps a subject's triples together, a remote one need not) is merged into its row
    (by the SQL function ``merged``, which :func:`build` declares)."""
    insert = (
        "INSERT INTO nodes VALUES (?, ?, ?, ?) ON CONFLICT(iri, graph) DO UPDATE SET "
        "catalog = max(catalog, excluded.catalog), ntriples = merged(ntriples, excluded.ntriples)"
    )
    rows: list[tuple] = []
    for subject, run in _by_subject(lines):
        key = subject[1:-1] if subject.startswith("<") else subject
        catalog = any(line.endswith(_CATALOG_TYPE) for line in run)
        rows.append((key, number, int(catalog), _compress(_row_text([declared_datatype(x) for x in run]))))
        if len(rows) >= BATCH:
            db.executemany(insert, rows)
            rows = []
    db.executemany(insert, rows)


def _by_subject(lines: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """N-Triples lines in runs of one subject (an IRI or a blank node: no space in either)."""
    subject, run = "", []
    for line in lines:
        this = line[: line.index(" ")]
        if this != subject and run:
            yield subject, run
            run = []
        subject = this
        run.append(line)
    if run:
        yield subject, run


def _compress(text: str) -> bytes:
    packer = zlib.compressobj(6, zdict=ZDICT)
    return packer.compress(text.encode("utf-8")) + packer.flush()


def _decompress(data: bytes) -> str:
    return zlib.decompressobj(zdict=ZDICT).decompress(data).decode("utf-8")


def _merged(old: bytes, new: bytes) -> bytes:
    """Two rows of one subject as one: their triples, and what those lead to, worked out again."""
    text = _decompress(old).split("\x00")[0] + _decompress(new).split("\x00")[0]
    return _compress(_row_text(text.splitlines(keepends=True)))


def _row_text(lines: list[str]) -> str:
    """A row's text: the triples, then what they lead to (:func:`kg.catalog.objects`), each list
    after a NUL (which N-Triples escapes, so no triple holds one)."""
    return "\x00".join(("".join(lines), *map("\n".join, objects(lines))))


# ---------------------------------------------------------------- reading


class DerivedPageData:
    """:class:`kg.catalog.PageData` read from a generation's derived tables (bounded reads: rows by key)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def catalog_ntriples(self) -> str:
        row = self.db.execute("SELECT value FROM derived WHERE key = 'catalog_ntriples'").fetchone()
        return json.loads(row[0]) if row else ""

    def nodes(self, keys: list[str], *, catalogs: bool) -> list[Node]:
        text = "ntriples" if catalogs else "CASE WHEN catalog THEN NULL ELSE ntriples END"
        found = []
        for part in _chunks(keys):
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT iri, catalog, {text} FROM nodes WHERE iri IN ({marks})", part)
            found += [_node(key, flag, data) for key, flag, data in rows]
        return found

    def members(self, iris: list[str]) -> set[str]:
        return members_among(self.db, iris)

    def concepts(self, used: list[str]) -> str:
        return concept_ntriples(self.db, used)


def _node(key: str, catalog: int, data: bytes | None) -> Node:
    if not data:
        return Node(key, bool(catalog), "")
    text, *links = _decompress(data).split("\x00")
    followed, named, blanks = (tuple(part.split("\n")) if part else () for part in links)
    return Node(key, bool(catalog), text, followed, named, blanks)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
