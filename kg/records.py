"""The common record shape between the readers and the mapper.

Readers do structure only: they find the fields of a source and copy their
text as it is (stripped of surrounding spaces). Everything that needs
knowledge of DCAT-AP — date parsing, vocabulary matching, IRIs — belongs to
:mod:`kg.mapping`, so the four formats share one set of rules.

Conventions every reader follows:

* A missing value is ``""`` (or an empty list), never ``None``, except where a
  type says ``| None``.
* ``Text`` maps a language tag to a text; ``""`` is "no language given".
* An :class:`AgencyRecord` is yielded before any record that refers to it by
  ``key`` (``publisher``, ``parent``).
* Every record carries an :class:`Origin` so that findings point at the file
  and the line (CSV) or the record index (JSON, 0-based as in the array) where
  it came from.
* A value a reader had to change to keep it at all (a character RDF cannot
  hold) is a :class:`Repair` in the record's ``repairs``, so that the change is
  reported, never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Text = dict[str, str]


def public_location(location: str) -> str:
    """A source location as the public pages show it: a URL whole, a local path by its file
    name only, so that pages do not tell the server's folders (the private provenance and
    quarantine graphs keep the path as given, for a token holder and ``kg sources``).

    >>> public_location("/srv/kg/in/datasets.csv, line 4")
    'datasets.csv, line 4'
    >>> public_location("https://example.org/data.json, record 2")
    'https://example.org/data.json, record 2'
    """
    if "://" in location:
        return location
    path, sep, rest = location.partition(", ")
    name = path.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    return (name or path) + sep + rest


@dataclass(frozen=True)
class Origin:
    """Where a record came from.

    >>> str(Origin("datasets.csv", line=4))
    'datasets.csv, line 4'
    >>> str(Origin("data.json", record=2, field="distribution[1]"))
    'data.json, record 2, distribution[1]'
    """

    file: str
    line: int | None = None
    record: int | None = None
    field: str = ""

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(self.field)
        return ", ".join(parts)


@dataclass(frozen=True)
class Repair:
    """A value a reader changed because it cannot be kept as it was, for the mapper to report.

    Readers copy text as it is; the one exception is text that no RDF serialisation can hold
    (a lone surrogate from a JSON escape such as ``"\\udc92"``, a control character), which would
    otherwise fail the whole ingest when the record is written. What was there is kept here.
    """

    field: str  # where in the source record: "description", "distribution[0].title", "publisher.name"
    original: str  # the value as the source gave it, each offending character as an escape ("\\udc92")
    rule: str  # short id of the rule applied: "invalid-character"
    value: str  # the value the record holds instead


@dataclass
class Contact:
    """A contact point (vcard:Kind). ``email`` without ``mailto:``."""

    name: str = ""
    email: str = ""
    phone: str = ""
    url: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.email or self.phone or self.url)


@dataclass
class Address:
    street: str = ""
    locality: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""

    def __bool__(self) -> bool:
        return any((self.street, self.locality, self.postal_code, self.region, self.country))


@dataclass
class AgencyRecord:
    """A public organisation or one of its units (cpov:PublicOrganisation / org:OrganizationalUnit)."""

    key: str
    name: Text
    origin: Origin
    parent: str = ""  # key of the parent agency
    is_unit: bool = False  # an org:OrganizationalUnit of its parent, not a body of its own
    acronym: str = ""
    description: Text = field(default_factory=dict)
    identifier: str = ""  # official registration number or code (adms:identifier)
    classification: str = ""  # free text: "ministry", "agency", "unit", …
    homepage: str = ""
    contact: Contact = field(default_factory=Contact)
    address: Address = field(default_factory=Address)
    jurisdiction: str = ""  # spatial jurisdiction: country code, name or IRI
    repairs: list[Repair] = field(default_factory=list)  # values the reader had to change


@dataclass
class DistributionRecord:
    """A file or access point of a dataset (dcat:Distribution)."""

    origin: Origin
    key: str = ""  # identifier in the source, when it has one
    title: Text = field(default_factory=dict)
    description: Text = field(default_factory=dict)
    access_url: str = ""
    download_url: str = ""
    format: str = ""  # raw: "CSV", ".csv", "text/csv", an IRI, …
    media_type: str = ""  # raw IANA media type if the source gives one separately
    licence: str = ""  # raw; empty = the dataset's licence applies
    rights: str = ""
    byte_size: str = ""
    issued: str = ""
    modified: str = ""
    languages: list[str] = field(default_factory=list)
    status: str = ""
    checksum: str = ""  # sha1/sha256 hex digest
    checksum_algorithm: str = ""
    conforms_to: list[str] = field(default_factory=list)
    documentation: list[str] = field(default_factory=list)


@dataclass
class DatasetRecord:
    """A dataset with its distributions (dcat:Dataset)."""

    key: str
    origin: Origin
    title: Text = field(default_factory=dict)
    description: Text = field(default_factory=dict)
    publisher: str = ""  # key of an AgencyRecord
    keywords: list[tuple[str, str]] = field(default_factory=list)  # (text, language tag or "")
    themes: list[str] = field(default_factory=list)  # raw: EU codes, labels, IRIs
    issued: str = ""
    modified: str = ""
    frequency: str = ""  # raw: ISO 8601 "R/P1Y", "monthly", an IRI
    languages: list[str] = field(default_factory=list)  # raw: "en", "eng", "English", IRIs
    licence: str = ""  # raw; applies to distributions that carry none
    access_rights: str = ""  # raw: "public", "restricted public", "non-public", IRI, text
    landing_page: str = ""
    contact: Contact = field(default_factory=Contact)
    temporal_start: str = ""
    temporal_end: str = ""
    spatial: list[str] = field(default_factory=list)  # raw: country codes, names, IRIs, text
    identifier: str = ""  # dct:identifier as published (defaults to key)
    other_identifiers: list[str] = field(default_factory=list)
    version: str = ""
    version_notes: str = ""
    conforms_to: list[str] = field(default_factory=list)
    documentation: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)  # dct:relation / references (URLs)
    is_part_of: str = ""  # key of a parent dataset in the same source
    provenance: str = ""
    distributions: list[DistributionRecord] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # source fields with no DCAT home, kept as text
    repairs: list[Repair] = field(default_factory=list)  # values the reader had to change


@dataclass
class ServiceRecord:
    """An API or other data service (dcat:DataService)."""

    key: str
    origin: Origin
    title: Text = field(default_factory=dict)
    description: Text = field(default_factory=dict)
    publisher: str = ""
    endpoint_url: str = ""
    endpoint_description: str = ""
    serves_datasets: list[str] = field(default_factory=list)  # dataset keys
    themes: list[str] = field(default_factory=list)
    keywords: list[tuple[str, str]] = field(default_factory=list)
    licence: str = ""
    access_rights: str = ""
    formats: list[str] = field(default_factory=list)
    contact: Contact = field(default_factory=Contact)
    landing_page: str = ""
    conforms_to: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)  # values the reader had to change


RdfKind = Literal["catalog", "dataset", "service", "agency", "other"]


class Terms(Protocol):
    """A record's triples and context not made rdflib terms yet (:class:`kg.readers.rdf_table.TableRows`)."""

    def terms(self) -> tuple[list[tuple], list[tuple]]: ...


class RdfRecord:
    """A resource from an RDF source, kept exactly as published.

    ``triples`` are the resource's own triples plus everything reachable from
    it through blank nodes and its distributions (they are stored with it);
    ``context`` holds the descriptions of other resources it refers to that
    the same file describes (its publisher, say): used to validate the record,
    stored with their own record.

    A reader may give ``rows`` instead (:class:`Terms`): the triples and context are then
    made when first asked for. The RDF reader does, so that the ingest sends rows, not
    rdflib terms, to its worker processes, which make the terms (see
    :class:`kg.readers.rdf_table.TableRows`). Pickled, a record holds one form or the other.
    """

    __slots__ = ("key", "kind", "origin", "_triples", "_context", "_rows")

    def __init__(
        self,
        key: str,  # the subject IRI (or "_:label" for a blank-node subject)
        kind: RdfKind,
        origin: Origin,
        triples: list[tuple] | None = None,
        context: list[tuple] | None = None,
        *,
        rows: Terms | None = None,
    ) -> None:
        self.key, self.kind, self.origin = key, kind, origin
        self._triples = [] if triples is None else triples
        self._context = [] if context is None else context
        self._rows = rows

    @property
    def triples(self) -> list[tuple]:
        self._resolve()
        return self._triples

    @triples.setter
    def triples(self, value: list[tuple]) -> None:
        self._resolve()
        self._triples = value

    @property
    def context(self) -> list[tuple]:
        self._resolve()
        return self._context

    @context.setter
    def context(self, value: list[tuple]) -> None:
        self._resolve()
        self._context = value

    def _resolve(self) -> None:
        if self._rows is not None:
            self._triples, self._context = self._rows.terms()
            self._rows = None

    def __getstate__(self) -> tuple:
        return self.key, self.kind, self.origin, self._triples, self._context, self._rows

    def __setstate__(self, state: tuple) -> None:
        self.key, self.kind, self.origin, self._triples, self._context, self._rows = state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RdfRecord):
            return NotImplemented
        mine = (self.key, self.kind, self.origin, self.triples, self.context)
        return mine == (other.key, other.kind, other.origin, other.triples, other.context)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it was

    def __repr__(self) -> str:
        return (
            f"RdfRecord(key={self.key!r}, kind={self.kind!r}, origin={self.origin!r}, "
            f"triples={self.triples!r}, context={self.context!r})"
        )


@dataclass(frozen=True)
class Skipped:
    """An entry of a source that is not a record of ours, and why: a reader yields it instead of a
    record so that the ingest can say how many it passed over (a CKAN list of harvest sources,
    packages of ``type: "harvest"``, holds no dataset)."""

    origin: Origin
    reason: str  # as the summary says it: "CKAN packages of type 'harvest' (not datasets)"


Record = AgencyRecord | DatasetRecord | ServiceRecord | RdfRecord


def first_text(text: Text, *, prefer: tuple[str, ...] = ("en", "")) -> str:
    """The text in the first preferred language, else any.

    >>> first_text({"de": "Titel", "en": "Title"})
    'Title'
    >>> first_text({})
    ''
    """
    for lang in prefer:
        if text.get(lang):
            return text[lang]
    return next((v for v in text.values() if v), "")
