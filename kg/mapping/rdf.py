"""RDF records kept as published: only the types their properties' ranges entail are added, and
the catalogue's link to each dataset and service.
"""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.iris import Minter
from kg.mapping.mapped import MappedRecord, Triple
from kg.records import RdfRecord
from kg.vocab import DCAT, DCT, FOAF, RDF, RDFS, SKOS, VCARD

# DCAT-AP ranges: the class a value of each property has by definition. RDF sources often
# leave these types implicit; stating them adds nothing the vocabulary does not already entail.
# Not the publisher (foaf:Agent) nor a distribution (dcat:Distribution): their shapes ask for
# properties (a name, an access URL) a bare link cannot have, so typed they would break a
# mandatory rule; untyped, the link breaks a class rule and is left out (kg.mapping.repairs), as the
# EU validator, which infers no types, sees it too.
RANGES = {
    DCAT.landingPage: FOAF.Document,
    FOAF.page: FOAF.Document,
    FOAF.homepage: FOAF.Document,
    DCT.license: DCT.LicenseDocument,
    DCT.accessRights: DCT.RightsStatement,
    DCT.rights: DCT.RightsStatement,
    DCT.conformsTo: DCT.Standard,
    DCAT.mediaType: DCT.MediaType,
    DCT.format: DCT.MediaTypeOrExtent,
    DCT.spatial: DCT.Location,
    DCT.temporal: DCT.PeriodOfTime,
    DCT.accrualPeriodicity: DCT.Frequency,
    DCT.language: DCT.LinguisticSystem,
    DCT.provenance: DCT.ProvenanceStatement,
    DCAT.contactPoint: VCARD.Kind,
}


def entailed_types(triples: list[Triple], described_elsewhere: set[Node]) -> list[Triple]:
    """``rdf:type`` triples that the DCAT-AP property ranges entail for untyped IRI/blank-node values.

    Values that another record of the source describes keep the types that record gives them.
    """
    rdf_type = RDF.type  # looked up once: ~50 triples a record
    typed = {(s, o) for s, p, o in triples if p == rdf_type}
    out = []
    for _, p, o in triples:
        cls = RANGES.get(p)
        if cls is None or isinstance(o, Literal) or o in described_elsewhere:
            continue
        if (o, cls) not in typed:
            typed.add((o, cls))
            out.append((o, rdf_type, cls))
    return out


def map_rdf(rec: RdfRecord, iris: Minter) -> MappedRecord:
    """RDF input kept as published, plus the types its properties' ranges entail; datasets and
    services are linked from our catalogue."""
    label = _rdf_label(rec)
    triples = list(rec.triples)
    triples += entailed_types(triples, {t[0] for t in rec.context})
    out = MappedRecord(rec.key, rec.kind, rec.origin, label, triples, list(rec.context))
    node = BNode(rec.key[2:]) if rec.key.startswith("_:") else URIRef(rec.key)  # the reader's form
    if rec.kind == "dataset":
        out.triples.append((URIRef(iris.catalog()), DCAT.dataset, node))
    elif rec.kind == "service":
        out.triples.append((URIRef(iris.catalog()), DCAT.service, node))
    return out


_LABELS = frozenset((DCT.title, FOAF.name, SKOS.prefLabel, RDFS.label))


def _rdf_label(rec: RdfRecord) -> str:
    for s, p, o in rec.triples:
        if p in _LABELS and str(s) == rec.key:  # the cheaper test first: ~50 triples a record
            return str(o)
    return rec.key
