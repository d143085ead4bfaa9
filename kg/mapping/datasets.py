"""Datasets and their distributions: ``dcat:Dataset`` with its contact point, period, places
and identifiers, and each ``dcat:Distribution`` with its format, licence, size and checksum.
"""

from __future__ import annotations

import re

from rdflib import Literal, URIRef

from kg.iris import Minter
from kg.mapping import eu_vocabularies
from kg.mapping.fields import (
    add_access_rights,
    add_contact,
    add_date,
    add_documents,
    add_keywords,
    add_languages,
    add_licence,
    add_spatial,
    add_standards,
    add_themes,
    add_url,
)
from kg.mapping.mapped import Builder, MappedRecord
from kg.records import DatasetRecord, DistributionRecord, first_text
from kg.vocab import ADMS, DCAT, DCT, FOAF, KGO, RDF, RDFS, SKOS, SPDX, XSD


def map_dataset(rec: DatasetRecord, iris: Minter) -> MappedRecord:
    """A dcat:Dataset with its distributions, contact point and period of time."""
    s = URIRef(iris.dataset(rec.key))
    out = MappedRecord(str(s), "dataset", rec.origin, first_text(rec.title) or rec.key)
    b = Builder(out)
    b.add(URIRef(iris.catalog()), DCAT.dataset, s)
    b.add(s, RDF.type, DCAT.Dataset)
    b.literal(s, DCT.identifier, rec.identifier or rec.key)
    b.text(s, DCT.title, rec.title)
    b.text(s, DCT.description, rec.description)
    if rec.publisher:
        b.add(s, DCT.publisher, URIRef(iris.agency(rec.publisher)))
    add_keywords(b, s, rec.keywords)
    add_themes(b, s, rec.themes)
    add_date(b, s, DCT.issued, rec.issued)
    add_date(b, s, DCT.modified, rec.modified)
    b.vocab(
        s,
        DCT.accrualPeriodicity,
        rec.frequency,
        eu_vocabularies.match_frequency,
        KGO.unmappedFrequency,
        "frequency",
    )
    add_languages(b, s, rec.languages)
    add_access_rights(b, s, rec.access_rights, str(s))
    add_url(b, s, DCAT.landingPage, rec.landing_page, FOAF.Document)
    add_contact(b, s, rec.contact, str(s))
    _period(b, s, rec.temporal_start, rec.temporal_end)
    add_spatial(b, s, DCT.spatial, rec.spatial, str(s))
    for i, other in enumerate(rec.other_identifiers):
        node = URIRef(Minter.part(str(s), f"identifier-{i + 1}"))
        b.add(s, ADMS.identifier, node)
        b.add(node, RDF.type, ADMS.Identifier)
        b.add(node, SKOS.notation, Literal(other))
    b.literal(s, DCAT.version, rec.version)
    b.literal(s, ADMS.versionNotes, rec.version_notes)
    add_standards(b, s, rec.conforms_to)
    add_documents(b, s, FOAF.page, rec.documentation, FOAF.Document)
    add_documents(b, s, DCT.relation, rec.related, None)  # type: ignore[arg-type]
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
        add_licence(b, s, rec.licence, str(s))
    return out


def _period(b: Builder, s: URIRef, start: str, end: str) -> None:
    if not (start or end):
        return
    node = URIRef(Minter.part(str(s), "temporal"))
    b.add(s, DCT.temporal, node)
    b.add(node, RDF.type, DCT.PeriodOfTime)
    add_date(b, node, DCAT.startDate, start)
    add_date(b, node, DCAT.endDate, end)


def map_distribution(
    b: Builder,
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
    add_url(b, s, DCAT.accessURL, dist.access_url or dist.download_url)
    add_url(b, s, DCAT.downloadURL, dist.download_url)
    _format(b, s, dist.format, dist.media_type)
    add_licence(b, s, dist.licence or rec.licence, str(s))
    if dist.rights:
        node = URIRef(Minter.part(str(s), "rights"))
        b.add(s, DCT.rights, node)
        b.add(node, RDF.type, DCT.RightsStatement)
        b.add(node, RDFS.label, Literal(dist.rights))
    _byte_size(b, s, dist.byte_size)
    add_date(b, s, DCT.issued, dist.issued)
    add_date(b, s, DCT.modified, dist.modified)
    add_languages(b, s, dist.languages)
    if dist.status:
        b.unmapped(s, KGO.unmappedValue, f"status: {dist.status}", "status")
    if dist.checksum:
        _checksum(b, s, dist.checksum, dist.checksum_algorithm)
    add_standards(b, s, dist.conforms_to)
    add_documents(b, s, FOAF.page, dist.documentation, FOAF.Document)
    return s


def _format(b: Builder, s: URIRef, fmt: str, media_type: str) -> None:
    """dct:format from the format or, failing that, the media type; dcat:mediaType when IANA knows it."""
    file_type = eu_vocabularies.match_format(fmt) if fmt else None
    file_type = file_type or (eu_vocabularies.match_format(media_type) if media_type else None)
    if file_type:
        b.add(s, DCT.format, URIRef(file_type))
    elif fmt:
        b.unmapped(s, KGO.unmappedFormat, fmt, "format")
    media = eu_vocabularies.media_type_iri(media_type) if media_type else None
    if media:
        b.add(s, DCAT.mediaType, URIRef(media))
        b.add(URIRef(media), RDF.type, DCT.MediaType)
    elif media_type and not file_type:
        b.unmapped(s, KGO.unmappedFormat, media_type, "media type")


def _byte_size(b: Builder, s: URIRef, raw: str) -> None:
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


def _checksum(b: Builder, s: URIRef, value: str, algorithm: str) -> None:
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
