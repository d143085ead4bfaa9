"""The one place where IRIs and graph names are minted.

Every IRI the project creates lives under the configured base
(``KG_BASE_URI``) and is derived from the *source identifier* of a thing, never
from its position in a file or from a counter, so that re-ingesting a source
gives the same IRIs.

Slug fallback order (first that exists wins):

1. agency: its identifier in the source (CSV ``id``), else its name;
2. dataset: its identifier (``identifier`` in data.json, ``id``/``name`` in
   CKAN, ``id`` in CSV), else its title;
3. distribution: its identifier, else the dataset's slug plus a short hash of
   its download URL, access URL or title, else the dataset's slug plus its
   position in the dataset;
4. service: its identifier, else its title;
5. our catalogue record of a dataset or service (``dcat:CatalogRecord``, :mod:`kg.catalog_records`):
   a hash of the member's IRI (:func:`record_key`), whoever minted the member (harvested RDF keeps
   its publisher's IRIs, which have no slug of ours to reuse).

Things that only exist inside one record (contact point, period of time,
identifier, address) get a fragment of their owner's IRI (``…#contact``).

>>> iris = Minter("https://data.example.org/")
>>> iris.dataset("USDA-DM-002")
'https://data.example.org/dataset/USDA-DM-002'
>>> iris.agency("Department of Agriculture")
'https://data.example.org/agency/department-of-agriculture-244f5ec1'
>>> slugify("ok_slug-1.2")
'ok_slug-1.2'
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._~-]+")


def short_hash(text: str) -> str:
    """Eight hex digits that identify ``text`` (stable across runs and machines)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def record_key(member: str) -> str:
    """The last segment of our catalogue record of ``member`` (an IRI): sixteen hex digits of its
    SHA-1. The history keeps it beside the member (:mod:`kg.history`), so the record's IRI
    dereferences by one indexed lookup."""
    return hashlib.sha1(member.encode("utf-8")).hexdigest()[:16]


def slugify(identifier: str, *, max_length: int = 80) -> str:
    """A path segment for ``identifier``.

    Safe identifiers are kept as they are. Anything lossy (spaces, slashes,
    non-ASCII, too long, empty) is lower-cased, turned into dashes and given a
    hash of the original, so two identifiers never share a slug by accident.
    """
    text = identifier.strip()
    if text and not _UNSAFE.search(text) and len(text) <= max_length and text not in {".", ".."}:
        return text
    readable = _UNSAFE.sub("-", text.lower()).strip("-.")[: max_length - 9]
    return f"{readable}-{short_hash(text)}" if readable else short_hash(text)


def source_name(text: str) -> str:
    """A source name as used in graph IRIs and on the command line (lower-case slug)."""
    name = _UNSAFE.sub("-", text.strip().lower()).strip("-.")
    return name or short_hash(text)


class Minter:
    """Mints IRIs under one base. ``base`` must end with ``/``."""

    def __init__(self, base: str) -> None:
        if not base.endswith("/"):
            raise ValueError(f"base IRI must end with '/': {base!r}")
        self.base = base

    # things
    def agency(self, identifier: str) -> str:
        return f"{self.base}agency/{slugify(identifier)}"

    def dataset(self, identifier: str) -> str:
        return f"{self.base}dataset/{slugify(identifier)}"

    def distribution(self, identifier: str) -> str:
        return f"{self.base}distribution/{slugify(identifier)}"

    def distribution_fallback(self, dataset_identifier: str, key: str) -> str:
        """Distribution without an identifier: dataset slug + hash of its URL/title/position."""
        return f"{self.base}distribution/{slugify(dataset_identifier)}-{short_hash(key)}"

    def service(self, identifier: str) -> str:
        return f"{self.base}service/{slugify(identifier)}"

    def catalog(self) -> str:
        return f"{self.base}catalog"

    def record(self, member: str) -> str:
        """Our catalogue record of a dataset or service: under our base, whoever minted ``member``."""
        return f"{self.base}record/{record_key(member)}"

    @staticmethod
    def part(owner: str, name: str) -> str:
        """A thing that exists only inside its owner's record, e.g. ``…/dataset/x#contact``."""
        return f"{owner}#{name}"

    # graphs
    def source_graph(self, source: str) -> str:
        return f"{self.base}graph/{source_name(source)}"

    def quarantine_graph(self, source: str) -> str:
        return f"{self.base}graph/quarantine/{source_name(source)}"

    def quality_graph(self, source: str) -> str:
        """The DQV quality measurements of a source's datasets (kg.quality), a data graph."""
        return f"{self.base}graph/quality/{source_name(source)}"

    def staging_graph(self, source: str, run: str) -> str:
        return f"{self.base}graph/staging/{source_name(source)}/{run}"

    def staging_prefix(self) -> str:
        return f"{self.base}graph/staging/"

    def report_graph(self, source: str) -> str:
        """The validation findings of a source's published records (one JSON literal per record)."""
        return f"{self.base}graph/report/{source_name(source)}"

    def vocabulary_graph(self) -> str:
        return f"{self.base}graph/vocabularies"

    def provenance_graph(self) -> str:
        return f"{self.base}graph/provenance"

    def run(self, source: str, run: str) -> str:
        return f"{self.base}run/{source_name(source)}/{run}"

    def is_minted(self, iri: str) -> bool:
        return iri.startswith(self.base)
