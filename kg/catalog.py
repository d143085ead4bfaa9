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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import BinaryIO

from rdflib import Literal, URIRef

from kg.iris import Minter
from kg.mapping import nt_line
from kg.settings import Settings
from kg.store import Store, serialize_triples
from kg.vocab import DCAT, DCT, FOAF, PREFIXES, RDF, SKOS, XSD

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
    vocab = Minter(settings.base_uri).vocabulary_graph()
    return [g for g in store.data_graphs() if g != vocab]


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
        store.dump(output, fmt=fmt)
        return
    graphs = source_graphs(store, settings)
    vocab = Minter(settings.base_uri).vocabulary_graph()
    data = store.query("CONSTRUCT WHERE { ?s ?p ?o }", default_graphs=graphs)
    concepts = store.query(
        f"""CONSTRUCT {{ ?c ?p ?v . ?scheme ?sp ?sv }} WHERE {{
        {{ SELECT DISTINCT ?c WHERE {{
            {{ ?x ?q ?c }}
            UNION
            {{ {{ SELECT DISTINCT ?used WHERE {{ ?x ?q ?used FILTER(isIRI(?used)) }} }}
               GRAPH <{vocab}> {{ ?used ?r ?c }} }}
            FILTER(isIRI(?c))
        }} }}
        GRAPH <{vocab}> {{ ?c ?p ?v OPTIONAL {{ ?c <{SKOS.inScheme}> ?scheme . ?scheme ?sp ?sv }} }}
    }}""",
        default_graphs=graphs,
        named_graphs=[vocab],
    )
    if fmt in ("nq", "trig"):
        fmt = "nt" if fmt == "nq" else "ttl"
    serialize_triples(_declared_datatypes(chain(data, concepts)), output, fmt, prefixes=PREFIXES)


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
