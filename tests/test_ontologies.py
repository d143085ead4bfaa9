"""Our SKOS files in ontologies/ against the official EU authority tables and the DCAT-AP shapes.

The official tables (RDF/XML, read from ../shared/data/vocabularies) are test data only: our
Turtle files are written by the project, and these tests keep their facts (IRIs, schemes,
codes, labels) equal to the Publications Office's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DC

from kg import vocab
from kg.mapping.eu_vocabularies import SCHEMES, vocabulary_files, vocabulary_graph
from kg.vocab import DCT, KGO, RDFS, SKOS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OFFICIAL = SHARED / "vocabularies"
SHAPES = SHARED / "dcat-ap-shapes"
ONTOLOGIES = Path(__file__).resolve().parents[1] / "ontologies"
AT = Namespace("http://publications.europa.eu/ontology/authority/")

# Our file (scheme name) -> the official files holding its labels and its current membership.
OFFICIAL_FILES = {
    "data-theme": ["data-theme.rdf"],
    "access-right": ["access-right.rdf"],
    "file-type": ["file-type.rdf", "file-type.membership-2026.rdf"],
    "frequency": ["frequency.rdf", "frequency.membership-2026.rdf"],
    "language": ["language.rdf", "language.membership-2026.rdf"],
    "licence": ["licence.rdf"],
    "country": ["country.rdf"],
    "distribution-status": ["distribution-status.rdf"],
}
# The DCAT-AP range class of the property each scheme's concepts are values of.
RANGE_CLASS = {
    "data-theme": SKOS.Concept,
    "access-right": DCT.RightsStatement,
    "file-type": DCT.MediaTypeOrExtent,
    "frequency": DCT.Frequency,
    "language": DCT.LinguisticSystem,
    "licence": DCT.LicenseDocument,
    "country": DCT.Location,
    "licence-type": SKOS.Concept,
    "distribution-status": SKOS.Concept,
    "publisher-type": SKOS.Concept,
}
# Members of the current tables whose English label the label files available here lack.
_FREQUENCY_SINCE_2019 = "1MIN 5MIN 10MIN 15MIN 30MIN 12HRS WEEKLY_5 SEXENNIAL AS_NEEDED NOT_PLANNED"
UNVERIFIED_LABELS = {str(vocab.FREQUENCY[code]) for code in _FREQUENCY_SINCE_2019.split()} | {
    str(vocab.FILE_TYPE.PARQUET),
    str(vocab.FILE_TYPE.WMTS_SRVC),
}


def _ws(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _concepts(graph: Graph, scheme: str) -> list[URIRef]:
    return sorted(graph.subjects(SKOS.inScheme, URIRef(SCHEMES[scheme])))


@pytest.fixture(scope="module")
def official() -> dict[str, Graph]:
    """Each official table parsed once (labels + 2026 membership merged)."""
    if not OFFICIAL.is_dir():
        pytest.skip(f"official EU vocabularies not found at {OFFICIAL} (../shared is not checked out)")
    tables = {}
    for name, files in OFFICIAL_FILES.items():
        graph = Graph()
        for file in files:
            graph.parse(OFFICIAL / file, format="xml")
        tables[name] = graph
    return tables


@pytest.fixture(scope="module")
def ours() -> Graph:
    return vocabulary_graph()


def test_every_file_parses_on_its_own() -> None:
    names = {path.name for path in vocabulary_files()}
    assert {f"{name}.ttl" for name in SCHEMES} | {"terms.ttl"} <= names
    for path in vocabulary_files():
        assert len(Graph().parse(path, format="turtle")) > 0, path


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_scheme_is_described_and_every_concept_has_one_english_label(ours: Graph, scheme: str) -> None:
    scheme_iri = URIRef(SCHEMES[scheme])
    assert (scheme_iri, RDF.type, SKOS.ConceptScheme) in ours
    assert any(label.language == "en" for label in ours.objects(scheme_iri, SKOS.prefLabel))
    concepts = _concepts(ours, scheme)
    assert concepts
    for concept in concepts:
        assert (concept, RDF.type, SKOS.Concept) in ours, concept
        languages = [label.language for label in ours.objects(concept, SKOS.prefLabel)]
        assert "en" in languages, concept
        assert len(languages) == len(set(languages)), f"{concept}: two prefLabels in one language"
        assert list(ours.objects(concept, SKOS.inScheme)) == [scheme_iri], concept


@pytest.mark.parametrize("scheme", sorted(RANGE_CLASS))
def test_concepts_carry_the_dcat_ap_range_class(ours: Graph, scheme: str) -> None:
    for concept in _concepts(ours, scheme):
        assert (concept, RDF.type, RANGE_CLASS[scheme]) in ours, concept


@pytest.mark.parametrize("scheme", sorted(OFFICIAL_FILES))
def test_concepts_match_the_official_table(official: dict[str, Graph], ours: Graph, scheme: str) -> None:
    table = official[scheme]
    scheme_iri = URIRef(SCHEMES[scheme])
    for concept in _concepts(ours, scheme):
        assert (concept, SKOS.inScheme, scheme_iri) in table, f"{concept} is not in the official table"
        assert (concept, AT.deprecated, Literal("true")) not in table, f"{concept} is deprecated"
        code = str(concept).rsplit("/", 1)[1]
        official_code = {str(i) for i in table.objects(concept, DC.identifier)} or {code}
        plain = [str(n) for n in ours.objects(concept, SKOS.notation) if n.datatype is None]
        assert plain == [code] and official_code == {code}, concept
        official_labels = {lab.language: _ws(lab) for lab in table.objects(concept, SKOS.prefLabel)}
        if "en" not in official_labels:
            assert str(concept) in UNVERIFIED_LABELS, f"{concept}: no official English label to compare"
        for label in ours.objects(concept, SKOS.prefLabel):
            if label.language in official_labels:
                assert _ws(label) == official_labels[label.language], (concept, label.language)


@pytest.mark.parametrize("scheme", sorted(OFFICIAL_FILES))
def test_scheme_label_is_the_official_one(official: dict[str, Graph], ours: Graph, scheme: str) -> None:
    scheme_iri = URIRef(SCHEMES[scheme])
    official_en = {_ws(x) for x in official[scheme].objects(scheme_iri, SKOS.prefLabel) if x.language == "en"}
    ours_en = {_ws(x) for x in ours.objects(scheme_iri, SKOS.prefLabel) if x.language == "en"}
    assert ours_en == official_en


def test_data_theme_has_exactly_the_13_themes(official: dict[str, Graph], ours: Graph) -> None:
    theirs = set(official["data-theme"].subjects(SKOS.inScheme, URIRef(SCHEMES["data-theme"])))
    theirs.discard(vocab.DATA_THEME.OP_DATPRO)  # the "Provisional data" placeholder of every table
    assert set(_concepts(ours, "data-theme")) == theirs
    assert len(theirs) == 13


def test_every_licence_has_adms_licence_types(ours: Graph) -> None:
    licence_types = set(_concepts(ours, "licence-type"))
    for licence in _concepts(ours, "licence"):
        types = set(ours.objects(licence, DCT.type))
        assert types and types <= licence_types, licence


def test_official_dcat_ap_shapes_accept_the_vocabularies(ours: Graph) -> None:
    """range.ttl + mdr-vocabularies.shape.ttl over our files (the licence documents are their targets)."""
    if not SHAPES.is_dir():
        pytest.skip(f"DCAT-AP shapes not found at {SHAPES}")
    from pyshacl import validate

    shapes = Graph()
    for name in ("range.ttl", "mdr-vocabularies.shape.ttl"):
        shapes.parse(SHAPES / name, format="turtle")
    conforms, _, text = validate(ours, shacl_graph=shapes, inference="none")
    assert conforms, text


def test_terms_ttl_declares_every_kgo_term() -> None:
    terms = Graph().parse(ONTOLOGIES / "terms.ttl", format="turtle")
    for name in dir(KGO):
        term = KGO[name]
        assert any(terms.triples((term, RDF.type, None))), term
        assert terms.value(term, RDFS.label) and terms.value(term, RDFS.comment), term
    declared = {s for s in terms.subjects(RDF.type, None) if str(s).startswith(str(KGO))}
    assert declared == {KGO[name] for name in dir(KGO)}


def test_terms_ttl_lists_every_term_of_the_closed_namespaces() -> None:
    text = (ONTOLOGIES / "terms.ttl").read_text(encoding="utf-8")
    prefixes = {str(ns): prefix for prefix, ns in vocab.PREFIXES.items()}
    for name in ("DCAT", "DCT", "DCATAP", "ADMS", "VCARD", "FOAF", "SKOS", "SPDX", "ORG", "CPOV", "LOCN",
                 "PROV", "SH", "DQV", "SCHEMA", "TIME", "OWL"):  # fmt: skip
        namespace = getattr(vocab, name)
        prefix = prefixes.get(str(namespace), name.lower())
        for term in dir(namespace):
            assert re.search(rf"(?<![\w:]){prefix}:{re.escape(term)}(?![\w-])", text), f"{prefix}:{term}"


def test_the_class_hierarchy_is_closed_and_names_known_classes() -> None:
    """ontologies/hierarchy.ttl lists every superclass of a class on the class itself, so that one
    lookup (kg.validation adds a class's own triples to a validation graph) gives them all; and it
    states the axioms real catalogues depend on."""
    graph = Graph().parse(ONTOLOGIES / "hierarchy.ttl", format="turtle")
    pairs = set(graph.subject_objects(RDFS.subClassOf))
    for sub, sup in pairs:
        missing = {(sub, above) for above in graph.objects(sup, RDFS.subClassOf)} - pairs
        assert not missing, f"{sub} is a subclass of {sup}, but the file does not say {sorted(missing)}"
    assert set(graph.predicates()) == {RDFS.subClassOf}
    vcard = Namespace("http://www.w3.org/2006/vcard/ns#")
    foaf = Namespace("http://xmlns.com/foaf/0.1/")
    org = Namespace("http://www.w3.org/ns/org#")
    for axiom in (
        (vcard.Organization, vcard.Kind),
        (vcard.Individual, vcard.Kind),
        (foaf.Organization, foaf.Agent),
        (org.Organization, foaf.Agent),
        (vocab.CPOV.PublicOrganisation, org.Organization),
        (vocab.CPOV.PublicOrganisation, foaf.Agent),
        (vocab.DCT.LicenseDocument, vocab.DCT.RightsStatement),
        (vocab.DCT.MediaType, vocab.DCT.MediaTypeOrExtent),
    ):
        assert axiom in pairs, axiom
