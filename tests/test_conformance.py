"""The exported catalogue (`kg export --format ttl`) meets the official DCAT-AP 3.0.1 shapes.

For each source — the bundled CSV sample, the bundled data.json sample, every file of
../shared/data/samples/ (each as its own source) — and for all of them together in one store:
ingest, export the catalogue, parse it with rdflib and run pyshacl (inference "none") with

* shapes.ttl + range.ttl: zero sh:Violation (so the export must carry the descriptions of the
  vocabulary terms it uses);
* mdr-vocabularies.shape.ttl: zero sh:Violation, apart from the corporate-body rule on dct:publisher
  (national and local agencies are not in the EU corporate-body table), as the README of
  ../shared/data/dcat-ap-shapes sets.

Only the top-level results of a report count (``report sh:result r``). The export must not be
empty: the catalogue with its title, description and publisher, and exactly the datasets that
were read and not quarantined. Quarantine is pinned per known sample file, so that a mapping
mistake cannot hide behind it: only records whose source really breaks DCAT-AP may be held back.

The official files and the real samples are test data read from ../shared; without them the
tests are skipped with a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.catalog import export
from kg.factory import store_for
from kg.ingest.run import ingest
from kg.ingest.summary import IngestSummary
from kg.iris import Minter
from kg.mapping import map_record
from kg.readers import read_source
from kg.records import DatasetRecord, RdfRecord
from kg.settings import load_settings
from kg.vocab import DCAT, DCT, FOAF

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OFFICIAL = SHARED / "dcat-ap-shapes"
SAMPLES = SHARED / "samples"
BASE = "http://kg.test/"
MDR = Namespace("http://data.europa.eu/r5r#")

BUNDLED = {
    "sample-csv": ROOT / "kg" / "sample" / "csv",
    "sample-data.json": ROOT / "kg" / "sample" / "data.json",
}
SHARED_FILES = (
    {p.name: p for p in sorted(SAMPLES.iterdir()) if p.is_file() and p.suffix != ".md"}
    if SAMPLES.is_dir()
    else {}
)
ALL = "all-together"
CASES = [*BUNDLED, *SHARED_FILES, ALL]

KNOWN_SAMPLES = {  # the files of ../shared/data/samples/SOURCES.md, whose outcome is pinned below
    "usda.gov.data.json",
    "collection-2-parent-4-children.data.json",
    "ckan_full_dataset_dcat_ap.json",
    "ckan_dataset_multilingual.json",
    "data.gov.hk.package_show.json",
    "dataset_gob_es.ttl",
    "dataset_sweden.rdf",
}
# Records held back per sample file, because the file itself breaks DCAT-AP 3.0.1 even after the
# repairs (kg.mapping.repairs) and with its invalid optional values left out. Every other known sample, and
# the bundled ones, must be published in full.
QUARANTINED = {
    # datos.gob.es is published in full: its access URL, language and byte size are repaired, its
    # untyped publisher, theme and format are left out (kept in the report).
    # The Swedish dataset's distribution has two formats: a cardinality rule, which leaving a value
    # out cannot mend. (Its catalogue is published: its dates are typed, its home page a link.)
    "dataset_sweden.rdf": {"dataset": 1},
}


# A known failure outside kg/mapping/ and kg/catalog.py, matched exactly (anything else fails).


@dataclass(frozen=True)
class Result:
    focus: Node
    path: Node | None
    message: str
    value: Node | None
    shape: Node | None
    component: Node | None

    def __str__(self) -> str:
        value = f" (value {self.value})" if self.value is not None else ""
        return f"{self.focus} {self.path}: {self.message}{value}"


@dataclass
class Case:
    name: str
    sources: dict[str, Path]
    summaries: dict[str, IngestSummary] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    expected: dict[str, set[str]] = field(default_factory=dict)  # source -> dataset IRIs
    graph: Graph = field(default_factory=Graph)

    @property
    def expected_datasets(self) -> set[str]:
        return set().union(*self.expected.values())

    def quarantined(self, kind: str) -> int:
        return sum(r.kind == kind for s in self.summaries.values() for r in s.quarantined_reports)


# ---------------------------------------------------------------- shapes


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found: the official DCAT-AP shapes come with ../shared/data; skipped")


@pytest.fixture(scope="session")
def core_shapes() -> Graph:
    """shapes.ttl + range.ttl, parsed once."""
    _need(OFFICIAL / "shapes.ttl")
    graph = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        graph.parse(OFFICIAL / name, format="turtle")
    return graph


@pytest.fixture(scope="session")
def mdr_shapes() -> Graph:
    _need(OFFICIAL / "mdr-vocabularies.shape.ttl")
    return Graph().parse(OFFICIAL / "mdr-vocabularies.shape.ttl", format="turtle")


def violations(data: Graph, shapes: Graph) -> list[Result]:
    """The top-level sh:Violation results (nested sh:detail results are left out)."""
    _conforms, report, _text = validate(data, shacl_graph=shapes, inference="none")
    found = []
    for rep in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(rep, SH.result):
            if report.value(r, SH.resultSeverity) != SH.Violation:
                continue
            found.append(
                Result(
                    focus=report.value(r, SH.focusNode),
                    path=report.value(r, SH.resultPath),
                    message=str(report.value(r, SH.resultMessage) or ""),
                    value=report.value(r, SH.value),
                    shape=report.value(r, SH.sourceShape),
                    component=report.value(r, SH.sourceConstraintComponent),
                )
            )
    return found


def is_corporate_body_rule(shapes: Graph, result: Result) -> bool:
    """The mdr rule that a publisher is a body of the EU corporate-body table, and nothing else.

    The property shape on dct:publisher that names ``:CorporateBodyRestriction`` with sh:node,
    failed through its sh:node constraint (not, say, through its sh:nodeKind sh:IRI).
    """
    return (
        result.path == DCT.publisher
        and result.component == SH.NodeConstraintComponent
        and (result.shape, SH.node, MDR.CorporateBodyRestriction) in shapes
        and (result.shape, SH.path, DCT.publisher) in shapes
    )


def listing(results: list[Result], limit: int = 40) -> str:
    lines = [f"  - {r}" for r in results[:limit]]
    if len(results) > limit:
        lines.append(f"  … and {len(results) - limit} more")
    return "\n".join(lines)


# ---------------------------------------------------------------- ingest + export


def _expected_datasets(path: Path, summary: IngestSummary) -> set[str]:
    """IRIs of the dataset records the source holds, less the quarantined ones."""
    iris = Minter(BASE)
    keys = set()
    for record in read_source(str(path)):
        if isinstance(record, DatasetRecord) or (isinstance(record, RdfRecord) and record.kind == "dataset"):
            keys.add(map_record(record, iris).key)
    held_back = {r.key for r in summary.quarantined_reports}
    return {k for k in keys - held_back if k.startswith(("http://", "https://"))}


def _print_quarantine(source: str, summary: IngestSummary) -> None:
    print(
        f"\n{source}: read {summary.read}, published {summary.published}, quarantined {summary.quarantined}"
    )
    for report in summary.quarantined_reports:
        print(f"  quarantined {report.kind} {report.key} ({report.origin})")
        for f in report.findings:
            if f.severity == "violation":
                print(f"    - {f.focus} {f.path}: {f.message} [{f.value}]")


@pytest.fixture(scope="module", params=CASES)
def case(request, tmp_path_factory, core_shapes) -> Case:
    """One source (or all of them) ingested into a fresh store and exported as Turtle.

    ``core_shapes`` is asked for first so that, without ../shared, nothing is ingested in vain.
    """
    name = request.param
    sources = {**BUNDLED, **SHARED_FILES} if name == ALL else {name: {**BUNDLED, **SHARED_FILES}[name]}
    tmp = tmp_path_factory.mktemp("conformance")
    settings = load_settings(store=tmp / "store", base_uri=BASE, workers=1)
    result = Case(name, sources)
    for source, path in sources.items():
        try:
            summary = ingest(str(path), settings=settings, source=source)
        except Exception as exc:  # the requirement is "never crash": reported by a test of its own
            result.errors[source] = f"{type(exc).__name__}: {exc}"
            continue
        result.summaries[source] = summary
        result.expected[source] = _expected_datasets(path, summary)
        _print_quarantine(source, summary)
    if result.summaries:
        out = tmp / "catalog.ttl"
        export(store_for(settings), settings, str(out), fmt="ttl")
        result.graph.parse(out, format="turtle")
    return result


def _ingested(case: Case) -> None:
    if not case.summaries:
        pytest.skip(f"{case.name}: nothing was ingested (see test_ingest_never_crashes)")


# ---------------------------------------------------------------- tests


def test_corporate_body_rule_is_recognised(mdr_shapes):
    """The exclusion below matches the corporate-body rule on a national publisher, and only it."""
    data = Graph().parse(
        format="turtle",
        data="""
        @prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
        @prefix foaf: <http://xmlns.com/foaf/0.1/> .
        <http://kg.test/dataset/d> a dcat:Dataset ;
            dct:publisher <http://kg.test/agency/a> , [ a foaf:Agent ] .
        <http://kg.test/agency/a> a foaf:Agent .
        """,
    )
    _conforms, report, _text = validate(data, shacl_graph=mdr_shapes, inference="none")
    results = [
        Result(
            report.value(r, SH.focusNode),
            report.value(r, SH.resultPath),
            str(report.value(r, SH.resultMessage)),
            report.value(r, SH.value),
            report.value(r, SH.sourceShape),
            report.value(r, SH.sourceConstraintComponent),
        )
        for rep in report.subjects(RDF.type, SH.ValidationReport)
        for r in report.objects(rep, SH.result)
    ]
    by_component = {r.component: r for r in results if r.path == DCT.publisher}
    # the national agency and the blank node are both outside the corporate-body table: excluded
    assert is_corporate_body_rule(mdr_shapes, by_component[SH.NodeConstraintComponent])
    # the blank node also breaks the same property shape's sh:nodeKind sh:IRI: not excluded
    assert not is_corporate_body_rule(mdr_shapes, by_component[SH.NodeKindConstraintComponent])


def test_ingest_never_crashes(case):
    assert not case.errors, f"{case.name}: ingest failed:\n" + "\n".join(
        f"  - {source}: {error}" for source, error in case.errors.items()
    )


def test_quarantine_only_where_the_source_breaks_dcat_ap(case):
    _ingested(case)
    for source, summary in case.summaries.items():
        if source not in BUNDLED and source not in KNOWN_SAMPLES:
            continue  # a sample added to ../shared later: its quarantine is printed, not pinned
        held = {}
        for report in summary.quarantined_reports:
            held[report.kind] = held.get(report.kind, 0) + 1
        details = "\n".join(
            f"  - {r.kind} {r.key}:\n"
            + "\n".join(
                f"      {f.focus} {f.path}: {f.message} [{f.value}]"
                for f in r.findings
                if f.severity == "violation"
            )
            for r in summary.quarantined_reports
        )
        expected = QUARANTINED.get(source, {})
        if case.name == ALL and source == "sample-data.json":
            # the same 44 datasets as sample-csv, ingested first: held back as duplicates, not merged
            expected = {"dataset": 44}
            assert all(
                any(f.rule == "kgo:duplicate" for f in r.findings) for r in summary.quarantined_reports
            )
        assert held == expected, f"{source}: unexpected quarantine {held}:\n{details}"


def test_export_is_a_catalogue_of_the_published_datasets(case):
    _ingested(case)
    g = case.graph
    catalog = URIRef(Minter(BASE).catalog())
    assert (catalog, RDF.type, DCAT.Catalog) in g, f"{case.name}: no dcat:Catalog {catalog} in the export"
    for prop in (DCT.title, DCT.description, DCT.publisher):
        assert g.value(catalog, prop) is not None, f"{case.name}: the catalogue has no {prop}"
    assert g.value(g.value(catalog, DCT.publisher), FOAF.name) is not None, (
        "the catalogue's publisher has no name"
    )
    datasets = {str(d) for d in g.subjects(RDF.type, DCAT.Dataset)}
    if not case.quarantined("dataset"):
        assert datasets, f"{case.name}: no dcat:Dataset in the export"
    expected = case.expected_datasets
    assert datasets == expected, (
        f"{case.name}: {len(datasets)} datasets exported, {len(expected)} expected; "
        f"missing {sorted(expected - datasets)}, extra {sorted(datasets - expected)}"
    )
    linked = {str(d) for d in g.objects(catalog, DCAT.dataset)}
    assert linked == datasets, (
        f"{case.name}: datasets not linked from the catalogue: {sorted(datasets ^ linked)}"
    )


def test_official_shapes_and_ranges(case, core_shapes):
    _ingested(case)
    found = violations(case.graph, core_shapes)
    assert not found, (
        f"{case.name}: {len(found)} sh:Violation from shapes.ttl + range.ttl "
        f"(focus node, path: message):\n{listing(found)}"
    )


def test_official_controlled_vocabularies(case, mdr_shapes):
    _ingested(case)
    found = [r for r in violations(case.graph, mdr_shapes) if not is_corporate_body_rule(mdr_shapes, r)]
    assert not found, (
        f"{case.name}: {len(found)} sh:Violation from mdr-vocabularies.shape.ttl "
        f"(corporate-body rule on dct:publisher excluded; focus node, path: message):\n{listing(found)}"
    )
