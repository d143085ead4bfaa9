"""The agency directory's derived data: every agency in tree order, with its counts and sources.

Why a module of its own: the directory is a tree built from many small queries (labels,
parents, kinds of body, datasets of each subtree), with rules of its own (a loop in the
hierarchy cut where it closes, names folded for search); ``/agencies``, an agency's page and
the home page read it. Built by :func:`kg.derived.build.build_derived` before
:mod:`kg.derived.catalog`, which counts the agencies.

Tables:

* ``agencies``: every agency (an IRI typed ``org:Organization``, ``org:OrganizationalUnit``,
  ``cpov:PublicOrganisation`` or ``foaf:Organization`` in a data graph) in tree order (``id``:
  roots, then each one's sub-organisations and units, by name), with its parent, root, depth,
  ancestors, unit or organisation, kind of body (``org:classification``'s label), datasets it
  publishes and those of its whole subtree, and ``agency_sources(agency, source)``;
* ``agency_services(publisher, service)``: the data services each agent publishes, which its page
  lists: asked of the store, they were every service of the catalogue joined with every
  ``dct:publisher`` link of the agent (27 ms at 1,000,000 datasets);
* the values ``agency_facets`` of the ``derived`` table (what the directory filters on) and
  ``agent_links`` (the predicates by which anything points at an agent: its page lists those
  links by a lookup per predicate, where one over all of them read each of its datasets'
  ``dct:publisher`` links, which the page does not list, to find the few others).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any

from kg.derived.tables import Build, chunks
from kg.search.build import best_text
from kg.vocab import CPOV, DCAT, DCT, FOAF, ORG, SKOS

TABLES = ("agencies", "agency_sources", "agency_services")
SCHEMA = """
CREATE TABLE agencies(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  fold TEXT NOT NULL, parent INTEGER, root INTEGER NOT NULL, depth INTEGER NOT NULL,
  ancestors TEXT NOT NULL, unit INTEGER NOT NULL, kind TEXT NOT NULL, datasets INTEGER NOT NULL,
  with_units INTEGER NOT NULL, children INTEGER NOT NULL);
CREATE INDEX agencies_root ON agencies(root, id);
CREATE TABLE agency_sources(source TEXT NOT NULL, agency INTEGER NOT NULL,
  PRIMARY KEY(source, agency)) WITHOUT ROWID;
CREATE TABLE agency_services(publisher TEXT NOT NULL, service TEXT NOT NULL,
  PRIMARY KEY(publisher, service)) WITHOUT ROWID;
"""
AGENCY_CLASSES = (ORG.Organization, ORG.OrganizationalUnit, CPOV.PublicOrganisation, FOAF.Organization)
# what has an agency page (kg.describe.KINDS): the directory's classes and foaf:Agent
AGENT_CLASSES = (*AGENCY_CLASSES, FOAF.Agent)


def fold(text: str) -> str:
    """Text as the agency search compares it: case and accents folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def build(b: Build) -> None:
    """The agencies, their sources and the directory's facets (before :func:`kg.derived.catalog.build`)."""
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
    _services(b)
    b.put("agent_links", _agent_links(b))


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


def _labels(b: Build, iris: list[str]) -> tuple[dict[str, list], dict[str, list]]:
    """The names (foaf:name, skos:prefLabel) and the other labels (skos:altLabel: acronyms) of each
    agency, as (text, language): a name is shown, and both are searched."""
    names: dict[str, list[tuple[str, str]]] = {}
    others: dict[str, list[tuple[str, str]]] = {}
    for part in chunks(iris):
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
    for part in chunks(iris):
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
    for part in chunks(iris):
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


def _services(b: Build) -> None:
    """The data services of each publisher (one pass over the services: a few per thousand datasets)."""
    query = f"""SELECT DISTINCT ?a ?s WHERE {{ ?s a <{DCAT.DataService}> ; <{DCT.publisher}> ?a
        FILTER(isIRI(?s) && isIRI(?a)) }}"""
    b.db.executemany("INSERT INTO agency_services VALUES (?, ?)", ((r["a"], r["s"]) for r in b.rows(query)))


def _agent_links(b: Build) -> list[str]:
    """The predicates of every link to an agent, in IRI order (one pass over those links: about
    one a dataset, its dct:publisher)."""
    classes = " ".join(f"<{c}>" for c in AGENT_CLASSES)
    query = f"""SELECT DISTINCT ?p WHERE {{ {{ SELECT DISTINCT ?a WHERE {{ VALUES ?c {{ {classes} }} ?a a ?c
        FILTER(isIRI(?a)) }} }} ?s ?p ?a }}"""
    return sorted(r["p"] or "" for r in b.rows(query))


def _agency_facets(b: Build) -> dict[str, list]:
    """The values the directory filters on, with how many agencies have each."""
    queries = {
        "source": "SELECT source, count(*) FROM agency_sources GROUP BY source ORDER BY source",
        "kind": "SELECT kind, count(*) FROM agencies WHERE kind != '' GROUP BY kind ORDER BY kind",
        "type": "SELECT CASE unit WHEN 1 THEN 'unit' ELSE 'organisation' END, count(*) FROM agencies "
        "GROUP BY unit ORDER BY unit",
    }
    return {name: [list(row) for row in b.db.execute(query)] for name, query in queries.items()}
