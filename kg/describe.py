"""One resource of the store as people and machines see it: its description, labels and findings.

No Flask here (the views are :mod:`kg.web.resources`); everything goes through
``store.query``: in the web app a :class:`kg.timed.TimedStore`, so that every query of a
page (:meth:`Describer.evaluate` is the one place they pass) runs in an evaluator process
and is stopped at ``KG_QUERY_TIMEOUT``; a :class:`kg.store.Store` elsewhere.

*Description*: the concise bounded description (CBD) of an IRI — its own
triples, plus those of its *parts* and of the blank nodes reached from it. A
part is an IRI ``<iri>#name`` (``kg.iris.Minter.part``: contact points,
periods, identifiers), which the mapper mints where others use blank nodes,
so a record's description is the same whichever way its source wrote it.
SPARQL property paths cannot stop at non-blank nodes, so the closure is
written out to :data:`CBD_DEPTH` hops (a contact's address is three).

*Where*: published resources are described from the default graph (the union
of the published graphs); a quarantined record from its quarantine graph
(with its stored SHACL report); an IRI only the provenance graph knows
(ingest runs, graph names) from that graph.

*Labels* come from the store (skos:prefLabel, foaf:name, dct:title,
rdfs:label) in the reader's languages, then English, then text without a
language, then any; IRIs without one show as a curie (:data:`kg.vocab.PREFIXES`).
Every IRI term is collected while a page is built and labelled with one query
(:meth:`Describer.resolve`).

*Findings* of a published record are not stored (only quarantined reports
are): they are computed on demand by validating the record rebuilt from the
store, as the ingest did, and kept per store generation (:func:`record_findings`).
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from rdflib import Graph, Literal, URIRef

from kg.catalog import DECLARED_DATATYPES
from kg.iris import Minter
from kg.mapping import MappedRecord
from kg.records import Origin
from kg.store import Store, serialize_triples
from kg.timed import TimedStore
from kg.validation import SEVERITIES, Finding, validate_batch
from kg.vocab import (
    CPOV,
    DCAT,
    DCT,
    DQV,
    FOAF,
    IANA_MEDIA_TYPES,
    KGO,
    ORG,
    PREFIXES,
    RDF,
    RDFS,
    SH,
    SKOS,
    XSD,
)

CBD_DEPTH = 6
LABELS = (SKOS.prefLabel, FOAF.name, DCT.title, RDFS.label)
LABEL_ORDER = [str(p) for p in LABELS]
SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
KINDS = {
    str(DCAT.Dataset): "dataset",
    str(DCAT.Distribution): "distribution",
    str(DCAT.DataService): "service",
    str(DCAT.Catalog): "catalog",
    **{str(c): "agency" for c in (ORG.Organization, ORG.OrganizationalUnit, CPOV.PublicOrganisation)},
    **{str(c): "agency" for c in (FOAF.Organization, FOAF.Agent)},
}
RECORD_KINDS = ("dataset", "service", "agency", "catalog")  # what the ingest validates as one record
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass
class Term:
    """An RDF term as shown: literals with their language, IRIs with a label and a link (or none)."""

    kind: str  # iri, bnode, literal
    value: str
    lang: str = ""
    datatype: str = ""
    label: str = ""
    label_lang: str = ""
    href: str | None = None

    def as_json(self) -> dict:
        if self.kind == "literal":
            out = {"value": self.value}
            out.update({k: v for k, v in (("lang", self.lang), ("datatype", self.datatype)) if v})
            return out
        if self.kind == "bnode":
            return {"bnode": self.value}
        return {"iri": self.value, "label": self.label or self.value, "href": self.href}


@dataclass
class Location:
    """Where the store knows an IRI from, and what it is."""

    iri: str
    status: str  # published, quarantined, private
    graphs: list[str] | None  # default graphs of the queries (None: the published union)
    types: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        found = {KINDS[t] for t in self.types if t in KINDS}
        return next(
            (k for k in ("dataset", "distribution", "service", "catalog", "agency") if k in found), ""
        )


def valid_lang(tag: str) -> bool:
    return bool(_LANG_TAG.match(tag))


def language_preferences(langs: list[str]) -> list[str]:
    """Tags in the reader's order, each followed by its primary subtag, then English, then none.

    >>> language_preferences(["fr-CA", "de"])
    ['fr-ca', 'fr', 'de', 'en', '']
    """
    prefs: list[str] = []
    for tag in [*(t.lower() for t in langs if t and t != "*"), "en", ""]:
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate not in prefs:
                prefs.append(candidate)
    return prefs


def iri_ok(text: str) -> bool:
    """An absolute IRI the store can hold (a scheme, no spaces or characters IRIs exclude)."""
    return (
        len(text) <= 4096
        and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) is not None
        and not re.search(r'[\x00-\x20<>"{}|\\^`\x7f]', text)
    )


def _n(iri: str) -> str:
    return f"<{iri}>"


def _strlit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def _term(node) -> Term:
    """A pyoxigraph term (read through its N-Triples form, so this module needs no pyoxigraph)."""
    text = str(node)
    if text.startswith("<"):
        return Term("iri", node.value)
    if text.startswith("_:"):
        return Term("bnode", node.value)
    datatype = node.datatype.value if node.datatype is not None else ""
    if datatype in (str(XSD.string), "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"):
        datatype = ""
    return Term("literal", node.value, lang=node.language or "", datatype=datatype)


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


class Describer:
    """Describes resources of ``store`` for a reader of ``langs``; links relative to ``root``.

    One per request: it collects the IRI terms a page shows, to label them in one query.
    """

    def __init__(
        self, store: Store | TimedStore, base: str, *, langs: list[str] = (), root: str = "", query: str = ""
    ) -> None:
        self.store = store
        self.iris = Minter(base)
        self.prefs = language_preferences(list(langs))
        self.root = root
        self.query = query  # kept on links to pages here (``lang=fr``)
        self.label_graphs: list[str] | None = None
        self._pending: list[Term] = []

    # ------------------------------------------------------------ queries

    def evaluate(self, sparql: str, graphs: list[str] | None = None, *, private: bool | None = None):
        """Evaluate on the public graphs (``graphs``: these), or the private store when every one
        of ``graphs`` is private (a quarantined record) or ``private`` says so."""
        if private is None:
            private = bool(graphs) and all(self.store.is_private(g) for g in graphs)
        return self.store.query(sparql, default_graphs=graphs, private=private)

    def rows(
        self, sparql: str, graphs: list[str] | None = None, *, private: bool | None = None
    ) -> list[dict[str, Term | None]]:
        result = self.evaluate(sparql, graphs, private=private)
        names = [v.value for v in result.variables]
        return [{n: (_term(r[n]) if r[n] is not None else None) for n in names} for r in result]

    def locate(self, iri: str) -> Location | None:
        """Published (default graph), else quarantined or private (a named graph), else None."""
        known = f"{{ {_n(iri)} ?p ?o }} UNION {{ ?s ?p {_n(iri)} }}"
        if self.evaluate(f"ASK {{ {known} }}"):
            loc = Location(iri, "published", None)
        else:
            rows = self.rows(f"SELECT ?g WHERE {{ GRAPH ?g {{ {known} }} }} LIMIT 1", [], private=True)
            if not rows:
                return None
            graph = rows[0]["g"].value
            status = "quarantined" if graph.startswith(f"{self.iris.base}graph/quarantine/") else "private"
            loc = Location(iri, status, [graph])
            self.label_graphs = [graph]  # labels: from the public graphs and from this one
        types = self.rows(f"SELECT DISTINCT ?t WHERE {{ {_n(iri)} a ?t }}", loc.graphs)
        loc.types = sorted(r["t"].value for r in types if r["t"].kind == "iri")
        return loc

    def roots_pattern(self, loc: Location) -> str:
        roots = f"{{ VALUES ?root {{ {_n(loc.iri)} }} }}"
        if loc.status == "quarantined":  # the record's report travels with it
            key = _n(loc.iri)
            roots += (
                f" UNION {{ ?root <{KGO.recordKey}> {key} }}"
                f" UNION {{ ?n <{KGO.recordKey}> {key} ; <{KGO.report}> ?root }}"
            )
        return roots

    def cbd(self, loc: Location):
        """The CBD as query triples, for :func:`kg.store.serialize_triples`."""
        where = cbd_pattern(self.roots_pattern(loc))
        return self.evaluate(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {{ SELECT DISTINCT ?s ?p ?o WHERE {{ {where} }} }} }}",
            loc.graphs,
        )

    def nodes(self, loc: Location, roots: list[str] = ()) -> dict[str, Node]:
        """The CBD of ``loc`` (or of ``roots`` in its graphs) as subject key -> Node, roots first."""
        values = " ".join(_n(i) for i in roots or [loc.iri])
        where = cbd_pattern(f"VALUES ?root {{ {values} }}")
        index: dict[str, Node] = {}
        for row in self.rows(f"SELECT DISTINCT ?s ?p ?o WHERE {{ {where} }}", loc.graphs):
            s = row["s"]
            node = index.get(s.value) or index.setdefault(s.value, Node(self.track(s), self))
            if row["p"].value not in node.preds:
                node.preds[row["p"].value] = self.track(row["p"])
            node.props.setdefault(row["p"].value, []).append(self.track(row["o"]))
        for node in index.values():  # blank nodes have no IRI to look a label up for
            for objects in node.props.values():
                for o in objects:
                    if o.kind == "bnode" and o.value in index:
                        found = [t for p in LABEL_ORDER for t in index[o.value].props.get(p, [])]
                        o.label = (self.best(found) or Term("literal", "")).value
        first = [r for r in roots or [loc.iri] if r in index]
        index = {k: index[k] for k in [*first, *(k for k in index if k not in first)]}
        type_first = str(RDF.type)
        for node in index.values():
            node.props = {
                p: node.props[p] for p in sorted(node.props, key=lambda p: (p != type_first, curie(p)))
            }
            for objects in node.props.values():
                objects.sort(key=lambda t: (self.rank(t.lang), t.value))
        return index

    def inbound(self, loc: Location, *, limit: int = 200) -> tuple[list[tuple[Term, Term]], int]:
        """Who points at the resource (subject, predicate), at most ``limit``, and how many in all."""
        # not validation reports, and not quality measurements (shown as the record's score instead)
        hidden = f"<{SH.focusNode}>, <{KGO.recordKey}>, <{DQV.computedOn}>"
        where = f"?s ?p {_n(loc.iri)} FILTER(?p NOT IN ({hidden}))"
        total = self.rows(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", loc.graphs)
        rows = self.rows(f"SELECT ?s ?p WHERE {{ {where} }} ORDER BY ?p ?s LIMIT {int(limit)}", loc.graphs)
        return [(self.track(r["s"]), self.track(r["p"])) for r in rows], int(total[0]["n"].value)

    def subjects(self, loc: Location, prop, *, cls=None, limit: int = 50) -> tuple[list[Term], int]:
        """What points at ``loc`` with ``prop`` (of class ``cls``): the first ``limit``, and how many."""
        where = f"?s <{prop}> {_n(loc.iri)} ." + (f" ?s a <{cls}> ." if cls else "")
        total = self.rows(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {where} }}", loc.graphs)
        rows = self.rows(f"SELECT DISTINCT ?s WHERE {{ {where} }} ORDER BY ?s LIMIT {int(limit)}", loc.graphs)
        return [self.track(r["s"]) for r in rows], int(total[0]["n"].value)

    def hierarchy(self, loc: Location, *, depth: int = 12) -> dict:
        """The agency's parents (root first) and the tree of its sub-organisations and units."""
        up = f"(<{ORG.subOrganizationOf}>|<{ORG.unitOf}>|^<{ORG.hasSubOrganization}>|^<{ORG.hasUnit}>)"
        me = _n(loc.iri)
        edges = self.rows(
            f"""SELECT DISTINCT ?c ?p ?unit WHERE {{
              {{ {me} {up}* ?c . ?c {up} ?p }} UNION {{ ?c {up} ?p . ?p {up}* {me} }}
              FILTER(isIRI(?c) && isIRI(?p))
              BIND(EXISTS {{ ?c a <{ORG.OrganizationalUnit}> }} AS ?unit) }}""",
            loc.graphs,
        )
        parents: dict[str, list[str]] = {}
        children: dict[str, list[tuple[str, bool]]] = {}
        for row in edges:
            c, p = row["c"].value, row["p"].value
            parents.setdefault(c, []).append(p)
            children.setdefault(p, []).append((c, row["unit"].value in ("true", "1")))  # Virtuoso: 1
        ancestors, current = [], loc.iri
        while parents.get(current) and len(ancestors) < depth:
            current = sorted(parents[current])[0]
            if current == loc.iri or current in ancestors:
                break
            ancestors.insert(0, current)

        def below(iri: str, seen: frozenset[str]) -> list[dict]:
            if len(seen) > depth:
                return []
            return [
                {"term": self.iri(c), "unit": unit, "children": below(c, seen | {c})}
                for c, unit in sorted(set(children.get(iri, [])))
                if c not in seen
            ]

        return {
            "ancestors": [self.iri(a) for a in ancestors],
            "children": below(loc.iri, frozenset({loc.iri, *ancestors})),
        }

    # ------------------------------------------------------------ labels and links

    def rank(self, lang: str) -> int:
        lang = lang.lower()
        if lang in self.prefs:
            return self.prefs.index(lang)
        primary = lang.split("-", 1)[0]
        return self.prefs.index(primary) if primary in self.prefs else len(self.prefs)

    def best(self, terms: list[Term]) -> Term | None:
        return min(terms, key=lambda t: self.rank(t.lang)) if terms else None

    def track(self, term: Term) -> Term:
        """Remember an IRI term, to label and link it in :meth:`resolve`."""
        if term.kind == "iri":
            self._pending.append(term)
        return term

    def iri(self, iri: str) -> Term:
        return self.track(Term("iri", iri))

    def resolve(self) -> None:
        """Label and link every IRI term collected so far (one query per 400 IRIs)."""
        pending, self._pending = self._pending, []
        iris = sorted({t.value for t in pending if iri_ok(t.value)})
        labels: dict[str, tuple[tuple[int, int], str, str]] = {}
        known: set[str] = set()
        # one branch per label property, each a (subject, property) lookup: with the property in a
        # second VALUES Oxigraph scanned every triple of each label property, and with a FILTER it
        # read every triple of each IRI (the catalogue has one per dataset): 2.6 s a page at 100k
        for start in range(0, len(iris), 400):
            values = " ".join(_n(i) for i in iris[start : start + 400])
            branches = " UNION ".join(
                f"{{ VALUES ?x {{ {values} }} VALUES ?p {{ {prop} }} ?x ?p ?l FILTER(isLiteral(?l)) }}"
                for prop in (_n(str(p)) for p in LABELS)
            )
            sparql = f"""SELECT ?x ?p ?l WHERE {{ {branches}
                UNION {{ VALUES ?x {{ {values} }} FILTER EXISTS {{ ?x ?any ?thing }} }} }}"""
            found = self.rows(sparql)  # one lookup per (IRI, property): the union of the rows is
            if self.label_graphs:  # the lookup in the union of the graphs
                found += self.rows(sparql, self.label_graphs)
            for row in found:
                x = row["x"].value
                known.add(x)
                if row["p"] is not None:
                    key = (self.rank(row["l"].lang), LABEL_ORDER.index(row["p"].value))
                    if x not in labels or key < labels[x][0]:
                        labels[x] = (key, row["l"].value, row["l"].lang)
        for term in pending:
            _, term.label, term.label_lang = labels.get(term.value, (None, self.fallback(term.value), ""))
            term.href = self.href(term.value, term.value in known)

    def fallback(self, iri: str) -> str:
        """What an IRI without a label shows: a curie, a minted IRI's path, or the IRI."""
        if self.iris.is_minted(iri):
            return iri[len(self.iris.base) :] or iri
        if iri.startswith(IANA_MEDIA_TYPES):
            return iri[len(IANA_MEDIA_TYPES) :]
        return curie(iri)

    def href(self, iri: str, known: bool) -> str | None:
        """Minted IRIs link to their path here, others the store describes to /resource, the rest
        (http, https, mailto, tel only) to themselves; any other scheme gets no link."""
        if iri.split(":", 1)[0].lower() not in SAFE_SCHEMES or not iri_ok(iri):
            return None
        if (path := self.path(iri)) is not None:
            document, hash_, fragment = path.partition("#")
            return document + (f"?{self.query}" if self.query else "") + hash_ + fragment
        if known:
            return f"{self.root}/resource?uri={quote(iri, safe='')}" + (
                f"&{self.query}" if self.query else ""
            )
        return iri

    def external(self, term: Term) -> Term:
        """A URL value (landing page, download, e-mail) linked to itself when its scheme is safe."""
        if term.kind != "iri":
            return term
        safe = term.value.split(":", 1)[0].lower() in SAFE_SCHEMES and iri_ok(term.value)
        shown = re.sub(r"^(mailto|tel):", "", term.value)
        return Term("iri", term.value, label=shown, href=term.value if safe else None)

    def path(self, iri: str) -> str | None:
        """The path under which this app serves a minted IRI (None if it is not one)."""
        if not self.iris.is_minted(iri):
            return None
        rest = iri[len(self.iris.base) :]
        if not rest or rest[0] in "/\\":  # "{base}/evil.example/" would be a protocol-relative link
            return None
        return self.root + urlsplit(self.iris.base).path + rest

    # ------------------------------------------------------------ findings

    def findings(self, loc: Location) -> list[dict] | None:
        """The validation findings of the record the resource belongs to (None: not part of a record)."""
        if loc.status == "quarantined":
            found = self._stored_findings(loc)
        else:
            key, kind = self.record_of(loc)
            if not key:
                return None
            found = record_findings(self, key, kind)
            if key != loc.iri:  # a distribution: the findings about it, out of its dataset's
                found = [f for f in found if f.focus == loc.iri or f.focus.startswith(loc.iri + "#")]
        order = {"violation": 0, "warning": 1, "info": 2}
        return [
            {
                "severity": f.severity,
                "message": f.message,
                "path": self.iri(f.path) if iri_ok(f.path) else None,
                "value": f.value,
                "focus": self.iri(f.focus)
                if iri_ok(f.focus)
                else Term("bnode", f.focus, label="(a part without a name)"),
            }
            for f in sorted(found, key=lambda f: (order.get(f.severity, 3), f.focus, f.path, f.message))
        ]

    def record_of(self, loc: Location) -> tuple[str, str]:
        if loc.status != "published":
            return "", ""
        if loc.kind in RECORD_KINDS and loc.iri != self.iris.catalog():
            return loc.iri, loc.kind
        if loc.kind == "distribution":
            rows = self.rows(f"SELECT ?d WHERE {{ ?d <{DCAT.distribution}> {_n(loc.iri)} }} LIMIT 1")
            if rows:
                return rows[0]["d"].value, "dataset"
        return "", ""

    def _stored_findings(self, loc: Location) -> list[Finding]:
        key = _n(loc.iri)
        rows = self.rows(
            f"""SELECT DISTINCT ?focus ?sev ?msg ?path ?value WHERE {{
              ?node a <{KGO.QuarantinedRecord}> ; <{KGO.report}> ?r .
              ?r <{SH.resultSeverity}> ?sev ; <{SH.resultMessage}> ?msg ; <{SH.focusNode}> ?focus .
              FILTER(EXISTS {{ ?node <{KGO.recordKey}> {key} }} || ?focus = {key}
                     || STRSTARTS(STR(?focus), {_strlit(loc.iri + "#")}))
              OPTIONAL {{ ?r <{SH.resultPath}> ?path }} OPTIONAL {{ ?r <{SH.value}> ?value }} }}""",
            loc.graphs,
        )
        severities = {str(k): v for k, v in SEVERITIES.items()}
        return [
            Finding(
                severities.get(r["sev"].value, "violation"),
                r["focus"].value,
                r["path"].value if r["path"] else "",
                r["msg"].value,
                value=r["value"].value if r["value"] else "",
            )
            for r in rows
        ]


def curie(iri: str) -> str:
    """``dct:title`` for a term of a known namespace, else the IRI itself.

    >>> curie("http://purl.org/dc/terms/title"), curie("https://example.org/x")
    ('dct:title', 'https://example.org/x')
    """
    plain = "http://" + iri[len("https://") :] if iri.startswith("https://") else iri  # spdx: both
    for prefix, namespace in PREFIXES.items():
        for candidate in (iri, plain):
            if candidate.startswith(namespace) and len(candidate) > len(namespace):
                return f"{prefix}:{candidate[len(namespace) :]}"
    return iri


# ---------------------------------------------------------------- on-demand validation

_CACHE: OrderedDict[tuple[str, str, str], list[Finding]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_VALIDATE_LOCK = threading.Lock()
CACHE_SIZE = 512
UNMAPPED = {
    KGO.unmappedFormat: "format",
    KGO.unmappedLicence: "licence",
    KGO.unmappedFrequency: "frequency",
    KGO.unmappedLanguage: "language",
    KGO.unmappedTheme: "theme",
    KGO.unmappedAccessRights: "access rights",
    KGO.unmappedValue: "value",
}


def _declared_datatype(triple: tuple) -> tuple:
    """Give back the datatype DCAT-AP declares (xsd:nonNegativeInteger) to integers Oxigraph normalised."""
    s, p, o = triple
    wanted = DECLARED_DATATYPES.get(str(p))
    if wanted and isinstance(o, Literal) and o.datatype == XSD.integer and not str(o).startswith("-"):
        return s, p, Literal(str(o), datatype=URIRef(wanted))
    return triple


def record_findings(d: Describer, key: str, kind: str) -> list[Finding]:
    """Validate a published record as the ingest did; cached per store generation (LRU)."""
    cache_key = (str(d.store.path), d.store.version(), key)
    with _CACHE_LOCK:
        if cache_key in _CACHE:
            _CACHE.move_to_end(cache_key)
            return _CACHE[cache_key]
    stored = _stored_report(d, key)
    if stored is not None:
        with _CACHE_LOCK:
            _CACHE[cache_key] = stored
        return stored
    triples, context = rebuild_record(d, key, kind)
    triples = [_declared_datatype(t) for t in triples]
    record = MappedRecord(key, kind, Origin("store"), key, triples, context)
    with _VALIDATE_LOCK:  # one pyshacl run at a time per process (they share the shapes graph)
        report = validate_batch([record])[0]
    notes = [
        Finding(
            "info",
            str(s),
            str(p),
            f"{UNMAPPED[p]} {str(o)!r} is not in the EU vocabulary; kept as text",
            "kgo:mapping",
            str(o),
        )
        for s, p, o in triples
        if p in UNMAPPED
    ]
    found = report.findings + notes
    with _CACHE_LOCK:
        _CACHE[cache_key] = found
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found


def _stored_report(d: Describer, key: str) -> list[Finding] | None:
    """The findings the last ingest stored for a published record (kgo:findings), if any.

    A record the ingest found nothing to say about has no entry; one written since by a
    SPARQL update or the Graph Store is validated again on demand.
    """
    report_graphs = [g for g in d.store.named_graphs() if g.startswith(f"{d.iris.base}graph/report/")]
    if not report_graphs:
        return None
    rows = d.rows(f"SELECT ?f WHERE {{ {_n(key)} <{KGO.findings}> ?f }} LIMIT 1", report_graphs, private=True)
    if rows:
        return [Finding(*row) for row in json.loads(rows[0]["f"].value)]
    in_source = d.rows(f"SELECT ?g WHERE {{ GRAPH ?g {{ {_n(key)} a ?t }} }} LIMIT 1", [])
    source = in_source[0]["g"].value.rsplit("/", 1)[-1] if in_source else ""
    if source and f"{d.iris.base}graph/report/{source}" in report_graphs:
        return []  # ingested with no findings
    return None


def rebuild_record(d: Describer, key: str, kind: str) -> tuple[list, list]:
    """A record's triples and validation context, rebuilt from the published graphs.

    Triples: the CBD of the record (and, for a dataset, of its distributions), the
    catalogue's link to it, and what the record says about the other resources it
    points at (a landing page is a foaf:Document) — but not about other records, which
    with the vocabulary concepts form the context, as in :func:`kg.ingest.process`.
    Each step is a query anchored on known IRIs (VALUES), so the cost does not grow
    with the store.
    """
    graphs = [
        g
        for g in d.store.data_graphs()
        if g not in (d.iris.vocabulary_graph(), f"{d.iris.base}graph/catalog")
    ]
    roots = f"{{ VALUES ?root {{ {_n(key)} }} }}"
    if kind == "dataset":
        roots += f" UNION {{ {_n(key)} <{DCAT.distribution}> ?root }}"
    own = _construct(d, cbd_pattern(roots), graphs)
    subjects = {str(t[0]) for t in own}
    pointed = sorted({str(o) for _, _, o in own if isinstance(o, URIRef) and str(o) not in subjects})
    links = " ".join(_n(str(p)) for p in (DCAT.dataset, DCAT.service, ORG.hasUnit, ORG.hasSubOrganization))
    links = links.replace(" ", ", ")
    own += _construct(d, f"?s ?p {_n(key)} FILTER(?p IN ({links})) BIND({_n(key)} AS ?o)", graphs)
    if not pointed:
        return own, []
    values = " ".join(_n(i) for i in pointed)
    records = " ".join(_n(c) for c, k in KINDS.items() if k in RECORD_KINDS)
    records = records.replace(" ", ", ")
    typed = f"VALUES ?t {{ {values} }} ?t a ?c FILTER(?c IN ({records}))"
    rows = d.rows(f"SELECT DISTINCT ?t WHERE {{ {typed} }}", graphs)
    are_records = {r["t"].value for r in rows}
    others = [i for i in pointed if i not in are_records]
    if others:
        own += _construct(d, f"VALUES ?s {{ {' '.join(_n(i) for i in others)} }} ?s ?p ?o", graphs)
    context = []
    if are_records:
        context = _construct(
            d, f"VALUES ?s {{ {' '.join(_n(i) for i in sorted(are_records))} }} ?s ?p ?o", graphs
        )
    return own, context


def _construct(d: Describer, where: str, graphs: list[str]) -> list:
    result = d.evaluate(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}", graphs)
    out = io.BytesIO()
    serialize_triples(result, out, "nt")
    return list(Graph().parse(data=out.getvalue().decode("utf-8"), format="nt"))
