"""The VoID figures after a patch, by the lines whose presence it changed (:attr:`Generation.moved`).

Why: a re-harvest that patches its source's catalogue and quality graphs (:mod:`kg.ingest.delta`)
changes ~2 % of their triples, but :mod:`kg.derived.void` reads a changed graph again whole (its
size and terms: a ``GROUP BY`` over 4.7 M triples at 100,000 datasets) and works out the distinct
counts from every term the changed graphs hold (21 s in all on a loaded machine). A figure can only
move by the terms of lines that came or went, so here each of those terms is looked up, in the
previous generation and in the new one (:meth:`Generation.matches`: an index lookup each). Those
are the lines the patch really took out or put in (:attr:`Generation.moved`), not every line of the
records it replaced (:attr:`Generation.touched`, ~60,000 at 1 % of 100,000 datasets changed, most of
them there before and after: ~500,000 lookups, 20 s profiled on a loaded machine):

* a patched graph's size is the previous size plus the moved lines it holds now less those it held
  before; its predicates and classes are the previous ones, each moved one kept only if the graph
  still has a triple with it;
* distinct subjects, objects, entities and each class's entities are the previous counts plus, for
  each term of the moved lines (and of every line of the other graphs the write changed, written
  whole: the vocabularies, the catalogue's own graph, small), whether it is one now less whether it
  was one before, over the union of the public graphs and the default graph as :mod:`kg.derived.void`
  counts them.

Nothing here when the write patched nothing, or when the graphs written whole are more than
:data:`WHOLE_SHARE` of the store (their lines would be most of the work): then :mod:`kg.derived.void`
does as before.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from kg.derived.tables import Build
from kg.vocab import RDF

WHOLE_SHARE = 0.05
TYPE = f"<{RDF.type}>"
Triple = tuple[str, str, str]


def split(line: bytes) -> Triple:
    """An N-Triples line's subject, predicate and object, as N-Triples terms."""
    subject, predicate, rest = line.decode("utf-8").split(" ", 2)
    return subject, predicate, rest[: rest.rindex(" .")]


def patched_graph(b: Build, graph: str) -> None:
    """``graph_sizes`` and ``graph_terms`` of a patched graph, from the previous generation's and the
    lines whose presence changed; nothing when the previous file has no row for it (then it is read
    whole)."""
    old = b.db.execute("SELECT triples FROM old.graph_sizes WHERE graph = ?", (graph,)).fetchone()
    lines = b.moved(graph)
    if old is None or lines is None:
        return
    triples = [split(line) for line in sorted(lines)]
    # a moved line is in the graph now or was before, not both (Generation.moved): one lookup each
    now = sum(b.generation.matches(triples, graph=graph))
    b.db.execute("INSERT INTO graph_sizes VALUES (?, ?)", (graph, old[0] + now - (len(triples) - now)))
    terms = set(b.db.execute("SELECT kind, term FROM old.graph_terms WHERE graph = ?", (graph,)))
    asked = [("p", p) for p in sorted({p for _, p, _ in triples})]
    asked += [("c", o) for o in sorted({o for _, p, o in triples if p == TYPE and o.startswith("<")})]
    patterns = [(None, term, None) if kind == "p" else (None, TYPE, term) for kind, term in asked]
    for (kind, term), there in zip(asked, b.generation.matches(patterns, graph=graph), strict=True):
        (terms.add if there else terms.discard)((kind, term[1:-1]))
    b.db.executemany("INSERT INTO graph_terms VALUES (?, ?, ?)", [(graph, k, t) for k, t in sorted(terms)])


def by_lines(b: Build, sizes: dict[str, int]) -> dict[str, Any] | None:
    """The distinct counts and each class's entities, from the previous ones by the touched lines'
    terms; None when the write patched no graph or cannot be counted so (see the module)."""
    patched = sorted(g for g in b.generation.changed if g in sizes and b.touched(g) is not None)
    if not patched:
        return None
    row = b.db.execute("SELECT value FROM old.derived WHERE key = 'void'").fetchone()
    old_sizes = dict(b.db.execute("SELECT graph, triples FROM old.graph_sizes"))
    if row is None or any(g not in old_sizes for g in patched):
        return None
    whole = [g for g in sorted(b.generation.changed) if g not in patched and (g in sizes or g in old_sizes)]
    if sum(sizes.get(g, 0) + old_sizes.get(g, 0) for g in whole) > WHOLE_SHARE * max(sum(sizes.values()), 1):
        return None
    lines = set().union(*(b.moved(g) or () for g in patched))
    for graph in whole:
        for previous in (False, True):
            lines.update(
                line.encode("utf-8") for line in b.generation.graph_ntriples(graph, previous=previous)
            )
    triples = [split(line) for line in sorted(lines)]
    before = json.loads(row[0])
    counts: dict[str, Any] = {}
    subjects = sorted({s for s, _, _ in triples})
    moved = _moved(b, [(s, None, None) for s in subjects])
    counts["subjects"] = before["subjects"] + sum(moved)
    entity = f"<{b.layout.base}"
    counts["entities"] = before["entities"] + sum(
        m for s, m in zip(subjects, moved, strict=True) if s.startswith(entity)
    )
    objects = sorted({o for _, _, o in triples})
    counts["objects"] = before["objects"] + sum(_moved(b, [(None, None, o) for o in objects]))
    typed = sorted({(s, o) for s, p, o in triples if p == TYPE and o.startswith("<")})
    classes = Counter(before["classes"])
    for (_, c), m in zip(typed, _moved(b, [(s, TYPE, c) for s, c in typed]), strict=True):
        classes[c[1:-1]] += m
    counts["classes"] = dict(classes)
    return counts


def _moved(b: Build, patterns: list[tuple[str | None, str | None, str | None]]) -> list[int]:
    """Per pattern, 1 if it matches in the new generation and did not before, -1 the other way, else 0."""
    now = b.generation.matches(patterns)
    before = b.generation.matches(patterns, previous=True)
    return [int(n) - int(p) for n, p in zip(now, before, strict=True)]
