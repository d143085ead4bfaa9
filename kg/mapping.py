"""Records -> DCAT-AP 3.0 + CPOV/ORG RDF, one function per class.

Every reader produces :mod:`kg.records`; this module is the one place that
knows DCAT-AP. The tables below say, per class, which record field becomes
which predicate and what happens to text that does not fit:

==================  =========================  =========================================
field               predicate                  when the text is not an IRI we know
==================  =========================  =========================================
format              dct:format (file type)     kgo:unmappedFormat "…" + a note
media_type          dcat:mediaType (IANA)      tried as a format, else kgo:unmappedFormat
licence             dct:license                URL: the URL as dct:LicenseDocument;
                                               text: a dct:LicenseDocument with its label
access_rights       dct:accessRights           a dct:RightsStatement with its label
frequency           dct:accrualPeriodicity     kgo:unmappedFrequency "…"
languages           dct:language               kgo:unmappedLanguage "…"
themes              dcat:theme                 IRI: kept as a skos:Concept; text: kgo:unmappedTheme
spatial             dct:spatial (country)      IRI: kept as dct:Location; text: a Location with its label
checksum            spdx:checksum (SPDX IRI)   unknown algorithm or value not hex:
                                               kgo:unmappedValue "checksum: …"
issued / modified   xsd:date / xsd:dateTime    kept as text for :mod:`kg.repairs`, which reads
                                               the forms that read one way and leaves the
                                               others out with a note (a guess is worse)
==================  =========================  =========================================

Nothing is dropped: unmapped text stays in the graph on a ``kgo:`` property
and becomes a :class:`Note` that the ingest summary and the quality page show.
RDF records are kept as published; only the catalogue link is added.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import quote, urlsplit

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg import controlled
from kg.iris import Minter
from kg.records import (
    Address,
    AgencyRecord,
    Contact,
    DatasetRecord,
    DistributionRecord,
    Origin,
    RdfRecord,
    Record,
    ServiceRecord,
    Text,
    first_text,
)
from kg.vocab import ADMS, CPOV, DCAT, DCT, FOAF, KGO, LOCN, ORG, RDF, RDFS, SKOS, SPDX, VCARD, XSD

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class Note:
    """Something the mapper could not map and kept as text, or a repair (:mod:`kg.repairs`):
    an info finding of the record's report, with the original value."""

    focus: str
    path: str
    value: str
    message: str
    rule: str = "kgo:mapping"  # kgo:repair/<kind> and kgo:left-out/<kind> for repairs


@dataclass
class MappedRecord:
    """The RDF of one record, ready to validate and store.

    ``triples`` are stored in the source graph; ``context`` (descriptions of
    the agencies it refers to) is only used to validate it.
    """

    key: str  # IRI of the focus resource
    kind: str  # dataset, service, agency, catalog, other
    origin: Origin
    label: str
    triples: list[Triple] = field(default_factory=list)
    context: list[Triple] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


class _Builder:
    """Collects triples and notes for one record."""

    def __init__(self, record: MappedRecord) -> None:
        self.record = record

    def add(self, s: Node, p: Node, o: Node) -> None:
        self.record.triples.append((s, p, o))

    def text(self, s: Node, p: Node, text: Text) -> None:
        for lang, value in text.items():
            if value:
                self.add(s, p, Literal(value, lang=_lang_tag(lang)))

    def literal(self, s: Node, p: Node, value: str) -> None:
        if value:
            self.add(s, p, Literal(value))

    def note(self, focus: Node, path: Node, value: str, message: str, rule: str = "kgo:mapping") -> None:
        self.record.notes.append(Note(str(focus), str(path), value, message, rule))

    def unmapped(self, s: Node, p: Node, value: str, what: str) -> None:
        self.add(s, p, Literal(value))
        self.note(s, p, value, f"{what} {value!r} is not in the EU vocabulary; kept as text")

    def vocab(
        self, s: Node, p: Node, raw: str, match: Callable[[str], str | None], unmapped: Node, what: str
    ) -> None:
        iri = match(raw) if raw else None
        if iri:
            self.add(s, p, URIRef(iri))
        elif raw:
            self.unmapped(s, unmapped, raw, what)


# ---------------------------------------------------------------- helpers

_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")


def _lang_tag(lang: str) -> str | None:
    lang = lang.strip().replace("_", "-")
    return lang if lang and _LANG.match(lang) else None


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


def _date(b: _Builder, s: Node, p: Node, raw: str) -> None:
    """A date as an xsd literal; other text as it is, which :mod:`kg.repairs` reads if it reads one
    way, or leaves out with a note (as it does for every reader's dates)."""
    if not raw:
        return
    value = parse_date(raw)
    b.add(s, p, value if value is not None else Literal(raw))


def _url(b: _Builder, s: Node, p: Node, raw: str, cls: Node | None = None) -> None:
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


def _licence(b: _Builder, s: Node, raw: str, owner: str) -> None:
    if not raw:
        return
    if iri := controlled.match_licence(raw):
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


def _access_rights(b: _Builder, s: Node, raw: str, owner: str) -> None:
    if not raw:
        return
    if iri := controlled.match_access_right(raw):
        b.add(s, DCT.accessRights, URIRef(iri))
        return
    node = URIRef(Minter.part(owner, "access-rights"))
    b.add(s, DCT.accessRights, node)
    b.add(node, RDF.type, DCT.RightsStatement)
    b.add(node, RDFS.label, Literal(raw))


def _themes(b: _Builder, s: Node, themes: list[str]) -> None:
    for raw in themes:
        if iri := controlled.match_theme(raw):
            b.add(s, DCAT.theme, URIRef(iri))
        elif (url := as_iri(raw)) is not None:
            b.add(s, DCAT.theme, url)
            b.add(url, RDF.type, SKOS.Concept)
            b.add(url, SKOS.prefLabel, Literal(raw.rstrip("/").rsplit("/", 1)[-1] or raw))
        else:
            b.unmapped(s, KGO.unmappedTheme, raw, "theme")


def _spatial(b: _Builder, s: Node, p: Node, places: list[str], owner: str) -> None:
    for i, raw in enumerate(places):
        if iri := controlled.match_country(raw):
            b.add(s, p, URIRef(iri))
        elif (url := as_iri(raw)) is not None:
            b.add(s, p, url)
            b.add(url, RDF.type, DCT.Location)
        else:
            node = URIRef(Minter.part(owner, f"spatial-{i + 1}" if i else "spatial"))
            b.add(s, p, node)
            b.add(node, RDF.type, DCT.Location)
            b.add(node, SKOS.prefLabel, Literal(raw))


def _languages(b: _Builder, s: Node, languages: list[str]) -> None:
    for raw in languages:
        b.vocab(s, DCT.language, raw, controlled.match_language, KGO.unmappedLanguage, "language")


def _keywords(b: _Builder, s: Node, keywords: list[tuple[str, str]]) -> None:
    for text, lang in keywords:
        if text:
            b.add(s, DCAT.keyword, Literal(text, lang=_lang_tag(lang)))


def _contact(b: _Builder, s: Node, contact: Contact, owner: str) -> None:
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
    _url(b, node, VCARD.hasURL, contact.url)


def _tel(phone: str) -> URIRef:
    digits = re.sub(r"[^0-9+]", "", phone.removeprefix("tel:"))
    return URIRef("tel:" + digits) if digits else URIRef("tel:" + quote(phone))


def _documents(b: _Builder, s: Node, p: Node, urls: list[str], cls: Node) -> None:
    for raw in urls:
        _url(b, s, p, raw, cls)


def _standards(b: _Builder, s: Node, values: list[str]) -> None:
    for raw in values:
        if as_iri(raw) is not None:
            _url(b, s, DCT.conformsTo, raw, DCT.Standard)
        elif raw:
            b.unmapped(s, KGO.unmappedValue, f"conformsTo: {raw}", "standard")


# ---------------------------------------------------------------- classes


def map_agency(rec: AgencyRecord, iris: Minter) -> MappedRecord:
    """An agency as cpov:PublicOrganisation (or org:OrganizationalUnit), also a foaf:Agent publisher."""
    s = URIRef(iris.agency(rec.key))
    out = MappedRecord(str(s), "agency", rec.origin, first_text(rec.name) or rec.key)
    b = _Builder(out)
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
    _url(b, s, FOAF.homepage, rec.homepage, FOAF.Document)
    _agency_contact(b, s, rec.contact)
    _address(b, s, rec.address)
    if rec.jurisdiction:
        _spatial(b, s, CPOV.spatial, [rec.jurisdiction], str(s))
    return out


def _agency_contact(b: _Builder, s: URIRef, contact: Contact) -> None:
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
    _url(b, node, FOAF.page, contact.url)


def _address(b: _Builder, s: URIRef, address: Address) -> None:
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


def map_dataset(rec: DatasetRecord, iris: Minter) -> MappedRecord:
    """A dcat:Dataset with its distributions, contact point and period of time."""
    s = URIRef(iris.dataset(rec.key))
    out = MappedRecord(str(s), "dataset", rec.origin, first_text(rec.title) or rec.key)
    b = _Builder(out)
    b.add(URIRef(iris.catalog()), DCAT.dataset, s)
    b.add(s, RDF.type, DCAT.Dataset)
    b.literal(s, DCT.identifier, rec.identifier or rec.key)
    b.text(s, DCT.title, rec.title)
    b.text(s, DCT.description, rec.description)
    if rec.publisher:
        b.add(s, DCT.publisher, URIRef(iris.agency(rec.publisher)))
    _keywords(b, s, rec.keywords)
    _themes(b, s, rec.themes)
    _date(b, s, DCT.issued, rec.issued)
    _date(b, s, DCT.modified, rec.modified)
    b.vocab(
        s,
        DCT.accrualPeriodicity,
        rec.frequency,
        controlled.match_frequency,
        KGO.unmappedFrequency,
        "frequency",
    )
    _languages(b, s, rec.languages)
    _access_rights(b, s, rec.access_rights, str(s))
    _url(b, s, DCAT.landingPage, rec.landing_page, FOAF.Document)
    _contact(b, s, rec.contact, str(s))
    _period(b, s, rec.temporal_start, rec.temporal_end)
    _spatial(b, s, DCT.spatial, rec.spatial, str(s))
    for i, other in enumerate(rec.other_identifiers):
        node = URIRef(Minter.part(str(s), f"identifier-{i + 1}"))
        b.add(s, ADMS.identifier, node)
        b.add(node, RDF.type, ADMS.Identifier)
        b.add(node, SKOS.notation, Literal(other))
    b.literal(s, DCAT.version, rec.version)
    b.literal(s, ADMS.versionNotes, rec.version_notes)
    _standards(b, s, rec.conforms_to)
    _documents(b, s, FOAF.page, rec.documentation, FOAF.Document)
    _documents(b, s, DCT.relation, rec.related, None)  # type: ignore[arg-type]
    if rec.is_part_of:
        b.add(s, DCT.isPartOf, URIRef(iris.dataset(rec.is_part_of)))
    if rec.provenance:
        node = URIRef(Minter.part(str(s), "provenance"))
        b.add(s, DCT.provenance, node)
        b.add(node, RDF.type, DCT.ProvenanceStatement)
        b.add(node, RDFS.label, Literal(rec.provenance))
    for name, value in rec.extra.items():
        b.add(s, KGO.unmappedValue, Literal(f"{name}: {value}"))
    taken: set[URIRef] = set()
    for i, dist in enumerate(rec.distributions):
        taken.add(map_distribution(b, s, rec, dist, i, iris, taken))
    if rec.licence and not rec.distributions:
        _licence(b, s, rec.licence, str(s))
    return out


def _period(b: _Builder, s: URIRef, start: str, end: str) -> None:
    if not (start or end):
        return
    node = URIRef(Minter.part(str(s), "temporal"))
    b.add(s, DCT.temporal, node)
    b.add(node, RDF.type, DCT.PeriodOfTime)
    _date(b, node, DCAT.startDate, start)
    _date(b, node, DCAT.endDate, end)


def map_distribution(
    b: _Builder,
    dataset: URIRef,
    rec: DatasetRecord,
    dist: DistributionRecord,
    position: int,
    iris: Minter,
    taken: set[URIRef] = frozenset(),  # type: ignore[assignment]
) -> URIRef:
    """A dcat:Distribution; the dataset's licence applies when the distribution has none.

    Two distributions of the dataset that would get one IRI (no identifiers and the same URL: an
    API and a file download of one address) are kept apart: the later one's IRI also takes its
    position, and a note says so; merged, they would be one distribution with two formats.
    """
    key = dist.key or dist.download_url or dist.access_url or first_text(dist.title) or str(position)
    s = URIRef(iris.distribution(dist.key) if dist.key else iris.distribution_fallback(rec.key, key))
    if s in taken:
        shared = s
        s = URIRef(iris.distribution_fallback(rec.key, f"{key} #{position + 1}"))
        b.note(
            s,
            DCAT.distribution,
            str(shared),
            f"distribution {position + 1} would share the IRI {shared} with an earlier distribution of "
            f"the dataset (the same {'identifier' if dist.key else 'URL'}); kept apart as {s}",
            "kgo:repair/identity",
        )
    b.add(dataset, DCAT.distribution, s)
    b.add(s, RDF.type, DCAT.Distribution)
    b.text(s, DCT.title, dist.title)
    b.text(s, DCT.description, dist.description)
    _url(b, s, DCAT.accessURL, dist.access_url or dist.download_url)
    _url(b, s, DCAT.downloadURL, dist.download_url)
    _format(b, s, dist.format, dist.media_type)
    _licence(b, s, dist.licence or rec.licence, str(s))
    if dist.rights:
        node = URIRef(Minter.part(str(s), "rights"))
        b.add(s, DCT.rights, node)
        b.add(node, RDF.type, DCT.RightsStatement)
        b.add(node, RDFS.label, Literal(dist.rights))
    _byte_size(b, s, dist.byte_size)
    _date(b, s, DCT.issued, dist.issued)
    _date(b, s, DCT.modified, dist.modified)
    _languages(b, s, dist.languages)
    if dist.status:
        b.unmapped(s, KGO.unmappedValue, f"status: {dist.status}", "status")
    if dist.checksum:
        _checksum(b, s, dist.checksum, dist.checksum_algorithm)
    _standards(b, s, dist.conforms_to)
    _documents(b, s, FOAF.page, dist.documentation, FOAF.Document)
    return s


def _format(b: _Builder, s: URIRef, fmt: str, media_type: str) -> None:
    """dct:format from the format or, failing that, the media type; dcat:mediaType when IANA knows it."""
    file_type = controlled.match_format(fmt) if fmt else None
    file_type = file_type or (controlled.match_format(media_type) if media_type else None)
    if file_type:
        b.add(s, DCT.format, URIRef(file_type))
    elif fmt:
        b.unmapped(s, KGO.unmappedFormat, fmt, "format")
    media = controlled.media_type_iri(media_type) if media_type else None
    if media:
        b.add(s, DCAT.mediaType, URIRef(media))
        b.add(URIRef(media), RDF.type, DCT.MediaType)
    elif media_type and not file_type:
        b.unmapped(s, KGO.unmappedFormat, media_type, "media type")


def _byte_size(b: _Builder, s: URIRef, raw: str) -> None:
    if not raw:
        return
    try:
        size = float(raw.replace(",", "").strip())
    except ValueError:
        size = -1.0
    if size >= 0 and size == int(size):
        b.add(s, DCAT.byteSize, Literal(int(size), datatype=XSD.nonNegativeInteger))
    else:
        b.unmapped(s, KGO.unmappedValue, f"byteSize: {raw}", "byte size")


_ALGORITHMS = {"sha1", "sha256", "sha512", "md5", "sha224", "sha384"}


def checksum_algorithm(raw: str) -> str | None:
    """The SPDX algorithm name for "SHA-256", "sha1" or an SPDX IRI (the empty text means SHA-1).

    >>> [checksum_algorithm(t) for t in ("SHA-256", "", "http://spdx.org/rdf/terms#checksumAlgorithm_sha1")]
    ['sha256', 'sha1', 'sha1']
    >>> checksum_algorithm("crc32") is None
    True
    """
    name = (raw or "sha1").strip().rsplit("checksumAlgorithm_", 1)[-1]
    algo = re.sub(r"[^a-z0-9]", "", name.lower())
    return algo if algo in _ALGORITHMS else None


_HEX = re.compile(r"^([0-9a-f]{2})+$")


def _checksum(b: _Builder, s: URIRef, value: str, algorithm: str) -> None:
    algo = checksum_algorithm(algorithm)
    if algo is None or not _HEX.match(value.strip().lower()):
        text = f"checksum: {algorithm} {value}".strip()
        b.add(s, KGO.unmappedValue, Literal(text))
        b.note(
            s, SPDX.checksum, text, "a checksum needs an SPDX algorithm and hexadecimal digits; kept as text"
        )
        return
    node = URIRef(Minter.part(str(s), "checksum"))
    b.add(s, SPDX.checksum, node)
    b.add(node, RDF.type, SPDX.Checksum)
    # https: the form the official mdr-vocabularies shape accepts (the SPDX namespace itself is http:)
    algorithm_iri = URIRef(f"https://spdx.org/rdf/terms#checksumAlgorithm_{algo}")
    b.add(node, SPDX.algorithm, algorithm_iri)
    b.add(algorithm_iri, RDF.type, SPDX.ChecksumAlgorithm)
    b.add(node, SPDX.checksumValue, Literal(value.strip().lower(), datatype=XSD.hexBinary))


def map_service(rec: ServiceRecord, iris: Minter) -> MappedRecord:
    """A dcat:DataService (an API) and the datasets it serves."""
    s = URIRef(iris.service(rec.key))
    out = MappedRecord(str(s), "service", rec.origin, first_text(rec.title) or rec.key)
    b = _Builder(out)
    b.add(URIRef(iris.catalog()), DCAT.service, s)
    b.add(s, RDF.type, DCAT.DataService)
    b.text(s, DCT.title, rec.title)
    b.text(s, DCT.description, rec.description)
    if rec.publisher:
        b.add(s, DCT.publisher, URIRef(iris.agency(rec.publisher)))
    _url(b, s, DCAT.endpointURL, rec.endpoint_url)
    _url(b, s, DCAT.endpointDescription, rec.endpoint_description)
    for key in rec.serves_datasets:
        b.add(s, DCAT.servesDataset, URIRef(iris.dataset(key)))
    _themes(b, s, rec.themes)
    _keywords(b, s, rec.keywords)
    _licence(b, s, rec.licence, str(s))
    _access_rights(b, s, rec.access_rights, str(s))
    for fmt in rec.formats:
        b.vocab(s, DCT.format, fmt, controlled.match_format, KGO.unmappedFormat, "format")
    _contact(b, s, rec.contact, str(s))
    _url(b, s, DCAT.landingPage, rec.landing_page, FOAF.Document)
    _standards(b, s, rec.conforms_to)
    return out


# DCAT-AP ranges: the class a value of each property has by definition. RDF sources often
# leave these types implicit; stating them adds nothing the vocabulary does not already entail.
# Not the publisher (foaf:Agent) nor a distribution (dcat:Distribution): their shapes ask for
# properties (a name, an access URL) a bare link cannot have, so typed they would break a
# mandatory rule; untyped, the link breaks a class rule and is left out (kg.repairs), as the
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


def map_record(record: Record, iris: Minter) -> MappedRecord:
    """Dispatch a record to the function for its class."""
    if isinstance(record, DatasetRecord):
        return map_dataset(record, iris)
    if isinstance(record, AgencyRecord):
        return map_agency(record, iris)
    if isinstance(record, ServiceRecord):
        return map_service(record, iris)
    if isinstance(record, RdfRecord):
        return map_rdf(record, iris)
    raise TypeError(f"not a record: {type(record).__name__}")


def is_blank(node: Node) -> bool:
    return isinstance(node, BNode)


_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"))  # the backslash first
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def nt_term(term: Node) -> str:
    """One term in N-Triples syntax (rdflib's ``n3()`` writes Turtle's long strings, which N-Triples lacks).

    >>> nt_term(Literal('a "b"\\nc', lang="en"))
    '"a \\\\"b\\\\"\\\\nc"@en'
    >>> nt_term(URIRef("http://ex.org/a b"))
    '<http://ex.org/a%20b>'
    """
    kind = type(term)
    if kind is URIRef:  # most terms: looked up, not escaped again (no isinstance: rdflib's are ABCs)
        text = _IRI_TEXTS.get(term)
        if text is None:
            if len(_IRI_TEXTS) >= _IRI_TEXTS_KEPT:
                _IRI_TEXTS.clear()
            text = _IRI_TEXTS[term] = nt_iri(str(term))
        return text
    if kind is Literal or isinstance(term, Literal):
        text = nt_literal(str(term))
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype and str(term.datatype) != "http://www.w3.org/2001/XMLSchema#string":
            return f"{text}^^{nt_iri(str(term.datatype))}"
        return text
    if isinstance(term, BNode):
        return f"_:{_LABEL_UNSAFE.sub('_', str(term))}"
    return nt_iri(str(term))


# IRIs in N-Triples by IRI, in each process: predicates, classes and a record's subject come back
# triple after triple (6 M terms written per 10,000 datasets, rudof's batch text included)
_IRI_TEXTS: dict[URIRef, str] = {}
_IRI_TEXTS_KEPT = 20_000


def nt_iri(text: str) -> str:
    """An IRI in N-Triples syntax, from its text (no rdflib term: for text written in bulk)."""
    return f"<{_IRI_UNSAFE.sub(lambda m: quote(m.group()), text)}>"


def nt_literal(text: str) -> str:
    """A plain literal in N-Triples syntax, from its text.

    ``str.replace`` per character to escape, not ``str.translate``: a table that maps a
    character to two cannot use translate's fast path (30 µs for a 5 KB findings literal).
    """
    for char, escaped in _ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return f'"{text}"'


def nt_line(triple: Triple) -> str:
    s, p, o = triple
    return f"{nt_term(s)} {nt_term(p)} {nt_term(o)} .\n"
