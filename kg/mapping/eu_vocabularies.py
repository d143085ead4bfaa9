"""The EU controlled vocabularies, and free text -> concept IRI.

DCAT-AP wants formats, licences, frequencies, languages, themes, access rights
and places as IRIs of the EU Publications Office authority tables; sources
write them as free text ("csv ", "text/csv", "R/P1M", "cc-by", "en-GB"). The
SKOS files in ``ontologies/`` are the one source of truth for both sides: they
are loaded into the store so that pages can show labels, and their notations,
labels and hidden labels are the matching tables here. A new synonym is a line
of Turtle, not code.

Matching is deliberately exact after normalisation (case, accents, spaces and
punctuation do not count, see :func:`normalise`): a wrong IRI is worse than no
IRI, because the mapper keeps unmatched text (``kgo:unmapped*``) for a person
to fix. Only concepts described in our files are returned, so every IRI the
mapper writes has the labels and classes the DCAT-AP shapes look for.

>>> match_format(" text/csv ")
'http://publications.europa.eu/resource/authority/file-type/CSV'
>>> match_licence("https://creativecommons.org/licenses/by/4.0/legalcode")
'http://publications.europa.eu/resource/authority/licence/CC_BY_4_0'
>>> match_frequency("R/P1M")
'http://publications.europa.eu/resource/authority/frequency/MONTHLY'
>>> match_language("en-GB")
'http://publications.europa.eu/resource/authority/language/ENG'
>>> match_theme("Undefined") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph, URIRef

from kg.vocab import EU_AUTHORITY, IANA_MEDIA_TYPES, LICENCE, RDFS, SKOS

ONTOLOGIES = Path(__file__).resolve().parents[2] / "ontologies"

SCHEMES: dict[str, str] = {
    name: EU_AUTHORITY + name
    for name in (
        "data-theme",
        "file-type",
        "licence",
        "frequency",
        "language",
        "access-right",
        "country",
        "distribution-status",
    )
} | {
    "licence-type": "http://purl.org/adms/licencetype/1.0",
    "publisher-type": "http://purl.org/adms/publishertype/1.0",
}

# Deprecated version-less Creative Commons concepts of the licence table -> their 4.0 successors.
_LICENCE_SUCCESSORS = {f"CC_{k}": f"CC_{k}_4_0" for k in ("BY", "BYSA", "BYNC", "BYND", "BYNCSA", "BYNCND")}

# type/subtype with one of IANA's top-level types; "x-" subtypes are unregistered by definition.
_MEDIA_TYPE = re.compile(
    r"^(application|audio|font|haptics|image|message|model|multipart|text|video)/(?!x-)[a-z0-9][a-z0-9!#$&^_.+-]*$"
)
# Media types in common use that IANA does not register; matched through the file type instead.
_UNREGISTERED = {"text/json", "application/csv", "image/jpg", "text/yaml", "text/comma-separated-values"}
_IRI_PREFIXES = ("http://", "https://")
_MEDIA_TYPE_IRI_PREFIXES = (
    IANA_MEDIA_TYPES.lower(),
    "http://www.iana.org/assignments/media-types/",
    "http://purl.org/net/mediatypes/",
)
# What a concept is matched by, strongest first: a code beats a label that happens to be equal.
_MATCHED_BY = (
    SKOS.notation,
    SKOS.prefLabel,
    SKOS.altLabel,
    SKOS.hiddenLabel,
    SKOS.exactMatch,
    SKOS.closeMatch,
)


def vocabulary_files() -> list[Path]:
    """Every Turtle file of ``ontologies/``, sorted, so loading order never changes a result."""
    return sorted(ONTOLOGIES.glob("*.ttl"))


@cache
def vocabulary_graph() -> Graph:
    """All vocabulary files in one graph, parsed once per process (callers must not mutate it).

    >>> len(vocabulary_graph()) > 1000
    True
    """
    graph = Graph()
    for path in vocabulary_files():
        graph.parse(path, format="turtle")
    return graph


def vocabulary_ntriples() -> str:
    """:func:`vocabulary_graph` as N-Triples, as an ingest loads it into the vocabulary graph."""
    return vocabulary_graph().serialize(format="nt")


def normalise(text: str) -> str:
    """The key free text is matched on: case, accents, ``&``/"and", punctuation and spacing ignored.

    >>> normalise("  Économie & Finances ")
    'economie and finances'
    >>> normalise("CC-BY-4.0") == normalise("CC BY 4.0")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("&", " and "))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(part for part in re.split(r"[\W_]+", plain) if part)


def _url_key(url: str) -> str:
    """A URL without scheme, ``www.``, query, trailing slash or the licence-page suffixes sources add.

    >>> _url_key("https://www.opendatacommons.org/licenses/odbl/1-0/summary/")
    'opendatacommons.org/licenses/odbl/1.0'
    """
    key = re.sub(r"^https?://(www\.)?", "", url.strip().lower()).split("#")[0].split("?")[0].rstrip("/")
    key = re.sub(r"/(legalcode|deed)(\.[a-z_-]+)?$|/summary$|/index\.html?$", "", key)
    return re.sub(r"/(\d+)-(\d+)$", r"/\1.\2", key)


def _is_iri(text: str) -> bool:
    return text.lower().startswith(_IRI_PREFIXES)


@dataclass(frozen=True)
class _Index:
    members: frozenset[str]
    keys: dict[str, str]  # normalised notation / label -> concept IRI
    urls: dict[str, str]  # _url_key of skos:exactMatch/closeMatch targets and URL hidden labels -> concept


@cache
def _index(scheme: str) -> _Index:
    """Lookup tables of one scheme: normalised codes and labels, and URL keys of linked pages."""
    graph = vocabulary_graph()
    members = sorted(str(c) for c in graph.subjects(SKOS.inScheme, URIRef(SCHEMES[scheme])))
    keys: dict[str, str] = {}
    urls: dict[str, str] = {}
    for prop in _MATCHED_BY:
        for concept in members:
            for value in graph.objects(URIRef(concept), prop):
                if _is_iri(str(value)):
                    urls.setdefault(_url_key(str(value)), concept)
                else:
                    keys.setdefault(normalise(str(value)), concept)
    return _Index(frozenset(members), keys, urls)


def _match(scheme: str, text: str) -> str | None:
    """A code, label or IRI of ``scheme`` -> the concept IRI, or None."""
    text = (text or "").strip()
    if not text:
        return None
    index = _index(scheme)
    if not _is_iri(text):
        return index.keys.get(normalise(text))
    iri = re.sub(r"^https://", "http://", text).rstrip("/")
    if iri.startswith(SCHEMES[scheme] + "/"):
        return iri if iri in index.members else None
    return index.urls.get(_url_key(text))


def _strip_media_type_iri(text: str) -> str:
    """``https://www.iana.org/assignments/media-types/text/csv`` -> ``text/csv``; other text unchanged."""
    prefix = next((p for p in _MEDIA_TYPE_IRI_PREFIXES if text.lower().startswith(p)), "")
    return text[len(prefix) :]


def match_format(text: str) -> str | None:
    """A format name, file extension, media type or file-type/IANA IRI -> file-type IRI.

    >>> [match_format(t).rsplit("/", 1)[1] for t in ("CSV", ".csv", "application/vnd.ms-excel", "zip ")]
    ['CSV', 'CSV', 'XLS', 'ZIP']
    >>> match_format("https://www.iana.org/assignments/media-types/text/csv").endswith("/CSV")
    True
    >>> match_format("Undefined") is None
    True
    """
    text = _strip_media_type_iri((text or "").strip())
    found = _match("file-type", text)
    if found is None and "/" in text.split(";")[0]:  # "text/csv; charset=utf-8"
        found = _match("file-type", text.split(";")[0])
    return found


def media_type_iri(text: str) -> str | None:
    """An IANA media type, or a format whose usual media type we know -> IANA IRI (for dcat:mediaType).

    >>> media_type_iri("Text/CSV; charset=UTF-8")
    'https://www.iana.org/assignments/media-types/text/csv'
    >>> media_type_iri("XLSX").endswith("spreadsheetml.sheet")
    True
    >>> media_type_iri("application/x-gzip")
    'https://www.iana.org/assignments/media-types/application/gzip'
    >>> media_type_iri("Esri REST") is None
    True
    """
    candidate = _strip_media_type_iri((text or "").strip().lower()).split(";")[0].strip()
    if _MEDIA_TYPE.match(candidate) and candidate not in _UNREGISTERED:
        return IANA_MEDIA_TYPES + candidate
    file_type = match_format(text)
    if file_type is None:
        return None
    usual = vocabulary_graph().objects(URIRef(file_type), SKOS.closeMatch)  # see file-type.ttl
    return next((str(iri) for iri in usual if str(iri).startswith(IANA_MEDIA_TYPES)), None)


def match_licence(text: str) -> str | None:
    """A licence name, SPDX or CKAN id, licence URL or licence-table IRI -> licence IRI.

    Licences the EU table does not list (UK OGL, "other-pd", "notspecified") give None.

    >>> match_licence("odc-odbl").endswith("/ODC_BL")
    True
    >>> match_licence("http://publications.europa.eu/resource/authority/licence/CC_BY").endswith("/CC_BY_4_0")
    True
    >>> match_licence("uk-ogl") is None
    True
    """
    text = (text or "").strip()
    code = text.rstrip("/").rsplit("/", 1)[-1]
    if _is_iri(text) and code in _LICENCE_SUCCESSORS and f"/authority/licence/{code}" in text:
        return str(LICENCE) + _LICENCE_SUCCESSORS[code]
    spdx = re.match(r"^spdx\.org/licenses/([^/]+?)(\.html|\.json)?$", _url_key(text))
    return _match("licence", spdx[1] if spdx and _is_iri(text) else text)


def match_frequency(text: str) -> str | None:
    """A frequency word, ISO 8601 repeating duration (DCAT-US), Dublin Core freq IRI or table IRI.

    >>> [match_frequency(t).rsplit("/", 1)[1] for t in ("R/P1Y", "P3M", "weekly", "R/PT1S")]
    ['ANNUAL', 'QUARTERLY', 'WEEKLY', 'UPDATE_CONT']
    >>> match_frequency("http://purl.org/cld/freq/daily").endswith("/DAILY")
    True
    """
    text = (text or "").strip()
    if re.match(r"^PT?\d", text, re.IGNORECASE):
        text = "R/" + text
    return _match("frequency", text)


def match_language(text: str) -> str | None:
    """An ISO 639-1/-2/-3 code, a language tag ("en-GB", "en_US"), an English name or IRI.

    >>> [match_language(t).rsplit("/", 1)[1] for t in ("EN", "fre", "German", "pt_BR")]
    ['ENG', 'FRA', 'DEU', 'POR']
    >>> match_language("http://id.loc.gov/vocabulary/iso639-1/es").endswith("/SPA")
    True
    """
    text = (text or "").strip()
    found = _match("language", text)
    if found or not text:
        return found
    if re.match(r"^https?://(id\.loc\.gov/vocabulary|lexvo\.org/id)/", text):
        return _match("language", text.rstrip("/").rsplit("/", 1)[-1])
    tag = re.match(r"^([A-Za-z]{2,3})[-_][A-Za-z0-9_-]+$", text)
    return _match("language", tag[1]) if tag else None


def match_theme(text: str) -> str | None:
    """A data-theme code, label (en, fr, de, es), common synonym ("finance", "science") or IRI.

    >>> [match_theme(t).rsplit("/", 1)[1] for t in ("envi", "Transport", "finance", "Regions")]
    ['ENVI', 'TRAN', 'ECON', 'REGI']
    """
    return _match("data-theme", text)


def match_access_right(text: str) -> str | None:
    """An access level (the DCAT-US values "public", "restricted public", "non-public") or IRI.

    >>> [match_access_right(t).rsplit("/", 1)[1] for t in ("public", "restricted public", "non-public")]
    ['PUBLIC', 'RESTRICTED', 'NON_PUBLIC']
    """
    return _match("access-right", text)


def match_distribution_status(text: str) -> str | None:
    """A status word, an ADMS status IRI (DCAT-AP 2) or a table IRI -> distribution-status IRI.

    >>> match_distribution_status("http://purl.org/adms/status/Completed").rsplit("/", 1)[1]
    'COMPLETED'
    >>> match_distribution_status("under development").rsplit("/", 1)[1]
    'DEVELOP'
    """
    return _match("distribution-status", text)


def retired_code(scheme: str, iri: str) -> str | None:
    """An IRI in a table's namespace that the table does not list (a retired, bibliographic or
    misspelt code: ``language/GER``, ``file-type/WFS``) -> the member its code names, if one does.

    >>> retired_code("language", "http://publications.europa.eu/resource/authority/language/GER")
    'http://publications.europa.eu/resource/authority/language/DEU'
    >>> retired_code("file-type", "http://publications.europa.eu/resource/authority/file-type/WFS")
    'http://publications.europa.eu/resource/authority/file-type/WFS_SRVC'
    >>> retired_code("language", "http://publications.europa.eu/resource/authority/language/ENG") is None
    True
    """
    text = re.sub(r"^https://", "http://", (iri or "").strip()).rstrip("/")
    prefix = SCHEMES[scheme] + "/"
    if not text.startswith(prefix) or text in _index(scheme).members:
        return None
    return _index(scheme).keys.get(normalise(text.removeprefix(prefix)))


def match_country(text: str) -> str | None:
    """An ISO 3166 alpha-2/alpha-3 code, a country name (en, fr, de, es) or a country-table IRI.

    >>> [match_country(t).rsplit("/", 1)[1] for t in ("de", "GBR", "United States", "Türkiye")]
    ['DEU', 'GBR', 'USA', 'TUR']
    """
    return _match("country", text)


@cache
def _labels() -> dict[str, dict[str, str]]:
    """IRI -> language tag -> label (skos:prefLabel, else rdfs:label), for every described resource."""
    labels: dict[str, dict[str, str]] = {}
    graph = vocabulary_graph()
    for prop in (SKOS.prefLabel, RDFS.label):
        for subject, value in graph.subject_objects(prop):
            labels.setdefault(str(subject), {}).setdefault(getattr(value, "language", None) or "", str(value))
    return labels


def label(iri: str, lang: str = "en") -> str | None:
    """The label of a vocabulary IRI in ``lang``, else in English, else untagged; None if unknown.

    >>> label("http://publications.europa.eu/resource/authority/data-theme/ENVI", "fr")
    'Environnement'
    >>> label("http://publications.europa.eu/resource/authority/file-type/CSV", "fr")
    'CSV'
    """
    by_lang = _labels().get((iri or "").strip(), {})
    return by_lang.get(lang) or by_lang.get("en") or by_lang.get("")
