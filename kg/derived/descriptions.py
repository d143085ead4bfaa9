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
previous generation's file. An ingest's source graph is not read back: its workers make each
record's rows from the N-Triples they write (:func:`record_rows`, the store's own text of them by
:meth:`Generation.stored_ntriples`), the ingest gathers them in a scratch file
(:class:`RowWriter`) and the build takes them as they are, merging only the subjects that several
records describe (the catalogue's links) and leaving out the links the ingest held back
(:class:`Descriptions`). That needs the store to name the graph's blank nodes as the file does
(:attr:`Generation.labelled`); any other changed graph is read once (:meth:`Generation.graph_ntriples`).
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.catalog import Node, declared_datatype, objects
from kg.derived.catalog import members_among
from kg.derived.tables import Build
from kg.store.generation import Generation
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


Row = tuple[str, int, bytes]  # a subject's key, whether typed dcat:Catalog, its compressed row text


@dataclass(frozen=True)
class Descriptions:
    """The rows of the subjects of ``graph`` as the ingest's workers made them (:func:`record_rows`),
    gathered in the SQLite file ``path`` (:class:`RowWriter`); ``held``: the N-Triples lines the
    load left out of the graph (links to quarantined records, :func:`kg.ingest.run.hold_back_links`)."""

    graph: str
    path: Path
    held: frozenset[str] = frozenset()


class RowWriter:
    """The scratch file of :class:`Descriptions`: rows appended as the ingest publishes records."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE rows(iri TEXT NOT NULL, catalog INTEGER NOT NULL, ntriples BLOB NOT NULL);"
        )
        self.pending: list[Row] = []

    def add(self, rows: Iterable[Row]) -> None:
        self.pending.extend(rows)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?)", self.pending)
        self.pending = []

    def close(self) -> None:
        self.flush()
        self.db.commit()
        self.db.close()


def record_rows(texts: Sequence[str]) -> list[list[Row]]:
    """For each record's N-Triples (as its worker wrote them, blank-node labels final), the rows of
    its subjects, made from the text the store will write of them (:meth:`Generation.stored_ntriples`).

    Why in the worker: reading every triple back from the store after the load cost the ingest's
    main process ~75 CPU s at 100,000 datasets (Oxigraph decodes each term), on one core.
    """
    return [list(node_rows(text.splitlines(keepends=True))) for text in Generation.stored_ntriples(texts)]


def build(b: Build, fresh: Descriptions | None = None) -> None:
    """The ``nodes`` of every source graph: copied for those the write did not touch, taken from the
    ingest's rows (``fresh``) for the graph it loaded, else read."""
    graphs = [g for g in b.generation.data_graphs() if b.layout.holds_members(g)]
    b.db.create_function("merged", 2, _merged, deterministic=True)
    kept = [g for g in graphs if not must_read(b, g)]
    if b.incremental and kept:
        marks = ",".join("?" * len(kept))
        b.db.execute(f"INSERT INTO node_graphs SELECT * FROM old.node_graphs WHERE graph IN ({marks})", kept)
        b.db.execute("INSERT INTO nodes SELECT n.* FROM old.nodes n JOIN node_graphs g ON g.id = n.graph")
    ours = b.layout.catalog_graph
    b.put("catalog_ntriples", "".join(b.generation.graph_ntriples(ours)) if ours in graphs else "")
    for graph in graphs:
        if must_read(b, graph):
            (number,) = b.db.execute("SELECT coalesce(max(id), 0) + 1 FROM node_graphs").fetchone()
            b.db.execute("INSERT INTO node_graphs VALUES (?, ?)", (number, graph))
            if fresh is not None and fresh.graph == graph and graph in b.generation.labelled:
                _take_rows(b.db, fresh, number)
            else:
                _read_graph(b, graph, number)


def must_read(b: Build, graph: str) -> bool:
    """Whether ``graph``'s rows are read anew: it changed, or its blank nodes have other labels."""
    return b.changed(graph) or graph in b.generation.renamed


def _read_graph(b: Build, graph: str, number: int) -> None:
    store_lines(b.db, b.generation.graph_ntriples(graph), number)


_INSERT = (
    "INSERT INTO nodes VALUES (?, ?, ?, ?) ON CONFLICT(iri, graph) DO UPDATE SET "
    "catalog = max(catalog, excluded.catalog), ntriples = merged(ntriples, excluded.ntriples)"
)


def store_lines(db: sqlite3.Connection, lines: Iterable[str], number: int) -> None:
    """One row per subject of the N-Triples ``lines`` of graph ``number``; a subject met again later
    (the store keeps a subject's triples together, a remote one need not) is merged into its row
    (by the SQL function ``merged``, which :func:`build` declares)."""
    rows: list[tuple] = []
    for key, catalog, data in node_rows(lines):
        rows.append((key, number, catalog, data))
        if len(rows) >= BATCH:
            db.executemany(_INSERT, rows)
            rows = []
    db.executemany(_INSERT, rows)


def node_rows(lines: Iterable[str]) -> Iterator[Row]:
    """A row per run of one subject in N-Triples ``lines`` as the store writes them."""
    for subject, run in _by_subject(lines):
        key = subject[1:-1] if subject.startswith("<") else subject
        catalog = any(line.endswith(_CATALOG_TYPE) for line in run)
        yield key, int(catalog), compress(_row_text([declared_datatype(x) for x in run]))


def _take_rows(db: sqlite3.Connection, fresh: Descriptions, number: int) -> None:
    """The rows of graph ``number`` from the ingest's file: as they are for a subject one record
    describes, merged for one that several do (each triple once, as the store keeps it), and made
    again without the held-back lines for the subjects of those."""
    db.commit()  # no ATTACH inside a transaction
    db.execute("ATTACH DATABASE ? AS fresh", (str(fresh.path),))
    try:
        db.execute("CREATE TEMP TABLE redo(iri TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("INSERT INTO redo SELECT iri FROM fresh.rows GROUP BY iri HAVING count(*) > 1")
        held: dict[str, set[str]] = {}
        for line in fresh.held:
            subject = line[: line.index(" ")]
            held.setdefault(subject[1:-1] if subject.startswith("<") else subject, set()).add(line)
        db.executemany("INSERT OR IGNORE INTO redo VALUES (?)", [(key,) for key in held])
        db.execute(
            "INSERT INTO nodes SELECT iri, ?, catalog, ntriples FROM fresh.rows "
            "WHERE iri NOT IN (SELECT iri FROM temp.redo)",
            (number,),
        )
        parts = db.execute(
            "SELECT r.iri, r.ntriples FROM fresh.rows r JOIN temp.redo d ON d.iri = r.iri "
            "ORDER BY r.iri, r.ntriples"  # not the records' order: a row copied forward stays right
        )
        rows = [(key, number, catalog, data) for key, catalog, data in _merged_rows(parts, held)]
        db.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?)", rows)
        db.execute("DROP TABLE temp.redo")
        db.commit()
    finally:
        db.execute("DETACH DATABASE fresh")


def _merged_rows(parts: Iterable[tuple[str, bytes]], held: dict[str, set[str]]) -> Iterator[Row]:
    """One row per subject of ``parts`` (rows in subject order): their triples, each once, less
    the ``held`` lines of that subject."""
    key, lines = None, {}
    for this, data in [*parts, (None, b"")]:
        if this != key and key is not None:
            kept = [line for line in lines if line not in held.get(key, ())]
            if kept:
                catalog = any(line.endswith(_CATALOG_TYPE) for line in kept)
                yield key, int(catalog), compress(_row_text(kept))
            lines = {}
        key = this
        if data:
            lines.update(dict.fromkeys(decompress(data).split("\x00")[0].splitlines(keepends=True)))


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


def compress(text: str) -> bytes:
    packer = zlib.compressobj(6, zdict=ZDICT)
    return packer.compress(text.encode("utf-8")) + packer.flush()


def decompress(data: bytes) -> str:
    return zlib.decompressobj(zdict=ZDICT).decompress(data).decode("utf-8")


def _merged(old: bytes, new: bytes) -> bytes:
    """Two rows of one subject as one: their triples, and what those lead to, worked out again."""
    text = decompress(old).split("\x00")[0] + decompress(new).split("\x00")[0]
    return compress(_row_text(text.splitlines(keepends=True)))


def _row_text(lines: list[str]) -> str:
    """A row's text: the triples, then what they lead to (:func:`kg.catalog.objects`), each list
    after a NUL (which N-Triples escapes, so no triple holds one)."""
    return "\x00".join(("".join(lines), *map("\n".join, objects(lines))))


# ---------------------------------------------------------------- reading


class DerivedNodes:
    """:class:`kg.catalog.NodeSource` read from a generation's derived tables (bounded reads: rows
    by key), as :mod:`kg.derived.member_descriptions` walks them."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

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


def _node(key: str, catalog: int, data: bytes | None) -> Node:
    if not data:
        return Node(key, bool(catalog), "")
    text, *links = decompress(data).split("\x00")
    followed, named, blanks = (tuple(part.split("\n")) if part else () for part in links)
    return Node(key, bool(catalog), text, followed, named, blanks)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
