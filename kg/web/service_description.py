"""The SPARQL 1.1 Service Description of ``/sparql``: what the endpoint speaks and the graphs it serves.

Sent for a request to ``/sparql`` without a query (:mod:`kg.web.sparql_core`), in the negotiated
RDF syntax; framework-free.
"""

from __future__ import annotations

from kg.store.results import convert

SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
SD_PREFIXES = {"sd": SD, "formats": FORMATS_NS, "void": "http://rdfs.org/ns/void#"}
RESULT_FORMAT_IRIS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "RDF_XML",
    "JSON-LD",
    "N-Quads",
    "TriG",
)


def describe_service(endpoint: str, store, *, writable: bool) -> str:
    """The Service Description as N-Triples: endpoint, languages, formats, features, graphs and sizes,
    and the base that relative IRIs resolve against (the Protocol leaves it to the service)."""
    e = f"<{endpoint}>"
    lines = [
        f"{e} <{RDF_TYPE}> <{SD}Service> .",
        f"{e} <{SD}endpoint> {e} .",
        f'{e} <{RDFS_COMMENT}> "{BASE_NOTE.format(endpoint=endpoint)}"@en .',
        f"{e} <{SD}supportedLanguage> <{SD}SPARQL11Query> .",
        f"{e} <{SD}feature> <{SD}UnionDefaultGraph> .",
    ]
    if writable:
        lines.append(f"{e} <{SD}supportedLanguage> <{SD}SPARQL11Update> .")
    lines += [f"{e} <{SD}resultFormat> <{FORMATS_NS}{name}> ." for name in RESULT_FORMAT_IRIS]
    lines += [
        f"{e} <{SD}defaultDataset> _:dataset .",
        f"_:dataset <{RDF_TYPE}> <{SD}Dataset> .",
        f"_:dataset <{SD}defaultGraph> _:default .",
        f"_:default <{RDF_TYPE}> <{SD}Graph> .",
    ]
    counted = store.graph_sizes()  # one count of every graph (a scan on a remote store)
    sizes = {g: counted.get(g, 0) for g in store.data_graphs()}  # what queries see
    union = sum(sizes.values())
    lines.append(f'_:default <http://rdfs.org/ns/void#triples> "{union}"^^<{XSD_INT}> .')
    for i, (graph, size) in enumerate(sorted(sizes.items())):
        lines += [
            f"_:dataset <{SD}namedGraph> _:ng{i} .",
            f"_:ng{i} <{RDF_TYPE}> <{SD}NamedGraph> .",
            f"_:ng{i} <{SD}name> <{graph}> .",
            f"_:ng{i} <{SD}graph> _:g{i} .",
            f"_:g{i} <{RDF_TYPE}> <{SD}Graph> .",
            f'_:g{i} <http://rdfs.org/ns/void#triples> "{size}"^^<{XSD_INT}> .',
        ]
    return "\n".join(lines) + "\n"


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
# what a query and an update do with a relative IRI (``with_base`` and the request's URL)
BASE_NOTE = (
    "Relative IRIs in a query or an update without a BASE of its own resolve against the URL the "
    "request was sent to, without its query string: this endpoint, {endpoint}"
)
XSD_INT = "http://www.w3.org/2001/XMLSchema#integer"


def service_description(endpoint: str, store, fmt: str, *, writable: bool) -> bytes:
    """The Service Description of ``endpoint`` in ``fmt`` (an RDF syntax's short name)."""
    return convert(describe_service(endpoint, store, writable=writable), fmt, prefixes=SD_PREFIXES)
