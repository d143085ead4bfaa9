"""Safe repairs before validation: values that are mechanically broken made right, each recorded.

Real catalogues write what DCAT-AP asks for in forms a harvester can read without guessing: the
EU language IRI as a literal, a retired code (``language/GER``), a format as text ("CSV"),
"public" for the access right, a byte size as a decimal, a date typed ``xsd:date`` that holds a
time, two e-mail addresses in one ``mailto:`` IRI, a lone surrogate in a description. A harvester
such as data.europa.eu's publishes such records after repairing them; so do we, before
validation and never silently: every repair is a :class:`~kg.mapping.mapped.Note` with the original
value, the rule (``kgo:repair/<kind>``) and the new value, which the record's report keeps and
the record's page, /quality and the ingest summary show.

Only what reads one way is repaired (see :data:`KINDS`); what does not is left for validation.
An invalid value of a property that is not mandatory is then left out of the published record
and kept in the report (:func:`kg.mapping.left_out.without_invalid_values`, after validation), so a record is
quarantined only when a mandatory rule still fails. A record's own IRI is never changed.

Here: the rules and their notes, what each triple becomes, and the repairs of IRIs; values that
name a concept of an EU table (or a resource described by their text) are
:mod:`kg.mapping.concept_repairs`'; dates, sizes, numbers, durations and e-mail addresses are
:mod:`kg.mapping.value_repairs`'.

The same repairs run on every reader's records: the CSV, data.json and CKAN mapping already
writes most values right, and RDF is kept as published but for these.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.mapping.concept_repairs import (
    MEDIA_TYPES,
    STATEMENTS,
    VOCABULARIES,
    concept_from_text,
    concept_iri,
    typed,
)
from kg.mapping.fields import as_iri
from kg.mapping.mapped import MappedRecord, Note, Triple
from kg.mapping.ntriples import nt_term
from kg.mapping.rdf import RANGES
from kg.mapping.value_repairs import (
    DATE_PROPERTIES,
    Fix,
    fix_byte_size,
    fix_date,
    fix_duration,
    fix_email,
    fix_number,
)
from kg.vocab import ADMS, DCAT, DCATAP, DCT, FOAF, RDF, VCARD

REPAIR = "kgo:repair/"
LEFT_OUT = "kgo:left-out/"

# rule kind -> what it does, as the ingest summary says it ("repaired: 236 × ...")
KINDS = {
    "character": "characters no RDF text may hold (lone surrogates, controls) → U+FFFD",
    "iri-encoding": "IRIs with spaces or forbidden characters → percent-encoded",
    "link": "literals holding a URL where a link belongs → that link (IRI)",
    "identifier": "identifiers given as IRIs → their text",
    "language": "language literals, codes and retired or non-EU IRIs → EU language IRIs",
    "file-type": "formats given as text, media types or retired codes → EU file-type IRIs",
    "media-type": "media types given as text or other IRIs → IANA media-type IRIs",
    "access-right": 'access rights given as text ("public") → EU access-right IRIs',
    "frequency": "frequencies given as text or non-EU IRIs → EU frequency IRIs",
    "distribution-status": "ADMS status IRIs and status words → EU distribution-status IRIs",
    "data-theme": "themes given as text or retired codes → EU data-theme IRIs",
    "place": "places given as text → EU country IRIs",
    "licence": "licences given as text → EU licence IRIs",
    "statement": "rights, licences and places given as text → a resource described by that text",
    "byte-size": "byte sizes given as decimals or text numbers → xsd:nonNegativeInteger",
    "decimal": "spatial resolutions given as integers or text → xsd:decimal",
    "duration": "temporal resolutions given as text → xsd:duration",
    "date": "dates with the wrong datatype or an unambiguous non-ISO form → ISO 8601 dates",
    "email": "e-mail addresses as text, or several in one mailto: IRI → one mailto: IRI each",
    "identity": "records and distributions that would share an IRI with another → an IRI of their own",
}
LEFT_OUT_KINDS = {
    "date": "values of date properties that are no date (empty, a period, an ambiguous form)",
    "email": "e-mail addresses that are no address (empty, a template placeholder)",
    "byte-size": "byte sizes that are no whole number of bytes",
    "invalid-iri": "IRIs that cannot be written even percent-encoded",
    "value": "values that break a rule of the shapes (kept in the report)",
}


# the readers' rule ids (kg.records.Repair) -> our kinds
_READER_RULES = {"invalid-character": "character", "identity": "identity"}


def reader_notes(record: object, key: str) -> list[Note]:
    """The notes of the repairs a reader made on a record (:class:`kg.records.Repair`: a character
    no RDF text may hold, an identifier an earlier record of the source used), on its IRI."""
    return [
        Note(
            key,
            repair.field,
            repair.original,
            f"repaired: {repair.field} {repair.original!r} → {repair.value!r}",
            REPAIR + _READER_RULES.get(repair.rule, repair.rule),
        )
        for repair in getattr(record, "repairs", ())
    ]


def repair_kind(rule: str) -> str:
    """What a repair rule does, in words (``kgo:repair/language`` → the :data:`KINDS` text).

    >>> repair_kind("kgo:left-out/date")
    'left out: values of date properties that are no date (empty, a period, an ambiguous form)'
    """
    if rule.startswith(LEFT_OUT):
        return "left out: " + LEFT_OUT_KINDS.get(rule.removeprefix(LEFT_OUT), rule)
    return KINDS.get(rule.removeprefix(REPAIR), rule)


_BAD_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')  # what kg.mapping.ntriples.nt_iri escapes too
_SAFE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*$")
# properties whose value is a resource, never text: a literal holding a URL becomes that URL
LINKS = frozenset(
    {
        DCAT.accessURL,
        DCAT.downloadURL,
        DCAT.endpointURL,
        DCAT.endpointDescription,
        DCAT.landingPage,
        FOAF.page,
        FOAF.homepage,
        DCT.conformsTo,
        DCT.relation,
        DCT.isReferencedBy,
        DCT.references,
        DCT.source,
        DCT.hasVersion,
        DCT.isVersionOf,
        VCARD.hasURL,
        DCATAP.applicableLegislation,
    }
)


# the predicates on which _fix_literal / _fix_iri may repair a value (see _untouched)
_LITERAL_PREDICATES = frozenset(
    {
        *DATE_PROPERTIES,
        DCAT.byteSize,
        DCAT.spatialResolutionInMeters,
        DCAT.temporalResolution,
        VCARD.hasEmail,
        *VOCABULARIES,
        *MEDIA_TYPES,
        *LINKS,
        *STATEMENTS,
        ADMS.status,
    }
)
_IRI_PREDICATES = frozenset({DCT.identifier, VCARD.hasEmail, *VOCABULARIES, *MEDIA_TYPES, ADMS.status})
_TYPE, _DISTRIBUTION = str(RDF.type), str(DCAT.Distribution)


def repair_record(record: MappedRecord) -> None:
    """Repair the record's triples in place and add a note per repaired value; its context is
    repaired alike, without notes (what the record sees of its neighbours is what will be
    published of them)."""
    distributions = {s for s, p, o in record.triples if _is(p, _TYPE) and _is(o, _DISTRIBUTION)}
    record.triples = _repaired(record.triples, record.key, distributions, record.notes)
    record.context = _repaired(record.context, record.key, distributions, None)


def _is(term: Node, iri: str) -> bool:
    """``term == URIRef(iri)`` as rdflib decides it (same type, same text), without its Python
    ``__eq__`` (two calls per triple were ~5 % of a worker's repairs)."""
    return type(term) is URIRef and str.__eq__(term, iri)


def _repaired(
    triples: list[Triple], key: str, distributions: set[Node], notes: list[Note] | None
) -> list[Triple]:
    out: dict[Triple, None] = {}
    replaced: set[Node] = set()
    for triple in triples:
        fix = None if _untouched(triple) else _fix(triple, key, distributions)
        if fix is None:
            out[triple] = None
            continue
        new, kind, how = fix
        out.update(dict.fromkeys(new))
        replaced.add(triple[2])
        if notes is not None:
            notes.append(_note(triple, new, kind, how))
    if replaced:  # the class a range gave a value that is gone (kg.mapping.rdf.entailed_types)
        still = {o for _, _, o in out}
        entailed = set(RANGES.values())
        for t in [t for t in out if t[0] in replaced and t[0] not in still and t[1] == RDF.type]:
            if t[2] in entailed:
                del out[t]
    return list(out)


def _note(old: Triple, new: list[Triple], kind: str, how: str) -> Note:
    """The note of one repair: the original value as the findings give values (a literal's text, an
    IRI), and in the message both forms in full (a literal with its datatype or language)."""
    s, p, o = old
    before = term_text(o)
    value = str(o) if not isinstance(o, BNode) else before
    if how == "left out":
        message = f"left out of the published record: {before} ({LEFT_OUT_KINDS.get(kind, kind)})"
        return Note(str(s), str(p), value, message, LEFT_OUT + kind)
    after = ", ".join(term_text(t[2]) for t in new if t[1] == p) or ", ".join(term_text(t[2]) for t in new)
    if new and new[0][0] != s:
        after = f"{term_text(new[0][0])} (subject)"
    return Note(str(s), str(p), value, f"repaired: {before} → {after}", REPAIR + kind)


def term_text(term: Node) -> str:
    """A term as a person reads it in a report: an IRI as it is, a literal as N-Triples writes it."""
    if isinstance(term, URIRef):
        return str(term)
    return nt_term(term) if isinstance(term, Literal) else f"_:{term}"


def _untouched(triple: Triple) -> bool:
    """Whether :func:`_fix` leaves the triple as it is, told from its terms' types, a cached IRI
    check and its predicate; False when that does not settle it (then ``_fix`` decides).

    Why: nearly every triple needs no repair, and asking ``_fix`` cost ~55 µs a record (a
    dataset and its context: ~80 triples), 55 CPU s of a 100,000-dataset ingest; rdflib's
    ``__eq__`` (Python) on every comparison of a predicate was a third of it. What ``_fix``
    repairs: a subject IRI the store cannot hold; a literal with a character no RDF text may
    hold, or on one of :data:`_LITERAL_PREDICATES`; an IRI object the store cannot hold, or on
    one of :data:`_IRI_PREDICATES`. Any other type of term (a subclass) goes to ``_fix``.
    """
    s, p, o = triple
    kind = type(s)
    if kind is URIRef:
        if not _iri_ok(s):
            return False
    elif kind is not BNode:
        return False
    kind = type(o)
    if kind is Literal:
        return p not in _LITERAL_PREDICATES and not _BAD_CHARACTERS.search(o)
    if kind is URIRef:
        return p not in _IRI_PREDICATES and _iri_ok(o)
    return kind is BNode


def _iri_ok(iri: URIRef) -> bool:
    """:func:`_valid_iri`, remembered per IRI (subjects and objects come back triple after triple)."""
    text = str(iri)  # an exact str: a URIRef key would compare with rdflib's __eq__
    found = _IRIS_OK.get(text)
    if found is None:
        if len(_IRIS_OK) >= _IRIS_OK_KEPT:
            _IRIS_OK.clear()
        found = _IRIS_OK[text] = _valid_iri(text)
    return found


_IRIS_OK: dict[str, bool] = {}
_IRIS_OK_KEPT = 50_000


def _fix(triple: Triple, key: str, distributions: set[Node]) -> Fix | None:
    """What one triple becomes, or None when it stays as it is."""
    s, p, o = triple
    if isinstance(s, URIRef) and str(s) != key and not _valid_iri(str(s)):
        encoded = _encoded_iri(str(s))
        if encoded is None:
            return [], "invalid-iri", "left out"
        return _then((URIRef(encoded), p, o), key, distributions, "iri-encoding")
    if isinstance(o, Literal):
        if _BAD_CHARACTERS.search(str(o)):
            clean = Literal(_BAD_CHARACTERS.sub("\ufffd", str(o)), lang=o.language, datatype=o.datatype)
            return _then((s, p, clean), key, distributions, "character")
        return _fix_literal(s, p, o, distributions)
    if isinstance(o, URIRef):
        if not _valid_iri(str(o)):
            if p == VCARD.hasEmail:  # a mailto: IRI that is no IRI: its addresses, if it has any
                return fix_email(s, p, str(o))
            encoded = _encoded_iri(str(o))
            if encoded is None:
                return [], "invalid-iri", "left out"
            return _then((s, p, URIRef(encoded)), key, distributions, "iri-encoding")
        return _fix_iri(s, p, o, distributions)
    return None


def _then(triple: Triple, key: str, distributions: set[Node], kind: str) -> Fix:
    """A first repair (``kind``) and what the repaired triple still needs: the later kind names
    the value's repair when there is one (a template e-mail left out, not just encoded)."""
    fixed = _fix(triple, key, distributions)
    return ([triple], kind, "repaired") if fixed is None else fixed


def _fix_literal(s: Node, p: Node, o: Literal, distributions: set[Node]) -> Fix | None:
    text = str(o).strip()
    if p in DATE_PROPERTIES:
        return fix_date(s, p, o)
    if p == DCAT.byteSize:
        return fix_byte_size(s, p, o)
    if p == DCAT.spatialResolutionInMeters:
        return fix_number(s, p, o)
    if p == DCAT.temporalResolution:
        return fix_duration(s, p, o)
    if p == VCARD.hasEmail:
        return fix_email(s, p, text)
    if p in VOCABULARIES or p in MEDIA_TYPES or p in LINKS or p in STATEMENTS or p == ADMS.status:
        link = as_iri(text) if text else None
        if link is not None and _valid_iri(str(link)):  # a URL written as text: the URL
            fixed = _fix_iri(s, p, link, distributions)
            if fixed is not None:
                return fixed
            kind = VOCABULARIES[p].kind if p in VOCABULARIES else "media-type" if p in MEDIA_TYPES else "link"
            return typed([(s, p, link)]), kind, "repaired"
        return concept_from_text(s, p, text, distributions)
    return None


def _fix_iri(s: Node, p: Node, o: URIRef, distributions: set[Node]) -> Fix | None:
    text = str(o)
    if p == DCT.identifier:
        return [(s, p, Literal(text))], "identifier", "repaired"
    if p == VCARD.hasEmail:
        return fix_email(s, p, text)
    return concept_iri(s, p, text, distributions)


# ---------------------------------------------------------------- IRIs


@cache
def _valid(text: str) -> bool:
    try:
        ox.NamedNode(text)
    except ValueError:
        return False
    return True


def _valid_iri(text: str) -> bool:
    """Whether the store can hold this IRI as it is (most are plain ASCII: no parse needed)."""
    return bool(_SAFE_IRI.match(text)) or (len(text) < 4096 and _valid(text))


def _encoded_iri(text: str) -> str | None:
    """The IRI with what it may not hold percent-encoded (as the N-Triples writer would), or None
    when even that is no IRI (no scheme, say)."""
    clean = _BAD_CHARACTERS.sub("\ufffd", text.strip())
    encoded = _IRI_UNSAFE.sub(lambda m: quote(m.group()), clean)
    encoded = re.sub(r"[\u007f-\u009f\ufff0-\uffff]", lambda m: quote(m.group()), encoded)
    return encoded if _valid(encoded) else None
