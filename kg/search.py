"""The text index and facets of the datasets: SQLite FTS5 beside each store generation.

Why SQLite FTS5: it ships with Python (no service to run, no dependency to
add) and it is one file, so the index lives in the generation folder
(``generations/N/search.sqlite``) and is published, copied and dropped with
the RDF it was built from; once published it is opened read-only and
``immutable``. Its ``unicode61 remove_diacritics 2`` tokenizer folds case and
accents in every language (``qualite`` finds "Qualité"), and bm25 ranks with
per-column weights: title 10, keywords 5, description 1.

Tables: ``datasets`` (one row per dataset IRI, however many graphs describe
it), ``sources`` (the graphs it came from), ``terms`` (one row per facet
value: facet, value, label, count and, for the :data:`BITSET_TERMS` most
frequent, a bitset of its datasets), ``facets`` (term, dataset) and the FTS5
table ``text``, whose ``tags`` column holds the dataset's terms as tokens
(``f12``) so that a ranked page is one MATCH over the filtered set only.

Facet counts are an AND and a popcount of two bitsets per value
(microseconds at 100,000 datasets). Values without a bitset are counted in
SQL when the set is small (:data:`SMALL_SET`); in a larger set they cannot
reach the top values shown and are left out.

:func:`build_index` is a :meth:`kg.store.embedded.Store.add_builder` builder: it copies
the previous generation's index and re-indexes the datasets that the changed
graphs held or hold, or rebuilds everything when the change is unknown (a
SPARQL update) or the previous index cannot be reused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.errors import StoreError
from kg.store.embedded import Store
from kg.store.generation import Generation
from kg.vocab import DCAT, DCT, FOAF, RDF, SKOS

INDEX_FILE = "search.sqlite"
SCHEMA_VERSION = "1"
FACETS = ("theme", "publisher", "format", "licence", "keyword", "language")
SORTS = ("relevance", "modified", "title")
MAX_SIZE, MAX_PAGE, MAX_Q, MAX_WORDS, MAX_VALUES = 100, 10_000, 500, 20, 20
FACET_LIMIT = 10  # values shown per facet, besides the selected ones
BITSET_TERMS = 1500  # facet values with an in-memory bitset (top id / 8 bytes each, per process)
SMALL_SET = 5000  # up to this many datasets, values without a bitset are counted in SQL
CHUNK = 2000  # IRIs per SPARQL VALUES block while indexing
RANK = "bm25(text, 10.0, 5.0, 1.0, 0.0)"  # weights of the columns title, keywords, description, tags

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
"""
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
_WORD = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
Doc = dict[str, list[tuple[str, str, bool]]]  # property -> (text, language, is an IRI)


# ---------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Summaries:
    """What the index needs of the datasets of one graph, written while the graph's data was made.

    ``path`` holds one JSON line per dataset (:func:`summarize`) of the triples
    loaded into ``graph``; ``held`` are the IRIs whose incoming links were taken
    out of those triples afterwards (:func:`kg.ingest.hold_back_links`); ``about_others``
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
    """Counts, labels and bitsets of the facet values; merge the text index's segments."""
    db.execute("UPDATE terms SET count = (SELECT count(*) FROM facets WHERE term = terms.id), bits = NULL")
    db.execute("DELETE FROM terms WHERE count = 0")
    named = db.execute("SELECT id, value FROM terms WHERE iri AND facet != 'keyword'").fetchall()
    for part in _chunks(named, CHUNK):
        db.executemany("UPDATE terms SET label = ? WHERE id = ?", _labels(generation, part))
    top = db.execute("SELECT coalesce(max(id), 0) FROM datasets").fetchone()[0]
    frequent = db.execute("SELECT id FROM terms ORDER BY count DESC LIMIT ?", (BITSET_TERMS,)).fetchall()
    for (ident,) in frequent:
        bits = _bitset((d for (d,) in db.execute("SELECT dataset FROM facets WHERE term = ?", (ident,))), top)
        db.execute("UPDATE terms SET bits = ? WHERE id = ?", (bits.to_bytes((top >> 3) + 1, "little"), ident))
    db.execute(
        "INSERT INTO text(text) VALUES ('optimize')"
        if full
        else "INSERT INTO text(text, rank) VALUES ('merge', 500)"
    )


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


def _bitset(ids: Iterable[int], top: int) -> int:
    buffer = bytearray((top >> 3) + 1)
    for i in ids:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


def _ids(bits: int) -> list[int]:
    out = []
    for index, byte in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
        if byte:
            out.extend((index << 3) + k for k in range(8) if byte >> k & 1)
    return out


# ---------------------------------------------------------------- querying


@dataclass(frozen=True)
class Query:
    """A validated search request (see :func:`parse_query`)."""

    q: str = ""
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (facet, values) in FACETS order
    sort: str = "modified"
    page: int = 1
    size: int = 20

    def selected(self, facet: str) -> tuple[str, ...]:
        return dict(self.filters).get(facet, ())

    def words(self) -> list[str]:
        return _words(self.q)


@dataclass(frozen=True)
class Value:
    """A facet value as shown: its count in the result set (or 0 when it labels a hit)."""

    value: str
    label: str
    count: int = 0
    selected: bool = False


@dataclass(frozen=True)
class Hit:
    iri: str
    title: str
    snippet: tuple[tuple[str, bool], ...]  # (text, is a matched word)
    modified: str
    publishers: tuple[Value, ...]
    formats: tuple[Value, ...]
    themes: tuple[Value, ...]

    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet)


@dataclass(frozen=True)
class Result:
    query: Query
    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, tuple[Value, ...]]

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, -(-self.total // self.query.size))


def _words(q: str) -> list[str]:
    """The words of a query, as the tokenizer would cut them (only letters and digits survive)."""
    seen: dict[str, str] = {}
    for word in _WORD.findall(q):
        seen.setdefault(word.casefold(), word)
    return list(seen.values())


def parse_query(args: Mapping[str, Sequence[str]]) -> Query:
    """Validate request parameters (each name to its list of values).

    :raises ValueError: with a message for the user, on anything out of bounds or unknown.
    """
    unknown = sorted(set(args) - {"q", "sort", "page", "size", *FACETS})
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; use q, sort, page, size or {', '.join(FACETS)}")
    single = {}
    for name in ("q", "sort", "page", "size"):
        values = args.get(name, [])
        if len(values) > 1:
            raise ValueError(f"give {name} at most once")
        single[name] = values[0].strip() if values else ""
    q = single["q"]
    if len(q) > MAX_Q:
        raise ValueError(f"q is too long: at most {MAX_Q} characters")
    if len(_words(q)) > MAX_WORDS:
        raise ValueError(f"q has too many words: at most {MAX_WORDS}")
    sort = single["sort"] or ("relevance" if _words(q) else "modified")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    page = _number("page", single["page"], 1, MAX_PAGE)
    size = _number("size", single["size"], 20, MAX_SIZE)
    filters = []
    for facet in FACETS:
        values = list(
            dict.fromkeys(
                " ".join(v.split()).casefold() if facet == "keyword" else v.strip()
                for v in args.get(facet, [])
            )
        )
        values = [v for v in values if v]
        if len(values) > MAX_VALUES or any(len(v) > 2000 for v in values):
            raise ValueError(f"too many or too long {facet} values: at most {MAX_VALUES}")
        if values:
            filters.append((facet, tuple(values)))
    return Query(q, tuple(filters), sort, page, size)


def _number(name: str, raw: str, default: int, most: int) -> int:
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= most:
        raise ValueError(f"{name} must be a whole number from 1 to {most}")
    return int(raw)


def open_index(store: Store) -> Index | None:
    """The index of the published generation (None when nothing was ever published), reopened on change.

    :raises StoreError: if the published generation has no index (it was built without the builder).
    """
    folder = store.folder()
    if folder is None:
        return None
    path, key = folder / INDEX_FILE, str(store.path.resolve())
    with _open_lock:
        index = _open.get(key)
        if index is None or index.path != path:  # the old generation's file is closed with its Index
            if not path.is_file():
                raise StoreError(
                    f"the search index of generation {folder.name} is missing; the next write builds it"
                )
            index = _open[key] = Index(path)
        _open.move_to_end(key)
        while len(_open) > 8:  # stores per process: one in production, more in tests
            _open.popitem(last=False)
        return index


_open: OrderedDict[str, Index] = OrderedDict()
_open_lock = threading.Lock()


def empty_result(query: Query) -> Result:
    return Result(query, 0, (), {facet: () for facet in FACETS})


class Index:
    """One generation's index, opened read-only; facet bitsets and sort orders held in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._cache: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        db = self._db()
        self.top = db.execute("SELECT coalesce(max(id), 0) FROM datasets").fetchone()[0]
        self.terms: dict[int, tuple[str, str, str, int]] = {}
        self.lookup: dict[tuple[str, str], int] = {}
        self.by_facet: dict[str, list[int]] = {facet: [] for facet in FACETS}
        self.bits: dict[int, int] = {}
        rows = db.execute("SELECT id, facet, value, label, count, bits FROM terms ORDER BY count DESC, label")
        for ident, facet, value, label, count, bits in rows:
            self.terms[ident] = (facet, value, label, count)
            self.lookup[(facet, value)] = ident
            self.by_facet[facet].append(ident)
            if bits is not None:
                self.bits[ident] = int.from_bytes(bits, "little")
        self.order = {
            sort: array("q", (i for (i,) in db.execute(f"SELECT id FROM datasets ORDER BY {keys}")))
            for sort, keys in (("modified", "modified DESC, sort_title, id"), ("title", "sort_title, id"))
        }
        self.all = _bitset(self.order["title"], self.top)
        self.count = len(self.order["title"])

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:  # one connection per thread: the file never changes, so none of them locks
            db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def search(self, query: Query, *, facet_limit: int = FACET_LIMIT) -> Result:
        """The page of hits, the total and the facet counts of a query.

        Facets combine with AND; the values of one facet with OR. A facet's counts are
        taken over the hits of every *other* selected facet, so its values stay choosable.
        """
        words = query.words()
        text = "{title keywords description} : (" + " ".join(f'"{w}"' for w in words) + ")" if words else ""
        every = self._text(text) if text else self.all
        chosen = {facet: self._union(facet, values) for facet, values in query.filters}
        found = every
        for bits in chosen.values():
            found &= bits
        facets = {}
        for facet in FACETS:
            scope = every
            for other, bits in chosen.items():
                if other != facet:
                    scope &= bits
            facets[facet] = self._counts(facet, scope, query.selected(facet), facet_limit)
        total = found.bit_count()
        ids = self._page(query, text, found, total) if total else []
        return Result(query, total, tuple(self._hits(ids, text)), facets)

    def _text(self, text: str) -> int:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        rows = self._db().execute("SELECT rowid FROM text WHERE text MATCH ?", (text,))
        bits = _bitset((i for (i,) in rows), self.top)
        with self._lock:
            self._cache[text] = bits
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return bits

    def _union(self, facet: str, values: Iterable[str]) -> int:
        bits = 0
        for value in values:
            ident = self.lookup.get((facet, value))
            if ident in self.bits:
                bits |= self.bits[ident]
            elif ident is not None:
                rows = self._db().execute("SELECT dataset FROM facets WHERE term = ?", (ident,))
                bits |= _bitset((i for (i,) in rows), self.top)
        return bits

    def _counts(self, facet: str, scope: int, selected: tuple[str, ...], limit: int) -> tuple[Value, ...]:
        everything = scope == self.all
        counts: dict[int, int] = {}
        for ident in self.by_facet[facet]:
            if ident in self.bits:
                n = self.terms[ident][3] if everything else (scope & self.bits[ident]).bit_count()
            elif everything:
                n = self.terms[ident][3]
            else:
                continue
            if n:
                counts[ident] = n
        rare = [i for i in self.by_facet[facet] if i not in self.bits]
        if rare and not everything and scope.bit_count() <= SMALL_SET:
            rows = self._db().execute(
                "SELECT f.term, count(*) FROM json_each(?) j JOIN facets f ON f.dataset = j.value "
                "JOIN terms t ON t.id = f.term WHERE t.facet = ? AND t.bits IS NULL GROUP BY f.term",
                (json.dumps(_ids(scope)), facet),
            )
            counts.update(rows)
        ranked = sorted(counts, key=lambda i: (-counts[i], self.terms[i][2].casefold()))[:limit]
        shown = [self._value(i, counts[i], self.terms[i][1] in selected) for i in ranked]
        values = {v.value for v in shown}
        for value in selected:
            if value not in values:
                ident = self.lookup.get((facet, value))
                count = (scope & self._union(facet, [value])).bit_count()
                shown.append(Value(value, self.terms[ident][2] if ident else value, count, True))
        return tuple(shown)

    def _value(self, ident: int, count: int = 0, selected: bool = False) -> Value:
        _, value, label, _ = self.terms[ident]
        return Value(value, label, count, selected)

    def _page(self, query: Query, text: str, found: int, total: int) -> list[int]:
        offset = (query.page - 1) * query.size
        if offset >= total:
            return []
        if query.sort == "relevance" and text:
            tags = [
                "tags : ("
                + " OR ".join(f'"f{self.lookup[(f, v)]}"' for v in values if (f, v) in self.lookup)
                + ")"
                for f, values in query.filters
            ]
            rows = self._db().execute(
                f"SELECT rowid FROM text WHERE text MATCH ? ORDER BY {RANK}, rowid LIMIT ? OFFSET ?",
                (" AND ".join([text, *tags]), query.size, offset),
            )
            return [i for (i,) in rows]
        order = self.order["title" if query.sort == "title" else "modified"]
        if found == self.all:
            return list(order[offset : offset + query.size])
        member = found.to_bytes((self.top >> 3) + 1, "little")
        page: list[int] = []
        for ident in order:  # at most one pass over the order: a few ms at 100,000 datasets
            if member[ident >> 3] >> (ident & 7) & 1:
                if offset:
                    offset -= 1
                else:
                    page.append(ident)
                    if len(page) == query.size:
                        break
        return page

    def _hits(self, ids: list[int], text: str) -> Iterator[Hit]:
        if not ids:
            return
        db, marks = self._db(), ",".join("?" * len(ids))
        rows = {
            r[0]: r
            for r in db.execute(
                f"SELECT id, iri, title, description, modified FROM datasets WHERE id IN ({marks})", ids
            )
        }
        terms: dict[int, list[int]] = {}
        for dataset, term in db.execute(f"SELECT dataset, term FROM facets WHERE dataset IN ({marks})", ids):
            terms.setdefault(dataset, []).append(term)
        snippets: dict[int, str] = {}
        if text:
            snippet = "snippet(text, 2, char(2), char(3), '…', 40)"
            query = f"SELECT rowid, {snippet} FROM text WHERE text MATCH ? AND rowid IN ({marks})"
            snippets = dict(db.execute(query, (text, *ids)))
        for ident in ids:
            _, iri, title, description, modified = rows[ident]
            mine = sorted(terms.get(ident, []), key=lambda i: self.terms[i][2].casefold())

            def of(facet: str, mine: list[int] = mine) -> tuple[Value, ...]:
                return tuple(self._value(i) for i in mine if self.terms[i][0] == facet)

            snippet = _segments(snippets[ident]) if ident in snippets else _short(description)
            yield Hit(iri, title, snippet, modified, of("publisher"), of("format"), of("theme"))


def _segments(snippet: str) -> tuple[tuple[str, bool], ...]:
    parts = re.split(r"\x02([^\x03]*)\x03", snippet)
    return tuple((part, i % 2 == 1) for i, part in enumerate(parts) if part)


def _short(text: str, most: int = 240) -> tuple[tuple[str, bool], ...]:
    if len(text) > most:
        text = text[:most].rsplit(" ", 1)[0] + " …"
    return ((text, False),) if text else ()
