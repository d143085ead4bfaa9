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
(:mod:`kg.derived.catalog`), so a page is a slice of it, and so are the page's triples: each
member's description walked once per generation from the N-Triples kept per node
(:mod:`kg.derived.descriptions`) and kept as one row (:mod:`kg.derived.member_descriptions`): a
page reads no store. A page is the catalogue's own description, the ``dcat:dataset`` /
``dcat:service`` links to the page's members, each member's full description
(:func:`kg.derived.member_descriptions.describe_each`: its triples, its distributions,
parts and fragments, the agencies it names, contact points, documents,
standards — every node it reaches that is described in a source graph, but
not other members, other catalogues or an agency's parents and units), the
vocabulary concepts those use, and a Hydra ``PartialCollectionView``. The
union of all pages is the export, less what no member reaches (agencies
that publish nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO, NamedTuple, Protocol

from rdflib import Literal, URIRef

from kg.catalog_records import record_lines
from kg.history import record_times
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
    records = export_records(store, settings, graphs)
    serialize_triples(_declared_datatypes(chain(data, concepts, records)), output, fmt, prefixes=PREFIXES)


def export_records(store: Store, settings: Settings, graphs: list[str]) -> Iterator:
    """The catalogue records (:mod:`kg.catalog_records`) of every member of the catalogue in
    ``graphs``, as the store's triples: so that the export is the union of the pages."""
    catalog = Minter(settings.base_uri).catalog()
    links = f"<{DCAT.dataset}> <{DCAT.service}>"
    query = f"SELECT DISTINCT ?m WHERE {{ <{catalog}> ?link ?m VALUES ?link {{ {links} }} }}"
    members = sorted(row["m"].value for row in store.query(query, default_graphs=graphs))
    times = record_times(store.folder(), members)
    return parse_ntriples("".join(record_lines(settings, members, times)))


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
    """Page ``number`` (from 1) of ``total`` members, ``size`` a page; ``query``: the filter of a
    view of the catalogue (``modified_since=…``), kept in its pages' IRIs, "" for the whole of it."""

    number: int
    size: int
    total: int
    members: tuple[Member, ...]
    query: str = ""

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.size))


def page_iri(settings: Settings, number: int, query: str = "") -> str:
    return f"{Minter(settings.base_uri).catalog()}?{query + '&' if query else ''}page={number}"


class Node(NamedTuple):
    """A node's triples in one source graph, derived with the store generation, with what they
    lead to (read once at the derivation, not parsed again by every page)."""

    key: str  # its IRI, or ``_:label`` for a blank node
    catalog: bool  # typed dcat:Catalog there
    ntriples: str  # its triples (and only its), as N-Triples lines ("" when not asked for)
    followed: tuple[str, ...] = ()  # the IRIs its triples lead to, less by NOT_FOLLOWED links
    unfollowed: tuple[str, ...] = ()  # the IRIs they name by NOT_FOLLOWED links only
    blanks: tuple[str, ...] = ()  # the blank nodes they lead to (``_:label``)


class Description(NamedTuple):
    """One member's whole description, as a page reads it (:mod:`kg.derived.member_descriptions`)."""

    ntriples: str  # its nodes' N-Triples lines, each once
    used: tuple[str, ...]  # the IRIs they name (the member's too): the vocabulary terms among them


class PageData(Protocol):
    """What a page is made of, derived once per generation (:mod:`kg.derived.member_descriptions`):
    a row per member holding its whole description, so that a page reads ~100 rows by key rather
    than walking ~630 nodes (which was ~60 % of a page's time at 100,000 datasets)."""

    def catalog_ntriples(self) -> str:
        """The catalogue's own graph (:func:`catalog_graph`) as N-Triples."""
        ...

    def descriptions(self, iris: list[str]) -> list[Description]:
        """The descriptions of the members ``iris`` (one each, in no particular order)."""
        ...

    def concepts(self, used: list[str]) -> str:
        """The N-Triples of the vocabulary terms a use of ``used`` brings (see :func:`_concept_query`)."""
        ...


def write_page(
    settings: Settings,
    page: Page,
    output: BinaryIO,
    *,
    fmt: str = "ttl",
    data: PageData | None,
    records: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """Write one page of the catalogue (see the module docstring) as ``fmt`` (ttl, nt, rdf, jsonld).

    ``data``: the generation's derived page data (None when nothing was ever written: the page
    is only its paging). Every line is already as pyoxigraph writes N-Triples, so N-Triples is
    the sorted lines as they are; another syntax is parsed from them once, without checking
    their IRIs again (:func:`kg.store.results.convert`'s ``written``).

    ``records``: (first seen, last changed) of the members whose history is kept (:mod:`kg.history`),
    each described by a ``dcat:CatalogRecord`` (:func:`record_lines`).
    """
    lines = page_lines(settings, page.members, data) if data is not None else []
    lines += record_lines(settings, [m.iri for m in page.members], records or {})
    lines += hydra_ntriples(settings, page).splitlines(keepends=True)
    text = "".join(sorted(lines))  # each subject's triples together, as grouped() does
    if fmt == "nt":
        output.write(text.encode("utf-8"))
    else:
        output.write(convert(text, fmt, prefixes=PREFIXES, written=True))


def page_lines(settings: Settings, items: Iterable[Member], data: PageData) -> list[str]:
    """The catalogue node, its links to ``items``, their descriptions and the concepts they use,
    as N-Triples lines (each once: members share their agencies' descriptions).

    The texts are split into lines once, all together: split and deduplicated text by text, the
    ~4,500 nodes of a page cost ~3 ms more at 100,000 datasets."""
    catalog = Minter(settings.base_uri).catalog()
    own = data.catalog_ntriples()
    used = {iri for line in own.splitlines(keepends=True) if (iri := _iri_object(line)) is not None}
    texts = [own]
    items = list(items)
    if items:
        # the member list says they are there
        texts += [f"<{catalog}> <{LINKS[m.kind]}> <{m.iri}> .\n" for m in items]
        used.update(m.iri for m in items)
        for description in data.descriptions([m.iri for m in items]):
            texts.append(description.ntriples)
            used.update(description.used)
    if used:
        texts.append(data.concepts(sorted(used)))
    return list(dict.fromkeys("".join(ended(text) for text in texts).splitlines(keepends=True)))


def ended(text: str) -> str:
    """N-Triples text whose last line ends, so that texts join without running lines together."""
    return text if not text or text.endswith("\n") else text + "\n"


def objects(lines: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """What N-Triples ``lines`` (``<s> <p> o .``) lead to: (IRIs by links other than
    :data:`NOT_FOLLOWED`, IRIs by those only, blank nodes), each once, in order."""
    followed: dict[str, None] = {}
    named: dict[str, None] = {}
    blanks: dict[str, None] = {}
    for line in lines:
        _, predicate, rest = line.split(" ", 2)
        term = rest[:-3]
        if term.startswith("<"):
            (named if predicate[1:-1] in NOT_FOLLOWED else followed)[term[1:-1]] = None
        elif term.startswith("_:"):
            blanks[term] = None
    return list(followed), [iri for iri in named if iri not in followed], list(blanks)


def _object(line: str) -> tuple[str, str]:
    """(predicate, object) of an N-Triples line ``<s> <p> o .``, both as written."""
    _, predicate, rest = line.split(" ", 2)
    return predicate, rest[:-3]


def _iri_object(line: str) -> str | None:
    """The IRI a line's object is, if it is one."""
    term = _object(line)[1]
    return term[1:-1] if term.startswith("<") else None


def declared_datatype(line: str) -> str:
    """An N-Triples line with the datatype DCAT-AP declares given back to an integer the store
    normalised (:data:`DECLARED_DATATYPES`), as :func:`_declared_datatypes` does to triples."""
    if not line.endswith(_INTEGER_END):
        return line
    predicate, term = _object(line)
    wanted = DECLARED_DATATYPES.get(predicate[1:-1])
    if wanted is None or term.startswith('"-'):
        return line
    return f'{line[: -len(_INTEGER_END)]}"^^<{wanted}> .\n'


_INTEGER_END = f'"^^<{XSD.integer}> .\n'


def hydra_ntriples(settings: Settings, page: Page) -> str:
    """The Hydra paging of one page: the catalogue as a collection, the page as its partial view (a
    filtered view's collection is the catalogue's IRI with the filter: its members are fewer)."""
    catalog = Minter(settings.base_uri).catalog()
    collection = URIRef(f"{catalog}?{page.query}" if page.query else catalog)
    view = URIRef(page_iri(settings, page.number, page.query))
    triples = [
        (collection, RDF.type, HYDRA.Collection),
        (collection, HYDRA.totalItems, Literal(page.total)),
        (collection, HYDRA.view, view),
        (view, RDF.type, HYDRA.PartialCollectionView),
        (view, HYDRA.first, URIRef(page_iri(settings, 1, page.query))),
        (view, HYDRA.last, URIRef(page_iri(settings, page.last, page.query))),
    ]
    if page.number > 1:
        triples.append((view, HYDRA.previous, URIRef(page_iri(settings, page.number - 1, page.query))))
    if page.number < page.last:
        triples.append((view, HYDRA.next, URIRef(page_iri(settings, page.number + 1, page.query))))
    return "".join(nt_line(t) for t in triples)


def grouped(ntriples: str) -> str:
    """N-Triples lines in order, so that each subject's triples are together (readable Turtle)."""
    return "".join(sorted(ntriples.splitlines(keepends=True)))


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
