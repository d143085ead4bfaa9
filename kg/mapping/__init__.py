"""Records -> DCAT-AP 3.0 + CPOV/ORG RDF, one function per class.

Every reader produces :mod:`kg.records`; this package is the one place that
knows DCAT-AP: a module per class (:mod:`~kg.mapping.agencies`, :mod:`~kg.mapping.datasets`
with their distributions, :mod:`~kg.mapping.services`, :mod:`~kg.mapping.rdf` for RDF records
kept as published), the field values they share (:mod:`~kg.mapping.fields`), the EU controlled
vocabularies (:mod:`~kg.mapping.eu_vocabularies`) and the repairs recorded before and after
validation (:mod:`~kg.mapping.repairs`). The tables below say, per class, which record field becomes
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
issued / modified   xsd:date / xsd:dateTime    kept as text for :mod:`kg.mapping.repairs`, which reads
                                               the forms that read one way and leaves the
                                               others out with a note (a guess is worse)
==================  =========================  =========================================

Nothing is dropped: unmapped text stays in the graph on a ``kgo:`` property
and becomes a :class:`~kg.mapping.mapped.Note` that the ingest summary and the quality page show.
RDF records are kept as published; only the catalogue link is added.
"""

from __future__ import annotations

from kg.iris import Minter
from kg.mapping.agencies import map_agency
from kg.mapping.datasets import map_dataset
from kg.mapping.mapped import MappedRecord
from kg.mapping.rdf import map_rdf
from kg.mapping.services import map_service
from kg.records import AgencyRecord, DatasetRecord, RdfRecord, Record, ServiceRecord


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
