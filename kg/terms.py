"""RDF terms as the resource pages show them: labels in the reader's language, and safe links.

No Flask and no pyoxigraph here. :class:`Labels` is the half of
:class:`kg.describe.Describer` that turns IRIs into what a reader sees: it
collects every IRI term a page shows (:meth:`Labels.track`) and labels them
all with one query (:meth:`Labels.resolve`), then links each one: minted IRIs
to their page here, other IRIs the store knows to ``/resource?uri=``, URLs to
themselves, and nothing for any other scheme (``javascript:`` never becomes a link).

*Labels* come from the store (skos:prefLabel, foaf:name, dct:title,
rdfs:label) in the reader's languages, then English, then text without a
language, then any; IRIs without one show as a curie (:data:`kg.vocab.PREFIXES`).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from kg.iris import Minter
from kg.vocab import DCT, FOAF, IANA_MEDIA_TYPES, PREFIXES, RDFS, SKOS, XSD

LABELS = (SKOS.prefLabel, FOAF.name, DCT.title, RDFS.label)
LABEL_ORDER = [str(p) for p in LABELS]
LABEL_CHUNK = 400  # IRIs per label query: a page shows fewer, so it is one query
SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
RECORD_PATHS = ("dataset/", "distribution/", "service/", "agency/")  # minted records, parts included
_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


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


def term_of(node) -> Term:
    """A pyoxigraph term (read through its N-Triples form, so this module needs no pyoxigraph)."""
    text = str(node)
    if text.startswith("<"):
        return Term("iri", node.value)
    if text.startswith("_:"):
        return Term("bnode", node.value)
    datatype = node.datatype.value if node.datatype is not None else ""
    if datatype in (str(XSD.string), _LANG_STRING):
        datatype = ""
    return Term("literal", node.value, lang=node.language or "", datatype=datatype)


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


def label_query(looked: list[str], unlinked: list[str], predicates: list[str]) -> str:
    """One query for the labels of a page's IRIs, and for whether the store describes them.

    * ``looked``: one lookup per (IRI, label property), the property written in the triple
      pattern. With the properties in a second VALUES block instead, Oxigraph 0.5 joined the
      IRIs to every triple of each property (dct:title: 400,000 at 100,000 datasets): 4-8 s a
      page. ``unlinked``, those of them whose link depends on it: one existence lookup each.
      Minted records (an agency, its units, its services; a dataset and its distributions) are
      looked up so too: read whole instead (every triple, then a FILTER on the property), 18 of
      an agency page's took 5.1 ms against 2.5 ms so at 100,000 datasets, and that read was the
      largest part of its label query;
    * ``predicates`` (which seldom have a description): one read of all their triples, which
      costs less than four lookups.

    Literals are kept by the caller, not by a FILTER beside the BIND: Virtuoso's compiler fails
    on that pair in a UNION branch ("sparp_gp_deprecate(): equiv replaces filter").
    """
    branches = []
    if looked:
        values = " ".join(f"<{i}>" for i in looked)
        branches += [f"{{ VALUES ?x {{ {values} }} ?x <{p}> ?l BIND(<{p}> AS ?p) }}" for p in LABELS]
    if unlinked:
        values = " ".join(f"<{i}>" for i in unlinked)
        branches.append(f"{{ VALUES ?x {{ {values} }} FILTER EXISTS {{ ?x ?any ?thing }} }}")
    if predicates:
        values = " ".join(f"<{i}>" for i in predicates)
        branches.append(f"{{ VALUES ?x {{ {values} }} ?x ?p ?l }}")
    return f"SELECT ?x ?p ?l WHERE {{ {' UNION '.join(branches)} }}" if branches else ""


Found = tuple[bool, tuple[tuple[str, Term], ...]]  # whether the store knows an IRI; its labels


class LabelCache:
    """What the store says of IRIs that are no record of this catalogue (classes, predicates, EU
    vocabulary concepts, web addresses), kept per store generation: the same few dozen come on
    every page, and each costs up to five lookups (~40 us each at 100,000 datasets, more where
    the store is larger than the memory that caches it). A record's (a dataset, an agency) are
    looked up each time: there are as many as the catalogue has. Thread-safe; an LRU of ``size``.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._generation = ""
        self._found: OrderedDict[tuple[str, str], Found] = OrderedDict()

    def get(self, generation: str, key: tuple[str, str]) -> Found | None:
        with self._lock:
            if generation != self._generation:
                return None
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def put(self, generation: str, key: tuple[str, str], value: Found) -> None:
        with self._lock:
            if generation != self._generation:
                self._found.clear()
                self._generation = generation
            self._found[key] = value
            while len(self._found) > self.size:
                self._found.popitem(last=False)


class Labels:
    """Labels and links for a reader of ``langs``, links relative to ``root``.

    A subclass provides ``rows(sparql, graphs)`` (SELECT rows of :class:`Term`); the
    labels are looked up in the published graphs and, when ``label_graphs`` is set (a
    quarantined record), in those too.
    """

    def __init__(self, base: str, *, langs: list[str] = (), root: str = "", query: str = "") -> None:
        self.iris = Minter(base)
        self.prefs = language_preferences(list(langs))
        self.root = root
        self.query = query  # kept on links to pages here (``lang=fr``)
        self.label_graphs: list[str] | None = None
        self.cache: LabelCache | None = None  # set by who knows the generation (:meth:`generation`)
        self._pending: list[Term] = []
        self._predicates: set[str] = set()

    def rows(self, sparql: str, graphs: list[str] | None = None) -> list[dict[str, Term | None]]:
        raise NotImplementedError

    def generation(self) -> str:
        """The store generation the labels are read from (what :attr:`cache` is kept per)."""
        raise NotImplementedError

    def rank(self, lang: str) -> int:
        lang = lang.lower()
        if lang in self.prefs:
            return self.prefs.index(lang)
        primary = lang.split("-", 1)[0]
        return self.prefs.index(primary) if primary in self.prefs else len(self.prefs)

    @property
    def english_first(self) -> bool:
        """Whether the reader's first language is English or none: then an English-first title
        kept elsewhere (the search index's) is the label the store would give."""
        return self.prefs[0].split("-", 1)[0] in ("en", "")

    def best(self, terms: list[Term]) -> Term | None:
        return min(terms, key=lambda t: self.rank(t.lang)) if terms else None

    def track(self, term: Term) -> Term:
        """Remember an IRI term, to label and link it in :meth:`resolve`."""
        if term.kind == "iri":
            self._pending.append(term)
        return term

    def predicate(self, term: Term) -> Term:
        """A predicate term: tracked as :meth:`track` does, its labels read with one lookup."""
        if term.kind == "iri":
            self._predicates.add(term.value)
        return self.track(term)

    def iri(self, iri: str, label: str = "") -> Term:
        return self.track(Term("iri", iri, label=label))

    def resolve(self) -> None:
        """Label and link every IRI term collected so far (one query per :data:`LABEL_CHUNK` IRIs
        the :attr:`cache` does not hold)."""
        pending, self._pending = self._pending, []
        iris = sorted({t.value for t in pending if iri_ok(t.value)})
        cache = self.cache if not self.label_graphs else None  # a quarantined record's: not cached
        generation = self.generation() if cache is not None else ""
        found: dict[str, tuple[bool, list[tuple[str, Term]]]] = {}  # IRI -> known, (property, label)
        asked = []
        for iri in iris:
            hit = cache.get(generation, self._kind(iri)) if cache is not None else None
            if hit is None:
                asked.append(iri)
            else:
                found[iri] = (hit[0], list(hit[1]))
        for start in range(0, len(asked), LABEL_CHUNK):
            chunk = asked[start : start + LABEL_CHUNK]
            sparql = label_query(*self._groups(chunk))
            rows = self.rows(sparql) if sparql else []
            if self.label_graphs and sparql:  # a quarantined record: its own graph has labels too
                rows += self.rows(sparql, self.label_graphs)
            answers: dict[str, tuple[bool, list[tuple[str, Term]]]] = {iri: (False, []) for iri in chunk}
            for row in rows:
                x, p, label = row["x"].value, row["p"], row["l"]
                if x not in answers:
                    continue
                kept = answers[x][1]
                if p is not None and p.value in LABEL_ORDER and label is not None and label.kind == "literal":
                    kept.append((p.value, label))
                answers[x] = (True, kept)
            found.update(answers)
            if cache is not None:
                for iri, (known, kept) in answers.items():
                    kind = self._kind(iri)
                    if kind[0] != "record":
                        cache.put(generation, kind, (known, tuple(kept)))
        labels: dict[str, tuple[tuple[int, int], str, str]] = {}
        for x, (_, kept) in found.items():
            for p, label in kept:
                key = (self.rank(label.lang), LABEL_ORDER.index(p))
                if x not in labels or key < labels[x][0]:
                    labels[x] = (key, label.value, label.lang)
        for term in pending:
            fallback = term.label or self.fallback(term.value)
            _, term.label, term.label_lang = labels.get(term.value, (None, fallback, ""))
            term.href = self.href(term.value, term.value in found and found[term.value][0])

    def _kind(self, iri: str) -> tuple[str, str]:
        """How :meth:`_groups` looks ``iri`` up, with the IRI: the cache's key."""
        if self.path(iri) is not None and iri[len(self.iris.base) :].startswith(RECORD_PATHS):
            return ("record", iri)
        return ("predicate" if iri in self._predicates else "looked", iri)

    def _groups(self, iris: list[str]) -> tuple[list[str], list[str], list[str]]:
        """The IRIs of :func:`label_query`'s three kinds of lookup."""
        looked, unlinked, predicates = [], [], []
        for iri in iris:
            record = self.path(iri) is not None and iri[len(self.iris.base) :].startswith(RECORD_PATHS)
            if iri in self._predicates and not record:
                predicates.append(iri)
                continue
            looked.append(iri)
            if self.path(iri) is None and iri.split(":", 1)[0].lower() in SAFE_SCHEMES:
                unlinked.append(iri)  # whether the store describes it decides its link
        return looked, unlinked, predicates

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
