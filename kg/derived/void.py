"""The VoID statistics of the whole graph, derived with each store generation, and their description.

``/.well-known/void`` counts, over the union of the public graphs: triples, distinct subjects,
objects and properties, entities (IRIs under the base that are subjects), the entities of each
class, the namespaces in use, and each graph's size. Distinct counts over a union cannot be
added up graph by graph (the same term is in many graphs), and a full pass over the store took
71 s at 100,000 datasets: too much for every write, a small source's included. So:

* each graph's size, predicates and classes are kept per graph (``graph_sizes``,
  ``graph_terms``) and only the changed graphs are read again; the triple count is the sum of
  the sizes (Oxigraph's union default graph keeps a triple once per graph that holds it, as
  ``COUNT(*)`` sees it) and the properties and classes are the union of the graphs' sets;
* the distinct counts are updated by difference: what the changed graphs alone held in the
  previous generation (terms found in no other graph) is taken off, what they alone hold now
  is added. Each side reads the changed graphs only, looking each of their terms up in the
  others, so the cost follows the size of the write, not of the store;
* without a previous generation, when the change is unknown, when the changed graphs are most
  of the store, or on a remote store (whose previous version is gone), one pass over the union
  counts everything, in four queries that hash each subject and object once.
"""

from __future__ import annotations

import json
from typing import Any

from rdflib import Literal, URIRef

from kg.catalog import grouped
from kg.derived.tables import Build
from kg.derived.void_lines import by_lines, patched_graph
from kg.errors import StoreError
from kg.iris import Minter, short_hash
from kg.mapping.ntriples import nt_line
from kg.settings import Settings
from kg.vocab import DCT, FOAF, PROV, RDF, VOID, XSD

TABLES = ("graph_sizes", "graph_terms")
SCHEMA = """
CREATE TABLE graph_sizes(graph TEXT PRIMARY KEY, triples INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE graph_terms(graph TEXT NOT NULL, kind TEXT NOT NULL, term TEXT NOT NULL,
  PRIMARY KEY(graph, kind, term)) WITHOUT ROWID;
"""
COUNTS = ("subjects", "objects", "entities")


def build(b: Build) -> None:
    """Graph sizes and terms, then the statistics (the value ``void`` of the ``derived`` table)."""
    graphs = b.generation.data_graphs()
    _per_graph(b, graphs)
    sizes = dict(b.db.execute("SELECT graph, triples FROM graph_sizes"))
    (own,) = b.rows("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graphs=[])  # the store's own
    properties = _terms(b, "p", "SELECT DISTINCT ?x WHERE { ?s ?x ?o }")
    classes_used = _terms(b, "c", f"SELECT DISTINCT ?x WHERE {{ ?s <{RDF.type}> ?x FILTER(isIRI(?x)) }}")
    counts = by_lines(b, sizes) or _by_difference(b, graphs, sizes) or _full(b)
    (ended,) = b.rows(
        f"SELECT (MAX(?end) AS ?m) {{ GRAPH <{b.layout.provenance}> {{ ?run <{PROV.endedAtTime}> ?end }} }}",
        default_graphs=[],
        private=True,
    )
    classes = {c: n for c, n in counts["classes"].items() if n and c in classes_used}
    b.put(
        "void",
        {
            "triples": sum(sizes.values()) + int(own["n"] or 0),
            "subjects": counts["subjects"],
            "objects": counts["objects"],
            "properties": len(properties),
            "entities": counts["entities"],
            "classes": classes,
            "vocabularies": sorted({_namespace(iri) for iri in [*properties, *classes]}),
            "subsets": sizes,
            "modified": ended["m"],
        },
    )


def _per_graph(b: Build, graphs: list[str]) -> None:
    """Size, predicates and classes of every public graph: copied when unchanged, else read."""
    if b.incremental:
        kept = [(g,) for g in graphs if not b.changed(g)]
        b.db.executemany("INSERT INTO graph_sizes SELECT * FROM old.graph_sizes WHERE graph = ?", kept)
        b.db.executemany("INSERT INTO graph_terms SELECT * FROM old.graph_terms WHERE graph = ?", kept)
    for graph in graphs:
        if b.changed(graph) and b.touched(graph) is not None:
            patched_graph(b, graph)
    done = {g for (g,) in b.db.execute("SELECT graph FROM graph_sizes")}
    for graph in graphs:
        if graph in done:
            continue
        query = f"SELECT ?p (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} GROUP BY ?p"
        per_predicate = {r["p"] or "": int(r["n"] or 0) for r in b.rows(query)}  # the size and the predicates
        b.db.execute("INSERT INTO graph_sizes VALUES (?, ?)", (graph, sum(per_predicate.values())))
        terms = [("p", predicate) for predicate in per_predicate]
        terms += [
            ("c", r["c"])
            for r in b.rows(
                f"SELECT DISTINCT ?c WHERE {{ GRAPH <{graph}> {{ ?s <{RDF.type}> ?c }} FILTER(isIRI(?c)) }}"
            )
        ]
        b.db.executemany("INSERT INTO graph_terms VALUES (?, ?, ?)", [(graph, k, t) for k, t in terms])


def _terms(b: Build, kind: str, own: str) -> set[str]:
    """The union of the graphs' predicates (``p``) or classes (``c``), and the store's own default graph's."""
    found = {t for (t,) in b.db.execute("SELECT DISTINCT term FROM graph_terms WHERE kind = ?", (kind,))}
    return found | {row["x"] or "" for row in b.rows(own, default_graphs=[])}


# ---------------------------------------------------------------- by difference


def _by_difference(b: Build, graphs: list[str], sizes: dict[str, int]) -> dict[str, Any] | None:
    """The counts as the previous generation's, less what its changed graphs alone held, plus what
    they alone hold now; None when that is not possible or not cheaper than a pass over all."""
    if not b.incremental:
        return None
    row = b.db.execute("SELECT value FROM old.derived WHERE key = 'void'").fetchone()
    old_sizes = dict(b.db.execute("SELECT graph, triples FROM old.graph_sizes"))
    changed = sorted(g for g in b.generation.changed if g in sizes or g in old_sizes)
    if row is None:
        return None
    before = json.loads(row[0])
    if not changed:
        return {k: before[k] for k in (*COUNTS, "classes")}
    read = sum(sizes.get(g, 0) + old_sizes.get(g, 0) for g in changed)
    if read > sum(sizes.values()):  # most of the store changed: one pass over it costs less
        return None
    try:
        gone = _alone(b, [g for g in changed if g in old_sizes], b.generation.previous_rows)
    except StoreError:
        return None
    new = _alone(b, [g for g in changed if g in sizes], b.generation.rows)
    counts: dict[str, Any] = {k: before[k] - gone[k] + new[k] for k in COUNTS}
    classes = dict(before["classes"])
    for c in set(gone["classes"]) | set(new["classes"]):
        classes[c] = classes.get(c, 0) - gone["classes"].get(c, 0) + new["classes"].get(c, 0)
    counts["classes"] = classes
    return counts


def _alone(b: Build, changed: list[str], rows) -> dict[str, Any]:
    """Subjects, objects, entities and each class's entities found in ``changed`` and in no other graph
    (the store's own default graph included), by ``rows`` (the new generation's or the previous one's)."""
    if not changed:
        return {k: 0 for k in COUNTS} | {"classes": {}}
    values = " ".join(f"<{g}>" for g in changed)
    others = f"FILTER(?h NOT IN ({', '.join(f'<{g}>' for g in changed)}))"

    def query(select: str, term: str, pattern: str, probe: str, group: str = "") -> list[dict]:
        return list(
            rows(
                f"""SELECT {select} WHERE {{
                    {{ SELECT DISTINCT {term} WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ {pattern} }} }} }}
                    FILTER NOT EXISTS {{ GRAPH ?h {{ {probe} }} {others} }}
                    FILTER NOT EXISTS {{ {probe} }} }} {group}""",
                default_graphs=[],
            )
        )

    (subjects,) = query(
        f"(COUNT(*) AS ?n) (SUM(IF({_entity('?s', b.layout.base)}, 1, 0)) AS ?e)",
        "?s",
        "?s ?p ?o",
        "?s ?q ?x",
    )
    (objects,) = query("(COUNT(*) AS ?n)", "?o", "?s ?p ?o", "?y ?q ?o")
    classes = query(
        "?c (COUNT(*) AS ?n)",
        "?s ?c",
        f"?s <{RDF.type}> ?c FILTER(isIRI(?c))",
        f"?s <{RDF.type}> ?c",
        "GROUP BY ?c",
    )
    return {
        "subjects": int(subjects["n"] or 0),
        "entities": int(subjects["e"] or 0),
        "objects": int(objects["n"] or 0),
        "classes": {r["c"] or "": int(r["n"] or 0) for r in classes},
    }


def _entity(var: str, base: str) -> str:
    quoted = base.replace("\\", "\\\\").replace('"', '\\"')
    return f'isIRI({var}) && STRSTARTS(STR({var}), "{quoted}")'


# ---------------------------------------------------------------- one pass


def _full(b: Build) -> dict[str, Any]:
    """The counts over the whole union: each subject and each object hashed once."""
    (subjects,) = b.rows(
        f"""SELECT (COUNT(*) AS ?n) (SUM(IF({_entity("?s", b.layout.base)}, 1, 0)) AS ?e)
        WHERE {{ SELECT DISTINCT ?s WHERE {{ ?s ?p ?o }} }}"""
    )
    (objects,) = b.rows("SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?s ?p ?o }")
    classes = b.rows(
        f"SELECT ?c (COUNT(DISTINCT ?s) AS ?n) {{ ?s <{RDF.type}> ?c FILTER(isIRI(?c)) }} GROUP BY ?c"
    )
    return {
        "subjects": int(subjects["n"] or 0),
        "entities": int(subjects["e"] or 0),
        "objects": int(objects["n"] or 0),
        "classes": {r["c"] or "": int(r["n"] or 0) for r in classes},
    }


def _namespace(iri: str) -> str:
    """The namespace of a term: up to its last ``#`` or ``/``."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1] if cut > 0 else iri


# ---------------------------------------------------------------- the description


def void_iri(settings: Settings) -> str:
    return f"{settings.base_uri}.well-known/void#dataset"


def void_ntriples(settings: Settings, stats: dict) -> str:
    """The VoID description of the whole graph, from the statistics :func:`build` derived, as N-Triples."""
    base = settings.base_uri
    dataset = URIRef(void_iri(settings))
    triples = [
        (dataset, RDF.type, VOID.Dataset),
        (dataset, DCT.title, Literal(settings.catalog_title, lang="en")),
        (dataset, DCT.description, Literal(f"{settings.catalog_title}: the whole graph as VoID", lang="en")),
        (dataset, FOAF.homepage, URIRef(base)),
        (dataset, VOID.sparqlEndpoint, URIRef(f"{base}sparql")),
        (dataset, VOID.dataDump, URIRef(f"{base}dump.nq")),
        (dataset, VOID.uriSpace, Literal(base)),
        (dataset, VOID.rootResource, URIRef(Minter(base).catalog())),
        (dataset, VOID.triples, Literal(stats["triples"])),
        (dataset, VOID.entities, Literal(stats["entities"])),
        (dataset, VOID.distinctSubjects, Literal(stats["subjects"])),
        (dataset, VOID.distinctObjects, Literal(stats["objects"])),
        (dataset, VOID.properties, Literal(stats["properties"])),
        (dataset, VOID.classes, Literal(len(stats["classes"]))),
    ]
    if stats["modified"]:
        triples.append((dataset, DCT.modified, Literal(stats["modified"], datatype=XSD.dateTime)))
    triples += [(dataset, VOID.vocabulary, URIRef(ns)) for ns in stats["vocabularies"]]
    for cls, n in sorted(stats["classes"].items()):
        part = URIRef(f"{base}.well-known/void#class-{short_hash(cls)}")
        triples += [
            (dataset, VOID.classPartition, part),
            (part, VOID["class"], URIRef(cls)),
            (part, VOID.entities, Literal(n)),
        ]
    for graph, n in sorted(stats["subsets"].items()):
        subset = URIRef(graph)
        triples += [
            (dataset, VOID.subset, subset),
            (subset, RDF.type, VOID.Dataset),
            (subset, VOID.triples, Literal(n)),
        ]
    return grouped("".join(nt_line(t) for t in triples))
