"""The search index built: the summaries an ingest's workers write, and the store builder.

:func:`summarize` gives a worker's datasets as JSON lines (what the index needs of each);
:func:`build_index` writes a new generation's ``search.sqlite`` from them, or from the store.
See :mod:`kg.search` for the index itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.search.postings import write_postings
from kg.search.tables import FACETS, INDEX_FILE, SCHEMA, SCHEMA_VERSION, bitset
from kg.store.generation import Generation
from kg.vocab import DCAT, DCT, FOAF, RDF, SKOS

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
    facet: "(isIRI(?v) AS ?k)" for facet in ("theme", "publisher", "language", "format", "licence")
}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
Doc = dict[str, list[tuple[str, str, bool]]]  # property -> (text, language, is an IRI)


# ---------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Summaries:
    """What the index needs of the datasets of one graph, written while the graph's data was made.

    ``path`` holds one JSON line per dataset (:func:`summarize`) of the triples
    loaded into ``graph``; ``held`` are the IRIs whose incoming links were taken
    out of those triples afterwards (:func:`kg.ingest.run.hold_back_links`); ``about_others``
    are graphs the same write made that say nothing about a dataset or distribution as
    subject (the source's quality graph: its subjects are the measurements), so they need
    not be searched for triples about the summarised ones.
    """

    graph: str
    path: Path
    held: frozenset[str] = frozenset()
    about_others: frozenset[str] = frozenset()


_DIRECT = {  # PROPERTIES that are one triple of the dataset
    "title": DCT.title,
    "description": DCT.description,
    "keyword": DCAT.keyword,
    "modified": DCT.modified,
    "theme": DCAT.theme,
    "publisher": DCT.publisher,
    "language": DCT.language,
    "licence": DCT.license,
}
_DIRECT_NAMES = {prop: name for name, prop in _DIRECT.items()}  # one lookup a triple, not eight tests
_PARTS = (DCT.format, DCT.license)
_XSD, _XSD_STRING = "http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/2001/XMLSchema#string"


def summarize(records: Sequence[Sequence[tuple]]) -> list[str]:
    """For each record's triples (rdflib terms), the JSON lines that summarise its datasets.

    Why: indexing by SPARQL meant iterating ~14 solutions per dataset in Python (176 s at
    100,000 datasets); a worker that holds the triples anyway writes the same values here.
    A line: ``{"d": IRI, "p": {property: [term]}, "x": [[distribution IRI or null,
    [format term], [licence term]]], "u": 1 if the record alone cannot tell}``, a term being
    ``[kind, text, tag]`` (kind ``i`` IRI, ``l`` literal with tag ``@lang``, ``^^datatype`` or
    "") as the store keeps it (IRIs as written to N-Triples, typed literals canonical).
    """
    from rdflib import Literal, URIRef

    from kg.mapping.ntriples import nt_term

    typed: list[tuple[str, str]] = []  # literals whose stored form the store decides
    slots: list[list] = []

    def term(node: object) -> list | None:
        if isinstance(node, URIRef):
            return ["i", nt_term(node)[1:-1], ""]
        if isinstance(node, Literal):
            if node.language:
                return ["l", str(node), "@" + node.language.lower()]
            datatype = str(node.datatype) if node.datatype else ""
            if not datatype or datatype == _XSD_STRING:
                return ["l", str(node), ""]
            found = ["l", str(node), f"^^{datatype}"]
            if datatype.startswith(_XSD):
                typed.append((str(node), datatype))
                slots.append(found)
            return found
        return None  # a blank node: the store renames it, so its text is unknown here

    out = []
    rdf_type, dataset_class, distribution = RDF.type, DCAT.Dataset, DCAT.distribution  # looked up once
    for triples in records:
        by_subject: dict = {}
        for s, p, o in triples:
            by_subject.setdefault(s, []).append((p, o))
        lines = []
        datasets = [
            s for s, p, o in triples if p == rdf_type and o == dataset_class and isinstance(s, URIRef)
        ]
        for d in dict.fromkeys(datasets):
            unsafe = False
            props: dict[str, list] = {}
            for p, o in by_subject[d]:
                name = _DIRECT_NAMES.get(p)
                if name is not None:
                    found = term(o)
                    if found is None:
                        unsafe = True
                    else:
                        props.setdefault(name, []).append(found)
            parts = []
            for p, x in by_subject[d]:
                if p != distribution or isinstance(x, Literal):
                    continue
                if x not in by_subject:  # described by another record, or nowhere: ask the store
                    unsafe = True
                    continue
                formats, licences = [], []
                for q, o in by_subject[x]:
                    if q in _PARTS:
                        found = term(o)
                        if found is None:
                            unsafe = True
                        else:
                            (formats if q == DCT.format else licences).append(found)
                name = nt_term(x)[1:-1] if isinstance(x, URIRef) else None  # a blank node is the record's
                parts.append([name, formats, licences])
            line = {"d": nt_term(d)[1:-1], "p": props, "x": parts}
            if unsafe:
                line["u"] = 1
            lines.append(line)
        out.append(lines)
    for found, text in zip(slots, Generation.stored_literals(typed), strict=True):
        found[1] = text
    return ["".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines) for lines in out]


def _summary_doc(line: dict, held: frozenset[str]) -> Doc:
    """The :data:`Doc` of a summary line, as :func:`_read` would have read it from the store.

    SELECT DISTINCT: a term counts once per property (after the store's canonical forms);
    links to ``held`` IRIs are gone from the store, so they are left out here too.
    """
    doc: Doc = {}
    seen: dict[str, set] = {}

    def add(name: str, terms: list) -> None:
        mine = seen.setdefault(name, set())
        for kind, text, tag in terms:
            key = (kind, text, tag)
            if key in mine or kind == "i" and text in held:
                continue
            mine.add(key)
            clean = " ".join(_CONTROL.sub("", text).split())
            if clean:  # the extra columns of _read: LANG for texts, isIRI for facets
                lang = tag[1:] if name in ("title", "description") and tag.startswith("@") else ""
                doc.setdefault(name, []).append(
                    (clean, lang, kind == "i" and "isIRI" in _EXTRA.get(name, ""))
                )

    parts = [part for part in line["x"] if part[0] is None or part[0] not in held]
    for name, terms in line["p"].items():
        if name != "licence":
            add(name, terms)
    for _, _, licences in parts:  # the UNION's first branch first, as the query reads
        add("licence", licences)
    add("licence", line["p"].get("licence", []))
    for _, formats, _ in parts:
        add("format", formats)
    return doc


def _summaries(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


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
    if summaries is not None and summaries.graph in generation.data_graphs():
        known = _known(generation, summaries)
        now = {iri: {summaries.graph} for iri in known}
        for iri, graphs in _dataset_graphs(generation, skip=summaries.graph).items():
            now.setdefault(iri, set()).update(graphs)
    else:
        now = _dataset_graphs(generation)
    if generation.changed and previous and previous.is_file() and _reusable(previous, len(now)):
        shutil.copyfile(previous, target)
        db = _connect(target)
        stale, todo = _changes(db, now, generation.changed)
        _delete(db, stale)
    else:
        target.unlink(missing_ok=True)
        db = _connect(target)
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        todo = list(now)
    if known:
        assert summaries is not None
        wanted = {iri for iri in todo if known.get(iri)}
        terms = _terms(db)
        for line in _summaries(summaries.path):
            if line["d"] in wanted:
                wanted.discard(line["d"])
                _add(db, terms, line["d"], _summary_doc(line, summaries.held), now[line["d"]])
        todo = [iri for iri in todo if not known.get(iri)]
    _insert(db, generation, todo, now)
    _finish(db, generation, full=len(todo) == len(now))
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


def _known(generation: Generation, summaries: Summaries) -> dict[str, bool]:
    """The summarised datasets, each with whether its summary alone gives what the store would.

    It does not when the summary says so (a blank node's value, a distribution described
    elsewhere), when two summaries name the same dataset or distribution, or when another
    data graph has triples about the dataset or its distributions (queries see the union).
    """
    known: dict[str, bool] = {}
    subjects: dict[str, str] = {}  # dataset and distribution IRIs -> their dataset
    for line in _summaries(summaries.path):
        iri = line["d"]
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
    return known


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
    db: sqlite3.Connection, now: dict[str, set[str]], changed: set[str]
) -> tuple[list[int], list[str]]:
    """Rows to delete (ids) and datasets to index (IRIs): those the changed graphs held or hold."""
    old: dict[str, tuple[int, set[str]]] = {}
    rows = db.execute("SELECT d.id, d.iri, s.graph FROM datasets d LEFT JOIN sources s ON s.dataset = d.id")
    for ident, iri, graph in rows:
        old.setdefault(iri, (ident, set()))[1].add(graph)
    stale = {
        ident
        for iri, (ident, graphs) in old.items()
        if iri not in now or graphs & changed or now[iri] & changed or now[iri] != graphs
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
            text = " ".join(_CONTROL.sub("", row["v"] or "").split())
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


def _finish(db: sqlite3.Connection, generation: Generation, *, full: bool) -> None:
    """Counts, labels and bitsets of the facet values; merge the text index's segments; the
    postings of the common tokens (:mod:`kg.search.postings`), from the text index as merged."""
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
    write_postings(db)


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
