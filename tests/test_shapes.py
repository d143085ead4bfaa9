"""Our SHACL shapes (shapes/dcat-ap.ttl, shapes/agency.ttl), run for real with pyshacl, inference "none".

What is checked:

* both files parse, and every rule has an IRI of its own, a name, a plain-words message and a severity;
* a hand-written record (a dataset, two distributions, its publisher, its contact point and the
  descriptions of the vocabulary concepts it uses) gives no violation and no warning, under our
  shapes and under the official DCAT-AP 3.0.1 shapes (shapes.ttl + range.ttl + mdr-vocabularies,
  apart from the corporate-body rule on publishers);
* one broken record per important rule, with the rule's IRI as sh:sourceShape and its severity;
* ours are at least as strict as the official ones: every variant of the record made by removing,
  corrupting or doubling one triple that the official shapes reject, ours reject too, on the same
  node;
* the same for an agency record, against our agency shapes and the official CPOV shapes.

Only the top-level results of a report count (``report sh:result r``): pyshacl also lists the
nested results of sh:node and sh:or constraints (``r sh:detail d``) with their own severity.
The official files are test data read from ../shared; they are never copied into the project.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import compiled_shapes
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from kg.vocab import ADMS, CPOV, DCAT, DCATAP, DCT, FOAF, LOCN, ORG, SKOS, SPDX, VCARD

ROOT = Path(__file__).resolve().parents[1]
SHAPE_FILES = {"dcat-ap": ROOT / "shapes" / "dcat-ap.ttl", "agency": ROOT / "shapes" / "agency.ttl"}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OFFICIAL_DIR = SHARED / "dcat-ap-shapes"
CPOV_SHAPES = SHARED / "cpov" / "core-public-organisation-ap-SHACL.ttl"

KGS = Namespace("https://w3id.org/agency-kg/shapes#")
MDR = Namespace("http://data.europa.eu/r5r#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
EX = Namespace("https://data.example.org/")
EU = "http://publications.europa.eu/resource/authority/"

DATASET = EX["dataset/air-quality"]
CSV_DIST = EX["distribution/aq-csv"]
JSON_DIST = EX["distribution/aq-json"]
AGENCY = EX["agency/env"]
CONTACT = EX["dataset/air-quality#contact"]
PARENT = EX["agency/ministry"]

PREFIXES = """\
@prefix adms: <http://www.w3.org/ns/adms#> .
@prefix cpov: <http://data.europa.eu/m8g/> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dcatap: <http://data.europa.eu/r5r/> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix locn: <http://www.w3.org/ns/locn#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://data.example.org/> .
@prefix theme: <http://publications.europa.eu/resource/authority/data-theme/> .
@prefix filetype: <http://publications.europa.eu/resource/authority/file-type/> .
@prefix freq: <http://publications.europa.eu/resource/authority/frequency/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
@prefix licence: <http://publications.europa.eu/resource/authority/licence/> .
@prefix access: <http://publications.europa.eu/resource/authority/access-right/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
@prefix avail: <http://publications.europa.eu/resource/authority/planned-availability/> .
@prefix status: <http://publications.europa.eu/resource/authority/distribution-status/> .
@prefix iana: <https://www.iana.org/assignments/media-types/> .
@prefix cbc: <http://publications.europa.eu/resource/authority/corporate-body-classification/> .
"""

# A dataset record as the mapper should emit it: the dataset, its distributions, the agent that
# publishes it, its contact point, and the descriptions of every vocabulary concept it uses.
RECORD = (
    PREFIXES
    + """
ex:dataset\\/air-quality a dcat:Dataset ;
    dct:title "Air quality measurements"@en, "Luftqualität"@de ;
    dct:description "Hourly measurements of air pollutants at the monitoring stations."@en ;
    dct:identifier "AQ-2024" ;
    adms:identifier ex:dataset\\/air-quality\\#identifier ;
    dct:publisher ex:agency\\/env ;
    dcat:contactPoint ex:dataset\\/air-quality\\#contact ;
    dcat:distribution ex:distribution\\/aq-csv, ex:distribution\\/aq-json ;
    dcat:keyword "air"@en, "pollution"@en ;
    dcat:theme theme:ENVI ;
    dct:accrualPeriodicity freq:DAILY ;
    dct:language lang:ENG ;
    dct:accessRights access:PUBLIC ;
    dct:spatial country:BEL ;
    dct:temporal ex:dataset\\/air-quality\\#period ;
    dct:issued "2024-01-15"^^xsd:date ;
    dct:modified "2024-06-01T10:00:00"^^xsd:dateTime ;
    dcat:landingPage <https://env.example.org/air> .

ex:dataset\\/air-quality\\#identifier a adms:Identifier ;
    skos:notation "AQ-2024" .

ex:dataset\\/air-quality\\#period a dct:PeriodOfTime ;
    dcat:startDate "2020-01-01"^^xsd:date ;
    dcat:endDate "2024-12-31"^^xsd:date .

ex:dataset\\/air-quality\\#contact a vcard:Kind, vcard:Organization ;
    vcard:fn "Air quality team" ;
    vcard:hasEmail <mailto:air@env.example.org> .

<https://env.example.org/air> a foaf:Document .

ex:distribution\\/aq-csv a dcat:Distribution ;
    dct:title "Measurements (CSV)"@en ;
    dct:description "All measurements in one CSV file."@en ;
    dcat:accessURL <https://env.example.org/air/data> ;
    dcat:downloadURL <https://env.example.org/air/data.csv> ;
    dct:format filetype:CSV ;
    dcat:mediaType iana:text\\/csv ;
    dct:license licence:CC_BY_4_0 ;
    dcatap:availability avail:STABLE ;
    adms:status status:COMPLETED ;
    dcat:byteSize "123456"^^xsd:nonNegativeInteger ;
    spdx:checksum ex:distribution\\/aq-csv\\#checksum ;
    dct:issued "2024-01-15"^^xsd:date .

ex:distribution\\/aq-csv\\#checksum a spdx:Checksum ;
    spdx:algorithm <https://spdx.org/rdf/terms#checksumAlgorithm_sha1> ;
    spdx:checksumValue "da39a3ee5e6b4b0d3255bfef95601890afd80709"^^xsd:hexBinary .

ex:distribution\\/aq-json a dcat:Distribution ;
    dct:title "Measurements (JSON API)"@en ;
    dct:description "The same measurements from the JSON endpoint."@en ;
    dcat:accessURL <https://env.example.org/air/api> ;
    dct:format filetype:JSON ;
    dct:license licence:CC_BY_4_0 ;
    dcatap:availability avail:STABLE ;
    dct:language lang:ENG .

ex:agency\\/env a foaf:Agent, foaf:Organization, org:Organization, cpov:PublicOrganisation ;
    foaf:name "Environment Agency"@en ;
    skos:prefLabel "Environment Agency"@en ;
    dct:type <http://purl.org/adms/publishertype/NationalAuthority> .

theme:ENVI a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/data-theme> ;
    skos:prefLabel "Environment"@en .
freq:DAILY a skos:Concept, dct:Frequency ;
    skos:inScheme <http://publications.europa.eu/resource/authority/frequency> ;
    skos:prefLabel "daily"@en .
lang:ENG a skos:Concept, dct:LinguisticSystem ;
    skos:inScheme <http://publications.europa.eu/resource/authority/language> ;
    skos:prefLabel "English"@en .
access:PUBLIC a skos:Concept, dct:RightsStatement ;
    skos:inScheme <http://publications.europa.eu/resource/authority/access-right> ;
    skos:prefLabel "public"@en .
country:BEL a skos:Concept, dct:Location ;
    skos:inScheme <http://publications.europa.eu/resource/authority/country> ;
    skos:prefLabel "Belgium"@en .
filetype:CSV a skos:Concept, dct:MediaTypeOrExtent ;
    skos:inScheme <http://publications.europa.eu/resource/authority/file-type> ;
    skos:prefLabel "CSV"@en .
filetype:JSON a skos:Concept, dct:MediaTypeOrExtent ;
    skos:inScheme <http://publications.europa.eu/resource/authority/file-type> ;
    skos:prefLabel "JSON"@en .
iana:text\\/csv a dct:MediaType .
licence:CC_BY_4_0 a skos:Concept, dct:LicenseDocument ;
    skos:inScheme <http://publications.europa.eu/resource/authority/licence> ;
    skos:prefLabel "Creative Commons Attribution 4.0 International"@en ;
    dct:type <http://purl.org/adms/licencetype/Attribution> .
<http://purl.org/adms/licencetype/Attribution> a skos:Concept ;
    skos:inScheme <http://purl.org/adms/licencetype/1.0> ;
    skos:prefLabel "Attribution"@en .
avail:STABLE a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/planned-availability> ;
    skos:prefLabel "stable"@en .
status:COMPLETED a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/distribution-status> ;
    skos:prefLabel "completed"@en .
<http://purl.org/adms/publishertype/NationalAuthority> a skos:Concept ;
    skos:inScheme <http://purl.org/adms/publishertype/1.0> ;
    skos:prefLabel "National authority"@en .
<https://spdx.org/rdf/terms#checksumAlgorithm_sha1> a spdx:ChecksumAlgorithm .

# Two schemes must be typed (the official status and publisher-type rules ask for it),
# and a typed scheme needs a title.
<http://publications.europa.eu/resource/authority/distribution-status> a skos:ConceptScheme ;
    dct:title "Distribution status"@en .
<http://purl.org/adms/publishertype/1.0> a skos:ConceptScheme ;
    dct:title "Publisher type"@en .
"""
)

# An agency record: the organisation, a stub of its parent, and what it refers to.
AGENCY_RECORD = (
    PREFIXES
    + """
ex:agency\\/env a foaf:Agent, foaf:Organization, org:Organization, cpov:PublicOrganisation ;
    foaf:name "Environment Agency"@en ;
    skos:prefLabel "Environment Agency"@en, "Agence de l'environnement"@fr ;
    skos:altLabel "EA"@en ;
    dct:description "Protects and improves the environment."@en ;
    org:subOrganizationOf ex:agency\\/ministry ;
    adms:identifier ex:agency\\/env\\#identifier ;
    cpov:contactPoint ex:agency\\/env\\#contact ;
    locn:address ex:agency\\/env\\#address ;
    dct:spatial country:BEL ;
    foaf:homepage <https://env.example.org/> ;
    org:classification cbc:AGENCY_EXEC ;
    dct:type <http://purl.org/adms/publishertype/NationalAuthority> .

ex:agency\\/ministry a org:Organization ; foaf:name "Ministry of the Environment"@en .

ex:agency\\/env\\#identifier a adms:Identifier ;
    skos:notation "0123.456.789" ;
    dct:issued "1999-05-01"^^xsd:date .

ex:agency\\/env\\#contact a cpov:ContactPoint, vcard:Kind ;
    cpov:email "info@env.example.org" ;
    cpov:telephone "+32 2 123 45 67" ;
    vcard:fn "Front desk" ;
    vcard:hasEmail <mailto:info@env.example.org> .

ex:agency\\/env\\#address a locn:Address ;
    locn:thoroughfare "Rue de la Loi"@fr ;
    locn:locatorDesignator "16" ;
    locn:postCode "1000" ;
    locn:postName "Bruxelles"@fr ;
    locn:adminUnitL1 "Belgique"@fr .

<https://env.example.org/> a foaf:Document .

country:BEL a skos:Concept, dct:Location ;
    skos:inScheme <http://publications.europa.eu/resource/authority/country> ;
    skos:prefLabel "Belgium"@en .
cbc:AGENCY_EXEC a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/corporate-body-classification> ;
    skos:prefLabel "executive agency"@en .
<http://purl.org/adms/publishertype/NationalAuthority> a skos:Concept ;
    skos:inScheme <http://purl.org/adms/publishertype/1.0> ;
    skos:prefLabel "National authority"@en .
<http://purl.org/adms/publishertype/1.0> a skos:ConceptScheme ;
    dct:title "Publisher type"@en .
"""
)


# ---------------------------------------------------------------------------
# Running pyshacl
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    severity: URIRef
    shape: Node
    focus: Node
    path: Node | None
    component: Node | None
    message: str

    def __str__(self) -> str:
        sev = self.severity.split("#")[-1]
        return f"{sev} {self.shape.n3()} on {self.focus.n3()}: {self.message}"


def _parse(*paths: Path) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


@functools.cache
def our_shapes() -> Graph:
    return _parse(*SHAPE_FILES.values())


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"official shapes not found at {path} (they come with ../shared/data); skipped")


@functools.cache
def official_core() -> Graph:
    """shapes.ttl + range.ttl: mandatory properties, cardinalities, datatypes, classes."""
    _need(OFFICIAL_DIR / "shapes.ttl")
    return _parse(OFFICIAL_DIR / "shapes.ttl", OFFICIAL_DIR / "range.ttl")


@functools.cache
def official_all() -> Graph:
    """shapes.ttl + range.ttl + mdr-vocabularies.shape.ttl."""
    _need(OFFICIAL_DIR / "mdr-vocabularies.shape.ttl")
    graph = Graph()
    graph += official_core()
    graph.parse(OFFICIAL_DIR / "mdr-vocabularies.shape.ttl", format="turtle")
    return graph


@functools.cache
def official_cpov() -> Graph:
    _need(CPOV_SHAPES)
    return _parse(CPOV_SHAPES)


def run(data: Graph, shapes: Graph) -> list[Finding]:
    """Validate and return the top-level results (nested sh:detail results are left out); pyshacl
    on the shapes compiled once (:mod:`compiled_shapes`)."""
    report = compiled_shapes.validate(data, shapes)
    findings = []
    for rep in report.subjects(RDF.type, SH.ValidationReport):
        for result in report.objects(rep, SH.result):
            findings.append(
                Finding(
                    severity=report.value(result, SH.resultSeverity),
                    shape=report.value(result, SH.sourceShape),
                    focus=report.value(result, SH.focusNode),
                    path=report.value(result, SH.resultPath),
                    component=report.value(result, SH.sourceConstraintComponent),
                    message=str(report.value(result, SH.resultMessage) or ""),
                )
            )
    return findings


def violations(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == SH.Violation]


def is_corporate_body_rule(shapes: Graph, finding: Finding) -> bool:
    """The official rule that publishers come from the EU corporate-body table (national bodies are not)."""
    return (finding.shape, SH.node, MDR.CorporateBodyRestriction) in shapes


def official_violations(data: Graph, shapes: Graph) -> list[Finding]:
    return [f for f in violations(run(data, shapes)) if not is_corporate_body_rule(shapes, f)]


HIERARCHY = ROOT / "ontologies" / "hierarchy.ttl"


def record(text: str = RECORD) -> Graph:
    """The record, with the class hierarchy of the vocabularies in its graph, as every validation
    graph has it (kg.validation) and as the EU validator merges the imported ontologies."""
    graph = Graph().parse(data=text, format="turtle")
    graph.parse(HIERARCHY, format="turtle")
    return graph


def edited(
    text: str = RECORD,
    remove: tuple[tuple[Node | None, Node | None, Node | None], ...] = (),
    add: str = "",
) -> Graph:
    """The record with the triples matching each ``remove`` pattern removed and ``add`` (Turtle) added."""
    graph = record(text)
    for pattern in remove:
        assert list(graph.triples(pattern)), f"pattern {pattern} matches nothing in the record"
        graph.remove(pattern)
    if add:
        graph.parse(data=PREFIXES + add, format="turtle")
    return graph


def _fmt(findings: list[Finding]) -> str:
    return "\n".join(str(f) for f in findings) or "(none)"


# ---------------------------------------------------------------------------
# The shape files themselves
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHAPE_FILES))
def test_shape_file_parses(name: str) -> None:
    graph = _parse(SHAPE_FILES[name])
    assert len(graph) > 100
    assert set(graph.subjects(RDF.type, SH.NodeShape))


def _rules(graph: Graph) -> set[Node]:
    """Property shapes, and node shapes that carry constraints of their own and a target."""
    rules: set[Node] = set(graph.objects(None, SH.property)) | set(graph.subjects(RDF.type, SH.PropertyShape))
    for shape in graph.subjects(RDF.type, SH.NodeShape):
        targeted = (shape, SH.targetClass, None) in graph
        constrained = any((shape, p, None) in graph for p in (SH["class"], SH.datatype, SH["or"], SH.pattern))
        if targeted and constrained:
            rules.add(shape)
    return rules


@pytest.mark.parametrize("name", sorted(SHAPE_FILES))
def test_every_rule_has_an_iri_a_name_a_message_and_a_severity(name: str) -> None:
    graph = _parse(SHAPE_FILES[name])
    rules = _rules(graph)
    assert len(rules) > 20
    problems = []
    for rule in rules:
        if not isinstance(rule, URIRef) or not str(rule).startswith(str(KGS)):
            problems.append(f"{rule.n3()}: a rule needs an IRI in {KGS}")
            continue
        if graph.value(rule, SH.severity) not in (SH.Violation, SH.Warning, SH.Info):
            problems.append(f"{rule.n3()}: no severity")
        messages = list(graph.objects(rule, SH.message))
        if len(messages) != 1 or len(str(messages[0])) < 20:
            problems.append(f"{rule.n3()}: needs one plain-words sh:message")
        if (rule, SH.path, None) in graph and (rule, SH.name, None) not in graph:
            problems.append(f"{rule.n3()}: no sh:name")
    assert not problems, "\n".join(sorted(problems))


def test_rule_iris_are_not_shared_between_the_files() -> None:
    defined = {
        name: {s for s in _parse(path).subjects(RDF.type, None) if isinstance(s, URIRef)}
        for name, path in SHAPE_FILES.items()
    }
    shared = {s for s in defined["dcat-ap"] & defined["agency"] if str(s).startswith(str(KGS))}
    assert not shared


def test_the_shapes_use_no_sparql_constraints() -> None:
    graph = our_shapes()
    assert not list(graph.subject_objects(SH.sparql))
    assert not list(graph.subject_objects(SH.select))


# Official building blocks (referenced with sh:node) and ours that say the same or more.
NODE_COUNTERPARTS = {
    "DateOrDateTimeDataType_Shape": "TemporalValue",
    "DcatResource_Shape": "DcatResource",
    "IANARestrictionRegexURI": "IanaMediaType",
    "ChecksumAlgorithmRestriction": "SpdxChecksumAlgorithm",
    "FileTypeRestriction": "InFileTypeList",
    "FrequencyRestriction": "InFrequencyList",
    "LanguageRestriction": "InLanguageList",
    "AvailabilityRestriction": "InAvailabilityList",
    "StatusRestriction": "InDistributionStatusList",
    "LicenceTypeRestriction": "InLicenceTypeList",
}


def _local(node: Node) -> str:
    return str(node).rsplit("#", 1)[-1]


def _violation_rules(shapes: Graph) -> dict[tuple[Node, Node], list[Node]]:
    """(target class, path) -> the property shapes that report violations there."""
    rules: dict[tuple[Node, Node], list[Node]] = {}
    for node_shape, target in shapes.subject_objects(SH.targetClass):
        for rule in shapes.objects(node_shape, SH.property):
            if (shapes.value(rule, SH.severity) or SH.Violation) != SH.Violation:
                continue
            path = shapes.value(rule, SH.path)
            inverse = shapes.value(path, SH.inversePath)
            key = (target, ("^", inverse) if inverse is not None else path)
            rules.setdefault(key, []).append(rule)
    return rules


def _covers(ours: Graph, rule: Node, constraint: Node, value: Node) -> bool:
    """Does our ``rule`` enforce the official ``constraint`` with ``value``, or something stricter?"""
    mine = ours.value(rule, constraint)
    if constraint == SH.minCount:
        return mine is not None and mine.toPython() >= value.toPython()
    if constraint == SH.maxCount:
        return mine is not None and mine.toPython() <= value.toPython()
    if constraint == SH.nodeKind:
        kind = ours.value(rule, SH.nodeKind)
        if value == SH.Literal:
            return kind == SH.Literal or (rule, SH.datatype, None) in ours
        if value == SH.BlankNodeOrIRI:
            return kind in (SH.IRI, SH.BlankNode, SH.BlankNodeOrIRI) or (rule, SH["class"], None) in ours
        return kind == value
    if constraint == SH.node:
        return (rule, SH.node, KGS[NODE_COUNTERPARTS.get(_local(value), "-")]) in ours
    return (rule, constraint, value) in ours


def test_every_official_violation_rule_has_a_counterpart_in_ours() -> None:
    """shapes.ttl + range.ttl + mdr, read statically: same target and path, same or stricter constraint."""
    official, ours = official_all(), our_shapes()
    mine = _violation_rules(ours)
    constraints = {SH.minCount, SH.maxCount, SH.nodeKind, SH.datatype, SH["class"], SH.node, SH.hasValue}
    checked, missing = 0, []
    for (target, path), rules in _violation_rules(official).items():
        for rule in rules:
            for constraint, value in official.predicate_objects(rule):
                if constraint not in constraints:
                    continue
                checked += 1
                if not any(_covers(ours, m, constraint, value) for m in mine.get((target, path), [])):
                    missing.append(f"{target.n3()} {path}: {constraint.n3()} {value.n3()}")
    assert checked > 250
    assert not missing, "\n".join(sorted(missing))


def _superclasses(cls: Node) -> set[Node]:
    """The class and its superclasses, as ontologies/hierarchy.ttl states them (closed under
    transitivity, so one step is all)."""
    return {cls, *Graph().parse(HIERARCHY, format="turtle").objects(cls, RDFS.subClassOf)}


def _paths(shapes: Graph, path: Node) -> list[Node]:
    """A path's predicates: itself, or each branch of an ``sh:alternativePath`` (for per-value rules)."""
    alternatives = shapes.value(path, SH.alternativePath)
    return list(Collection(shapes, alternatives)) if alternatives is not None else [path]


# kinds of nodes each sh:nodeKind admits
_KINDS = {
    SH.IRI: {"iri"},
    SH.BlankNode: {"blank"},
    SH.Literal: {"literal"},
    SH.BlankNodeOrIRI: {"iri", "blank"},
    SH.BlankNodeOrLiteral: {"blank", "literal"},
    SH.IRIOrLiteral: {"iri", "literal"},
}


def _at_least_as_strict(theirs: Graph, rule: Node, constraint: Node, value: Node) -> bool:
    """Does the official ``rule`` report what our ``constraint`` with ``value`` reports (or more)?"""
    found = list(theirs.objects(rule, constraint))
    if constraint == SH.minCount:
        return any(v.toPython() >= value.toPython() for v in found)
    if constraint == SH.maxCount:
        return any(v.toPython() <= value.toPython() for v in found)
    if constraint == SH.nodeKind:
        admitted = [_KINDS[v] for v in found]
        if (rule, SH.datatype, None) in theirs:
            admitted.append({"literal"})
        return any(kinds <= _KINDS[value] for kinds in admitted)
    if constraint == SH["class"]:
        return any(value in _superclasses(v) for v in found)
    if constraint == SH.node:
        counterparts = {their for their, mine in NODE_COUNTERPARTS.items() if KGS[mine] == value}
        return any(_local(v) in counterparts for v in found)
    return value in found


def test_every_violation_rule_of_ours_is_one_of_the_official_shapes() -> None:
    """The converse of the test above, so that ours are never stricter: each constraint of each of
    our violation rules is reported as a violation by an official rule (DCAT-AP shapes.ttl +
    range.ttl + mdr, or CPOV) on the same path, for the same class or one of its superclasses, with
    the same or a stricter value. A rule on ``(a | b)`` is covered path by path."""
    ours, theirs = our_shapes(), official_all() + official_cpov()
    official = _violation_rules(theirs)
    constraints = {SH.minCount, SH.maxCount, SH.nodeKind, SH.datatype, SH["class"], SH.node, SH.hasValue}
    constraints |= {SH.uniqueLang, SH.pattern, SH["in"]}
    checked, stricter = 0, []
    for (target, path), rules in _violation_rules(ours).items():
        for rule in rules:
            for constraint, value in ours.predicate_objects(rule):
                if constraint not in constraints:
                    continue
                checked += 1
                for predicate in _paths(ours, path):
                    candidates = [
                        r for cls in _superclasses(target) for r in official.get((cls, predicate), [])
                    ]
                    if not any(_at_least_as_strict(theirs, r, constraint, value) for r in candidates):
                        where = f"{target.n3()} {predicate}"
                        stricter.append(f"{_local(rule)}: {where} {constraint.n3()} {value.n3()}")
    assert checked > 150
    assert not stricter, "violations of ours that no official rule reports:\n" + "\n".join(sorted(stricter))


def test_our_vocabulary_blocks_ask_for_the_official_schemes() -> None:
    official, ours = official_all(), our_shapes()
    for theirs_name, mine_name in NODE_COUNTERPARTS.items():
        theirs = next(s for s in official.subjects(RDF.type, SH.NodeShape) if _local(s) == theirs_name)
        scheme = {official.value(p, SH.hasValue) for p in official.objects(theirs, SH.property)} - {None}
        scheme_class = {official.value(p, SH["class"]) for p in official.objects(theirs, SH.property)} - {
            None
        }
        rules = list(ours.objects(KGS[mine_name], SH.property))
        assert scheme == {ours.value(p, SH.hasValue) for p in rules} - {None}, mine_name
        assert scheme_class <= {ours.value(p, SH["class"]) for p in rules}, mine_name
        if (theirs, SH.pattern, None) in official or (theirs, SH["class"], None) in official:
            assert (KGS[mine_name], SH.pattern, None) in ours, mine_name
        assert set(official.objects(theirs, SH["class"])) <= set(ours.objects(KGS[mine_name], SH["class"]))


# ---------------------------------------------------------------------------
# The conforming dataset record
# ---------------------------------------------------------------------------


def test_conforming_record_has_no_violations_and_no_warnings() -> None:
    findings = run(record(), our_shapes())
    assert not [f for f in findings if f.severity != SH.Info], _fmt(findings)


def test_conforming_record_passes_the_official_core_shapes() -> None:
    found = official_violations(record(), official_core())
    assert not found, _fmt(found)


def test_conforming_record_passes_the_official_vocabulary_shapes() -> None:
    shapes = official_all()
    findings = run(record(), shapes)
    assert not violations(findings), _fmt(findings)
    # Left: the corporate-body rule on the dataset's publisher (a warning), and nothing else.
    others = [f for f in findings if not is_corporate_body_rule(shapes, f)]
    assert not others, _fmt(others)


# ---------------------------------------------------------------------------
# One broken record per important rule
# ---------------------------------------------------------------------------

OTHER_THEME = """
ex:dataset\\/air-quality dcat:theme <http://eurovoc.europa.eu/100141> .
<http://eurovoc.europa.eu/100141> a skos:Concept ;
    skos:inScheme <http://eurovoc.europa.eu/100141-scheme> ;
    skos:prefLabel "environmental policy"@en .
"""

OTHER_FREQUENCY = """
ex:dataset\\/air-quality dct:accrualPeriodicity <http://purl.org/cld/freq/daily> .
<http://purl.org/cld/freq/daily> a skos:Concept, dct:Frequency ;
    skos:inScheme <http://purl.org/cld/freq/> ;
    skos:prefLabel "daily"@en .
"""

NEGATIVE_CASES = {
    # name: (remove, add, rule, severity)
    "dataset without title": (((DATASET, DCT.title, None),), "", "Dataset-title", SH.Violation),
    "dataset without description": (
        ((DATASET, DCT.description, None),),
        "",
        "Dataset-description",
        SH.Violation,
    ),
    "distribution without access URL": (
        ((CSV_DIST, DCAT.accessURL, None),),
        "",
        "Distribution-accessURL",
        SH.Violation,
    ),
    "access URL given as text": (
        ((JSON_DIST, DCAT.accessURL, None),),
        'ex:distribution\\/aq-json dcat:accessURL "https://env.example.org/air/api" .',
        "Distribution-accessURL",
        SH.Violation,
    ),
    "download URL given as text": (
        ((CSV_DIST, DCAT.downloadURL, None),),
        'ex:distribution\\/aq-csv dcat:downloadURL "https://env.example.org/air/data.csv" .',
        "Distribution-downloadURL",
        SH.Violation,
    ),
    # the official shapes attach their date check to a dataset's dates with sh:shape, which is not
    # SHACL and never runs: a date that is not one only warns (kg.mapping.repairs leaves it out)
    "issued is not a date": (
        ((DATASET, DCT.issued, None),),
        'ex:dataset\\/air-quality dct:issued "not a date" .',
        "Dataset-issued-date",
        SH.Warning,
    ),
    "issued is an impossible date": (
        ((DATASET, DCT.issued, None),),
        'ex:dataset\\/air-quality dct:issued "2024-13-45"^^xsd:date .',
        "Dataset-issued-date",
        SH.Warning,
    ),
    "two modification dates": (
        (),
        'ex:dataset\\/air-quality dct:modified "2024-07-01"^^xsd:date .',
        "Dataset-modified",
        SH.Violation,
    ),
    "year-only issued date is fine": (
        ((DATASET, DCT.issued, None),),
        'ex:dataset\\/air-quality dct:issued "2024"^^xsd:gYear .',
        None,
        None,
    ),
    "format as a plain literal": (
        ((CSV_DIST, DCT["format"], None),),
        'ex:distribution\\/aq-csv dct:format "CSV" .',
        "Distribution-format",
        SH.Violation,
    ),
    "format outside the file-type list": (
        ((CSV_DIST, DCT["format"], None),),
        """ex:distribution\\/aq-csv dct:format <https://formats.example.org/csv> .
        <https://formats.example.org/csv> a skos:Concept, dct:MediaTypeOrExtent ;
            skos:prefLabel "CSV"@en .""",
        "Distribution-format-vocabulary",
        SH.Violation,
    ),
    "frequency outside the frequency list": (
        ((DATASET, DCT.accrualPeriodicity, None),),
        OTHER_FREQUENCY,
        "Dataset-accrualPeriodicity-vocabulary",
        SH.Violation,
    ),
    "two frequencies": (
        (),
        "ex:dataset\\/air-quality dct:accrualPeriodicity freq:WEEKLY .\n"
        'freq:WEEKLY a skos:Concept, dct:Frequency ; skos:prefLabel "weekly"@en ;'
        " skos:inScheme <http://publications.europa.eu/resource/authority/frequency> .",
        "Dataset-accrualPeriodicity",
        SH.Violation,
    ),
    "language not described": (
        ((None, RDF.type, DCT.LinguisticSystem),),
        "",
        "Dataset-language",
        SH.Violation,
    ),
    "media type outside IANA": (
        ((CSV_DIST, DCAT.mediaType, None),),
        "ex:distribution\\/aq-csv dcat:mediaType <https://mime.example.org/text/csv> .\n"
        "<https://mime.example.org/text/csv> a dct:MediaType .",
        "Distribution-mediaType-vocabulary",
        SH.Violation,
    ),
    "byte size as text": (
        ((CSV_DIST, DCAT.byteSize, None),),
        'ex:distribution\\/aq-csv dcat:byteSize "12 kB" .',
        "Distribution-byteSize",
        SH.Violation,
    ),
    "checksum with the http SPDX algorithm": (
        ((None, SPDX.algorithm, None),),
        "ex:distribution\\/aq-csv\\#checksum spdx:algorithm spdx:checksumAlgorithm_sha1 .\n"
        "spdx:checksumAlgorithm_sha1 a spdx:ChecksumAlgorithm .",
        "Checksum-algorithm-vocabulary",
        SH.Violation,
    ),
    "availability outside its list": (
        ((None, SKOS.inScheme, URIRef(EU + "planned-availability")),),
        "",
        "Distribution-availability-vocabulary",
        SH.Violation,
    ),
    "publisher not typed as an agent": (
        ((AGENCY, RDF.type, None),),
        "",
        "Dataset-publisher",
        SH.Violation,
    ),
    "two publishers": (
        (),
        "ex:dataset\\/air-quality dct:publisher ex:agency\\/other .\n"
        'ex:agency\\/other a foaf:Agent ; foaf:name "Other agency" .',
        "Dataset-publisher",
        SH.Violation,
    ),
    "publisher without name": (((AGENCY, FOAF.name, None),), "", "Agent-name", SH.Violation),
    "contact point not a vCard": (
        ((CONTACT, RDF.type, None),),
        "",
        "Dataset-contactPoint",
        SH.Violation,
    ),
    "theme as text": (
        ((DATASET, DCAT.theme, None),),
        'ex:dataset\\/air-quality dcat:theme "Environment" .',
        "Dataset-theme",
        SH.Violation,
    ),
    "concept without label": (
        ((None, SKOS.prefLabel, Literal("Environment", lang="en")),),
        "",
        "Concept-prefLabel",
        SH.Violation,
    ),
    "identifier without notation": (
        ((None, SKOS.notation, None),),
        "",
        "Identifier-notation-recommended",
        SH.Warning,
    ),
    "two notations": (
        (),
        'ex:dataset\\/air-quality\\#identifier skos:notation "AQ-2024-bis" .',
        "Identifier-notation",
        SH.Violation,
    ),
    "period with a text start date": (
        ((None, DCAT.startDate, None),),
        'ex:dataset\\/air-quality\\#period dcat:startDate "early 2020" .',
        "PeriodOfTime-startDate-date",
        SH.Warning,
    ),
    "access URL as a described blank node": (
        ((JSON_DIST, DCAT.accessURL, None),),
        "ex:distribution\\/aq-json dcat:accessURL [ a foaf:Document ] .",
        "Distribution-accessURL-link",
        SH.Warning,
    ),
    # subclasses of the classes the rules ask for (ontologies/hierarchy.ttl is in the graph)
    "contact point typed vcard:Organization only": (
        ((None, RDF.type, VCARD.Kind),),
        "",
        None,
        None,
    ),
    "publisher typed foaf:Organization only": (
        ((AGENCY, RDF.type, FOAF.Agent),),
        "ex:agency\\/env a foaf:Organization .",
        None,
        None,
    ),
    "publisher typed org:Organization only": (
        ((AGENCY, RDF.type, FOAF.Agent),),
        "ex:agency\\/env a org:Organization .",
        None,
        None,
    ),
    # Recommended properties and vocabularies the official shapes only warn about: never a violation.
    "missing contact point": (
        ((DATASET, DCAT.contactPoint, None),),
        "",
        "Dataset-contactPoint-recommended",
        SH.Warning,
    ),
    "missing keywords": (((DATASET, DCAT.keyword, None),), "", "Dataset-keyword-recommended", SH.Warning),
    "missing theme": (((DATASET, DCAT.theme, None),), "", "Dataset-theme-recommended", SH.Warning),
    "theme outside the data-theme list": ((), OTHER_THEME, "Dataset-theme-vocabulary", SH.Warning),
    "distribution without licence": (
        ((JSON_DIST, DCT.license, None),),
        "",
        "Distribution-license-recommended",
        SH.Warning,
    ),
    "distribution without format": (
        ((JSON_DIST, DCT["format"], None),),
        "",
        "Distribution-format-recommended",
        SH.Warning,
    ),
    "access rights outside the access-right list": (
        ((DATASET, DCT.accessRights, None),),
        "ex:dataset\\/air-quality dct:accessRights <https://rights.example.org/open> .\n"
        '<https://rights.example.org/open> a dct:RightsStatement ; dct:description "Open to all." .',
        "Dataset-accessRights-vocabulary",
        SH.Warning,
    ),
    "contact e-mail as text": (
        ((None, VCARD.hasEmail, None),),
        'ex:dataset\\/air-quality\\#contact vcard:hasEmail "air@env.example.org" .',
        "ContactPoint-email",
        SH.Warning,
    ),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE_CASES))
def test_broken_record_is_reported_by_its_rule(case: str) -> None:
    remove, add, rule, severity = NEGATIVE_CASES[case]
    findings = run(edited(remove=remove, add=add), our_shapes())
    if rule is None:
        assert not violations(findings), _fmt(findings)
        return
    hits = [f for f in findings if f.shape == KGS[rule]]
    assert hits, f"expected {rule}; got:\n{_fmt(findings)}"
    assert {f.severity for f in hits} == {severity}, _fmt(hits)
    if severity != SH.Violation:
        assert not violations(findings), f"a {case!r} must not block publication:\n{_fmt(findings)}"


SERVICE_RECORD = (
    PREFIXES
    + """
ex:service\\/air-api a dcat:DataService ;
    dct:title "Air quality API"@en ;
    dcat:endpointURL <https://env.example.org/air/api> ;
    dcat:endpointDescription <https://env.example.org/air/api/openapi.json> ;
    dcat:servesDataset ex:dataset\\/air-quality ;
    dct:publisher ex:agency\\/env ;
    dct:conformsTo <https://spec.openapis.org/oas/v3.1.0> ;
    dcat:theme theme:ENVI ;
    dcat:keyword "air"@en ;
    dcat:contactPoint ex:service\\/air-api\\#contact .
ex:service\\/air-api\\#contact a vcard:Kind ;
    vcard:fn "API desk" ;
    vcard:hasEmail <mailto:api@env.example.org> .
<https://spec.openapis.org/oas/v3.1.0> a dct:Standard .
ex:dataset\\/air-quality a dcat:Dataset ;
    dct:title "Air quality measurements"@en ;
    dct:description "Hourly measurements of air pollutants."@en ;
    dct:publisher ex:agency\\/env ;
    dcat:contactPoint ex:service\\/air-api\\#contact ;
    dcat:keyword "air"@en ;
    dcat:theme theme:ENVI ;
    dct:spatial country:BEL ;
    dct:temporal ex:service\\/air-api\\#period ;
    dcat:distribution ex:distribution\\/aq-api .
ex:service\\/air-api\\#period a dct:PeriodOfTime ;
    dcat:startDate "2020"^^xsd:gYear ;
    dcat:endDate "2024-12"^^xsd:gYearMonth .
ex:distribution\\/aq-api a dcat:Distribution ;
    dct:description "Through the API."@en ;
    dcat:accessURL <https://env.example.org/air/api> ;
    dcat:accessService ex:service\\/air-api ;
    dct:format filetype:JSON ;
    dct:license licence:CC_BY_4_0 ;
    dcatap:availability avail:STABLE .
ex:agency\\/env a foaf:Agent ;
    foaf:name "Environment Agency"@en ;
    dct:type <http://purl.org/adms/publishertype/NationalAuthority> .
theme:ENVI a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/data-theme> ;
    skos:prefLabel "Environment"@en .
country:BEL a skos:Concept, dct:Location ;
    skos:inScheme <http://publications.europa.eu/resource/authority/country> ;
    skos:prefLabel "Belgium"@en .
filetype:JSON a skos:Concept, dct:MediaTypeOrExtent ;
    skos:inScheme <http://publications.europa.eu/resource/authority/file-type> ;
    skos:prefLabel "JSON"@en .
licence:CC_BY_4_0 a skos:Concept, dct:LicenseDocument ;
    skos:inScheme <http://publications.europa.eu/resource/authority/licence> ;
    skos:prefLabel "Creative Commons Attribution 4.0 International"@en ;
    dct:type <http://purl.org/adms/licencetype/Attribution> .
<http://purl.org/adms/licencetype/Attribution> a skos:Concept ;
    skos:inScheme <http://purl.org/adms/licencetype/1.0> ;
    skos:prefLabel "Attribution"@en .
avail:STABLE a skos:Concept ;
    skos:inScheme <http://publications.europa.eu/resource/authority/planned-availability> ;
    skos:prefLabel "stable"@en .
<http://purl.org/adms/publishertype/NationalAuthority> a skos:Concept ;
    skos:inScheme <http://purl.org/adms/publishertype/1.0> ;
    skos:prefLabel "National authority"@en .
<http://purl.org/adms/publishertype/1.0> a skos:ConceptScheme ;
    dct:title "Publisher type"@en .
"""
)
SERVICE = EX["service/air-api"]


def test_conforming_data_service_passes_ours_and_the_official_shapes() -> None:
    data = record(SERVICE_RECORD)
    findings = run(data, our_shapes())
    assert not [f for f in findings if f.severity != SH.Info], _fmt(findings)
    found = official_violations(data, official_all())
    assert not found, _fmt(found)


@pytest.mark.parametrize(
    ("remove", "add", "rule", "severity"),
    [
        (((SERVICE, DCAT.endpointURL, None),), "", "DataService-endpointURL", SH.Violation),
        (((SERVICE, DCT.title, None),), "", "DataService-title", SH.Violation),
        (((None, RDF.type, DCAT.Dataset),), "", "DataService-servesDataset", SH.Violation),
        (((None, RDF.type, DCAT.DataService),), "", "Distribution-accessService", SH.Violation),
        (
            ((SERVICE, DCAT.endpointDescription, None),),
            "",
            "DataService-endpointDescription-recommended",
            SH.Warning,
        ),
    ],
    ids=[
        "no endpoint URL",
        "no title",
        "served dataset untyped",
        "access service untyped",
        "no endpoint description",
    ],
)
def test_broken_data_service_is_reported_by_its_rule(
    remove: tuple, add: str, rule: str, severity: URIRef
) -> None:
    findings = run(edited(SERVICE_RECORD, remove=remove, add=add), our_shapes())
    hits = [f for f in findings if f.shape == KGS[rule]]
    assert hits, f"expected {rule}; got:\n{_fmt(findings)}"
    assert {f.severity for f in hits} == {severity}, _fmt(hits)


def test_messages_reach_the_report() -> None:
    findings = run(edited(remove=((DATASET, DCT.title, None),)), our_shapes())
    (hit,) = [f for f in findings if f.shape == KGS["Dataset-title"]]
    assert hit.message == "A dataset needs a title (dct:title), written as text."
    assert hit.focus == DATASET
    assert hit.path == DCT.title


# ---------------------------------------------------------------------------
# Ours are at least as strict as the official shapes
# ---------------------------------------------------------------------------

_SECOND_VALUE = {
    XSD.date: "2001-02-03",
    XSD.dateTime: "2001-02-03T04:05:06",
    XSD.gYear: "2001",
    XSD.nonNegativeInteger: "42",
    XSD.hexBinary: "00ff",
}


def _second(value: Literal) -> Literal:
    if value.datatype in _SECOND_VALUE:
        return Literal(_SECOND_VALUE[value.datatype], datatype=value.datatype)
    return Literal(f"{value} (second)", lang=value.language, datatype=value.datatype)


def _copy(graph: Graph, node: Node) -> tuple[Node, list[tuple[Node, Node, Node]]]:
    """A new node with the same description as ``node`` (one level deep)."""
    twin: Node = BNode() if isinstance(node, BNode) else URIRef(f"{node}-second")
    return twin, [(twin, p, o) for p, o in graph.predicate_objects(node)]


def variants(text: str) -> Iterator[tuple[str, Graph]]:
    """The record with one triple removed, corrupted or doubled, for every triple it has."""
    base = record(text)
    triples = sorted(base, key=lambda t: tuple(x.n3() for x in t))

    def changed(drop: tuple | None = None, extra: tuple = ()) -> Graph:
        graph = Graph()
        graph += base
        if drop is not None:
            graph.remove(drop)
        for triple in extra:
            graph.add(triple)
        return graph

    for triple in triples:
        s, p, o = triple
        label = f"{s.n3()} {p.n3()} {o.n3()}"
        yield f"remove {label}", changed(drop=triple)
        if p == RDF.type:
            continue
        if isinstance(o, Literal):
            yield f"as a link: {label}", changed(triple, ((s, p, URIRef("https://example.org/was-text")),))
            if o.datatype is not None:
                yield f"as plain text: {label}", changed(triple, ((s, p, Literal("not a value")),))
            yield f"second value: {label}", changed(extra=((s, p, _second(o)),))
        else:
            yield f"as text: {label}", changed(triple, ((s, p, Literal(str(o))),))
            yield f"undescribed: {label}", changed(triple, ((s, p, URIRef("https://example.org/unknown")),))
            twin, description = _copy(base, o)
            yield f"second value: {label}", changed(extra=((s, p, twin), *description))


def _containment(
    text: str, official: Graph, allowed: Callable[[Graph, Finding], bool] = lambda shapes, f: False
) -> tuple[int, list[str]]:
    checked, misses = 0, []
    ours = our_shapes()
    for name, graph in variants(text):
        checked += 1
        theirs = [f for f in official_violations(graph, official) if not allowed(official, f)]
        if not theirs:
            continue
        mine = {f.focus for f in violations(run(graph, ours))}
        missed = [f for f in theirs if f.focus not in mine]
        if missed:
            misses.append(f"{name}\n  official: {_fmt(missed)}")
    return checked, misses


@pytest.mark.slow
def test_ours_reject_every_dataset_variant_the_official_shapes_reject() -> None:
    checked, misses = _containment(RECORD, official_all())
    assert checked > 250
    assert not misses, f"{len(misses)} variants pass our shapes but not the official ones:\n" + "\n".join(
        misses
    )


# ---------------------------------------------------------------------------
# Agencies
# ---------------------------------------------------------------------------


def test_conforming_agency_has_no_violations_and_no_warnings() -> None:
    # the parent ministry is the record's context (described by its own record, where its findings
    # belong): an org:Organization, so a foaf:Agent, which warns here that it has no dct:type
    findings = [f for f in run(record(AGENCY_RECORD), our_shapes()) if f.focus != PARENT]
    assert not [f for f in findings if f.severity != SH.Info], _fmt(findings)


def test_conforming_agency_passes_the_official_shapes() -> None:
    data = record(AGENCY_RECORD)
    found = official_violations(data, official_all()) + violations(run(data, official_cpov()))
    assert not found, _fmt(found)


AGENCY_CASES = {
    "no preferred name": (((AGENCY, SKOS.prefLabel, None),), "", "Agency-prefLabel-recommended", SH.Warning),
    "preferred name as a link": (
        ((AGENCY, SKOS.prefLabel, None),),
        "ex:agency\\/env skos:prefLabel <https://names.example.org/env> .",
        "Agency-prefLabel",
        SH.Violation,
    ),
    "two names in one language": (
        (),
        'ex:agency\\/env skos:prefLabel "The Environment Agency"@en .',
        "Agency-prefLabel-uniqueLang",
        SH.Violation,
    ),
    "name without language": (
        ((AGENCY, SKOS.prefLabel, None),),
        'ex:agency\\/env skos:prefLabel "Environment Agency" .',
        "Agency-prefLabel-language",
        SH.Warning,
    ),
    "no foaf:name": (((AGENCY, FOAF.name, None),), "", "Agent-name", SH.Violation),
    "two parents": (
        (),
        "ex:agency\\/env org:unitOf ex:agency\\/other .\n"
        'ex:agency\\/other a org:Organization ; foaf:name "Other ministry"@en .',
        "Agency-parent",
        SH.Warning,
    ),
    "parent not an organisation": (
        ((PARENT, RDF.type, ORG.Organization),),
        "",
        "Agency-subOrganizationOf",
        SH.Violation,
    ),
    "identifier not typed": (((None, RDF.type, ADMS.Identifier),), "", "Agency-identifier", SH.Violation),
    "identifier without notation": (
        ((None, SKOS.notation, None),),
        "",
        "Identifier-notation-recommended",
        SH.Warning,
    ),
    "contact point only a vCard": (
        ((None, RDF.type, CPOV.ContactPoint),),
        "",
        "Agency-contactPoint",
        SH.Violation,
    ),
    "address not typed": (((None, RDF.type, LOCN.Address),), "", "Agency-address", SH.Violation),
    "address street as a link": (
        ((None, LOCN.thoroughfare, None),),
        "ex:agency\\/env\\#address locn:thoroughfare <https://streets.example.org/loi> .",
        "Address-text",
        SH.Violation,
    ),
    "jurisdiction not a location": (((None, RDF.type, DCT.Location),), "", "Agency-spatial", SH.Violation),
    "home page not a document": (((None, RDF.type, FOAF.Document),), "", "Agency-homepage", SH.Violation),
    "classification as text": (
        ((AGENCY, ORG.classification, None),),
        'ex:agency\\/env org:classification "executive agency" .',
        "Agency-classification-link",
        SH.Violation,
    ),
    "classification not a concept": (
        ((AGENCY, ORG.classification, None),),
        "ex:agency\\/env org:classification <https://codes.example.org/agency> .",
        "Agency-classification",
        SH.Warning,
    ),
    "unit of something that is not an organisation": (
        (),
        'ex:agency\\/unit a org:OrganizationalUnit, org:Organization ; skos:prefLabel "Air unit"@en ;\n'
        '    foaf:name "Air unit"@en ;\n'
        "    org:unitOf <https://elsewhere.example.org/thing> .",
        "Unit-unitOf",
        SH.Violation,
    ),
    "unit without its organisation": (
        (),
        'ex:agency\\/unit a org:OrganizationalUnit, org:Organization ; skos:prefLabel "Air unit"@en ;\n'
        '    foaf:name "Air unit"@en .',
        "Unit-parent-recommended",
        SH.Warning,
    ),
}


@pytest.mark.parametrize("case", sorted(AGENCY_CASES))
def test_broken_agency_is_reported_by_its_rule(case: str) -> None:
    remove, add, rule, severity = AGENCY_CASES[case]
    findings = run(edited(AGENCY_RECORD, remove=remove, add=add), our_shapes())
    hits = [f for f in findings if f.shape == KGS[rule]]
    assert hits, f"expected {rule}; got:\n{_fmt(findings)}"
    assert {f.severity for f in hits} == {severity}, _fmt(hits)
    if severity != SH.Violation:
        assert not violations(findings), _fmt(findings)


def _cpov_downgraded(shapes: Graph, finding: Finding) -> bool:
    """CPOV violations that our shapes deliberately report as warnings, or leave out (see shapes/agency.ttl).

    Language tags on names and address parts (rdf:langString) are a warning or an info; several
    alternative names (acronyms) or address parts in one language are allowed; classification and
    purpose codes that are not skos:Concept are a warning.
    """
    text_paths = (SKOS.prefLabel, SKOS.altLabel, DCT.description)
    on_text = finding.path in text_paths or str(finding.path or "").startswith(str(LOCN))
    if finding.component == SH.DatatypeConstraintComponent and on_text:
        return (finding.shape, SH.datatype, RDF.langString) in shapes
    if finding.component == SH.UniqueLangConstraintComponent:
        return finding.path not in (SKOS.prefLabel, DCT.description) and on_text
    return finding.component == SH.ClassConstraintComponent and finding.path in (
        ORG.classification,
        ORG.purpose,
    )


@pytest.mark.slow
def test_ours_reject_every_agency_variant_the_official_shapes_reject() -> None:
    official = Graph()
    official += official_all()
    official += official_cpov()
    checked, misses = _containment(AGENCY_RECORD, official, allowed=_cpov_downgraded)
    assert checked > 100
    assert not misses, f"{len(misses)} variants pass our shapes but not the official ones:\n" + "\n".join(
        misses
    )


def test_namespaces_used_here_are_the_project_ones() -> None:
    # The shapes speak about the terms the mapper writes (kg.vocab); a typo there would make a rule dead.
    graph = our_shapes()
    paths = {p for p in graph.objects(None, SH.path) if isinstance(p, URIRef)}
    for term in (
        DCAT.accessURL,
        DCT.title,
        DCATAP.availability,
        ADMS.identifier,
        VCARD.hasEmail,
        CPOV.contactPoint,
    ):
        assert term in paths
