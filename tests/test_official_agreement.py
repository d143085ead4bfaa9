"""Our publish / quarantine split against the official validators, record by record.

The product rule: a record that the official DCAT-AP 3.0.1 shapes (and, for agencies, the official
CPOV shapes) accept, evaluated as the EU validator does (:mod:`official`), is published by us. Our
shapes may add warnings, never a violation the official ones do not have.

For every file of ../shared/data/samples and ../shared/data/real-portals and each of our two SHACL
engines (``KG_VALIDATOR``: rudof, the ingest's default, and pyshacl): the pipeline runs without
storing (:func:`kg.readers.read_source`, then :func:`kg.ingest.workers.process`, which gives each record as
it was validated, with our report), the official validator judges the same records in batches,
and again alone wherever either side says no and the batch may have made a difference (so a batch
can neither make up a disagreement nor hide one). A test fails on any record we quarantine while
the official shapes accept it, listing our violations and the official verdict.
Records we publish while the official shapes reject them are allowed (we repair and drop invalid
optional values) and counted. A file our readers refuse fails too, but those under ``broken/``,
which must be refused as a whole (exit 2, the file named).

Smaller tests keep the judge honest: it accepts a good record and rejects a broken one, CPOV judges
agencies only, its fast layout of the shapes judges as the files as published, and a verdict it
marks alone is the one the record gets alone. tests/test_batch_independence.py checks the other
side: that our verdicts do not depend on the batch.

The per-file table is printed at the end of the run and written to
tests/artifacts/official-agreement.md. The official files and the real records are test data read
from ../shared; without them everything here is skipped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import SUMMARY_SECTIONS
from in_process import kg_here
from official import SHARED, Judged, OfficialValidator, fingerprint, judge, missing_files
from rdflib import RDF, Literal, Namespace, URIRef
from test_batch_independence import FILES as SAMPLED
from test_batch_independence import at_risk, processed, read

from kg.errors import InputError
from kg.ingest.workers import process
from kg.iris import Minter
from kg.mapping.mapped import MappedRecord
from kg.readers import read_source
from kg.records import Origin, Record
from kg.settings import BATCH_BY_VALIDATOR, VALIDATORS
from kg.validation.report import RecordReport
from kg.vocab import ADMS, CPOV, DCAT, DCT, FOAF, SKOS

BASE = "http://kg.test/"
ENGINES = VALIDATORS  # rudof (the ingest's default) and pyshacl
ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "official-agreement.md"
CORPUS = (SHARED / "samples", SHARED / "real-portals")
FILES = {
    str(p.relative_to(SHARED)): p
    for folder in CORPUS
    if folder.is_dir()
    for p in sorted(folder.rglob("*"))
    if p.is_file() and p.name != "SOURCES.md"
}
BROKEN = [name for name in FILES if "/broken/" in name]
ABSENT = "(../shared/data absent)"


def _need_shared() -> None:
    if not FILES or missing_files():
        absent = ", ".join(map(str, missing_files())) or str(SHARED)
        pytest.skip(f"the official shapes, vocabularies and real records come with ../shared/data: {absent}")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def official() -> OfficialValidator:
    _need_shared()
    return OfficialValidator()


class Readings:
    """Each file read once for both engines: the pipeline does not change the records it is
    given (checked: both engines' runs must map a file to the same records)."""

    def __init__(self) -> None:
        self._read: dict[str, list[Record] | InputError] = {}
        self._mapped: dict[str, tuple[str, int]] = {}  # the first engine and a hash of its records

    def records(self, name: str) -> list[Record]:
        if name not in self._read:
            try:
                self._read[name] = read(name) if name in SAMPLED else list(read_source(str(FILES[name])))
            except InputError as exc:
                self._read[name] = exc
        found = self._read[name]
        if isinstance(found, InputError):
            raise found
        return found

    def processed(self, name: str, engine: str) -> list[tuple[MappedRecord, RecordReport]]:
        """The file's records as the ingest validates them with ``engine`` (nothing stored; those
        of the batch test's files are kept, and shared with it)."""
        records = self.records(name)
        if name in SAMPLED:
            results = processed(name, engine)
        else:
            results = list(
                process(records, Minter(BASE), batch=BATCH_BY_VALIDATOR[engine], workers=1, validator=engine)
            )
        prints = hash(tuple(fingerprint(m) for m, _ in results))
        first, before = self._mapped.setdefault(name, (engine, prints))
        assert first == engine or before == prints, (
            f"{name}: {engine} was given other records than {first}: the pipeline changed the records "
            "it read (or maps them differently each time), so the two engines cannot share a reading"
        )
        return results


@pytest.fixture(scope="session")
def readings() -> Readings:
    return Readings()


@dataclass
class Row:
    file: str
    engine: str
    read: int = 0
    datasets: int = 0
    published: int = 0
    quarantined: int = 0
    official_rejects: int = 0
    published_rejected: int = 0
    false_quarantines: int = 0
    seconds: float = 0.0
    note: str = ""

    CELLS = (
        "file", "engine", "records read", "datasets", "published", "quarantined", "official rejects",
        "published, official rejects", "false quarantines", "seconds", "note",
    )  # fmt: skip

    def cells(self) -> list[str]:
        numbers = (self.read, self.datasets, self.published, self.quarantined, self.official_rejects)
        rest = (self.published_rejected, self.false_quarantines)
        return [self.file, self.engine, *map(str, numbers), *map(str, rest), f"{self.seconds:.1f}", self.note]


@dataclass
class Table:
    """The per-file results, for the terminal summary and tests/artifacts/official-agreement.md."""

    rows: list[Row] = field(default_factory=list)
    false: list[tuple[str, str, Judged]] = field(default_factory=list)  # file, engine, record

    def lines(self) -> list[str]:
        rows = sorted(self.rows, key=lambda r: (r.engine, r.file))
        out = [
            "Records of every kind (datasets, agencies, catalogues, services); official rejects: by the "
            "official shapes alone where a batch may have made a difference; seconds: wall, the official "
            "verdicts being shared by the two engines' runs of a file.",
            "",
            "| " + " | ".join(Row.CELLS) + " |",
            "|" + "---|" * len(Row.CELLS),
        ]
        out += ["| " + " | ".join(row.cells()) + " |" for row in rows]
        by_rule: dict[tuple[str, str], list[tuple[Judged, str]]] = defaultdict(list)
        for _, engine, j in self.false:
            for f in j.ours.findings:
                if f.severity == "violation":
                    by_rule[(engine, f.rule or f.path)].append((j, f.value))
        if by_rule:
            out += ["", "False quarantines by our rule (engine, rule: records; one example):", ""]
        for (engine, rule), found in sorted(by_rule.items()):
            (j, value), records = found[0], len({id(j) for j, _ in found})
            out.append(
                f"- {engine}, {rule}: {records}; e.g. {j.record.key}, value {value!r} ({j.ours.origin})"
            )
        return out


@pytest.fixture(scope="session")
def table(request: pytest.FixtureRequest) -> Iterator[Table]:
    found = Table()
    yield found
    if not found.rows:
        return
    lines = found.lines()
    request.config.stash.setdefault(SUMMARY_SECTIONS, {})["official agreement (per file)"] = lines
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(
        "# Our verdicts against the official DCAT-AP 3.0.1 / CPOV shapes\n\n"
        "Written by tests/test_official_agreement.py.\n\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


# ---------------------------------------------------------------- the differential test


def _our_violations(report: RecordReport) -> str:
    return "\n".join(
        f"        - {f.rule or f.path}: {f.message} [value {f.value!r}]"
        for f in report.findings
        if f.severity == "violation"
    )


def _listing(name: str, engine: str, false: Sequence[Judged], limit: int = 20) -> str:
    rules = Counter(f.rule or f.path for j in false for f in j.ours.findings if f.severity == "violation")
    lines = [
        f"{name} ({engine}): {len(false)} records quarantined that the official shapes accept",
        "  by our rule: " + ", ".join(f"{rule} x{n}" for rule, n in rules.most_common()),
    ]
    for j in false[:limit]:
        lines.append(f"  - {j.ours.kind} {j.record.key} ({j.ours.origin})")
        lines.append(f"      ours:\n{_our_violations(j.ours)}")
        lines.append(f"      official: {j.official}")
    if len(false) > limit:
        lines.append(f"  … and {len(false) - limit} more")
    return "\n".join(lines)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(FILES) or [ABSENT])
def test_we_never_quarantine_what_the_official_shapes_accept(
    name: str, engine: str, official: OfficialValidator, readings: Readings, table: Table
) -> None:
    if name in BROKEN:
        pytest.skip("refused as a whole: see test_broken_files_are_refused")
    started = time.perf_counter()
    try:
        results = readings.processed(name, engine)
    except InputError as exc:
        reason = str(exc).removeprefix(str(FILES[name])).lstrip(":, ")
        table.rows.append(Row(name, engine, note=f"refused: {reason[:70]}"))
        pytest.fail(f"{name}: the reader refused the file: {exc}")
    judged = judge(official, results)
    false = [j for j in judged if j.false_quarantine]
    table.rows.append(
        Row(
            name,
            engine,
            read=len(readings.records(name)),
            datasets=sum(j.ours.kind == "dataset" for j in judged),
            published=sum(j.ours.publishable for j in judged),
            quarantined=sum(not j.ours.publishable for j in judged),
            official_rejects=sum(not j.official.accepted for j in judged),
            published_rejected=sum(j.published_but_rejected for j in judged),
            false_quarantines=len(false),
            seconds=time.perf_counter() - started,
        )
    )
    table.false += [(name, engine, j) for j in false]
    if false:
        pytest.fail(_listing(name, engine, false), pytrace=False)


@pytest.mark.parametrize("name", BROKEN or [ABSENT])
def test_broken_files_are_refused(name: str, kg_env: dict[str, str]) -> None:
    """A file under broken/ does not parse: ``kg ingest`` refuses it as a whole, naming it."""
    _need_shared()
    path = FILES[name]
    result = kg_here("ingest", str(path), env=kg_env)
    assert result.returncode == 2, f"{name}: exit {result.returncode}, expected 2\n{result.stderr}"
    assert path.name in result.stderr, f"{name}: the message does not name the file: {result.stderr}"


# ---------------------------------------------------------------- the judge itself

EX = "https://data.example.org/"
EU = Namespace("http://publications.europa.eu/resource/authority/")


def _dataset(*, title: bool = True, agency_named: bool = True) -> MappedRecord:
    """A dataset as the mapper writes one: a completed CSV distribution under CC BY 4.0, its
    publisher in its context (a foaf:Organization with, unless told otherwise, a name)."""
    d, dist, agency = URIRef(EX + "dataset/d"), URIRef(EX + "distribution/d-csv"), URIRef(EX + "agency/a")
    triples = [
        (d, RDF.type, DCAT.Dataset),
        (d, DCT.description, Literal("Hourly air quality.", lang="en")),
        (d, DCT.publisher, agency),
        (d, DCAT.distribution, dist),
        (dist, RDF.type, DCAT.Distribution),
        (dist, DCAT.accessURL, URIRef("https://data.example.org/files/aq.csv")),
        (dist, DCT.format, EU["file-type/CSV"]),
        (dist, DCT.license, EU["licence/CC_BY_4_0"]),
        (dist, ADMS.status, EU["distribution-status/COMPLETED"]),
    ]
    if title:
        triples.append((d, DCT.title, Literal("Air quality", lang="en")))
    context = [(agency, RDF.type, FOAF.Organization)]
    if agency_named:
        context.append((agency, FOAF.name, Literal("Environment Agency", lang="en")))
    return MappedRecord(str(d), "dataset", Origin("example"), "Air quality", triples, context)


def _agency(label: Literal) -> MappedRecord:
    a = URIRef(EX + "agency/a")
    triples = [
        (a, RDF.type, FOAF.Agent),
        (a, RDF.type, CPOV.PublicOrganisation),
        (a, FOAF.name, label),
        (a, SKOS.prefLabel, label),
    ]
    return MappedRecord(str(a), "agency", Origin("example"), str(label), triples, [])


def test_the_judge_accepts_a_good_record_and_rejects_a_broken_one(official: OfficialValidator) -> None:
    """The terms a record uses are described with their own links (the status concept's scheme
    must be a skos:ConceptScheme) and the class hierarchy (a foaf:Organization is the foaf:Agent a
    publisher must be); a missing title is a DCAT-AP violation of the dataset; what is wrong with
    its context (an agency without a name) is the agency's, not the dataset's."""
    good, untitled, context = _dataset(), _dataset(title=False), _dataset(agency_named=False)
    for verdict in (official.verdict_alone(good), official.verdicts([context])[0]):
        assert verdict.accepted, str(verdict)
    rejected = official.verdict_alone(untitled)
    assert not rejected.accepted
    assert {(f.shapes, f.path) for f in rejected.violations} == {("DCAT-AP", str(DCT.title))}, str(rejected)


def test_the_cpov_shapes_judge_agencies_only(official: OfficialValidator) -> None:
    """CPOV wants language-tagged labels: an agency with a plain one is rejected, one with a tagged
    one accepted; a dataset is not judged by CPOV."""
    plain, tagged = _agency(Literal("Environment Agency")), _agency(Literal("Environment Agency", lang="en"))
    rejected = official.verdict_alone(plain)
    assert {f.shapes for f in rejected.violations} == {"CPOV"}, str(rejected)
    assert official.verdict_alone(tagged).accepted
    dataset = _dataset()
    dataset.context.extend(plain.triples)
    assert official.verdict_alone(dataset).accepted


def test_the_fast_layout_judges_as_the_official_files(
    official: OfficialValidator, readings: Readings
) -> None:
    """Batches use the official shapes laid out for speed: the verdicts are those of the files as
    published, on records of every input shape (RDF with a catalogue, data.json with agencies)."""
    _need_shared()
    records = [m for name in SAMPLED for m, _ in readings.processed(name, "pyshacl")[:60]]
    fast, exact = official.verdicts(records), official.verdicts(records, exact=True)
    differ = [
        f"  - {a.key}:\n      fast:  {a}\n      exact: {b}"
        for a, b in zip(fast, exact, strict=True)
        if a != b
    ]
    assert not differ, "verdicts that differ:\n" + "\n".join(differ)


def test_verdicts_alone_together_are_verdicts_alone(official: OfficialValidator, readings: Readings) -> None:
    """A verdict marked alone in a graph of several records is the one the record gets in a graph
    of its own. On records that share publishers, blank nodes, a catalogue, and two records of
    ed.gov.data.json with the same IRI (NCES_2016999: together, their time periods have two start
    dates each, and the dataset two modification dates)."""
    _need_shared()
    records = [
        m for name in SAMPLED for m in at_risk([m for m, _ in readings.processed(name, "pyshacl")], 10)
    ]
    grouped, one_by_one = official.verdicts_alone(records), official.verdicts_alone(records, together=False)
    differ = [
        f"  - {a.key}:\n      together: {a}\n      alone:    {b}"
        for a, b in zip(grouped, one_by_one, strict=True)
        if a != b
    ]
    assert not differ, "verdicts that differ:\n" + "\n".join(differ)
