"""Data services: a ``dcat:DataService`` (an API), its endpoints and the datasets it serves."""

from __future__ import annotations

from rdflib import URIRef

from kg.iris import Minter
from kg.mapping import eu_vocabularies
from kg.mapping.fields import (
    add_access_rights,
    add_contact,
    add_keywords,
    add_licence,
    add_standards,
    add_themes,
    add_url,
)
from kg.mapping.mapped import Builder, MappedRecord
from kg.records import ServiceRecord, first_text
from kg.vocab import DCAT, DCT, FOAF, KGO, RDF


def map_service(rec: ServiceRecord, iris: Minter) -> MappedRecord:
    """A dcat:DataService (an API) and the datasets it serves."""
    s = URIRef(iris.service(rec.key))
    out = MappedRecord(str(s), "service", rec.origin, first_text(rec.title) or rec.key)
    b = Builder(out)
    b.add(URIRef(iris.catalog()), DCAT.service, s)
    b.add(s, RDF.type, DCAT.DataService)
    b.text(s, DCT.title, rec.title)
    b.text(s, DCT.description, rec.description)
    if rec.publisher:
        b.add(s, DCT.publisher, URIRef(iris.agency(rec.publisher)))
    add_url(b, s, DCAT.endpointURL, rec.endpoint_url)
    add_url(b, s, DCAT.endpointDescription, rec.endpoint_description)
    for key in rec.serves_datasets:
        b.add(s, DCAT.servesDataset, URIRef(iris.dataset(key)))
    add_themes(b, s, rec.themes)
    add_keywords(b, s, rec.keywords)
    add_licence(b, s, rec.licence, str(s))
    add_access_rights(b, s, rec.access_rights, str(s))
    for fmt in rec.formats:
        b.vocab(s, DCT.format, fmt, eu_vocabularies.match_format, KGO.unmappedFormat, "format")
    add_contact(b, s, rec.contact, str(s))
    add_url(b, s, DCAT.landingPage, rec.landing_page, FOAF.Document)
    add_standards(b, s, rec.conforms_to)
    return out
