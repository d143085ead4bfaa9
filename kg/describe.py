"""One resource of the store as people and machines see it: its description and what points at it.

No Flask here (the views are :mod:`kg.web.resources`); everything goes through
``store.query``: in the web app a :class:`kg.evaluation.page_store.TimedStore`, so that every query of a
page (:meth:`Describer.evaluate` is the one place they pass) runs in an evaluation thread
waited for until ``KG_QUERY_TIMEOUT``; a :class:`kg.store.embedded.Store` elsewhere. Labels and
links are :class:`kg.terms.Labels`' (one query a page); findings are :mod:`kg.findings`', which
reads them for a :class:`Location` of this module.

*Bounded queries only.* Each query starts from the resource's IRI (a lookup by
subject or by object), or from IRIs the page already holds (VALUES), and every
list of what points at the resource has a LIMIT, so that a page costs the same
in a catalogue of ten datasets or a million. The catalogue itself, a theme or a
file type has one link from every dataset: counting or sorting those was the cost
of a page.

*Description*: the concise bounded description (CBD) of an IRI — its own
triples, plus those of its *parts* and of the blank nodes reached from it. A
part is an IRI ``<iri>#name`` (``kg.iris.Minter.part``: contact points,
periods, identifiers), which the mapper mints where others use blank nodes,
so a record's description is the same whichever way its source wrote it.
SPARQL property paths cannot stop at non-blank nodes, so the closure is
written out to :data:`CBD_DEPTH` hops (a contact's address is three).
:meth:`Describer.locate` reads it with the resource's existence, types and sources in
one query — for a page, with its distributions' own triples too.

*Where*: published resources are described from the default graph (the union
of the published graphs); a quarantined record from its quarantine graph
(with its stored SHACL report); an IRI only the provenance graph knows
(ingest runs, graph names) from that graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.evaluation.page_store import TimedStore
from kg.records import public_location
from kg.store.embedded import Store
from kg.store.results import as_triples
from kg.terms import LABEL_ORDER, Labels, Term, curie, term_of
from kg.vocab import CPOV, DCAT, DQV, FOAF, KGO, ORG, RDF, SH

CBD_DEPTH = 6
# hops read first: every part the mapper mints is within three (a contact's address), and each
# hop more costs as much as the ones before (an agency's CBD at 100,000 datasets, a loaded machine:
# 3.9 ms to two hops, 13.8 to six, none of them finding anything past the first)
FIRST_DEPTH = 3
INBOUND_LIMIT = 50  # links to a resource listed on its page (each one is to be labelled)
INBOUND_COUNT_LIMIT = 1000  # and counted: beyond it, the page says "more than 1,000"
KINDS = {
    str(DCAT.Dataset): "dataset",
    str(DCAT.Distribution): "distribution",
    str(DCAT.DataService): "service",
    str(DCAT.Catalog): "catalog",
    str(DCAT.CatalogRecord): "record",
    **{str(c): "agency" for c in (ORG.Organization, ORG.OrganizationalUnit, CPOV.PublicOrganisation)},
    **{str(c): "agency" for c in (FOAF.Organization, FOAF.Agent)},
}
RECORD_KINDS = ("dataset", "service", "agency", "catalog")  # what the ingest validates as one record
# not validation reports, and not quality measurements (shown as the record's score instead)
HIDDEN_INBOUND = (SH.focusNode, KGO.recordKey, DQV.computedOn)
_LOCATION = str(KGO.sourceLocation)
_TYPE = str(RDF.type)
_DISTRIBUTION = str(DCAT.distribution)


@dataclass
class Location:
    """Where the store knows an IRI from, and what it is.

    ``rows``: the description read while locating it, as (root, subject, predicate, object)
    query terms; ``described``: the resource and its distributions among those roots (the
    others are a quarantined record's report); ``sources``: the published graphs that type it
    (whose ingest has its findings).
    """

    iri: str
    status: str  # published, quarantined, private
    graphs: list[str] | None  # default graphs of the queries (None: the published union)
    types: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    described: frozenset[str] = frozenset()
    sources: list[str] = field(default_factory=list)  # the published graphs that type it

    @property
    def kind(self) -> str:
        found = {KINDS[t] for t in self.types if t in KINDS}
        order = ("dataset", "distribution", "service", "catalog", "agency", "record")
        return next((k for k in order if k in found), "")


@dataclass
class Inbound:
    """Who points at a resource: the first :data:`INBOUND_LIMIT` (subject, predicate), and how many."""

    links: list[tuple[Term, Term]]
    total: int  # at most INBOUND_COUNT_LIMIT
    exact: bool  # False: there are more than ``total``


def _n(iri: str) -> str:
    return f"<{iri}>"


def _inside(iri: str, node) -> bool:
    """Whether a query term is a node of ``iri``'s CBD beyond it: a blank node or a part."""
    text = str(node)
    return text.startswith("_:") or text.startswith(f"<{iri}#")


def leads_on(iri: str, rows: list[tuple], depth: int) -> bool:
    """Whether the CBD of ``iri`` read ``depth`` hops deep (``rows``: (root, s, p, o)) may go on: a
    node it describes points at a blank node or part it does not describe, which is more than
    ``depth`` hops away."""
    triples = [(s, o) for root, s, _, o in rows if root.value == iri]
    described = {str(s) for s, _ in triples}
    return any(_inside(iri, o) and str(o) not in described for _, o in triples)


def cbd_pattern(roots: str, depth: int = CBD_DEPTH) -> str:
    """SPARQL binding ?s ?p ?o to the CBD of every ?root that ``roots`` binds (parts and blank nodes)."""

    def inside(var: str) -> str:
        return f'FILTER(isBlank({var}) || STRSTARTS(STR({var}), CONCAT(STR(?root), "#")))'

    # every branch ends with its own ?s ?p ?o, so that each is anchored on ?root: a shared
    # pattern after the UNION was evaluated as a scan of the whole store at 100,000 datasets
    branches = [f"{{ {roots} ?root ?p ?o BIND(?root AS ?s) }}"]
    for hops in range(1, depth + 1):
        chain, prev = [], "?root"
        for i in range(1, hops + 1):
            var = "?s" if i == hops else f"?x{i}"
            chain.append(f"{prev} ?q{i} {var} . {inside(var)}")
            prev = var
        branches.append(f"{{ {roots} {' '.join(chain)} ?s ?p ?o . }}")
    return f"{{ {' UNION '.join(branches)} }}"


class Node:
    """A subject of a description with its properties (predicate IRI -> objects)."""

    def __init__(self, term: Term, describer: Describer) -> None:
        self.term = term
        self.props: dict[str, list[Term]] = {}
        self.preds: dict[str, Term] = {}  # predicate IRI -> its term (labelled)
        self._d = describer

    def all(self, prop) -> list[Term]:
        return self.props.get(str(prop), [])

    def best(self, prop) -> Term | None:
        """The literal in the reader's best language (or the first value)."""
        return self._d.best(self.all(prop))

    def texts(self, prop) -> list[Term]:
        """The literals in the best language there is (keywords come in several)."""
        values = self.all(prop)
        if not values:
            return []
        top = min(self._d.rank(v.lang) for v in values)
        return [v for v in values if self._d.rank(v.lang) == top]


class Describer(Labels):
    """Describes resources of ``store`` for a reader of ``langs``; links relative to ``root``.

    One per request: it collects the IRI terms a page shows, to label them in one query.
    """

    def __init__(
        self, store: Store | TimedStore, base: str, *, langs: list[str] = (), root: str = "", query: str = ""
    ) -> None:
        super().__init__(base, langs=langs, root=root, query=query)
        self.store = store

    # ------------------------------------------------------------ queries

    def evaluate(self, sparql: str, graphs: list[str] | None = None, *, private: bool | None = None):
        """Evaluate on the public graphs (``graphs``: these), or the private store when every one
        of ``graphs`` is private (a quarantined record) or ``private`` says so."""
        if private is None:
            private = bool(graphs) and all(self.store.is_private(g) for g in graphs)
        return self.store.query(sparql, default_graphs=graphs, private=private)

    def generation(self) -> str:
        return self.store.version()

    def rows(
        self, sparql: str, graphs: list[str] | None = None, *, private: bool | None = None
    ) -> list[dict[str, Term | None]]:
        result = self.evaluate(sparql, graphs, private=private)
        names = [v.value for v in result.variables]
        return [{n: (term_of(r[n]) if r[n] is not None else None) for n in names} for r in result]

    def locate(self, iri: str, *, parts: bool = False) -> Location | None:
        """Published (default graph), else quarantined or private (a named graph), else None.

        The resource's description comes with it, in one query per store: for a published
        one with the graphs that type it (its sources) and whether anything points at it;
        ``parts``: with its distributions' descriptions too, as its page shows them. The
        description is read :data:`FIRST_DEPTH` hops deep, and again :data:`CBD_DEPTH` deep only
        when a node that far leads on (:func:`leads_on`).
        """
        found = self._locate_published(iri, parts, FIRST_DEPTH)
        if found is not None and leads_on(iri, found[0], FIRST_DEPTH):
            found = self._locate_published(iri, parts, CBD_DEPTH)
        if found is None:
            return self._locate_private(iri, parts)
        rows, graphs = found
        loc = self._location(iri, "published", None, rows, parts)
        loc.sources = sorted(graphs)
        return loc

    def _locate_published(self, iri: str, parts: bool, depth: int) -> tuple[list[tuple], set[str]] | None:
        """The description (``depth`` hops) and the sources of a published resource (None if neither
        it nor anything pointing at it is published)."""
        me = _n(iri)
        sources = f"{{ GRAPH ?g {{ {me} a ?any }} }}"
        pointed = f"{{ SELECT ?in WHERE {{ ?in ?q {me} }} LIMIT 1 }}"
        described = self._described(f"{{ VALUES ?root {{ {me} }} }}", iri, parts, depth)
        result = self.evaluate(
            f"SELECT DISTINCT ?root ?s ?p ?o ?g ?in WHERE {{ {described} UNION {sources} UNION {pointed} }}"
        )
        rows, graphs, known = [], set(), False
        for r in result:
            if r["g"] is not None:
                graphs.add(r["g"].value)
            elif r["in"] is not None:
                known = True
            else:
                rows.append((r["root"], r["s"], r["p"], r["o"]))
        # known only as an object (a file type, a mailbox): nothing to describe
        return (rows, graphs) if rows or known else None

    def _locate_private(self, iri: str, parts: bool) -> Location | None:
        """Quarantined (its quarantine graph, with its report) or private (the provenance graph)."""
        me = _n(iri)
        with_report = (
            f"{{ VALUES ?root {{ {me} }} }} UNION {{ ?root <{KGO.recordKey}> {me} }}"
            f" UNION {{ ?n <{KGO.recordKey}> {me} ; <{KGO.report}> ?root }}"
        )
        pointed = f"{{ SELECT ?g ?in WHERE {{ GRAPH ?g {{ ?in ?q {me} }} }} LIMIT 1 }}"
        described = f"{{ GRAPH ?g {self._described(with_report, iri, parts)} }}"
        result = self.evaluate(
            f"SELECT DISTINCT ?g ?root ?s ?p ?o ?in WHERE {{ {described} UNION {pointed} }}", [], private=True
        )
        found = [(r["g"].value, r) for r in result]
        graphs = sorted({g for g, r in found if r["root"] is not None}) or sorted(g for g, _ in found)
        if not graphs:
            return None
        graph = graphs[0]
        rows = [(r["root"], r["s"], r["p"], r["o"]) for g, r in found if g == graph and r["root"] is not None]
        status = "quarantined" if graph.startswith(f"{self.iris.base}graph/quarantine/") else "private"
        self.label_graphs = [graph]  # labels: from the public graphs and from this one
        return self._location(iri, status, [graph], rows, parts)

    @staticmethod
    def _described(roots: str, iri: str, parts: bool, depth: int = CBD_DEPTH) -> str:
        """The CBD of every ?root that ``roots`` binds; ``parts``: and the distributions' own
        triples, which is all a page shows of them (their CBDs cost as much again)."""
        pattern = cbd_pattern(roots, depth)
        if not parts:
            return pattern
        # the distributions in a subquery: Virtuoso's compiler fails on the FILTER beside the
        # BIND in a UNION branch ("sparp_gp_deprecate(): equiv replaces filter")
        mine = f"{{ SELECT ?root WHERE {{ <{iri}> <{DCAT.distribution}> ?root FILTER(isIRI(?root)) }} }}"
        return f"{{ {pattern} UNION {{ {mine} ?root ?p ?o BIND(?root AS ?s) }} }}"

    @staticmethod
    def _location(
        iri: str, status: str, graphs: list[str] | None, rows: list[tuple], parts: bool
    ) -> Location:
        own = [(p, o) for root, s, p, o in rows if root.value == iri and s.value == iri]
        types = {o.value for p, o in own if p.value == _TYPE and str(o).startswith("<")}
        dists = {o.value for p, o in own if parts and p.value == _DISTRIBUTION and str(o).startswith("<")}
        return Location(iri, status, graphs, sorted(types), rows, frozenset({iri, *dists}))

    def known(self, iri: str) -> bool:
        """Whether the store knows the IRI at all (published, quarantined or private)."""
        known = f"{{ {_n(iri)} ?p ?o }} UNION {{ ?s ?p {_n(iri)} }}"
        if self.evaluate(f"ASK {{ {known} }}"):
            return True
        return bool(self.rows(f"SELECT ?g WHERE {{ GRAPH ?g {{ {known} }} }} LIMIT 1", [], private=True))

    def triples(self, loc: Location):
        """The CBD as query triples, for :func:`kg.store.results.serialize_triples`: read when locating it
        (a quarantined record's with its report, whose nodes are roots of their own)."""
        keep = (r for r in loc.rows if r[0].value == loc.iri or r[0].value not in loc.described)
        return as_triples(dict.fromkeys((s, p, o) for _, s, p, o in keep))

    def nodes(self, loc: Location, roots: list[str] = ()) -> dict[str, Node]:
        """The CBD of ``loc`` (or of ``roots``, read with it) as subject key -> Node, roots first."""
        wanted = list(roots) or [loc.iri]
        triples = dict.fromkeys((s, p, o) for root, s, p, o in loc.rows if root.value in wanted)
        return self._index([tuple(term_of(t) for t in triple) for triple in triples], wanted)

    def _index(self, triples: list[tuple[Term, Term, Term]], roots: list[str]) -> dict[str, Node]:
        index: dict[str, Node] = {}
        for s, p, o in triples:
            node = index.get(s.value) or index.setdefault(s.value, Node(self.track(s), self))
            if p.value not in node.preds:
                node.preds[p.value] = self.predicate(p)
            if p.value == _LOCATION and o.kind == "literal":  # pages do not tell the server's folders
                o = Term("literal", public_location(o.value))
            node.props.setdefault(p.value, []).append(self.track(o))
        for node in index.values():  # blank nodes have no IRI to look a label up for
            for objects in node.props.values():
                for o in objects:
                    if o.kind == "bnode" and o.value in index:
                        found = [t for p in LABEL_ORDER for t in index[o.value].props.get(p, [])]
                        o.label = (self.best(found) or Term("literal", "")).value
        first = [r for r in roots if r in index]
        rest = [k for k in index if k not in first]  # the parts by IRI: whatever order a store answers in
        rest.sort(key=lambda k: (index[k].term.kind == "bnode", "" if index[k].term.kind == "bnode" else k))
        index = {k: index[k] for k in [*first, *rest]}
        for node in index.values():
            node.props = {p: node.props[p] for p in sorted(node.props, key=self._predicate_order)}
            for objects in node.props.values():
                objects.sort(key=lambda t: (self.rank(t.lang), t.value))
        return index

    @staticmethod
    def _predicate_order(p: str) -> tuple[bool, str]:
        return p != _TYPE, curie(p)

    def inbound(self, loc: Location, hidden: tuple = (), predicates: list[str] | None = None) -> Inbound:
        """Who points at the resource: the first :data:`INBOUND_LIMIT` links, sorted by predicate
        and subject, and how many there are, counted up to :data:`INBOUND_COUNT_LIMIT`; not by
        :data:`HIDDEN_INBOUND` nor by the predicates ``hidden`` (what the page shows otherwise).

        One query, both parts with a LIMIT: a theme or a file type has a link from every
        dataset that uses it, and ORDER BY over all of them took 5 s at 100,000 datasets.
        ``predicates``: every predicate that may point at it (known beforehand: an agent's,
        :mod:`kg.derived.agencies`), looked up one by one, so that links by the ``hidden`` ones
        are never read (an agency's ``dct:publisher`` links, one from each of its datasets, took
        18-20 ms at 1,000,000 datasets to pass over).
        """
        skipped = {str(p) for p in (*HIDDEN_INBOUND, *hidden)}
        if predicates is None:
            where = f"?s ?p {_n(loc.iri)} FILTER(?p NOT IN ({', '.join(map(_n, sorted(skipped)))}))"
        else:
            wanted = [p for p in predicates if p not in skipped]
            if not wanted:
                return Inbound([], 0, True)
            where = f"VALUES ?p {{ {' '.join(map(_n, wanted))} }} ?s ?p {_n(loc.iri)}"
        listed = f"SELECT ?s ?p WHERE {{ {where} }} LIMIT {INBOUND_LIMIT}"
        counted = f"SELECT ?s WHERE {{ {where} }} LIMIT {INBOUND_COUNT_LIMIT + 1}"
        count = f"SELECT (COUNT(*) AS ?n) WHERE {{ {{ {counted} }} }}"
        rows = self.rows(f"SELECT ?s ?p ?n WHERE {{ {{ {listed} }} UNION {{ {count} }} }}", loc.graphs)
        total = next((int(r["n"].value) for r in rows if r["n"] is not None), 0)
        links = sorted(
            ((r["s"], r["p"]) for r in rows if r["s"] is not None),
            key=lambda sp: (sp[1].value, sp[0].kind != "bnode", sp[0].value),
        )
        return Inbound(
            [(self.track(s), self.predicate(p)) for s, p in links],
            min(total, INBOUND_COUNT_LIMIT),
            total <= INBOUND_COUNT_LIMIT,
        )

    def linked(self, loc: Location, prop, *, limit: int = 50) -> list[Term]:
        """What points at ``loc`` with ``prop``: at most ``limit`` subjects (the page sorts them)."""
        rows = self.rows(
            f"SELECT DISTINCT ?s WHERE {{ ?s <{prop}> {_n(loc.iri)} }} LIMIT {int(limit)}", loc.graphs
        )
        return [self.track(r["s"]) for r in rows]
