"""Each catalogue member's whole description, kept as one row with each generation.

A catalogue page in an RDF syntax shows ~100 members' descriptions. Joined at the request from
the nodes they are made of (:mod:`kg.derived.descriptions`: ~630 rows a page, each decompressed,
and the membership of every node reached probed), they were ~60 % of a page's time at 100,000
datasets. The walk (:func:`kg.catalog.describe_each`) is done here instead, once per member while
the write builds its generation, and a page reads its members' rows by key and joins them.

Table ``member_descriptions(position, data)``: per member of the catalogue (``member_order``), zlib
text (with the nodes' dictionary, :data:`kg.derived.descriptions.ZDICT`) of four parts split by
NUL: the N-Triples lines of its description, each once, less the nodes it shares with the members
walked with it (its agency, mostly: in every row, they doubled the table); the IRIs its whole
description names (the vocabulary terms a page describes are looked up among them,
:func:`kg.derived.catalog.concept_ntriples`); the blank nodes it reaches; the shared nodes, which a
page reads once each from ``nodes``. A page's lines are deduplicated as they are joined
(:func:`kg.catalog.page_lines`).

Kept up to date: a member's description may reach nodes of other graphs (an agency another source
describes), so a write copies a previous row only when the member's graph was not read again and
none of the keys its description reached (the IRIs and blank nodes in its row) is a node or a
member of a graph that was; every other member is walked again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from kg.catalog import BLANK_DEPTH, DESCRIBE_DEPTH, Description, Node, ended
from kg.derived.catalog import concept_ntriples
from kg.derived.descriptions import DerivedNodes, compress, decompress
from kg.derived.member_reach import Reach
from kg.derived.node_updates import changed_rows, touched_keys
from kg.derived.tables import Build, chunks
from kg.search.tables import INDEX_FILE

TABLES = ("member_descriptions", "shared_nodes")
# by the member's position (member_order): a rowid table keeps a ~1 KB row on its page, where a
# WITHOUT ROWID one spilled each row past ~1,000 bytes to an overflow page of its own (4 KB)
SCHEMA = """
CREATE TABLE member_descriptions(position INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE shared_nodes(iri TEXT PRIMARY KEY, ntriples TEXT NOT NULL) WITHOUT ROWID;
"""
WALKED = 1000  # members walked together: each step of their walks reads its nodes at once


class NodeSource(Protocol):
    """The nodes a member's description is made of, derived once per generation
    (:mod:`kg.derived.descriptions`), as :func:`describe_each` reads them while a write builds the
    members' descriptions.

    Read, not queried: at 100,000 datasets the store's own reads of a page's ~6,000 triples took
    ~120 ms, nearly all of it decoding terms, so the triples are kept as text per node instead.
    """

    def nodes(self, keys: list[str], *, catalogs: bool) -> list[Node]:
        """The nodes ``keys`` as the source graphs describe them, one :class:`Node` per graph
        that has triples about one; ``catalogs=False``: a catalogue's without its triples."""
        ...

    def members(self, iris: list[str]) -> set[str]:
        """Those of ``iris`` that are members of the catalogue."""
        ...


def build(b: Build, reach: Reach | None = None) -> None:
    """A row per member: copied from the previous generation where nothing it reached changed
    (:func:`_copy_unaffected`; ``reach``: the listing of the previous rows, if one was started for
    this build), else its description walked from the ``nodes`` (after
    :func:`kg.derived.descriptions.build`)."""
    _copy_unaffected(b, reach or Reach())
    nodes = DerivedNodes(b.db)
    for part in _missing(b.db):
        walked = describe_each(nodes, [iri for _, iri in part])
        shared = _shared(walked)
        b.db.executemany(
            "INSERT INTO member_descriptions VALUES (?, ?)",
            [(position, compress(_row_text(iri, walked[iri], shared))) for position, iri in part],
        )
        texts: dict[str, list[str]] = {}
        for key, node in {(n.key, n): None for found in walked.values() for n in found if n.key in shared}:
            texts.setdefault(key, []).append(ended(node.ntriples))
        b.db.executemany(
            "INSERT OR IGNORE INTO shared_nodes VALUES (?, ?)", [(k, "".join(t)) for k, t in texts.items()]
        )


def _shared(walked: dict[str, list[Node]]) -> set[str]:
    """The nodes that more than one of the members walked together reach (their agencies, mostly):
    kept out of the rows and named instead, their text once in ``shared_nodes`` (uncompressed: a page
    reads ~300 of them, and decompressing each from ``nodes`` was half of its time), so that a page
    reads each once (written into every row, they doubled the rows' size)."""
    seen: set[str] = set()
    shared: set[str] = set()
    for found in walked.values():
        keys = {n.key for n in found}
        shared |= keys & seen
        seen |= keys
    return shared


def _missing(db: sqlite3.Connection) -> Iterator[Sequence[tuple[int, str]]]:
    """The (position, iri) of the members that have no row yet, in page order, WALKED at a time."""
    rows = db.execute(
        "SELECT position, iri FROM member_order m WHERE NOT EXISTS "
        "(SELECT 1 FROM member_descriptions d WHERE d.position = m.position) ORDER BY position"
    ).fetchall()
    yield from chunks(rows, WALKED)


def _row_text(iri: str, nodes: list[Node], shared: set[str]) -> str:
    """A row: the lines of the nodes not ``shared``, each once; the IRIs all the nodes name; the
    blank nodes they reach; the ``shared`` nodes among them (four parts split by NUL)."""
    own = [n.ntriples for n in nodes if n.key not in shared]
    lines = dict.fromkeys("".join(map(ended, own)).splitlines(keepends=True))
    used = dict.fromkeys([iri, *(x for n in nodes for x in (*n.followed, *n.unfollowed))])
    blanks = dict.fromkeys(b for n in nodes for b in n.blanks)
    named = dict.fromkeys(n.key for n in nodes if n.key in shared)
    return "\x00".join(("".join(lines), "\n".join(used), "\n".join(blanks), "\n".join(named)))


# ---------------------------------------------------------------- the walk


def describe_each(data: NodeSource, seeds: list[str]) -> dict[str, list[Node]]:
    """For each of ``seeds``, the nodes whose triples describe it: its own, its blank nodes', and
    those of the nodes it reaches; the seeds walked side by side, each step's nodes read together.

    A node reached is described when a source graph has triples about it, unless it is a member
    of the catalogue (it has a page of its own), a catalogue, or reached from an agency through
    the organisation hierarchy (a unit's page is not its ministry's). Each step reads the
    frontier's nodes, then the blank nodes they lead to (nested up to BLANK_DEPTH). What a page
    of several members shows is the union of theirs: a node is within DESCRIBE_DEPTH steps of
    the page when it is of one of its members, and no rule depends on where a walk began.
    """
    out: dict[str, list[Node]] = {seed: [] for seed in seeds}
    seen = {seed: {seed} for seed in seeds}
    frontier = {seed: [seed] for seed in seeds}
    for step in range(DESCRIBE_DEPTH):
        wanted = sorted({key for keys in frontier.values() for key in keys})
        if not wanted:
            break
        found = _by_key(data.nodes(wanted, catalogs=step == 0))
        if step > 0 and found:
            left_out = data.members(sorted(found))
            left_out |= {key for key, nodes in found.items() if any(n.catalog for n in nodes)}
            found = {key: nodes for key, nodes in found.items() if key not in left_out}
        level = {seed: [n for key in keys for n in found.get(key, ())] for seed, keys in frontier.items()}
        blanks = _blank_nodes(data, level)
        for seed, nodes in level.items():
            nodes += blanks[seed]
            out[seed] += nodes
            reached = {iri for n in nodes for iri in n.followed} - seen[seed]
            seen[seed] |= reached
            frontier[seed] = sorted(reached)
    return out


def _by_key(nodes: Iterable[Node]) -> dict[str, list[Node]]:
    found: dict[str, list[Node]] = {}
    for node in nodes:
        found.setdefault(node.key, []).append(node)
    return found


def _blank_nodes(data: NodeSource, owners: dict[str, list[Node]]) -> dict[str, list[Node]]:
    """Per seed, the blank nodes its ``owners`` lead to, and those they lead to, BLANK_DEPTH deep."""
    out: dict[str, list[Node]] = {seed: [] for seed in owners}
    seen: dict[str, set[str]] = {seed: set() for seed in owners}
    frontier = {seed: {b for n in nodes for b in n.blanks} for seed, nodes in owners.items()}
    for _ in range(BLANK_DEPTH):
        for seed in frontier:
            frontier[seed] -= seen[seed]
            seen[seed] |= frontier[seed]
        wanted = sorted({b for keys in frontier.values() for b in keys})
        if not wanted:
            break
        found = _by_key(data.nodes(wanted, catalogs=True))
        for seed, keys in frontier.items():
            level = [n for key in sorted(keys) for n in found.get(key, ())]
            out[seed] += level
            frontier[seed] = {b for n in level for b in n.blanks}
    return out


# ---------------------------------------------------------------- copies


def _copy_unaffected(b: Build, reach: Reach) -> None:
    """The previous generation's rows of the members whose description cannot have changed, with
    the shared nodes they name: the member's own graph is unchanged or patched, and no key its walk
    reached (itself, the IRIs its description names, its blank nodes) is a node or a member of a
    graph that changed whole or is gone, a subject of a patched graph's touched lines
    (:attr:`Generation.touched`) whose node row differs, a member that a patched graph gained or
    lost, or a blank node of a graph whose blank nodes were named anew (:attr:`Generation.renamed`:
    its IRIs' rows are the same but for those names, which the rows that reach them list). Nothing
    when the previous file has no rows."""
    if not b.incremental or not _has_rows(b.db):
        return
    graphs = [g for g in b.generation.data_graphs() if b.layout.holds_members(g)]
    patched = {
        g: changed_rows(b, g, keys)
        for g in graphs
        if b.changed(g) and (keys := touched_keys(b, g)) is not None
    }
    same = [g for g in graphs if not b.changed(g) or g in patched]
    renamed = [g for g in same if g in b.generation.renamed]
    if not same:
        return
    db, marks = b.db, ",".join("?" * len(same))
    outside = f"NOT IN ({marks})"
    candidates = [
        iri
        for (iri,) in db.execute(
            f"SELECT DISTINCT iri FROM members WHERE graph IN ({marks}) "
            f"AND iri NOT IN (SELECT iri FROM members WHERE graph {outside})",
            [*same, *same],
        )
    ]
    if not candidates:
        return
    db.execute("CREATE TEMP TABLE touched(key TEXT PRIMARY KEY) WITHOUT ROWID")
    for schema in ("old", "main"):
        nodes = (
            f"SELECT n.iri FROM {schema}.nodes n JOIN {schema}.node_graphs g ON g.id = n.graph WHERE g.graph"
        )
        db.execute(f"INSERT OR IGNORE INTO temp.touched {nodes} {outside}", same)
        db.execute(
            f"INSERT OR IGNORE INTO temp.touched SELECT iri FROM {schema}.members WHERE graph {outside}", same
        )
    for graph, keys in patched.items():
        db.executemany("INSERT OR IGNORE INTO temp.touched VALUES (?)", [(k,) for k in keys])
        for one, other in (("old", "main"), ("main", "old")):  # members gained or lost
            db.execute(
                f"INSERT OR IGNORE INTO temp.touched SELECT iri FROM (SELECT kind, iri FROM {one}.members "
                f"WHERE graph = ?1 EXCEPT SELECT kind, iri FROM {other}.members WHERE graph = ?1)",
                (graph,),
            )
    if renamed:
        places = ",".join("?" * len(renamed))
        db.execute(
            "INSERT OR IGNORE INTO temp.touched SELECT n.iri FROM old.nodes n JOIN old.node_graphs g "
            f"ON g.id = n.graph WHERE g.graph IN ({places}) AND n.iri LIKE '\\_:%' ESCAPE '\\'",
            renamed,
        )
    _copy_rows(b, reach, candidates)
    db.execute("DROP TABLE temp.touched")


def _copy_rows(b: Build, reach: Reach, iris: Sequence[str]) -> None:
    """The previous rows of those of ``iris`` whose walk reached no key in ``temp.touched``
    (:meth:`Reach.unaffected`), with the shared nodes they name."""
    db = b.db
    db.execute("CREATE TEMP TABLE candidates(iri TEXT PRIMARY KEY) WITHOUT ROWID")
    db.executemany("INSERT OR IGNORE INTO temp.candidates VALUES (?)", [(iri,) for iri in iris])
    positions = [
        p
        for (p,) in db.execute("SELECT o.position FROM temp.candidates c JOIN old.member_order o USING (iri)")
    ]
    touched = {hash(key) for (key,) in db.execute("SELECT key FROM temp.touched")}
    assert b.generation.previous is not None  # an incremental build's
    kept, named = reach.unaffected(
        b.generation.previous / INDEX_FILE, b.generation.folder, touched, positions
    )
    db.execute("CREATE TEMP TABLE kept(old INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO temp.kept VALUES (?)", [(p,) for p in kept])
    db.execute(
        "INSERT INTO member_descriptions SELECT m.position, d.data FROM temp.kept k "
        "JOIN old.member_order o ON o.position = k.old JOIN member_order m ON m.iri = o.iri "
        "JOIN old.member_descriptions d ON d.position = k.old"
    )
    for keys in chunks(sorted(named)):
        marks = ",".join("?" * len(keys))
        db.execute(
            f"INSERT OR IGNORE INTO shared_nodes SELECT * FROM old.shared_nodes WHERE iri IN ({marks})", keys
        )
    db.execute("DROP TABLE temp.kept")
    db.execute("DROP TABLE temp.candidates")


def _has_rows(db: sqlite3.Connection) -> bool:
    """Whether the previous file has this table (a file of derived version 3 or 4 has not)."""
    found = db.execute(
        "SELECT count(*) FROM old.sqlite_master WHERE type = 'table' AND name IN (?, ?)", TABLES
    )
    return found.fetchone()[0] == len(TABLES)


# ---------------------------------------------------------------- reading


class DerivedPageData:
    """:class:`kg.catalog.PageData` read from a generation's derived tables (bounded reads: rows by key)."""

    def __init__(self, db: sqlite3.Connection, terms: frozenset[str] | None = None) -> None:
        self.db = db
        self.terms = terms  # the vocabulary's terms (kg.derived.catalog.vocabulary_terms), if known

    def catalog_ntriples(self) -> str:
        row = self.db.execute("SELECT value FROM derived WHERE key = 'catalog_ntriples'").fetchone()
        return json.loads(row[0]) if row else ""

    def descriptions(self, iris: list[str]) -> list[Description]:
        """The members' rows, and once the nodes that they name as shared (:func:`_shared`)."""
        found, shared = [], set()
        for part in chunks(iris):
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                "SELECT d.data FROM member_order m JOIN member_descriptions d ON d.position = m.position "
                f"WHERE m.iri IN ({marks})",
                part,
            )
            for (data,) in rows:
                text, used, _, named = decompress(data).split("\x00")
                found.append(Description(text, tuple(used.split("\n")) if used else ()))
                shared.update(named.split("\n") if named else ())
        for part in chunks(sorted(shared)):
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT ntriples FROM shared_nodes WHERE iri IN ({marks})", part)
            found.append(Description("".join(text for (text,) in rows), ()))
        return found

    def concepts(self, used: list[str]) -> str:
        return concept_ntriples(self.db, used, self.terms)
