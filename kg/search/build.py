"""The search index built: the store builder that writes a generation's ``search.sqlite``.

:func:`build_index` writes it from the summaries an ingest's workers wrote
(:mod:`kg.search.summaries`) or from the store, incrementally from the previous generation's
index when it can. See :mod:`kg.search` for the index itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from kg.search.postings import update_postings, write_postings
from kg.search.summaries import CONTROL, IRI_FACETS, Doc, Summaries, read_summaries, summary_doc
from kg.search.tables import FACETS, INDEX_FILE, SCHEMA, SCHEMA_VERSION, bitset, write_orders
from kg.store.generation import Generation
from kg.vocab import DCAT, DCT, FOAF, SKOS

BITSET_TERMS = 1500  # facet values with an in-memory bitset (top id / 8 bytes each, per process)
CHUNK = 2000  # IRIs per SPARQL VALUES block while indexing
PREFIXES = f"PREFIX dcat: <{DCAT}> PREFIX dct: <{DCT}> PREFIX foaf: <{FOAF}> PREFIX skos: <{SKOS}> "
PROPERTIES = {  # what is indexed of a dataset: name -> pattern binding ?v
    "title": "?d dct:title ?v",
    "description": "?d dct:description ?v",
    "keyword": "?d dcat:keyword ?v",
    "modified": "?d dct:modified ?v",
    "theme": "?d dcat:theme ?v",
    "publisher": "?d dct:publisher ?v",
    "language": "?d dct:language ?v",
    "format": "?d dcat:distribution/dct:format ?v",
    "licence": "{ ?d dcat:distribution/dct:license ?v } UNION { ?d dct:license ?v }",
}
_EXTRA = {"title": "(LANG(?v) AS ?l)", "description": "(LANG(?v) AS ?l)"} | {
    facet: "(isIRI(?v) AS ?k)" for facet in IRI_FACETS
}


# ---------------------------------------------------------------- building


def build_index(generation: Generation, summaries: Summaries | None = None) -> None:
    """Write ``search.sqlite`` for a new generation, incrementally from the previous one when possible.

    ``summaries``: what the index needs of the datasets of one new graph, written by the
    ingest (:func:`summarize`); those datasets are indexed from them instead of the store,
    unless another graph says something about them too (then the store's union decides).
    """
    target = generation.folder / INDEX_FILE
    previous = generation.previous / INDEX_FILE if generation.previous else None
    known: dict[str, bool] = {}  # datasets of the summarised graph -> whether the summary is the whole story
    patched: dict[str, set[str]] = {}  # a patched graph -> its datasets to index again (the rest kept)
    if summaries is not None and summaries.graph in generation.data_graphs():
        known, owners, at = _known(generation, summaries)
        if (lines := generation.touched.get(summaries.graph)) is not None:
            keys = Generation.subjects(lines)
            patched[summaries.graph] = {owners[k] for k in keys if k in owners} | {
                iri for iri, whole in known.items() if not whole
            }
        now = {iri: {summaries.graph} for iri in known}
        for iri, graphs in _dataset_graphs(generation, skip=summaries.graph).items():
            now.setdefault(iri, set()).update(graphs)
    else:
        now = _dataset_graphs(generation)
    copied: tuple[list[int], int] | None = None  # rows deleted, and the id the new ones follow
    terms_of = None  # an index whose facet values (their labels) a new one starts from
    if generation.changed and previous and previous.is_file() and _reusable(previous, len(now)):
        stale, todo, kept = _compared(previous, now, generation.changed, patched)
        terms_of = previous
        if kept >= len(stale):  # else built anew (see _compared)
            shutil.copyfile(previous, target)
            db = _connect(target)
            _delete(db, stale)
            (since,) = db.execute(
                "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'datasets'"
            ).fetchone()
            copied = (stale, since)
    if copied is None:
        target.unlink(missing_ok=True)
        db = _connect(target)
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        if terms_of is not None:
            _seed_terms(db, terms_of)
        todo = list(now)
    if known:
        assert summaries is not None
        wanted = sorted(at[iri] for iri in todo if known.get(iri))  # one line each (else not known)
        terms = _terms(db)
        for line in _lines_at(summaries.path, wanted):
            _add(db, terms, line["d"], summary_doc(line, summaries.held), now[line["d"]])
        todo = [iri for iri in todo if not known.get(iri)]
    _insert(db, generation, todo, now)
    _finish(db, generation, full=len(todo) == len(now), copied=copied)
    db.commit()
    db.close()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)  # the generation is published right after: its index must be on disk
    finally:
        os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)  # a private file until published: no journal needed
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;")
    return db


def _compared(
    previous: Path, now: dict[str, set[str]], changed: set[str], patched: dict[str, set[str]]
) -> tuple[list[int], list[str], int]:
    """:func:`_changes` of the previous index, and how many of its rows would be kept.

    Why: when most rows are stale (a source written whole: every one of its datasets), copying the
    index and deleting them numbered every dataset again after the old ids, so the ids doubled, and
    the next write or two found the index too sparse to copy (:func:`_reusable`) and built it whole
    (39 s profiled at 100,000 datasets, the first 1 % re-harvest after a full run). The caller
    builds anew then: the same rows, dense ids, and no deletes."""
    db = sqlite3.connect(f"file:{previous}?mode=ro", uri=True)
    try:
        stale, todo = _changes(db, now, changed, patched)
        (rows,) = db.execute("SELECT count(*) FROM datasets").fetchone()
    finally:
        db.close()
    return stale, todo, rows - len(stale)


def _seed_terms(db: sqlite3.Connection, previous: Path) -> None:
    """The previous index's facet values, with their ids and labels, in a new one (their counts made
    again by :func:`_finish`, which drops those no dataset has): a keyword's label is the text of the
    first dataset that had it, so a copied index keeps the label an older dataset gave it; built
    anew instead (:func:`_compared`), the index gives the same."""
    db.execute("ATTACH DATABASE ? AS old", (f"file:{previous}?mode=ro",))
    columns = "id, facet, value, label, iri"
    db.execute(f"INSERT INTO terms({columns}) SELECT {columns} FROM old.terms")
    db.commit()
    db.execute("DETACH DATABASE old")


def _reusable(path: Path, datasets: int) -> bool:
    """The previous index has this schema and dense enough ids (bitsets grow with the top id)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            top = db.execute("SELECT coalesce(max(id), 0) FROM datasets").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return bool(version) and version[0] == SCHEMA_VERSION and top <= 2 * datasets + 1000


def _known(
    generation: Generation, summaries: Summaries
) -> tuple[dict[str, bool], dict[str, str], dict[str, int]]:
    """The summarised datasets, each with whether its summary alone gives what the store would;
    the dataset of each summarised dataset and distribution IRI; and the line of each dataset's
    (last) summary in the file, counted from 0.

    It does not when the summary says so (a blank node's value, a distribution described
    elsewhere), when two summaries name the same dataset or distribution, or when another
    data graph has triples about the dataset or its distributions (queries see the union).
    """
    known: dict[str, bool] = {}
    subjects: dict[str, str] = {}  # dataset and distribution IRIs -> their dataset
    at: dict[str, int] = {}
    for number, line in enumerate(read_summaries(summaries.path)):
        iri = line["d"]
        at[iri] = number
        safe = not line.get("u") and iri not in known
        if iri in known:
            known[iri] = False
        for name in [iri, *(part[0] for part in line["x"] if part[0] is not None)]:
            if subjects.setdefault(name, iri) != iri:
                known[subjects[name]] = safe = False
        known[iri] = safe
    # every subject of the other graphs is listed: at 100,000 datasets the quality graph alone has
    # 2.4 M (measurements), ~15 s here, so graphs known to hold none of these are left out
    others = [g for g in generation.data_graphs() if g != summaries.graph and g not in summaries.about_others]
    if others and subjects:
        values = " ".join(f"<{g}>" for g in others)
        query = f"SELECT DISTINCT ?s WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }}"
        for row in generation.rows(query):
            if row["s"] in subjects:
                known[subjects[row["s"]]] = False
    return known, subjects, at


def _lines_at(path: Path, numbers: list[int]) -> Iterator[dict]:
    """The summaries at these lines (counted from 0, ascending) of a summaries file, the others not
    parsed. Why: after a delta write ~2 % of 100,000 datasets are indexed again, and parsing every
    line a second time (the first is :func:`_known`'s) cost ~3 s profiled."""
    wanted = iter(numbers)
    at = next(wanted, None)
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines):
            if number == at:
                yield json.loads(text)
                at = next(wanted, None)
                if at is None:
                    return


def _dataset_graphs(generation: Generation, skip: str = "") -> dict[str, set[str]]:
    """Every dataset (an IRI typed dcat:Dataset in a data graph) with the data graphs that type it."""
    graphs = set(generation.data_graphs()) - {skip}
    found: dict[str, set[str]] = {}
    if not graphs:
        return found
    values = " ".join(f"<{g}>" for g in sorted(graphs))
    where = f"VALUES ?g {{ {values} }} GRAPH ?g {{ ?d a dcat:Dataset }} FILTER(isIRI(?d))"
    query = f"{PREFIXES} SELECT ?d ?g WHERE {{ {where} }}"
    for row in generation.rows(query):
        if row["g"] in graphs:
            found.setdefault(row["d"], set()).add(row["g"])
    return found


def _changes(
    db: sqlite3.Connection, now: dict[str, set[str]], changed: set[str], patched: dict[str, set[str]]
) -> tuple[list[int], list[str]]:
    """Rows to delete (ids) and datasets to index (IRIs): those the changed graphs held or hold, but
    of a ``patched`` graph only the datasets it names (those its patch touched: the rest of the
    graph is as it was)."""
    whole = changed - patched.keys()

    def hit(iri: str, graphs: set[str]) -> bool:
        return bool(graphs & whole) or any(iri in patched[g] for g in graphs & patched.keys())

    old: dict[str, tuple[int, set[str]]] = {}
    rows = db.execute("SELECT d.id, d.iri, s.graph FROM datasets d LEFT JOIN sources s ON s.dataset = d.id")
    for ident, iri, graph in rows:
        old.setdefault(iri, (ident, set()))[1].add(graph)
    stale = {
        ident
        for iri, (ident, graphs) in old.items()
        if iri not in now or now[iri] != graphs or hit(iri, graphs) or hit(iri, now[iri])
    }
    todo = [iri for iri in now if iri not in old or old[iri][0] in stale]
    return sorted(stale), todo


def _delete(db: sqlite3.Connection, ids: list[int]) -> None:
    for part in _chunks(ids, 500):
        marks = ",".join("?" * len(part))
        for table, column in (
            ("text", "rowid"),
            ("facets", "dataset"),
            ("sources", "dataset"),
            ("datasets", "id"),
        ):
            db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", part)


def _terms(db: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {(f, v): i for i, f, v in db.execute("SELECT id, facet, value FROM terms")}


def _insert(
    db: sqlite3.Connection, generation: Generation, iris: list[str], graphs: dict[str, set[str]]
) -> None:
    """Index datasets as the store's union of the data graphs describes them."""
    terms = _terms(db)
    for part in _chunks(iris, CHUNK):
        docs = _read(generation, part)
        for iri in part:
            _add(db, terms, iri, docs.get(iri, {}), graphs[iri])


def _add(db: sqlite3.Connection, terms: dict, iri: str, doc: Doc, graphs: Iterable[str]) -> None:
    """One dataset's rows: datasets, facets, sources and the text index."""
    title, description = best_text(doc.get("title", [])), best_text(doc.get("description", []))
    modified = max((v for v, _, _ in doc.get("modified", [])), default="")
    ident = db.execute(
        "INSERT INTO datasets(iri, title, description, modified, sort_title) VALUES (?, ?, ?, ?, ?)",
        (iri, title, description, modified, (title or iri).casefold()),
    ).lastrowid
    ids = sorted({_term(db, terms, *value) for value in _facet_values(doc)})
    db.executemany("INSERT INTO facets VALUES (?, ?)", [(t, ident) for t in ids])
    db.executemany("INSERT INTO sources VALUES (?, ?)", [(g, ident) for g in graphs])
    texts = ("\n".join(v for v, _, _ in doc.get(k, [])) for k in ("title", "keyword", "description"))
    db.execute(
        "INSERT INTO text(rowid, title, keywords, description, tags) VALUES (?, ?, ?, ?, ?)",
        (ident, *texts, " ".join(f"f{t}" for t in ids)),
    )


def _read(generation: Generation, iris: Sequence[str]) -> dict[str, Doc]:
    """The indexed properties of some datasets, from the union of the data graphs."""
    values = "VALUES ?d { " + " ".join(f"<{iri}>" for iri in iris) + " }"
    docs: dict[str, Doc] = {}
    for name, pattern in PROPERTIES.items():
        extra = _EXTRA.get(name, "")  # only what is used: every column of every row costs
        query = f"{PREFIXES} SELECT DISTINCT ?d ?v {extra} WHERE {{ {values} {pattern} }}"
        for row in generation.rows(query):
            text = " ".join(CONTROL.sub("", row["v"] or "").split())
            if text:
                kind = (row.get("l") or "", row.get("k") in ("true", "1"))  # Virtuoso: 1
                docs.setdefault(row["d"], {}).setdefault(name, []).append((text, *kind))
    return docs


def best_text(texts: Sequence[tuple]) -> str:
    """The text to show: English first, then untagged, then the other languages by tag."""
    ranked = sorted(texts, key=lambda t: (not t[1].lower().startswith("en"), t[1] != "", t[1], t[0]))
    return ranked[0][0] if ranked else ""


def _facet_values(doc: Doc) -> Iterator[tuple[str, str, str, bool]]:
    """(facet, value, label, is an IRI); keywords are matched without regard to case."""
    for facet in FACETS:
        for text, _, iri in doc.get(facet, []):
            yield facet, text.casefold() if facet == "keyword" else text, text, iri


def _term(db: sqlite3.Connection, terms: dict, facet: str, value: str, label: str, iri: bool) -> int:
    ident = terms.get((facet, value))
    if ident is None:
        ident = terms[(facet, value)] = db.execute(
            "INSERT INTO terms(facet, value, label, iri) VALUES (?, ?, ?, ?)", (facet, value, label, iri)
        ).lastrowid
    return ident


def _finish(
    db: sqlite3.Connection,
    generation: Generation,
    *,
    full: bool,
    copied: tuple[list[int], int] | None = None,
) -> None:
    """Counts, labels and bitsets of the facet values; merge the text index's segments; the
    postings of the common tokens (:mod:`kg.search.postings`), from the text index as merged, or
    brought forward when the index was ``copied`` from the last one (the rows deleted, and the id
    after which the new ones are numbered); the sort orders (:func:`kg.search.tables.write_orders`)."""
    db.execute("UPDATE terms SET count = (SELECT count(*) FROM facets WHERE term = terms.id), bits = NULL")
    db.execute("DELETE FROM terms WHERE count = 0")
    named = db.execute("SELECT id, value FROM terms WHERE iri AND facet != 'keyword'").fetchall()
    for part in _chunks(named, CHUNK):
        db.executemany("UPDATE terms SET label = ? WHERE id = ?", _labels(generation, part))
    top = db.execute("SELECT coalesce(max(id), 0) FROM datasets").fetchone()[0]
    frequent = db.execute("SELECT id FROM terms ORDER BY count DESC LIMIT ?", (BITSET_TERMS,)).fetchall()
    for (ident,) in frequent:
        bits = bitset((d for (d,) in db.execute("SELECT dataset FROM facets WHERE term = ?", (ident,))), top)
        db.execute("UPDATE terms SET bits = ? WHERE id = ?", (bits.to_bytes((top >> 3) + 1, "little"), ident))
    db.execute(
        "INSERT INTO text(text) VALUES ('optimize')"
        if full
        else "INSERT INTO text(text, rank) VALUES ('merge', 500)"
    )
    if copied is None:
        write_postings(db)
    else:
        update_postings(db, *copied)
    write_orders(db)


def _labels(generation: Generation, terms: Sequence[tuple[int, str]]) -> list[tuple[str, int]]:
    """Labels of vocabulary concepts (skos:prefLabel) and agencies (foaf:name), English first."""
    values = "VALUES ?x { " + " ".join(f"<{iri}>" for _, iri in terms) + " }"
    found: dict[str, list[tuple[str, str]]] = {}
    query = f"{PREFIXES} SELECT ?x ?l (LANG(?l) AS ?g) WHERE {{ {values} ?x skos:prefLabel|foaf:name ?l }}"
    for row in generation.rows(query):
        found.setdefault(row["x"], []).append((row["l"], row["g"] or ""))
    return [(best_text(found.get(iri, [])) or iri, ident) for ident, iri in terms]


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
