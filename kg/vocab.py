"""Closed namespaces: every ontology term the project writes or reads.

A term that is not listed raises ``AttributeError``, so a typo such as
``DCAT.downloadUrl`` fails a test instead of minting a wrong IRI. The list of
terms is the project's vocabulary contract; ``ontologies/terms.ttl`` documents
the same terms for people.

>>> str(DCAT.Dataset)
'http://www.w3.org/ns/dcat#Dataset'
>>> DCAT.downloadUrl
Traceback (most recent call last):
...
AttributeError: term 'downloadUrl' not in namespace 'http://www.w3.org/ns/dcat#'
"""

from __future__ import annotations

from rdflib import RDF, RDFS, XSD, Namespace, URIRef


class ClosedNamespace:
    """A namespace with a fixed list of terms.

    Unlike rdflib's namespaces it is not a ``str``, so ``DCT.format`` is the
    term ``dct:format`` and not the string method ``str.format``.
    """

    def __init__(self, uri: str, terms: list[str]) -> None:
        self._uri = uri
        self._terms = {term: URIRef(uri + term) for term in terms}

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._terms[name]
        except KeyError:
            raise AttributeError(f"term {name!r} not in namespace {self._uri!r}") from None

    def __getitem__(self, name: str) -> URIRef:
        return self.__getattr__(name)

    def __contains__(self, iri: object) -> bool:
        return iri in self._terms.values()

    def __iter__(self):
        return iter(self._terms.values())

    def __dir__(self) -> list[str]:
        return sorted(self._terms)

    def __str__(self) -> str:
        return self._uri

    def __repr__(self) -> str:
        return f"ClosedNamespace({self._uri!r})"


def _closed(uri: str, terms: str) -> ClosedNamespace:
    return ClosedNamespace(uri, terms.split())


DCAT = _closed(
    "http://www.w3.org/ns/dcat#",
    """Catalog Dataset Distribution DataService DatasetSeries CatalogRecord Relationship Resource
    accessURL downloadURL mediaType compressFormat packageFormat byteSize
    dataset distribution service catalog record themeTaxonomy theme keyword landingPage
    contactPoint endpointURL endpointDescription servesDataset accessService
    spatialResolutionInMeters temporalResolution startDate endDate bbox centroid
    inSeries hadRole qualifiedRelation version""",
)
DCT = _closed(
    "http://purl.org/dc/terms/",
    """title description identifier issued modified publisher creator language license
    accessRights accrualPeriodicity spatial temporal format conformsTo rights type
    isPartOf hasPart relation source provenance isReferencedBy references hasVersion
    isVersionOf requires isRequiredBy replaces
    MediaTypeOrExtent MediaType LicenseDocument RightsStatement Frequency Location
    PeriodOfTime Standard LinguisticSystem ProvenanceStatement Agent IMT
    created date extent""",
)
DCATAP = _closed(
    "http://data.europa.eu/r5r/",
    "applicableLegislation availability hvdCategory",
)
ADMS = _closed(
    "http://www.w3.org/ns/adms#",
    "Identifier identifier sample status versionNotes schemeAgency",
)
VCARD = _closed(
    "http://www.w3.org/2006/vcard/ns#",
    """Kind Individual Organization Address Work Voice fn hasEmail hasTelephone hasURL
    hasAddress hasValue street-address locality postal-code region country-name
    organization-name""",
)
FOAF = _closed(
    "http://xmlns.com/foaf/0.1/",
    "Agent Organization Person Document name homepage page mbox phone primaryTopic",
)
SKOS = _closed(
    "http://www.w3.org/2004/02/skos/core#",
    """Concept ConceptScheme prefLabel altLabel hiddenLabel notation inScheme topConceptOf
    hasTopConcept definition exactMatch closeMatch broader narrower note""",
)
SPDX = _closed(
    "http://spdx.org/rdf/terms#",
    "Checksum ChecksumAlgorithm checksum algorithm checksumValue",
)
ORG = _closed(
    "http://www.w3.org/ns/org#",
    """Organization FormalOrganization OrganizationalUnit Site subOrganizationOf
    hasSubOrganization unitOf hasUnit classification identifier hasSite siteAddress
    hasPrimarySite purpose""",
)
CPOV = _closed(
    "http://data.europa.eu/m8g/",
    """PublicOrganisation Address contactPoint ContactPoint email telephone
    spatial address registeredAddress sector""",
)
LOCN = _closed(
    "http://www.w3.org/ns/locn#",
    """Address Geometry address fullAddress thoroughfare postCode postName
    adminUnitL1 adminUnitL2 locatorDesignator geometry""",
)
PROV = _closed(
    "http://www.w3.org/ns/prov#",
    """Activity Entity Agent used generated wasGeneratedBy startedAtTime endedAtTime
    wasAssociatedWith qualifiedAttribution specializationOf generatedAtTime invalidatedAtTime
    wasInvalidatedBy wasRevisionOf""",
)
SH = _closed(
    "http://www.w3.org/ns/shacl#",
    """ValidationReport ValidationResult conforms result focusNode resultPath resultSeverity
    resultMessage sourceShape sourceConstraintComponent value Violation Warning Info
    NodeShape property node targetClass targetNode targetSubjectsOf targetObjectsOf deactivated
    qualifiedValueShape not and or xone path""",
)
DQV = _closed(
    "http://www.w3.org/ns/dqv#",
    """QualityMeasurement Metric Dimension hasQualityMeasurement isMeasurementOf computedOn value inDimension
    expectedDataType""",
)
SCHEMA = _closed("http://schema.org/", "startDate endDate")
TIME = _closed("http://www.w3.org/2006/time#", "hasBeginning hasEnd Instant inXSDDate inXSDDateTime")
OWL = _closed("http://www.w3.org/2002/07/owl#", "Ontology sameAs versionInfo imports")
# Paging of the catalogue for harvesters (kg/catalog.py) and the VoID description (/.well-known/void);
# PagedCollection and nextPage: Hydra's older paging terms, which other portals still send (harvest).
HYDRA = _closed(
    "http://www.w3.org/ns/hydra/core#",
    "Collection PartialCollectionView PagedCollection view first previous next nextPage last totalItems",
)
VOID = _closed(
    "http://rdfs.org/ns/void#",
    """Dataset triples entities distinctSubjects distinctObjects classes properties classPartition
    class vocabulary sparqlEndpoint dataDump subset uriSpace rootResource""",
)

# The project's own terms (documented in ontologies/terms.ttl).
KGO = _closed(
    "https://w3id.org/agency-kg/ns#",
    """IngestRun QuarantinedRecord source sourceFormat sourceLocation recordKey
    current recordsRead recordsPublished recordsQuarantined violations warnings infos
    unmappedFormat unmappedLicence unmappedFrequency unmappedLanguage unmappedTheme
    unmappedAccessRights unmappedValue report rule findings change""",
)

# The quality metrics and dimensions (defined in ontologies/quality.ttl, computed by kg/quality.py).
QUALITY = _closed(
    "https://w3id.org/agency-kg/quality#",
    """findability accessibility interoperability reusability contextuality
    keywordAvailability categoryAvailability spatialAvailability temporalAvailability
    accessUrlStatusCode downloadUrlAvailability downloadUrlStatusCode
    formatAvailability mediaTypeAvailability formatMediaTypeVocabularyAlignment
    formatMediaTypeNonProprietary formatMediaTypeMachineInterpretable dcatApCompliance
    licenceAvailability knownLicence accessRightsAvailability accessRightsVocabularyAlignment
    contactPointAvailability publisherAvailability
    rightsAvailability byteSizeAvailability dateIssuedAvailability dateModifiedAvailability
    score findabilityScore accessibilityScore interoperabilityScore reusabilityScore contextualityScore
    validationResults points assessed""",
)

# EU Publications Office authority tables (concept schemes and their members).
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
DATA_THEME = Namespace(EU_AUTHORITY + "data-theme/")
FILE_TYPE = Namespace(EU_AUTHORITY + "file-type/")
FREQUENCY = Namespace(EU_AUTHORITY + "frequency/")
LANGUAGE = Namespace(EU_AUTHORITY + "language/")
LICENCE = Namespace(EU_AUTHORITY + "licence/")
ACCESS_RIGHT = Namespace(EU_AUTHORITY + "access-right/")
COUNTRY = Namespace(EU_AUTHORITY + "country/")
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

PREFIXES: dict[str, str] = {
    "dcat": str(DCAT),
    "dct": str(DCT),
    "dcatap": str(DCATAP),
    "adms": str(ADMS),
    "vcard": str(VCARD),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "spdx": str(SPDX),
    "org": str(ORG),
    "cpov": str(CPOV),
    "locn": str(LOCN),
    "prov": str(PROV),
    "dqv": str(DQV),
    "kgo": str(KGO),
    "kgq": str(QUALITY),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "owl": str(OWL),
    "schema": str(SCHEMA),
    "hydra": str(HYDRA),
    "void": str(VOID),
}

__all__ = [
    "ACCESS_RIGHT",
    "ADMS",
    "CPOV",
    "DATA_THEME",
    "DCAT",
    "DCATAP",
    "DCT",
    "DQV",
    "EU_AUTHORITY",
    "FILE_TYPE",
    "FOAF",
    "FREQUENCY",
    "HYDRA",
    "IANA_MEDIA_TYPES",
    "KGO",
    "LANGUAGE",
    "LICENCE",
    "LOCN",
    "ORG",
    "OWL",
    "PREFIXES",
    "PROV",
    "QUALITY",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SH",
    "SKOS",
    "SPDX",
    "TIME",
    "VCARD",
    "VOID",
    "XSD",
    "COUNTRY",
]
