"""Our catalogue's records (``dcat:CatalogRecord``): what we say of our copy of each dataset and
data service, beside what its publisher says of it.

Why: a harvester of our catalogue wants to know when *our copy* changed, which the publisher's
``dct:modified`` on the dataset does not say (a publisher may never set it, or set it on every
export). Each member whose history we keep (:mod:`kg.history`) gets a record: ``foaf:primaryTopic``
the member, ``dct:issued`` when we first saw it, ``dct:modified`` when its triples last changed
here; the catalogue lists it by ``dcat:record``. A member without a history (on a remote store, or
a blank node of an RDF source) gets none: a record's ``dct:modified`` is mandatory, and it would be
a guess.

The records are made when a page or the export is written (:func:`kg.catalog.export`), from the
history files of the store generation: they are not in the store's graphs (nor in SPARQL answers).
"""

from __future__ import annotations

from collections.abc import Mapping

from kg.iris import Minter
from kg.settings import Settings
from kg.vocab import DCAT, DCT, FOAF, RDF, XSD


def record_iri(settings: Settings, member: str) -> str:
    """Our record of a member (:meth:`kg.iris.Minter.record`)."""
    return Minter(settings.base_uri).record(member)


def record_lines(settings: Settings, members: list[str], records: Mapping[str, tuple[str, str]]) -> list[str]:
    """N-Triples lines of the records of those ``members`` that ``records`` holds ((first seen,
    last changed) by IRI: :func:`kg.history.record_times`)."""
    catalog = f"<{Minter(settings.base_uri).catalog()}>"
    lines = []
    for iri in members:
        if iri not in records:
            continue
        issued, modified = (f'"{t}"^^<{XSD.dateTime}>' for t in records[iri])
        r = f"<{record_iri(settings, iri)}>"
        lines += [
            f"{catalog} <{DCAT.record}> {r} .\n",
            f"{r} <{RDF.type}> <{DCAT.CatalogRecord}> .\n",
            f"{r} <{FOAF.primaryTopic}> <{iri}> .\n",
            f"{r} <{DCT.issued}> {issued} .\n",
            f"{r} <{DCT.modified}> {modified} .\n",
        ]
    return lines
