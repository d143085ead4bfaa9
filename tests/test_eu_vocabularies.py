"""Free text -> controlled-vocabulary IRI, on the real ontologies/ files."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rdflib import URIRef

from kg.mapping import eu_vocabularies
from kg.mapping.eu_vocabularies import (
    SCHEMES,
    label,
    match_access_right,
    match_country,
    match_format,
    match_frequency,
    match_language,
    match_licence,
    match_theme,
    media_type_iri,
    normalise,
    vocabulary_files,
    vocabulary_graph,
)
from kg.vocab import EU_AUTHORITY, IANA_MEDIA_TYPES, SKOS

MATCHERS: dict[str, Callable[[str], str | None]] = {
    "data-theme": match_theme,
    "file-type": match_format,
    "licence": match_licence,
    "frequency": match_frequency,
    "language": match_language,
    "access-right": match_access_right,
    "country": match_country,
}
# Everything a concept can be matched by.
PROPERTIES = (
    SKOS.notation,
    SKOS.prefLabel,
    SKOS.altLabel,
    SKOS.hiddenLabel,
    SKOS.exactMatch,
    SKOS.closeMatch,
)


def code(iri: str | None) -> str | None:
    return iri.rsplit("/", 1)[1] if iri else None


def concepts(scheme: str) -> list[URIRef]:
    return sorted(vocabulary_graph().subjects(SKOS.inScheme, URIRef(SCHEMES[scheme])))


# ------------------------------------------------------------------ loading


def test_vocabulary_files_are_the_ontologies_folder() -> None:
    files = vocabulary_files()
    assert files == sorted(files)
    assert {path.parent.name for path in files} == {"ontologies"}
    assert {"data-theme.ttl", "file-type.ttl", "licence.ttl", "terms.ttl"} <= {path.name for path in files}


def test_vocabulary_graph_is_parsed_once() -> None:
    assert vocabulary_graph() is vocabulary_graph()


def test_schemes_name_the_official_tables() -> None:
    assert SCHEMES["file-type"] == EU_AUTHORITY + "file-type"
    assert set(MATCHERS) < set(SCHEMES)
    assert SCHEMES["licence-type"] == "http://purl.org/adms/licencetype/1.0"


# ------------------------------------------------------------------ every concept matches itself


@pytest.mark.parametrize("scheme", sorted(MATCHERS))
def test_every_concept_matches_its_own_iri_notations_and_labels(scheme: str) -> None:
    graph, match = vocabulary_graph(), MATCHERS[scheme]
    for concept in concepts(scheme):
        names = [str(concept), str(concept).replace("http://", "https://"), str(concept) + "/"]
        for prop in PROPERTIES:
            names += [str(value) for value in graph.objects(concept, prop)]
        for name in names:
            assert match(name) == str(concept), (name, match(name))
            messy = name if name.startswith("http") else name.upper()
            assert match(f"  {messy} ") == str(concept), name


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_no_key_is_shared_by_two_concepts(scheme: str) -> None:
    """A normalised label, code or URL that names two concepts would make matching arbitrary."""
    graph, owners = vocabulary_graph(), {}
    for concept in concepts(scheme):
        for prop in PROPERTIES:
            for value in graph.objects(concept, prop):
                key = eu_vocabularies._url_key(value) if value.startswith("http") else normalise(value)
                owners.setdefault(key, set()).add(concept)
    assert {key: found for key, found in owners.items() if len(found) > 1} == {}


@pytest.mark.parametrize("scheme", sorted(MATCHERS))
@pytest.mark.parametrize("text", ["", "   ", "Undefined", "n/a", "other format", "https://example.org/x"])
def test_unknown_text_gives_none(scheme: str, text: str) -> None:
    assert MATCHERS[scheme](text) is None


@pytest.mark.parametrize("scheme", sorted(MATCHERS))
def test_official_iri_outside_our_selection_gives_none(scheme: str) -> None:
    assert MATCHERS[scheme](f"{EU_AUTHORITY}{scheme}/NO_SUCH_CODE") is None
    assert MATCHERS[scheme](f"{EU_AUTHORITY}{scheme}/OP_DATPRO") is None


# ------------------------------------------------------------------ formats and media types


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CSV", "CSV"), ("csv ", "CSV"), (".csv", "CSV"), ("text/csv", "CSV"),
        ("text/csv; charset=utf-8", "CSV"), ("application/vnd.ms-excel", "XLS"), ("XLSX", "XLSX"),
        ("zip", "ZIP"), ("application/x-zip-compressed", "ZIP"),
        ("JSON", "JSON"), ("application/ld+json", "JSON_LD"), ("GeoJSON", "GEOJSON"), ("XML", "XML"),
        ("RDF", "RDF"), ("RDF/XML", "RDF_XML"), ("Turtle", "RDF_TURTLE"), ("nt", "RDF_N_TRIPLES"),
        ("PDF", "PDF"), ("Word DOCX", "DOCX"), ("HTML", "HTML"), ("text/html", "HTML"), ("Esri REST", "REST"),
        ("nc ", "NETCDF"), ("HDF5", "HDF"), ("Shapefile", "SHP"), ("KML", "KML"), ("OGC:WMS", "WMS_SRVC"),
        ("wfs", "WFS_SRVC"), ("jpg", "JPEG"), ("tif", "TIFF"), ("GeoTIFF", "GEOTIFF"), ("Parquet", "PARQUET"),
        ("tar.gz", "TAR_GZ"), ("gz", "GZIP"), ("Plain text", "TXT"), ("ATOM", "ATOM"), ("SPARQL", "SPARQLQ"),
        ("https://www.iana.org/assignments/media-types/text/csv", "CSV"),
        ("http://www.iana.org/assignments/media-types/application/json", "JSON"),
        ("http://publications.europa.eu/resource/authority/file-type/ODS", "ODS"),
        ("https://publications.europa.eu/resource/authority/file-type/ODS/", "ODS"),
    ],
)  # fmt: skip
def test_match_format(text: str, expected: str) -> None:
    assert code(match_format(text)) == expected


@pytest.mark.parametrize("text", ["Undefined", "API", "other", "unknown", "csv;zip", "ftp://x/y.csv"])
def test_match_format_unknown(text: str) -> None:
    assert match_format(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("text/csv", "text/csv"),
        ("TEXT/CSV ; charset=utf-8", "text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("image/svg+xml", "image/svg+xml"),
        ("https://www.iana.org/assignments/media-types/application/pdf", "application/pdf"),
        ("CSV", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("Turtle", "text/turtle"),
        ("application/x-gzip", "application/gzip"),
        ("text/json", "application/json"),
        ("image/jpg", "image/jpeg"),
    ],
)  # fmt: skip
def test_media_type_iri(text: str, expected: str) -> None:
    assert media_type_iri(text) == IANA_MEDIA_TYPES + expected


@pytest.mark.parametrize(
    "text", ["", "Esri REST", "WMS", "application/x-netcdf", "foo/bar", "csv file", "NETCDF"]
)
def test_media_type_iri_unknown(text: str) -> None:
    assert media_type_iri(text) is None


# ------------------------------------------------------------------ licences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CC-BY-4.0", "CC_BY_4_0"), ("cc-by", "CC_BY_4_0"), ("CC BY 4.0", "CC_BY_4_0"),
        ("Creative Commons Attribution 4.0", "CC_BY_4_0"),
        ("Creative Commons Attribution 4.0 International", "CC_BY_4_0"),
        ("CC BY-SA 4.0", "CC_BYSA_4_0"), ("cc-by-sa", "CC_BYSA_4_0"), ("CC BY 3.0", "CC_BY_3_0"),
        ("CC BY-NC 4.0", "CC_BYNC_4_0"), ("cc-nc", "CC_BYNC_4_0"),
        ("CC0", "CC0"), ("cc-zero", "CC0"), ("CC0-1.0", "CC0"),
        ("odc-odbl", "ODC_BL"), ("ODbL", "ODC_BL"), ("odc-by", "ODC_BY"), ("odc-pddl", "ODC_PDDL"),
        ("EUPL-1.2", "EUPL_1_2"), ("European Union Public Licence v. 1.2", "EUPL_1_2"), ("GFDL", "GNU_FDL"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
        ("http://creativecommons.org/publicdomain/zero/1.0", "CC0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/legalcode", "CC0"),
        ("https://creativecommons.org/licenses/by/4.0/deed.en", "CC_BY_4_0"),
        ("https://creativecommons.org/licenses/by-sa/3.0/legalcode.de", "CC_BYSA_3_0"),
        ("https://opendatacommons.org/licenses/odbl/1-0/", "ODC_BL"),
        ("http://www.opendatacommons.org/licenses/odbl/", "ODC_BL"),
        ("https://opendatacommons.org/licenses/pddl/summary/", "ODC_PDDL"),
        ("https://opendatacommons.org/licenses/by/1.0/", "ODC_BY"),
        ("https://spdx.org/licenses/CC-BY-4.0.html", "CC_BY_4_0"),
        ("http://publications.europa.eu/resource/authority/licence/CC_BY_4_0", "CC_BY_4_0"),
        ("http://publications.europa.eu/resource/authority/licence/CC_BYSA", "CC_BYSA_4_0"),
    ],
)  # fmt: skip
def test_match_licence(text: str, expected: str) -> None:
    assert code(match_licence(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "notspecified", "other-pd", "other-open", "uk-ogl", "Open Government Licence v3.0", "public domain",
        "https://www.usa.gov/government-works", "http://www.usa.gov/publicdomain/label/1.0/",
        "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/", "MIT", "Apache-2.0",
        "https://creativecommons.org/licenses/by/5.0/",
        "http://publications.europa.eu/resource/authority/licence/CC_BY_1_0",
    ],
)  # fmt: skip
def test_match_licence_not_in_the_table(text: str) -> None:
    assert match_licence(text) is None


# ------------------------------------------------------------------ frequencies


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("R/P1Y", "ANNUAL"), ("R/P6M", "ANNUAL_2"), ("R/P4M", "ANNUAL_3"), ("R/P3M", "QUARTERLY"),
        ("R/P2M", "BIMONTHLY"), ("R/P1M", "MONTHLY"), ("R/P0.5M", "MONTHLY_2"), ("R/P0.33M", "MONTHLY_3"),
        ("R/P2W", "BIWEEKLY"), ("R/P1W", "WEEKLY"), ("R/P3.5D", "WEEKLY_2"), ("R/P0.33W", "WEEKLY_3"),
        ("R/P1D", "DAILY"), ("R/PT1H", "HOURLY"), ("R/P10Y", "DECENNIAL"), ("R/P4Y", "QUADRENNIAL"),
        ("R/P2Y", "BIENNIAL"), ("R/P3Y", "TRIENNIAL"), ("R/PT1S", "UPDATE_CONT"), ("P1Y", "ANNUAL"),
        ("r/p1m ", "MONTHLY"), ("irregular", "IRREG"), ("continuous", "CONT"), ("annual", "ANNUAL"),
        ("Yearly", "ANNUAL"), ("monthly", "MONTHLY"), ("WEEKLY", "WEEKLY"), ("daily", "DAILY"),
        ("quarterly", "QUARTERLY"), ("never", "NEVER"), ("as needed", "AS_NEEDED"), ("mensuel", "MONTHLY"),
        ("Annually", "ANNUAL"), ("Quarterly", "QUARTERLY"), ("Quaterly", "QUARTERLY"),  # data.json 1.0 (sic)
        ("http://purl.org/cld/freq/daily", "DAILY"), ("http://purl.org/cld/freq/threeTimesAYear", "ANNUAL_3"),
        ("http://publications.europa.eu/resource/authority/frequency/12HRS", "12HRS"),
    ],
)  # fmt: skip
def test_match_frequency(text: str, expected: str) -> None:
    assert code(match_frequency(text)) == expected


@pytest.mark.parametrize("text", ["R/P7Y", "P", "sometimes", "http://purl.org/cld/freq/hourly-ish"])
def test_match_frequency_unknown(text: str) -> None:
    assert match_frequency(text) is None


# ------------------------------------------------------------------ languages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("en", "ENG"), ("EN", "ENG"), ("en-GB", "ENG"), ("en_US", "ENG"), ("eng", "ENG"), ("English", "ENG"),
        ("fra", "FRA"), ("fre", "FRA"), ("fr-CA", "FRA"), ("français", "FRA"), ("deu", "DEU"), ("ger", "DEU"),
        ("nl-BE", "NLD"), ("ga", "GLE"), ("zh-Hant-TW", "ZHO"), ("nb", "NOB"), ("Norwegian Bokmal", "NOB"),
        ("mul", "MUL"), ("http://id.loc.gov/vocabulary/iso639-1/en", "ENG"),
        ("http://id.loc.gov/vocabulary/iso639-2/ger", "DEU"), ("http://lexvo.org/id/iso639-3/spa", "SPA"),
        ("http://publications.europa.eu/resource/authority/language/SWE", "SWE"),
    ],
)  # fmt: skip
def test_match_language(text: str, expected: str) -> None:
    assert code(match_language(text)) == expected


@pytest.mark.parametrize(
    "text", ["xx", "xx-YY", "Klingon", "http://publications.europa.eu/resource/authority/country/DEU"]
)
def test_match_language_unknown(text: str) -> None:
    assert match_language(text) is None


# ------------------------------------------------------------------ themes, access rights, countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ENVI", "ENVI"), ("envi", "ENVI"), ("Environment", "ENVI"),
        ("Agriculture, fisheries, forestry and food", "AGRI"), ("health", "HEAL"), ("transport", "TRAN"),
        ("energy", "ENER"), ("education", "EDUC"), ("economy", "ECON"),
        ("finance", "ECON"), ("government", "GOVE"), ("science", "TECH"), ("technology", "TECH"),
        ("society", "SOCI"), ("population", "SOCI"), ("regions", "REGI"), ("cities", "REGI"),
        ("justice", "JUST"), ("international", "INTR"), ("agriculture", "AGRI"), ("fisheries", "AGRI"),
        ("Crime & Justice", "JUST"), ("Économie et finances", "ECON"), ("Umwelt", "ENVI"),
        ("http://publications.europa.eu/resource/authority/data-theme/GOVE", "GOVE"),
    ],
)  # fmt: skip
def test_match_theme(text: str, expected: str) -> None:
    assert code(match_theme(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("public", "PUBLIC"), ("Public ", "PUBLIC"), ("restricted public", "RESTRICTED"),
        ("restricted", "RESTRICTED"), ("Restricted Public", "RESTRICTED"), ("PUBLIC", "PUBLIC"),
        ("non-public", "NON_PUBLIC"), ("Non-Public", "NON_PUBLIC"), ("Non Public", "NON_PUBLIC"),
        ("confidential", "CONFIDENTIAL"),
        ("http://publications.europa.eu/resource/authority/access-right/PUBLIC", "PUBLIC"),
    ],
)  # fmt: skip
def test_match_access_right(text: str, expected: str) -> None:
    assert code(match_access_right(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE", "DEU"), ("deu", "DEU"), ("Germany", "DEU"), ("gb", "GBR"), ("UK", "GBR"),
        ("United Kingdom", "GBR"), ("US", "USA"), ("USA", "USA"), ("United States of America", "USA"),
        ("Hong Kong", "HKG"), ("HK", "HKG"),
        ("Czech Republic", "CZE"), ("Turkey", "TUR"), ("EL", "GRC"), ("Suisse", "CHE"), ("EU", "EUR"),
        ("http://publications.europa.eu/resource/authority/country/FRA", "FRA"),
    ],
)  # fmt: skip
def test_match_country(text: str, expected: str) -> None:
    assert code(match_country(text)) == expected


@pytest.mark.parametrize("text", ["Atlantis", "ZZ", "Europe", "http://sws.geonames.org/2921044/"])
def test_match_country_unknown(text: str) -> None:
    assert match_country(text) is None


# ------------------------------------------------------------------ labels


def test_label_in_english_and_other_languages() -> None:
    envi = EU_AUTHORITY + "data-theme/ENVI"
    assert label(envi) == "Environment"
    assert label(envi, "de") == "Umwelt"
    assert label(envi, "fi") == "Environment"  # falls back to English
    assert label(EU_AUTHORITY + "licence-type/none") is None
    assert label("http://purl.org/adms/licencetype/PublicDomain") == "Public domain"
    assert label(SCHEMES["frequency"]) == "Frequency"
    assert label("https://w3id.org/agency-kg/ns#IngestRun") == "ingest run"  # rdfs:label of terms.ttl


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_every_concept_has_an_english_label(scheme: str) -> None:
    for concept in concepts(scheme):
        assert label(str(concept)), concept


def test_normalise_ignores_case_accents_and_punctuation() -> None:
    assert normalise(" Norwegian  Bokmål ") == normalise("norwegian-bokmal") == "norwegian bokmal"
    assert normalise("R/P0.5M") == "r p0 5m"
    assert eu_vocabularies._url_key("HTTPS://www.Example.org/a/b/?q=1#x") == "example.org/a/b"
