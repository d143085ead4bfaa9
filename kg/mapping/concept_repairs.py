"""Repairs of values that name a concept of an EU table, or a resource described by their text.

Why a module of its own: these repairs are table look-ups (:mod:`kg.mapping.eu_vocabularies`)
with rules of their own per property: which table a property's values come from, whether an
IRI outside the table may be matched to it, a retired code to its successor, a media type to
IANA's IRI, a status word to the EU distribution status (on a distribution only), and text no
table matches to a resource labelled with it where the shapes want one. :mod:`kg.mapping.repairs`
decides which triple is repaired and records the note; here is what such a value becomes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.iris import short_hash
from kg.mapping import eu_vocabularies
from kg.mapping.mapped import Triple
from kg.mapping.rdf import RANGES
from kg.mapping.value_repairs import Fix
from kg.vocab import ADMS, DCAT, DCT, RDF, RDFS, SKOS


@dataclass(frozen=True)
class _Vocabulary:
    """A property whose values come from one table: how text and stray IRIs are matched."""

    kind: str
    scheme: str  # kg.eu_vocabularies.SCHEMES key
    match: Callable[[str], str | None]
    stray_iris: bool = True  # an IRI outside the table is matched too (else only text is)


VOCABULARIES = {
    DCT.language: _Vocabulary("language", "language", eu_vocabularies.match_language),
    DCT.format: _Vocabulary("file-type", "file-type", eu_vocabularies.match_format),
    DCT.accrualPeriodicity: _Vocabulary("frequency", "frequency", eu_vocabularies.match_frequency),
    DCAT.theme: _Vocabulary("data-theme", "data-theme", eu_vocabularies.match_theme, stray_iris=False),
    DCT.accessRights: _Vocabulary("access-right", "access-right", eu_vocabularies.match_access_right, False),
    DCT.spatial: _Vocabulary("place", "country", eu_vocabularies.match_country, stray_iris=False),
    DCT.license: _Vocabulary("licence", "licence", eu_vocabularies.match_licence, stray_iris=False),
}
MEDIA_TYPES = frozenset({DCAT.mediaType, DCAT.compressFormat, DCAT.packageFormat})
# text that no table matched, where the official shapes want a described resource: the text
# becomes that resource's label
STATEMENTS = {
    DCT.accessRights: DCT.RightsStatement,
    DCT.rights: DCT.RightsStatement,
    DCT.license: DCT.LicenseDocument,
    DCT.spatial: DCT.Location,
    DCT.provenance: DCT.ProvenanceStatement,
}


def typed(triples: list[Triple]) -> list[Triple]:
    """The triples, and the class the property's range gives a new link (as :func:`kg.mapping.rdf.map_rdf`
    types the links a source leaves untyped)."""
    extra = [(o, RDF.type, RANGES[p]) for _, p, o in triples if p in RANGES and isinstance(o, URIRef)]
    return triples + extra


def concept_from_text(s: Node, p: Node, text: str, distributions: set[Node]) -> Fix | None:
    """Text where a resource belongs: the table's concept it names, else a resource it describes."""
    if not text:
        return None
    vocabulary = VOCABULARIES.get(p)
    if vocabulary is not None and (iri := vocabulary.match(text)):
        return typed([(s, p, URIRef(iri))]), vocabulary.kind, "repaired"
    if p in MEDIA_TYPES and (iri := eu_vocabularies.media_type_iri(text)):
        return typed([(s, p, URIRef(iri))]), "media-type", "repaired"
    if p == ADMS.status and s in distributions and (iri := eu_vocabularies.match_distribution_status(text)):
        return typed([(s, p, URIRef(iri))]), "distribution-status", "repaired"
    cls = STATEMENTS.get(p)
    if cls is None:
        return None
    node = BNode("kgr" + short_hash(f"{s}|{p}|{text}"))
    label = SKOS.prefLabel if cls == DCT.Location else RDFS.label
    return [(s, p, node), (node, RDF.type, cls), (node, label, Literal(text))], "statement", "repaired"


def concept_iri(s: Node, p: Node, text: str, distributions: set[Node]) -> Fix | None:
    """An IRI object of a table's property made the table's own IRI (a retired code, a stray IRI
    the table matches, a media type outside IANA's), or None when it stays as it is."""
    vocabulary = VOCABULARIES.get(p)
    if vocabulary is not None:
        scheme = eu_vocabularies.SCHEMES[vocabulary.scheme]
        if text.startswith(scheme + "/") or text.startswith(scheme.replace("http:", "https:", 1) + "/"):
            found = eu_vocabularies.retired_code(vocabulary.scheme, text)
            if found is None and text.startswith("https:"):
                found = vocabulary.match(text)
        elif vocabulary.stray_iris:
            found = vocabulary.match(text)
        else:
            found = None
        if found and found != text:
            return typed([(s, p, URIRef(found))]), vocabulary.kind, "repaired"
        return None
    if p in MEDIA_TYPES and not _IANA.match(text):
        found = eu_vocabularies.media_type_iri(text)
        return (typed([(s, p, URIRef(found))]), "media-type", "repaired") if found else None
    status = eu_vocabularies.SCHEMES["distribution-status"]
    if p == ADMS.status and s in distributions and not text.startswith(status):
        found = eu_vocabularies.match_distribution_status(text)
        return (typed([(s, p, URIRef(found))]), "distribution-status", "repaired") if found else None
    return None


_IANA = re.compile(r"^https?://www\.iana\.org/assignments/media-types/")
