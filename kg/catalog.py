"""The DCAT-AP catalogue: its own description and the export for harvesters.

The catalogue (``{base}catalog``) is described in its own graph, rewritten on
every ingest from the settings; each source graph links its datasets and
services to it (``dcat:dataset`` / ``dcat:service``). An export is the union of
the published source graphs, the catalogue graph and the descriptions of the
vocabulary concepts they use (type, scheme, labels), which the official
DCAT-AP shapes need to check classes and code lists offline. The descriptions
go one step further than the concepts the data names: a licence's ``dct:type``
(an ADMS licence type) is a concept too, and range.ttl wants it described.

Oxigraph stores the integer types derived from ``xsd:integer`` as
``xsd:integer``; the export gives the properties DCAT-AP declares with such a
type (:data:`DECLARED_DATATYPES`) their datatype back.

Harvesters pull the same catalogue in pages (:func:`write_page`, served at
``/catalog?page=N``). The paged collection is the catalogue's members: its
datasets, then its data services, each in IRI order, so a page never moves
while the store stays the same; the list is derived with each store generation
(:mod:`kg.derived.catalog`), so a page is a slice of it. A page is the catalogue's own description,
the ``dcat:dataset`` / ``dcat:service`` links to the page's members, each
member's full description (:func:`describe`: its triples, its distributions,
parts and fragments, the agencies it names, contact points, documents,
standards — every node it reaches that is described in a source graph, but
not other members, other catalogues or an agency's parents and units), the
vocabulary concepts those use, and a Hydra ``PartialCollectionView``. The
union of all pages is the export, less what no member reaches (agencies
that publish nothing).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from typing import BinaryIO

from rdflib import Literal, URIRef

from kg.iris import Minter
from kg.mapping.ntriples import nt_line
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.results import convert, parse_ntriples, serialize_triples
from kg.vocab import DCAT, DCT, FOAF, HYDRA, ORG, PREFIXES, RDF, SKOS, XSD

EXPORT_FORMATS = ("ttl", "jsonld", "rdf", "nt", "nq", "trig")

# DCAT-AP properties whose values have an xsd:integer-derived datatype, which the store drops.
DECLARED_DATATYPES = {str(DCAT.byteSize): str(XSD.nonNegativeInteger)}


def catalog_graph(settings: Settings) -> str:
    return f"{settings.base_uri}graph/catalog"


def catalog_ntriples(settings: Settings) -> str:
    """The catalogue's own description (title, description, publisher), as N-Triples."""
    iris = Minter(settings.base_uri)
    catalog = URIRef(iris.catalog())
    operator = URIRef(f"{settings.base_uri}operator")
    triples = [
        (catalog, RDF.type, DCAT.Catalog),
        (catalog, DCT.title, Literal(settings.catalog_title, lang="en")),
        (
            catalog,
            DCT.description,
            Literal(
                f"{settings.catalog_title}: metadata about public bodies, their units and what they publish, "
                "as DCAT-AP 3.0 and the Core Public Organisation Vocabulary.",
                lang="en",
            ),
        ),
        (catalog, DCT.publisher, operator),
        (catalog, FOAF.homepage, URIRef(settings.base_uri)),
        (URIRef(settings.base_uri), RDF.type, FOAF.Document),
        (catalog, DCAT.themeTaxonomy, URIRef("http://publications.europa.eu/resource/authority/data-theme")),
        (operator, RDF.type, FOAF.Agent),
        (operator, FOAF.name, Literal(f"Operator of {settings.catalog_title}", lang="en")),
    ]
    return "".join(nt_line(t) for t in triples)


def source_graphs(store: Store, settings: Settings) -> list[str]:
    """The graphs whose union is the catalogue: the data graphs less the vocabularies and the
    quality measurements (DQV, queryable over SPARQL but not part of the DCAT-AP catalogue)."""
    vocab = Minter(settings.base_uri).vocabulary_graph()
    quality = f"{settings.base_uri}graph/quality/"
    return [g for g in store.data_graphs() if g != vocab and not g.startswith(quality)]


def export(
    store: Store, settings: Settings, output: BinaryIO | str, *, fmt: str = "ttl", full: bool = False
) -> None:
    """Write the DCAT-AP catalogue (or, with ``full``, every graph as N-Quads/TriG) to ``output``.

    :raises ValueError: for an unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(EXPORT_FORMATS)})")
    if full:
        if fmt not in ("nq", "trig"):
            raise ValueError("a full dump keeps the named graphs: use --format nq or trig")
        store.dump(output, fmt=fmt, private=True)
        return
    graphs = source_graphs(store, settings)
    vocab = Minter(settings.base_uri).vocabulary_graph()
    data = store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=graphs)
    concepts = store.query(
        _concept_query(vocab, lambda var: f"?x ?q {var}"), default_graphs=graphs, named_graphs=[vocab]
    )
    if fmt in ("nq", "trig"):
        fmt = "nt" if fmt == "nq" else "ttl"
    serialize_triples(_declared_datatypes(chain(data, concepts)), output, fmt, prefixes=PREFIXES)


def _concept_query(vocab: str, uses: Callable[[str], str]) -> str:
    """CONSTRUCT the descriptions of the vocabulary concepts the data uses, one step further.

    ``uses(var)`` is a group pattern that binds ``var`` to the terms the data uses (every
    object of the default graph for the export, a list of IRIs for a page). The concepts
    those terms name in the vocabulary graph (a licence's ADMS licence type) are described
    too, and so are the schemes of both. Each concept and scheme is described once: as an
    OPTIONAL, a scheme's ~80 triples came again with each triple of each of its concepts.
    """
    return f"""CONSTRUCT {{ ?x ?p ?v }} WHERE {{
        {{ SELECT DISTINCT ?x WHERE {{
            {{ SELECT DISTINCT ?c WHERE {{
                {{ {uses("?c")} }}
                UNION
                {{ {{ SELECT DISTINCT ?used WHERE {{ {uses("?used")} FILTER(isIRI(?used)) }} }}
                   GRAPH <{vocab}> {{ ?used ?r ?c }} }}
                FILTER(isIRI(?c))
            }} }}
            GRAPH <{vocab}> {{ ?c <{SKOS.inScheme}>? ?x }}
        }} }}
        GRAPH <{vocab}> {{ ?x ?p ?v }}
    }}"""


# ---------------------------------------------------------------- paging for harvesters

# Links that lead from one agency to others: an agency's description stops there.
NOT_FOLLOWED = {str(p) for p in (ORG.subOrganizationOf, ORG.hasSubOrganization, ORG.unitOf, ORG.hasUnit)}
DESCRIBE_DEPTH = 6  # steps from a member to the furthest node of its description
BLANK_DEPTH = 3  # nested blank nodes fetched with their owner


LINKS = {"dataset": DCAT.dataset, "service": DCAT.service}  # how the catalogue links a member of a kind


@dataclass(frozen=True)
class Member:
    """One item of the paged collection: a dataset or a data service of the catalogue."""

    iri: str
    kind: str  # "dataset" or "service"


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``total`` members, ``size`` a page."""

    number: int
    size: int
    total: int
    members: tuple[Member, ...]

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))


def page_iri(settings: Settings, number: int) -> str:
    return f"{Minter(settings.base_uri).catalog()}?page={number}"


Concepts = Callable[
    [list[str]], Iterable
]  # IRIs used -> the triples of the vocabulary descriptions they bring
Members = Callable[[list[str]], set[str]]  # IRIs -> those of them that are members of the catalogue
_RDF_TYPE, _CATALOG = str(RDF.type), str(DCAT.Catalog)


def write_page(
    store: Store,
    settings: Settings,
    page: Page,
    output: BinaryIO,
    *,
    fmt: str = "ttl",
    concepts: Concepts | None = None,
    members: Members | None = None,
) -> None:
    """Write one page of the catalogue (see the module docstring) as ``fmt`` (ttl, nt, rdf, jsonld).

    ``concepts``: where the descriptions of the vocabulary terms come from (the pages: the data
    derived with the generation, :func:`kg.derived.catalog.concept_ntriples`); default: a query.
    ``members``: which of some IRIs are members of the catalogue (the pages: the derived member
    list, :func:`kg.derived.catalog.members_among`); default: a query.
    """
    nt = io.BytesIO()
    triples = page_triples(store, settings, page.members, concepts=concepts, members=members)
    serialize_triples(_declared_datatypes(triples), nt, "nt")
    text = nt.getvalue().decode("utf-8") + hydra_ntriples(settings, page)
    output.write(convert(grouped(text), fmt, prefixes=PREFIXES))


def page_triples(
    store: Store,
    settings: Settings,
    items: Iterable[Member],
    *,
    concepts: Concepts | None = None,
    members: Members | None = None,
) -> list:
    """The catalogue node, its links to ``items``, their descriptions and the concepts they use."""
    iris = Minter(settings.base_uri)
    graphs = source_graphs(store, settings)
    items = list(items)
    wanted = [m.iri for m in items]
    found = dict.fromkeys(
        store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=[catalog_graph(settings)])
    )
    if wanted:
        links = "".join(f"<{iris.catalog()}> <{LINKS[m.kind]}> <{m.iri}> .\n" for m in items)
        found.update(dict.fromkeys(parse_ntriples(links)))  # the member list says they are there
        if members is None:
            members = partial(members_by_query, store, graphs, iris.catalog())
        found.update(dict.fromkeys(describe(store, graphs, wanted, members=members)))
    used = sorted({t.object.value for t in found if _is_iri(t.object)})
    if used and concepts is not None:
        found.update(dict.fromkeys(concepts(used)))
    elif used:
        vocab = iris.vocabulary_graph()
        query = _concept_query(vocab, lambda var: f"VALUES {var} {{ {_values(used)} }}")
        found.update(dict.fromkeys(store.query(query, default_graphs=[], named_graphs=[vocab])))
    return list(found)


def members_by_query(store: Store, graphs: list[str], catalog: str, nodes: list[str]) -> set[str]:
    """Those of ``nodes`` that ``catalog`` links (its members; catalogues too), asked of the store.

    In a UNION, the catalogue's link is looked up per node (15 ms for 550 nodes at 100,000
    datasets); as a plain join after the VALUES, Oxigraph 0.5 read every link of the
    catalogue instead (1.2 s).
    """
    linked = f"{{ <{catalog}> ?link ?s }} UNION {{ ?s a <{DCAT.Catalog}> }}"
    query = f"SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {_values(nodes)} }} {linked} }}"
    return {row["s"].value for row in store.query(query, default_graphs=graphs) if row["s"] is not None}


def describe(store: Store, graphs: list[str], seeds: list[str], *, members: Members) -> Iterator:
    """The triples describing ``seeds``: their own, their blank nodes', and those of the nodes they reach.

    A node reached is described when a source graph has triples about it, unless it is a member
    of the catalogue (it has a page of its own: ``members`` says which of some IRIs are), a
    catalogue, or reached from an agency through the organisation hierarchy (a unit's page is
    not its ministry's).

    Each step is one query for the nodes' own triples, the members and catalogues among them
    left out here (as a FILTER NOT EXISTS in the query, Oxigraph read every link of the
    catalogue at each step: 30 ms of 80 at 100,000 datasets), and, only for the nodes that have
    blank nodes, one for those: a page of a CSV source's datasets, whose parts are IRIs, asks no
    blank-node query at all. Asked in one query with a branch per blank-node depth, as before,
    every object of every node was looked up as a subject three times over, blank or not.
    """
    seen = set(seeds)
    frontier = list(seeds)
    for step in range(DESCRIBE_DEPTH):
        if not frontier:
            return
        triples = list(store.query(_own_query(frontier), default_graphs=graphs))
        if step > 0 and triples:
            described = sorted({t.subject.value for t in triples})
            catalogs = {t.subject.value for t in triples if _is_catalog_type(t)}
            left_out = members(described) | catalogs
            triples = [t for t in triples if t.subject.value not in left_out]
        owners = sorted({t.subject.value for t in triples if _is_blank(t.object) and _is_iri(t.subject)})
        if owners:
            triples += store.query(_blank_query(owners), default_graphs=graphs)
        yield from triples
        reached = {
            t.object.value for t in triples if _is_iri(t.object) and t.predicate.value not in NOT_FOLLOWED
        } - seen
        seen |= reached
        frontier = sorted(reached)


def _is_catalog_type(t) -> bool:
    return t.predicate.value == _RDF_TYPE and t.object.value == _CATALOG


def _own_query(nodes: list[str]) -> str:
    """CONSTRUCT the triples of ``nodes``."""
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(nodes)} }} ?s ?p ?o }}"


def _blank_query(nodes: list[str]) -> str:
    """CONSTRUCT the triples of the blank nodes ``nodes`` lead to, nested up to BLANK_DEPTH."""
    values = _values(nodes)
    branches = []
    for depth in range(1, BLANK_DEPTH + 1):
        names = ["?n0", *(f"?b{i}" for i in range(1, depth)), "?s"]
        steps = " ".join(
            f"{a} ?q{i} {b} FILTER(isBlank({b}))"
            for i, (a, b) in enumerate(zip(names, names[1:], strict=False))
        )
        branches.append(f"{{ SELECT DISTINCT ?s WHERE {{ VALUES ?n0 {{ {values} }} {steps} }} }}")
    return "CONSTRUCT { ?s ?p ?o } WHERE { { " + " UNION ".join(branches) + " } ?s ?p ?o }"


def hydra_ntriples(settings: Settings, page: Page) -> str:
    """The Hydra paging of one page: the catalogue as a collection, the page as its partial view."""
    catalog = URIRef(Minter(settings.base_uri).catalog())
    view = URIRef(page_iri(settings, page.number))
    triples = [
        (catalog, RDF.type, HYDRA.Collection),
        (catalog, HYDRA.totalItems, Literal(page.total)),
        (catalog, HYDRA.view, view),
        (view, RDF.type, HYDRA.PartialCollectionView),
        (view, HYDRA.first, URIRef(page_iri(settings, 1))),
        (view, HYDRA.last, URIRef(page_iri(settings, page.last))),
    ]
    if page.number > 1:
        triples.append((view, HYDRA.previous, URIRef(page_iri(settings, page.number - 1))))
    if page.number < page.last:
        triples.append((view, HYDRA.next, URIRef(page_iri(settings, page.number + 1))))
    return "".join(nt_line(t) for t in triples)


def grouped(ntriples: str) -> str:
    """N-Triples lines in order, so that each subject's triples are together (readable Turtle)."""
    return "".join(sorted(ntriples.splitlines(keepends=True)))


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


def _is_blank(term: object) -> bool:
    """Whether a store term is a blank node (``_:…``)."""
    return str(term).startswith("_:")


def _is_iri(term: object) -> bool:
    """Whether a store term is an IRI (its N-Triples form is ``<…>``), without importing the store library."""
    return str(term).startswith("<")


def _declared_datatypes(triples: Iterable) -> Iterator:
    """The triples, with the datatype DCAT-AP declares given back to integers the store normalised.

    Works on the store's own term classes (``type(term)(…)``), so that this module needs no
    import of the store library.
    """
    integer = str(XSD.integer)
    for triple in triples:
        wanted = DECLARED_DATATYPES.get(triple.predicate.value)
        value = triple.object
        datatype = getattr(value, "datatype", None)
        if wanted and datatype is not None and datatype.value == integer and not value.value.startswith("-"):
            value = type(value)(value.value, datatype=type(datatype)(wanted))
            triple = type(triple)(triple.subject, triple.predicate, value)
        yield triple
