"""The derived data of the catalogue pages: counts, the home page, members, agencies, vocabularies.

Built by :func:`kg.derived.build.build_derived` (see there for where and when); read by the
views of ``/``, ``/catalog``, ``/.well-known/void`` and ``/agencies``.

Tables:

* ``members(graph, kind, iri)``: the catalogue's ``dcat:dataset`` / ``dcat:service`` links
  per graph, and ``member_order(position, kind, iri)`` their union in page order (datasets,
  then services, each in IRI order): a catalogue page is a range of positions;
* ``agencies``: every agency (an IRI typed ``org:Organization``, ``org:OrganizationalUnit``,
  ``cpov:PublicOrganisation`` or ``foaf:Organization`` in a data graph) in tree order (``id``:
  roots, then each one's sub-organisations and units, by name), with its parent, root, depth,
  ancestors, unit or organisation, kind of body (``org:classification``'s label), datasets it
  publishes and those of its whole subtree, and ``agency_sources(agency, source)``;
* ``vocabulary(iri, brings)``: for every term the vocabulary graph describes, the terms whose
  descriptions a catalogue page that uses it carries (:func:`kg.catalog.page_triples`: the term,
  the concepts it names, the schemes of both), and ``descriptions(iri, ntriples)`` those
  descriptions: a page looks its terms up here instead of asking the store;
* values of the ``derived`` table: ``counts``, ``home``, ``agency_facets``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from kg.derived.tables import Build
from kg.mapping.ntriples import nt_iri, nt_literal
from kg.search.build import best_text
from kg.store.results import convert
from kg.vocab import CPOV, DCAT, FOAF, ORG, SKOS

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

TABLES = (
    "members",
    "member_order",
    "agencies",
    "agency_sources",
    "vocabulary",
    "descriptions",
)
SCHEMA = """
CREATE TABLE members(graph TEXT NOT NULL, kind TEXT NOT NULL, iri TEXT NOT NULL,
  PRIMARY KEY(graph, kind, iri)) WITHOUT ROWID;
CREATE TABLE member_order(position INTEGER PRIMARY KEY, kind TEXT NOT NULL, iri TEXT NOT NULL);
CREATE INDEX member_order_iri ON member_order(iri);
CREATE TABLE agencies(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  fold TEXT NOT NULL, parent INTEGER, root INTEGER NOT NULL, depth INTEGER NOT NULL,
  ancestors TEXT NOT NULL, unit INTEGER NOT NULL, kind TEXT NOT NULL, datasets INTEGER NOT NULL,
  with_units INTEGER NOT NULL, children INTEGER NOT NULL);
CREATE INDEX agencies_root ON agencies(root, id);
CREATE TABLE agency_sources(source TEXT NOT NULL, agency INTEGER NOT NULL,
  PRIMARY KEY(source, agency)) WITHOUT ROWID;
CREATE TABLE vocabulary(iri TEXT PRIMARY KEY, brings TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE descriptions(iri TEXT PRIMARY KEY, ntriples TEXT NOT NULL) WITHOUT ROWID;
"""
AGENCY_CLASSES = (ORG.Organization, ORG.OrganizationalUnit, CPOV.PublicOrganisation, FOAF.Organization)
COUNTED = {"datasets": DCAT.Dataset, "distributions": DCAT.Distribution, "services": DCAT.DataService}
MEMBER_LINKS = {str(DCAT.dataset): "dataset", str(DCAT.service): "service"}
HOME_AGENCIES, HOME_THEMES, HOME_RECENT = 50, 20, 10
CHUNK = 1000  # IRIs per VALUES block


def build(b: Build) -> None:
    """Every table of this module but the home page (:func:`build_home`, which needs them all)."""
    _members(b)
    _agencies(b)
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
        if not b.changed(graph):
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
    for part in _chunks(list(iris), 500):
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
    for part in _chunks(list(iris), 500):
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


def concept_ntriples(db, used: Sequence[str]) -> str:
    """The descriptions, as N-Triples, of the vocabulary terms that a use of ``used`` brings."""
    wanted: set[str] = set()
    for part in _chunks(list(used), 500):
        marks = ",".join("?" * len(part))
        for (brings,) in db.execute(f"SELECT brings FROM vocabulary WHERE iri IN ({marks})", part):
            wanted.update(json.loads(brings))
    texts = []
    for part in _chunks(sorted(wanted), 500):
        marks = ",".join("?" * len(part))
        texts += [
            text for (text,) in db.execute(f"SELECT ntriples FROM descriptions WHERE iri IN ({marks})", part)
        ]
    return "".join(texts)


# ---------------------------------------------------------------- agencies


def fold(text: str) -> str:
    """Text as the agency search compares it: case and accents folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _agencies(b: Build) -> None:
    classes = " ".join(f"<{c}>" for c in AGENCY_CLASSES)
    found: dict[str, dict[str, Any]] = {}
    query = f"""SELECT DISTINCT ?a ?c ?g WHERE {{ VALUES ?c {{ {classes} }} GRAPH ?g {{ ?a a ?c }}
        FILTER(isIRI(?a)) }}"""
    for row in b.rows(query):
        entry = found.setdefault(row["a"] or "", {"unit": False, "sources": set()})
        entry["unit"] |= row["c"] == str(ORG.OrganizationalUnit)
        entry["sources"].add(b.layout.source_of(row["g"] or ""))
    iris = sorted(found)
    names, others = _labels(b, iris)
    shown = {iri: best_text(names.get(iri, [])) or best_text(others.get(iri, [])) or iri for iri in iris}
    parents, kinds = _parents(b, iris, found), _kinds(b, iris)
    order = _tree_order(iris, parents, shown)
    ids = {iri: n for n, iri in enumerate(order, start=1)}
    direct = _publisher_counts(b)
    children: dict[str, list[str]] = {}
    for iri in order:
        if parents.get(iri):
            children.setdefault(parents[iri], []).append(iri)
    for iri in order:
        ancestors = _ancestors(iri, parents)
        below = _subtree(iri, children)
        b.db.execute(
            "INSERT INTO agencies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ids[iri], iri, shown[iri],
                fold(" ".join(text for text, _ in names.get(iri, []) + others.get(iri, [])) or iri),
                ids.get(parents.get(iri, "")), ids[ancestors[0]] if ancestors else ids[iri], len(ancestors),
                json.dumps([ids[a] for a in ancestors]), int(found[iri]["unit"]), kinds.get(iri, ""),
                direct.get(iri, 0), _with_units(b, below) if len(below) > 1 else direct.get(iri, 0),
                len(children.get(iri, [])),
            ),
        )  # fmt: skip
        b.db.executemany(
            "INSERT INTO agency_sources VALUES (?, ?)", [(s, ids[iri]) for s in sorted(found[iri]["sources"])]
        )
    b.put("agency_facets", _agency_facets(b))


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


def _labels(b: Build, iris: list[str]) -> tuple[dict[str, list], dict[str, list]]:
    """The names (foaf:name, skos:prefLabel) and the other labels (skos:altLabel: acronyms) of each
    agency, as (text, language): a name is shown, and both are searched."""
    names: dict[str, list[tuple[str, str]]] = {}
    others: dict[str, list[tuple[str, str]]] = {}
    for part in _chunks(iris):
        query = f"""SELECT DISTINCT ?a ?l (LANG(?l) AS ?g) ?alt WHERE {{ VALUES ?a {{ {_values(part)} }}
            {{ ?a <{FOAF.name}>|<{SKOS.prefLabel}> ?l BIND(false AS ?alt) }}
            UNION {{ ?a <{SKOS.altLabel}> ?l BIND(true AS ?alt) }} FILTER(isLiteral(?l)) }}"""
        for row in b.rows(query):
            text = " ".join((row["l"] or "").split())
            if text:
                into = others if row["alt"] in ("true", "1") else names  # Virtuoso: 1
                into.setdefault(row["a"] or "", []).append((text, row["g"] or ""))
    return names, others


def _parents(b: Build, iris: list[str], found: dict[str, Any]) -> dict[str, str]:
    """Each agency's parent among the agencies (the first in IRI order when it names several)."""
    up = f"<{ORG.subOrganizationOf}>|<{ORG.unitOf}>|^<{ORG.hasSubOrganization}>|^<{ORG.hasUnit}>"
    named: dict[str, set[str]] = {}
    for part in _chunks(iris):
        query = (
            f"SELECT DISTINCT ?a ?p WHERE {{ VALUES ?a {{ {_values(part)} }} ?a {up} ?p FILTER(isIRI(?p)) }}"
        )
        for row in b.rows(query):
            if row["p"] in found and row["p"] != row["a"]:
                named.setdefault(row["a"] or "", set()).add(row["p"] or "")
    parents = {iri: sorted(options)[0] for iri, options in named.items()}
    for iri in list(parents):  # a loop in the hierarchy (a is under b, b under a): cut where it closes
        seen = {iri}
        current = parents.get(iri)
        while current is not None:
            if current in seen:
                parents.pop(iri, None)
                break
            seen.add(current)
            current = parents.get(current)
    return parents


def _kinds(b: Build, iris: list[str]) -> dict[str, str]:
    """Each agency's kind of body: the label of its org:classification (a literal as it is, an IRI
    without a label by its last segment); several are joined."""
    found: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for part in _chunks(iris):
        query = f"""SELECT ?a ?k ?l (LANG(?l) AS ?g) WHERE {{ VALUES ?a {{ {_values(part)} }}
            ?a <{ORG.classification}> ?k OPTIONAL {{ ?k <{SKOS.prefLabel}> ?l }} }}"""
        for row in b.rows(query):
            labels = found.setdefault(row["a"] or "", {}).setdefault(row["k"] or "", [])
            if row["l"]:
                labels.append((row["l"], row["g"] or ""))
    out = {}
    for iri, kinds in found.items():
        names = {
            best_text(labels) or key.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
            for key, labels in kinds.items()
        }
        out[iri] = ", ".join(sorted(" ".join(name.split()).lower() for name in names if name.strip()))
    return out


def _tree_order(iris: list[str], parents: dict[str, str], shown: dict[str, str]) -> list[str]:
    """The agencies in tree order: roots by name, each followed by its children, by name."""
    key = {iri: (fold(shown[iri]), shown[iri], iri) for iri in iris}
    children: dict[str | None, list[str]] = {}
    for iri in iris:
        children.setdefault(parents.get(iri), []).append(iri)
    order: list[str] = []
    stack = sorted(children.get(None, []), key=key.get, reverse=True)
    while stack:
        iri = stack.pop()
        order.append(iri)
        stack.extend(sorted(children.get(iri, []), key=key.get, reverse=True))
    return order


def _ancestors(iri: str, parents: dict[str, str]) -> list[str]:
    """Root first, parent last."""
    out = []
    current = parents.get(iri)
    while current is not None:
        out.insert(0, current)
        current = parents.get(current)
    return out


def _subtree(iri: str, children: dict[str, list[str]]) -> list[str]:
    out, stack = [], [iri]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children.get(current, []))
    return out


def _publisher_counts(b: Build) -> dict[str, int]:
    """Datasets per publisher: the search index's publisher facet."""
    return dict(b.db.execute("SELECT value, count FROM terms WHERE facet = 'publisher'"))


def _with_units(b: Build, iris: list[str]) -> int:
    """Datasets published by any of ``iris`` (an agency and its subtree), each counted once."""
    marks = ",".join("?" * len(iris))
    query = (
        "SELECT count(DISTINCT f.dataset) FROM terms t JOIN facets f ON f.term = t.id "
        f"WHERE t.facet = 'publisher' AND t.value IN ({marks})"
    )
    return b.db.execute(query, iris).fetchone()[0]


def _agency_facets(b: Build) -> dict[str, list]:
    """The values the directory filters on, with how many agencies have each."""
    queries = {
        "source": "SELECT source, count(*) FROM agency_sources GROUP BY source ORDER BY source",
        "kind": "SELECT kind, count(*) FROM agencies WHERE kind != '' GROUP BY kind ORDER BY kind",
        "type": "SELECT CASE unit WHEN 1 THEN 'unit' ELSE 'organisation' END, count(*) FROM agencies "
        "GROUP BY unit ORDER BY unit",
    }
    return {name: [list(row) for row in b.db.execute(query)] for name, query in queries.items()}


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
