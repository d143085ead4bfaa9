"""Agencies: a public organisation (``cpov:PublicOrganisation``) or a unit of one
(``org:OrganizationalUnit``), with its place in the hierarchy, identifier, classification,
contact point and address.
"""

from __future__ import annotations

from rdflib import Literal, URIRef

from kg.iris import Minter
from kg.mapping.fields import add_spatial, add_url
from kg.mapping.mapped import Builder, MappedRecord
from kg.records import Address, AgencyRecord, Contact, first_text
from kg.vocab import ADMS, CPOV, DCT, FOAF, LOCN, ORG, RDF, SKOS, VCARD


def map_agency(rec: AgencyRecord, iris: Minter) -> MappedRecord:
    """An agency as cpov:PublicOrganisation (or org:OrganizationalUnit), also a foaf:Agent publisher."""
    s = URIRef(iris.agency(rec.key))
    out = MappedRecord(str(s), "agency", rec.origin, first_text(rec.name) or rec.key)
    b = Builder(out)
    b.add(s, RDF.type, FOAF.Agent)
    b.add(s, RDF.type, FOAF.Organization)
    b.add(s, RDF.type, ORG.Organization)
    b.add(s, RDF.type, ORG.OrganizationalUnit if rec.is_unit else CPOV.PublicOrganisation)
    b.text(s, FOAF.name, rec.name)
    b.text(s, SKOS.prefLabel, rec.name)
    b.literal(s, SKOS.altLabel, rec.acronym)
    b.text(s, DCT.description, rec.description)
    if rec.parent:
        parent = URIRef(iris.agency(rec.parent))
        if rec.is_unit:
            b.add(s, ORG.unitOf, parent)
            b.add(parent, ORG.hasUnit, s)
        else:
            b.add(s, ORG.subOrganizationOf, parent)
            b.add(parent, ORG.hasSubOrganization, s)
    if rec.identifier:
        node = URIRef(Minter.part(str(s), "identifier"))
        b.add(s, ADMS.identifier, node)
        b.add(node, RDF.type, ADMS.Identifier)
        b.add(node, SKOS.notation, Literal(rec.identifier))
    if rec.classification:
        node = URIRef(Minter.part(str(s), "classification"))
        b.add(s, ORG.classification, node)
        b.add(node, RDF.type, SKOS.Concept)
        b.add(node, SKOS.prefLabel, Literal(rec.classification, lang="en"))
    add_url(b, s, FOAF.homepage, rec.homepage, FOAF.Document)
    _agency_contact(b, s, rec.contact)
    _address(b, s, rec.address)
    if rec.jurisdiction:
        add_spatial(b, s, CPOV.spatial, [rec.jurisdiction], str(s))
    return out


def _agency_contact(b: Builder, s: URIRef, contact: Contact) -> None:
    if not contact:
        return
    node = URIRef(Minter.part(str(s), "contact"))
    b.add(s, CPOV.contactPoint, node)
    b.add(node, RDF.type, CPOV.ContactPoint)
    email = contact.email.removeprefix("mailto:").strip()
    b.literal(node, CPOV.email, email)
    if email:
        b.add(node, VCARD.hasEmail, URIRef("mailto:" + email))
    b.literal(node, CPOV.telephone, contact.phone)
    add_url(b, node, FOAF.page, contact.url)


def _address(b: Builder, s: URIRef, address: Address) -> None:
    if not address:
        return
    node = URIRef(Minter.part(str(s), "address"))
    b.add(s, LOCN.address, node)
    b.add(node, RDF.type, LOCN.Address)
    b.literal(node, LOCN.thoroughfare, address.street)
    b.literal(node, LOCN.postName, address.locality)
    b.literal(node, LOCN.postCode, address.postal_code)
    b.literal(node, LOCN.adminUnitL2, address.region)
    b.literal(node, LOCN.adminUnitL1, address.country)
    full = ", ".join(
        p
        for p in (
            address.street,
            f"{address.postal_code} {address.locality}".strip(),
            address.region,
            address.country,
        )
        if p
    )
    b.literal(node, LOCN.fullAddress, full)
