"""Field values as DCAT-AP wants them, shared by the classes' mappers: dates, URLs, licences,
access rights, themes, places, languages, keywords, contact points, documents, standards.

Each ``add_*`` function adds a value's triples to a record (:class:`~kg.mapping.mapped.Builder`),
and a note where the text is not what DCAT-AP asks for (see the table in :mod:`kg.mapping`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import quote, urlsplit

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.iris import Minter
from kg.mapping import eu_vocabularies
from kg.mapping.mapped import Builder, lang_tag
from kg.records import Contact
from kg.vocab import DCAT, DCT, KGO, RDF, RDFS, SKOS, VCARD, XSD

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$")
_YEAR = re.compile(r"^\d{4}$")
_YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")


def parse_date(raw: str) -> Literal | None:
    """An xsd date literal for the date forms seen in real metadata, else ``None``.

    >>> parse_date("2019-06-27 12:41:27")
    rdflib.term.Literal('2019-06-27T12:41:27', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#dateTime'))
    >>> parse_date("2024-02-30") is None
    True
    >>> str(parse_date("2021"))
    '2021'
    """
    text = raw.strip()
    try:
        if _DATE.match(text):
            date.fromisoformat(text)
            return Literal(text, datatype=XSD.date)
        if m := _DATETIME.match(text):
            day, clock, zone = m.group(1), m.group(2), m.group(5) or ""
            if len(clock) == 5:
                clock += ":00"
            if zone and zone != "Z" and ":" not in zone:
                zone = f"{zone[:3]}:{zone[3:]}"
            value = f"{day}T{clock}{zone}"
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return Literal(value, datatype=XSD.dateTime)
        if _YEAR.match(text):
            return Literal(text, datatype=XSD.gYear)
        if _YEAR_MONTH.match(text):
            date.fromisoformat(text + "-01")
            return Literal(text, datatype=XSD.gYearMonth)
    except ValueError:
        return None
    return None


def as_iri(raw: str) -> URIRef | None:
    """An IRI for a URL as sources write them (spaces and other unsafe characters escaped).

    >>> as_iri(" http://ex.org/a b.csv ")
    rdflib.term.URIRef('http://ex.org/a%20b.csv')
    >>> as_iri("www.example.org") is None
    True
    """
    text = raw.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced "[" in the host
        return None
    if parts.scheme.lower() not in {"http", "https", "ftp", "ftps", "mailto", "urn", "tel"}:
        return None
    if parts.scheme.lower() in {"http", "https", "ftp", "ftps"} and not parts.netloc:
        return None
    return URIRef(quote(text, safe=":/?#[]@!$&'()*+,;=%~"))


def add_date(b: Builder, s: Node, p: Node, raw: str) -> None:
    """A date as an xsd literal; other text as it is, which :mod:`kg.mapping.repairs` reads if it reads one
    way, or leaves out with a note (as it does for every reader's dates)."""
    if not raw:
        return
    value = parse_date(raw)
    b.add(s, p, value if value is not None else Literal(raw))


def add_url(b: Builder, s: Node, p: Node, raw: str, cls: Node | None = None) -> None:
    if not raw:
        return
    iri = as_iri(raw)
    if iri is None:
        b.add(s, p, Literal(raw))
        b.note(s, p, raw, f"{raw!r} is not a URL")
        return
    b.add(s, p, iri)
    if cls is not None:
        b.add(iri, RDF.type, cls)


def add_licence(b: Builder, s: Node, raw: str, owner: str) -> None:
    if not raw:
        return
    if iri := eu_vocabularies.match_licence(raw):
        b.add(s, DCT.license, URIRef(iri))
    elif (url := as_iri(raw)) is not None:
        b.add(s, DCT.license, url)
        b.add(url, RDF.type, DCT.LicenseDocument)
        b.note(s, DCT.license, raw, f"licence {raw!r} is not in the EU licence table; kept as its URL")
    else:
        node = URIRef(Minter.part(owner, "licence"))
        b.add(s, DCT.license, node)
        b.add(node, RDF.type, DCT.LicenseDocument)
        b.add(node, RDFS.label, Literal(raw))
        b.note(s, DCT.license, raw, f"licence {raw!r} is not in the EU licence table; kept as its name")


def add_access_rights(b: Builder, s: Node, raw: str, owner: str) -> None:
    if not raw:
        return
    if iri := eu_vocabularies.match_access_right(raw):
        b.add(s, DCT.accessRights, URIRef(iri))
        return
    node = URIRef(Minter.part(owner, "access-rights"))
    b.add(s, DCT.accessRights, node)
    b.add(node, RDF.type, DCT.RightsStatement)
    b.add(node, RDFS.label, Literal(raw))


def add_themes(b: Builder, s: Node, themes: list[str]) -> None:
    for raw in themes:
        if iri := eu_vocabularies.match_theme(raw):
            b.add(s, DCAT.theme, URIRef(iri))
        elif (url := as_iri(raw)) is not None:
            b.add(s, DCAT.theme, url)
            b.add(url, RDF.type, SKOS.Concept)
            b.add(url, SKOS.prefLabel, Literal(raw.rstrip("/").rsplit("/", 1)[-1] or raw))
        else:
            b.unmapped(s, KGO.unmappedTheme, raw, "theme")


def add_spatial(b: Builder, s: Node, p: Node, places: list[str], owner: str) -> None:
    for i, raw in enumerate(places):
        if iri := eu_vocabularies.match_country(raw):
            b.add(s, p, URIRef(iri))
        elif (url := as_iri(raw)) is not None:
            b.add(s, p, url)
            b.add(url, RDF.type, DCT.Location)
        else:
            node = URIRef(Minter.part(owner, f"spatial-{i + 1}" if i else "spatial"))
            b.add(s, p, node)
            b.add(node, RDF.type, DCT.Location)
            b.add(node, SKOS.prefLabel, Literal(raw))


def add_languages(b: Builder, s: Node, languages: list[str]) -> None:
    for raw in languages:
        b.vocab(s, DCT.language, raw, eu_vocabularies.match_language, KGO.unmappedLanguage, "language")


def add_keywords(b: Builder, s: Node, keywords: list[tuple[str, str]]) -> None:
    for text, lang in keywords:
        if text:
            b.add(s, DCAT.keyword, Literal(text, lang=lang_tag(lang)))


def add_contact(b: Builder, s: Node, contact: Contact, owner: str) -> None:
    """A DCAT contact point: a vcard:Kind with a name and the ways to reach it."""
    if not contact:
        return
    node = URIRef(Minter.part(owner, "contact"))
    b.add(s, DCAT.contactPoint, node)
    b.add(node, RDF.type, VCARD.Kind)
    b.literal(node, VCARD.fn, contact.name)
    if contact.email:
        b.add(node, VCARD.hasEmail, URIRef("mailto:" + contact.email.removeprefix("mailto:").strip()))
    if contact.phone:
        b.add(node, VCARD.hasTelephone, _tel(contact.phone))
    add_url(b, node, VCARD.hasURL, contact.url)


def _tel(phone: str) -> URIRef:
    digits = re.sub(r"[^0-9+]", "", phone.removeprefix("tel:"))
    return URIRef("tel:" + digits) if digits else URIRef("tel:" + quote(phone))


def add_documents(b: Builder, s: Node, p: Node, urls: list[str], cls: Node) -> None:
    for raw in urls:
        add_url(b, s, p, raw, cls)


def add_standards(b: Builder, s: Node, values: list[str]) -> None:
    for raw in values:
        if as_iri(raw) is not None:
            add_url(b, s, DCT.conformsTo, raw, DCT.Standard)
        elif raw:
            b.unmapped(s, KGO.unmappedValue, f"conformsTo: {raw}", "standard")
