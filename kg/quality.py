"""Metadata quality per dataset in the manner of data.europa.eu's MQA, published with W3C DQV.

data.europa.eu's Metadata Quality Assessment (MQA) scores each dataset on
indicators grouped in five dimensions derived from the FAIR principles, 405
points in all; this module computes the same indicators from the RDF of one
record (:class:`kg.mapping.mapped.MappedRecord`: a dataset with its distributions)
and its validation report, during ingest, and returns them as Data Quality
Vocabulary measurements, so that any SPARQL client can query them.

How each indicator is computed (``INDICATORS`` holds the same, and
``ontologies/quality.ttl`` defines each metric for people and machines):

* *dataset* indicators earn all their points when the dataset has the
  property (``dcat:keyword``, ``dcat:theme``, ``dct:spatial``, ``dct:temporal``,
  ``dct:accessRights``, ``dcat:contactPoint``, ``dct:publisher``);
* *distribution* indicators earn the share of the dataset's distributions
  that meet them (2 of 3 distributions with a format: 2/3 of 20 points), as
  the MQA does; a dataset without distributions earns none of them;
* the two dates count the dataset and its distributions together;
* "from a vocabulary" means an IRI of the EU authority table (file types,
  licences, access rights) or an IANA media type IRI; "non-proprietary" and
  "machine-readable" are the EU file types of ``NON_PROPRIETARY`` and
  ``MACHINE_READABLE`` below (our lists; a media type counts through the file
  type it matches);
* "DCAT-AP compliance" is our SHACL outcome: no violation-level result;
* the reachability of access and download URLs is **not assessed**: it needs
  an HTTP request per URL, which an ingest must not make (no network, and a
  catalogue service should not probe thousands of URLs). These 80 points are
  scored 0 and left out of the *assessable* maximum (325 points).

The rating uses data.europa.eu's bands (excellent from 351 of 405 points,
good from 221, sufficient from 121, else bad), applied to the points scaled
from the assessable maximum to 405, so that a dataset with every assessable
indicator met is excellent.

*What the graph holds is lean*: per dataset its total (``kgq:score``) and its points in
each of the five dimensions (``kgq:findabilityScore`` …), six measurements of three
triples each (``dqv:computedOn``, ``dqv:isMeasurementOf``, ``dqv:value``; the class
``dqv:QualityMeasurement`` follows from their domains and is not written). Measured at
100,000 datasets, one measurement per indicator plus percentage and rating, typed, made
the quality graph 96 triples a dataset, twice the catalogue's own 47, and every query of
the default graph waded through them. The points per indicator are kept beside the
store, in the derived data of each generation (:mod:`kg.derived.quality`, from
:func:`summary_line`), where ``/quality`` and the dataset pages read them; the
percentage and the rating follow from the score (:func:`percentage`, :func:`rating`).

Measurement IRIs are fragments of the dataset's IRI (``…/dataset/x#quality-score``),
so re-ingesting a source gives the same IRIs and they stay with their record.

>>> MAX_POINTS, ASSESSABLE_POINTS, rating(325), rating(120)
(405, 325, 'excellent', 'sufficient')
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Protocol

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.iris import Minter, short_hash
from kg.mapping import eu_vocabularies
from kg.mapping.mapped import MappedRecord, Triple
from kg.mapping.ntriples import nt_line
from kg.validation.report import SEVERITIES, RecordReport
from kg.vocab import (
    ACCESS_RIGHT,
    DCAT,
    DCT,
    DQV,
    FILE_TYPE,
    IANA_MEDIA_TYPES,
    KGO,
    LICENCE,
    QUALITY,
    RDF,
    SH,
    XSD,
)

DIMENSIONS = ("findability", "accessibility", "interoperability", "reusability", "contextuality")
# data.europa.eu's rating bands, lowest points of each (of 405).
RATINGS = (("excellent", 351), ("good", 221), ("sufficient", 121), ("bad", 0))
MAX_RULE_TALLIES = 500  # per ingest run: the most frequent rules (mapping notes quote their values)


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# EU file types (codes) whose specification is open and free to implement.
NON_PROPRIETARY = _codes(
    """CSV TSV TXT JSON JSON_LD GEOJSON XML RDF RDF_XML RDF_TURTLE RDF_N_TRIPLES RDF_N_QUADS
    RDF_TRIG RDFA N3 OWL SPARQLQ SPARQLQRES ODS ODT ODP PDF HTML XHTML ZIP GZIP TAR TAR_GZ BZIP2
    KML KMZ GML GPKG NETCDF HDF PARQUET YAML ICS ATOM RSS GTFS SDMX PNG JPEG JPEG2000 TIFF GEOTIFF
    SVG LAS LAZ WMS_SRVC WFS_SRVC WCS_SRVC WMTS_SRVC"""
)
# EU file types (codes) that hold structured data a program can read without a person's help.
MACHINE_READABLE = _codes(
    """CSV TSV JSON JSON_LD GEOJSON XML RDF RDF_XML RDF_TURTLE RDF_N_TRIPLES RDF_N_QUADS RDF_TRIG
    RDFA N3 OWL SPARQLQRES XLS XLSX XLSM ODS SHP KML KMZ GML GPKG GDB GEOTIFF NETCDF HDF PARQUET
    SQL YAML ICS ATOM RSS GTFS SDMX DBF MDB LAS LAZ DXF WFS_SRVC WCS_SRVC"""
)

Props = dict[Node, list[Node]]


@dataclass(frozen=True)
class Facts:
    """What the indicators look at, read once from a record's triples."""

    dataset: Props
    distributions: list[Props]
    compliant: bool


@dataclass(frozen=True)
class Indicator:
    """One MQA indicator: its metric (``kgq:{name}``), dimension, points and how we compute it."""

    name: str
    dimension: str
    points: int
    label: str
    how: str
    share: Callable[[Facts], float] | None  # None: not assessed

    @property
    def iri(self) -> URIRef:
        return QUALITY[self.name]

    @property
    def assessed(self) -> bool:
        return self.share is not None


def _has(prop: Node) -> Callable[[Facts], float]:
    return lambda f: 1.0 if f.dataset.get(prop) else 0.0


def _each(test: Callable[[Props], bool]) -> Callable[[Facts], float]:
    """The share of the dataset's distributions that pass ``test`` (0 without distributions)."""
    return lambda f: sum(map(test, f.distributions)) / len(f.distributions) if f.distributions else 0.0


def _dated(prop: Node) -> Callable[[Facts], float]:
    def share(f: Facts) -> float:
        things = [f.dataset, *f.distributions]
        return sum(1 for t in things if t.get(prop)) / len(things)

    return share


def _in(namespace: object, values: Iterable[Node]) -> bool:
    return any(isinstance(v, URIRef) and str(v).startswith(str(namespace)) for v in values)


def _is_media_type(value: Node) -> bool:
    text = str(value)
    return isinstance(value, URIRef) and text.replace("http://", "https://", 1).startswith(IANA_MEDIA_TYPES)


def _aligned(d: Props) -> bool:
    formats, media = d.get(DCT.format, []), d.get(DCAT.mediaType, [])
    return (
        bool(formats or media)
        and all(_in(FILE_TYPE, [f]) for f in formats)
        and all(map(_is_media_type, media))
    )


def file_types(d: Props) -> set[str]:
    """EU file-type codes of a distribution, from its formats and media types."""
    codes = set()
    for value in d.get(DCT.format, []) + d.get(DCAT.mediaType, []):
        iri = str(value) if _in(FILE_TYPE, [value]) else eu_vocabularies.match_format(str(value))
        if iri:
            codes.add(iri.rsplit("/", 1)[-1])
    return codes


# fmt: off
INDICATORS: tuple[Indicator, ...] = (
    Indicator("keywordAvailability", "findability", 30, "Keywords",
              "the dataset has at least one dcat:keyword", _has(DCAT.keyword)),
    Indicator("categoryAvailability", "findability", 30, "Categories",
              "the dataset has at least one dcat:theme", _has(DCAT.theme)),
    Indicator("spatialAvailability", "findability", 20, "Geo search",
              "the dataset has a dct:spatial coverage", _has(DCT.spatial)),
    Indicator("temporalAvailability", "findability", 20, "Time-based search",
              "the dataset has a dct:temporal coverage", _has(DCT.temporal)),
    Indicator("accessUrlStatusCode", "accessibility", 50, "Access URL reachable",
              "not assessed: needs an HTTP request per dcat:accessURL", None),
    Indicator("downloadUrlAvailability", "accessibility", 20, "Download URL",
              "share of distributions with a dcat:downloadURL",
              _each(lambda d: bool(d.get(DCAT.downloadURL)))),
    Indicator("downloadUrlStatusCode", "accessibility", 30, "Download URL reachable",
              "not assessed: needs an HTTP request per dcat:downloadURL", None),
    Indicator("formatAvailability", "interoperability", 20, "Format",
              "share of distributions with a dct:format", _each(lambda d: bool(d.get(DCT.format)))),
    Indicator("mediaTypeAvailability", "interoperability", 10, "Media type",
              "share of distributions with a dcat:mediaType", _each(lambda d: bool(d.get(DCAT.mediaType)))),
    Indicator("formatMediaTypeVocabularyAlignment", "interoperability", 10, "Format from a vocabulary",
              "share of distributions with a format or media type, all of them EU file types or IANA "
              "media types", _each(_aligned)),
    Indicator("formatMediaTypeNonProprietary", "interoperability", 20, "Non-proprietary format",
              "share of distributions with a file type of our non-proprietary list",
              _each(lambda d: bool(file_types(d) & NON_PROPRIETARY))),
    Indicator("formatMediaTypeMachineInterpretable", "interoperability", 20, "Machine-readable format",
              "share of distributions with a file type of our machine-readable list",
              _each(lambda d: bool(file_types(d) & MACHINE_READABLE))),
    Indicator("dcatApCompliance", "interoperability", 30, "DCAT-AP compliance",
              "the record has no violation of our DCAT-AP 3 SHACL shapes", lambda f: float(f.compliant)),
    Indicator("licenceAvailability", "reusability", 20, "Licence information",
              "share of distributions with a dct:license", _each(lambda d: bool(d.get(DCT.license)))),
    Indicator("knownLicence", "reusability", 10, "Licence vocabulary",
              "share of distributions whose licence is in the EU licence table",
              _each(lambda d: _in(LICENCE, d.get(DCT.license, [])))),
    Indicator("accessRightsAvailability", "reusability", 10, "Access restrictions",
              "the dataset has dct:accessRights", _has(DCT.accessRights)),
    Indicator("accessRightsVocabularyAlignment", "reusability", 5, "Access restrictions vocabulary",
              "the dataset's dct:accessRights is in the EU access-right table",
              lambda f: float(_in(ACCESS_RIGHT, f.dataset.get(DCT.accessRights, [])))),
    Indicator("contactPointAvailability", "reusability", 20, "Contact point",
              "the dataset has a dcat:contactPoint", _has(DCAT.contactPoint)),
    Indicator("publisherAvailability", "reusability", 10, "Publisher",
              "the dataset has a dct:publisher", _has(DCT.publisher)),
    Indicator("rightsAvailability", "contextuality", 5, "Rights",
              "share of distributions with dct:rights", _each(lambda d: bool(d.get(DCT.rights)))),
    Indicator("byteSizeAvailability", "contextuality", 5, "File size",
              "share of distributions with dcat:byteSize", _each(lambda d: bool(d.get(DCAT.byteSize)))),
    Indicator("dateIssuedAvailability", "contextuality", 5, "Date of issue",
              "share of the dataset and its distributions with dct:issued", _dated(DCT.issued)),
    Indicator("dateModifiedAvailability", "contextuality", 5, "Modification date",
              "share of the dataset and its distributions with dct:modified", _dated(DCT.modified)),
)
# fmt: on
BY_NAME = {i.name: i for i in INDICATORS}
ASSESSED = tuple(i for i in INDICATORS if i.assessed)  # the order of a summary line's points
MAX_POINTS = sum(i.points for i in INDICATORS)
ASSESSABLE_POINTS = sum(i.points for i in ASSESSED)
# the metric of a dataset's points in each dimension (ontologies/quality.ttl)
DIMENSION_METRICS = {dim: f"{dim}Score" for dim in DIMENSIONS}


def rating(points: float, assessable: int = ASSESSABLE_POINTS) -> str:
    """data.europa.eu's rating of ``points`` scored out of ``assessable``, scaled to 405."""
    return next(name for name, low in RATINGS if points * MAX_POINTS >= low * assessable)


def percentage(points: float) -> float:
    """``points`` as a percentage of the assessable maximum (2 decimals)."""
    return round(100 * points / ASSESSABLE_POINTS, 2)


def facts(record: MappedRecord, compliant: bool) -> Facts:
    """The dataset's and its distributions' properties, from the record's triples."""
    by_subject: dict[Node, Props] = {}
    for s, p, o in record.triples:
        by_subject.setdefault(s, {}).setdefault(p, []).append(o)
    dataset = by_subject.get(URIRef(record.key), {})
    distributions = [by_subject.get(d, {}) for d in dict.fromkeys(dataset.get(DCAT.distribution, []))]
    return Facts(dataset, distributions, compliant)


def score(found: Facts) -> dict[str, float]:
    """Points per assessed indicator (rounded to 2 decimals)."""
    return {i.name: round(i.points * i.share(found), 2) for i in INDICATORS if i.share is not None}


def measurement_iri(dataset: str, name: str) -> str:
    """``{dataset}#quality-{name}``; a dataset IRI that has a fragment gets ``-quality-{name}`` on it."""
    if "#" in dataset:
        return f"{dataset}-quality-{name}"
    return Minter.part(dataset, f"quality-{name}")


def _decimal(value: float) -> Literal:
    return _decimal_literal(f"{value:.2f}")


@lru_cache(maxsize=4096)
def _decimal_literal(text: str) -> Literal:
    """Made once per value (a Literal parses its value): 24 measurements a dataset, few values."""
    return Literal(Decimal(text), datatype=XSD.decimal)


def _measurement(dataset: URIRef, metric: str, value: Literal) -> list[Triple]:
    node = URIRef(measurement_iri(str(dataset), metric))
    computed_on, measure_of, has_value = _DQV_TERMS
    return [(node, computed_on, dataset), (node, measure_of, _metric(metric)), (node, has_value, value)]


# looked up once: a namespace's attribute costs a Python call, 60,000 times per 10,000 datasets
_DQV_TERMS = (DQV.computedOn, DQV.isMeasurementOf, DQV.value)


@cache
def _metric(name: str) -> URIRef:
    return QUALITY[name]


def assess(record: MappedRecord, report: RecordReport) -> dict[str, float] | None:
    """Points per assessed indicator of a dataset record; None for other records (agencies,
    services) and for a dataset whose subject is a blank node (no IRI to measure)."""
    if record.kind != "dataset" or not record.key.startswith(("http://", "https://", "urn:")):
        return None
    return score(facts(record, report.publishable))


def dimension_points(points: Mapping[str, float]) -> dict[str, float]:
    """A dataset's points in each dimension, from its points per indicator."""
    sums = dict.fromkeys(DIMENSIONS, 0.0)
    for name, value in points.items():
        sums[BY_NAME[name].dimension] += value
    return {dim: round(value, 2) for dim, value in sums.items()}


def measurement_triples(dataset: str, points: Mapping[str, float]) -> list[Triple]:
    """The lean DQV of a dataset (see the module docstring): its score and its five dimension scores."""
    node = URIRef(dataset)
    out = _measurement(node, "score", _decimal(sum(points.values())))
    for dim, value in dimension_points(points).items():
        out += _measurement(node, DIMENSION_METRICS[dim], _decimal(value))
    return out


def measure(record: MappedRecord, report: RecordReport) -> list[Triple]:
    """The DQV measurements of a dataset record: its score and its points in each dimension.
    Other records (agencies, services, a dataset whose subject is a blank node) give none."""
    points = assess(record, report)
    return [] if points is None else measurement_triples(record.key, points)


def summary_line(dataset: str, points: Mapping[str, float]) -> str:
    """One JSON line with a dataset's points per assessed indicator (in :data:`ASSESSED` order), which
    the ingest hands to the derived data (:mod:`kg.derived.quality`) instead of the graph."""
    return json.dumps({"d": dataset, "p": [points[i.name] for i in ASSESSED]}, ensure_ascii=False) + "\n"


def quality_texts(record: MappedRecord, report: RecordReport) -> tuple[str, str]:
    """What the ingest writes of a record's quality, computed once: the measurements as N-Triples
    (for the quality graph) and its :func:`summary_line` (for the derived data); empty for a record
    that is not measured."""
    points = assess(record, report)
    if points is None:
        return "", ""
    return "".join(map(nt_line, measurement_triples(record.key, points))), summary_line(record.key, points)


class HasRules(Protocol):
    """An ingest summary (:class:`kg.ingest.summary.IngestSummary`): results per (severity, rule, message)."""

    rules: Counter


SEVERITY_IRIS = {name: iri for iri, name in SEVERITIES.items()}


def rule_counts_triples(summary: HasRules, run_iri: str) -> list[Triple]:
    """How many results each rule gave in one ingest run, attached to the run (provenance graph).

    One ``dqv:QualityMeasurement`` of ``kgq:validationResults`` per (severity, rule, message),
    computed on the run, with the rule (``kgo:rule``: the shape's IRI, else a name or path),
    ``sh:resultSeverity`` and ``sh:resultMessage``. Results of every record are counted,
    published and quarantined; only the ``MAX_RULE_TALLIES`` most frequent are kept.
    """
    run = URIRef(run_iri)
    ranked = sorted(summary.rules.items(), key=lambda item: (-item[1], item[0]))[:MAX_RULE_TALLIES]
    out: list[Triple] = []
    for (severity, rule, message), count in ranked:
        node = URIRef(Minter.part(run_iri, f"rule-{short_hash(f'{severity} {rule} {message}')}"))
        is_iri = rule.startswith(("http://", "https://", "urn:"))
        out += [
            (node, RDF.type, DQV.QualityMeasurement),
            (node, DQV.computedOn, run),
            (node, DQV.isMeasurementOf, QUALITY.validationResults),
            (node, DQV.value, Literal(count, datatype=XSD.integer)),
            (node, SH.resultSeverity, SEVERITY_IRIS.get(severity, SH.Info)),
            (node, SH.resultMessage, Literal(message)),
            (node, KGO.rule, URIRef(rule) if is_iri else Literal(rule or "unnamed")),
        ]
    return out
