"""The derived data of the catalogue pages: counts, the home page, members, vocabularies.

Built by :func:`kg.derived.build.build_derived` (see there for where and when); read by the
views of ``/``, ``/catalog``, ``/.well-known/void`` and ``/agencies``.

Tables:

* ``members(graph, kind, iri)``: the catalogue's ``dcat:dataset`` / ``dcat:service`` links
  per graph, and ``member_order(position, kind, iri)`` their union in page order (datasets,
  then services, each in IRI order): a catalogue page is a range of positions;
* ``vocabulary(iri, brings)``: for every term the vocabulary graph describes, the terms whose
  descriptions a catalogue page that uses it carries (:func:`kg.catalog.page_triples`: the term,
  the concepts it names, the schemes of both), and ``descriptions(iri, ntriples)`` those
  descriptions: a page looks its terms up here instead of asking the store;
* values of the ``derived`` table: ``counts``, ``home``.

The agency directory's tables, which the home page reads too, are :mod:`kg.derived.agencies`'.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from kg.derived.tables import Build, chunks
from kg.derived.void_lines import split
from kg.mapping.ntriples import nt_iri, nt_literal
from kg.store.results import convert
from kg.vocab import DCAT, SKOS

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

TABLES = (
    "members",
    "member_order",
    "vocabulary",
    "descriptions",
)
SCHEMA = """
CREATE TABLE members(graph TEXT NOT NULL, kind TEXT NOT NULL, iri TEXT NOT NULL,
  PRIMARY KEY(graph, kind, iri)) WITHOUT ROWID;
CREATE TABLE member_order(position INTEGER PRIMARY KEY, kind TEXT NOT NULL, iri TEXT NOT NULL);
CREATE INDEX member_order_iri ON member_order(iri);
CREATE TABLE vocabulary(iri TEXT PRIMARY KEY, brings TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE descriptions(iri TEXT PRIMARY KEY, ntriples TEXT NOT NULL) WITHOUT ROWID;
"""
COUNTED = {"datasets": DCAT.Dataset, "distributions": DCAT.Distribution, "services": DCAT.DataService}
MEMBER_LINKS = {str(DCAT.dataset): "dataset", str(DCAT.service): "service"}
HOME_AGENCIES, HOME_THEMES, HOME_RECENT = 50, 20, 10


def build(b: Build) -> None:
    """Every table of this module but the home page (:func:`build_home`, which needs them all);
    after :func:`kg.derived.agencies.build`, whose agencies it counts."""
    _members(b)
    _vocabulary(b)
    counts = {"agencies": b.db.execute("SELECT count(*) FROM agencies").fetchone()[0]}
    for name, cls in COUNTED.items():
        (row,) = b.rows(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a <{cls}> }}")
        counts[name] = int(row["n"] or 0)
    b.put("counts", counts)


# ---------------------------------------------------------------- graphs and members


def _members(b: Build) -> None:
    graphs = [g for g in b.generation.data_graphs() if b.layout.holds_members(g)]
    if b.incremental:
        b.db.executemany(
            "INSERT INTO members SELECT graph, kind, iri FROM old.members WHERE graph = ?",
            [(g,) for g in graphs if not b.changed(g)],
        )
    links = ", ".join(f"<{p}>" for p in MEMBER_LINKS)
    for graph in graphs:
        if not b.changed(graph) or _patched_members(b, graph):
            continue
        query = f"""SELECT DISTINCT ?p ?m WHERE {{ GRAPH <{graph}> {{ <{b.layout.catalog}> ?p ?m }}
            FILTER(?p IN ({links}) && isIRI(?m)) }}"""
        b.db.executemany(
            "INSERT INTO members VALUES (?, ?, ?)",
            ((graph, MEMBER_LINKS[row["p"] or ""], row["m"]) for row in b.rows(query)),
        )
    b.db.execute(
        "INSERT INTO member_order SELECT row_number() OVER (ORDER BY kind, iri), kind, iri "
        "FROM (SELECT DISTINCT kind, iri FROM members)"
    )


def _patched_members(b: Build, graph: str) -> bool:
    """A patched graph's members: the previous generation's, changed by the member links among the
    lines whose presence the patch changed (:meth:`Build.moved`: each is in the graph now or was
    before, not both); False when the graph is to be read whole.

    Why: after a re-harvest of 100,000 datasets with 1 % changed, the members were read again by a
    query over the whole graph (99,500 rows: 4.8 s profiled) to change a few hundred."""
    moved = b.moved(graph)
    if moved is None:
        return False
    catalog = nt_iri(b.layout.catalog).encode() + b" "
    links = [split(line) for line in sorted(moved) if line.startswith(catalog)]
    links = [(s, p, o) for s, p, o in links if p[1:-1] in MEMBER_LINKS and o.startswith("<")]
    if any("\\" in o for _, _, o in links):  # an escape in an IRI: its text is not its value
        return False
    b.db.execute("INSERT INTO members SELECT graph, kind, iri FROM old.members WHERE graph = ?", (graph,))
    for (_, p, o), now in zip(links, b.generation.matches(links, graph=graph), strict=True):
        row = (graph, MEMBER_LINKS[p[1:-1]], o[1:-1])
        if now:
            b.db.execute("INSERT OR IGNORE INTO members VALUES (?, ?, ?)", row)
        else:
            b.db.execute("DELETE FROM members WHERE graph = ? AND kind = ? AND iri = ?", row)
    return True


def member_page(db, start: int, size: int) -> list[tuple[str, str]]:
    """The (iri, kind) of positions ``start`` + 1 … ``start`` + ``size`` of the catalogue."""
    rows = db.execute(
        "SELECT iri, kind FROM member_order WHERE position > ? AND position <= ? ORDER BY position",
        (start, start + size),
    )
    return rows.fetchall()


def dataset_labels(db, iris: Sequence[str]) -> dict[str, dict[str, str]]:
    """Title, first publisher's name and modification date of those of ``iris`` that are datasets
    (the search index's ``datasets``, the directory's names), as a catalogue page lists them."""
    found = {}
    for part in chunks(list(iris), 500):
        marks = ",".join("?" * len(part))
        query = (
            "SELECT d.iri, d.title, d.modified, (SELECT a.name FROM facets f "
            "CROSS JOIN terms t ON t.id = f.term JOIN agencies a ON a.iri = t.value "
            "WHERE f.dataset = d.id AND t.facet = 'publisher' "
            f"ORDER BY t.value LIMIT 1) FROM datasets d WHERE d.iri IN ({marks})"
        )
        for iri, title, modified, publisher in db.execute(query, part):
            found[iri] = {"title": title, "publisher": publisher or "", "modified": modified}
    return found


def members_among(db, iris: Sequence[str]) -> set[str]:
    """Those of ``iris`` that are members of the catalogue (a catalogue page leaves their
    descriptions to their own pages)."""
    found: set[str] = set()
    for part in chunks(list(iris), 500):
        marks = ",".join("?" * len(part))
        found.update(
            iri for (iri,) in db.execute(f"SELECT iri FROM member_order WHERE iri IN ({marks})", part)
        )
    return found


def member_count(db) -> int:
    return db.execute("SELECT coalesce(max(position), 0) FROM member_order").fetchone()[0]


# ---------------------------------------------------------------- vocabulary descriptions


def _vocabulary(b: Build) -> None:
    """The descriptions of the vocabulary graph's terms, and which ones a use of each term brings
    (as :func:`kg.catalog._concept_query` picks them: the term, the concepts it names, their schemes)."""
    graph = b.layout.vocabularies
    query = """SELECT ?s ?p ?o (isIRI(?o) AS ?i) (isBlank(?o) AS ?k) (LANG(?o) AS ?l) (DATATYPE(?o) AS ?d)
        WHERE { ?s ?p ?o FILTER(isIRI(?s)) }"""
    lines: dict[str, list[str]] = {}
    links: dict[str, set[str]] = {}
    schemes: dict[str, set[str]] = {}
    for row in b.rows(
        query, default_graphs=[graph]
    ):  # as the default graph: a remote store has no GRAPH then
        s, p, o = row["s"] or "", row["p"] or "", row["o"] or ""
        if row["i"] in ("true", "1"):
            term = nt_iri(o)
            links.setdefault(s, set()).add(o)
            if p == str(SKOS.inScheme):
                schemes.setdefault(s, set()).add(o)
        elif row["k"] in ("true", "1"):
            term = f"_:{o}"
        else:
            term = nt_literal(o) + (
                f"@{row['l']}" if row["l"] else "" if row["d"] in (None, XSD_STRING) else f"^^<{row['d']}>"
            )
        lines.setdefault(s, []).append(f"{nt_iri(s)} {nt_iri(p)} {term} .\n")
    for iri in sorted(lines):
        concepts = {c for c in {iri} | links.get(iri, set()) if c in lines}
        brings = concepts | {scheme for c in concepts for scheme in schemes.get(c, ()) if scheme in lines}
        b.db.execute("INSERT INTO vocabulary VALUES (?, ?)", (iri, json.dumps(sorted(brings))))
        text = convert("".join(lines[iri]), "nt").decode(
            "utf-8"
        )  # as pyoxigraph writes it, like a page's other lines
        b.db.execute("INSERT INTO descriptions VALUES (?, ?)", (iri, text))


def vocabulary_terms(db) -> frozenset[str]:
    """Every term the ``vocabulary`` table has (a few hundred: the EU vocabularies the catalogue
    uses), to keep in memory: a catalogue page's ~1,250 IRIs are mostly not terms."""
    return frozenset(iri for (iri,) in db.execute("SELECT iri FROM vocabulary"))


def concept_ntriples(db, used: Sequence[str], terms: frozenset[str] | None = None) -> str:
    """The descriptions, as N-Triples, of the vocabulary terms that a use of ``used`` brings;
    ``terms``: :func:`vocabulary_terms`, so that only those of ``used`` are looked up."""
    if terms is not None:
        used = [iri for iri in used if iri in terms]
    wanted: set[str] = set()
    for part in chunks(list(used), 500):
        marks = ",".join("?" * len(part))
        for (brings,) in db.execute(f"SELECT brings FROM vocabulary WHERE iri IN ({marks})", part):
            wanted.update(json.loads(brings))
    texts = []
    for part in chunks(sorted(wanted), 500):
        marks = ",".join("?" * len(part))
        texts += [
            text for (text,) in db.execute(f"SELECT ntriples FROM descriptions WHERE iri IN ({marks})", part)
        ]
    return "".join(texts)


# ---------------------------------------------------------------- the home page


def build_home(b: Build) -> None:
    """The home page's content: counts, the agencies and themes with most datasets, recent datasets."""
    db = b.db
    agencies = [
        {"agency": iri, "name": name, "datasets": n}
        for iri, name, n in db.execute(
            "SELECT iri, name, datasets FROM agencies ORDER BY datasets DESC, name LIMIT ?", (HOME_AGENCIES,)
        )
    ]
    themes = [
        {"theme": value, "label": label if label != value else "", "datasets": n}
        for value, label, n in db.execute(
            "SELECT value, label, count FROM terms WHERE facet = 'theme' ORDER BY count DESC, label LIMIT ?",
            (HOME_THEMES,),
        )
    ]
    recent = [
        {"dataset": iri, "title": title, "modified": modified}
        for iri, title, modified in db.execute(
            "SELECT iri, title, modified FROM datasets WHERE title != '' "
            "ORDER BY modified DESC, sort_title, iri LIMIT ?",
            (HOME_RECENT,),
        )
    ]
    counts = json.loads(db.execute("SELECT value FROM derived WHERE key = 'counts'").fetchone()[0])
    b.put("home", {"counts": counts, "agencies": agencies, "themes": themes, "recent": recent})
