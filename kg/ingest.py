"""read -> map -> validate -> store, plus provenance; all or nothing.

Nothing touches the store until the whole source has been read, mapped and
validated: a file-level error (:class:`kg.errors.InputError`) or a ``--strict``
refusal leaves the store exactly as it was. The source's graph, its
quarantine graph and the vocabulary graph are then replaced in one new store
generation (see :mod:`kg.store`), so readers see the old source or the new
one, never a mix.

Mapping and validation run in batches on ``KG_WORKERS`` processes; the
published and quarantined triples stream to temporary N-Triples files, so
memory stays flat however large the source.
"""

from __future__ import annotations

import ctypes
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.catalog import catalog_graph, catalog_ntriples
from kg.derived.tables import Scores
from kg.errors import StrictRefusal, ValidatorError
from kg.factory import store_for, validator_for
from kg.iris import Minter, source_name
from kg.mapping import eu_vocabularies, map_record
from kg.mapping.agencies import map_agency
from kg.mapping.left_out import without_invalid_values
from kg.mapping.mapped import MappedRecord, Triple
from kg.mapping.ntriples import nt_iri, nt_line, nt_literal
from kg.mapping.repairs import LEFT_OUT, REPAIR, reader_notes, repair_kind, repair_record
from kg.quality import quality_texts, rule_counts_triples
from kg.readers import read_source
from kg.readers.detect import detect_format
from kg.records import AgencyRecord, DatasetRecord, RdfRecord, Record, Repair, ServiceRecord
from kg.search.build import Summaries, summarize
from kg.settings import Settings
from kg.validation.batch import check_engine, validate_batch
from kg.validation.report import Finding, RecordReport
from kg.validation.shapes import validator_shapes
from kg.vocab import DCAT, DCT, KGO, PROV, RDF, SH, XSD

Progress = Callable[[int], None]
SEVERITY_IRIS = {"violation": SH.Violation, "warning": SH.Warning, "info": SH.Info}
EXAMPLES_KEPT = 200  # reports with findings kept in the summary (all quarantined ones are kept)


@dataclass
class IngestSummary:
    source: str
    location: str
    fmt: str
    run: str = ""
    read: int = 0
    published: int = 0
    quarantined: int = 0
    kinds: Counter = field(default_factory=Counter)
    severities: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)
    # each quarantined record with its violations only: its whole report is in the quarantine
    # graph, and kept here a catalogue's 20,000 quarantined records held ~150 MB of warnings
    quarantined_reports: list[RecordReport] = field(default_factory=list)
    reports: list[RecordReport] = field(default_factory=list)  # a sample of published ones with findings
    seconds: dict[str, float] = field(default_factory=dict)
    stored: bool = False
    links_held_back: int = 0
    repairs: Counter = field(default_factory=Counter)  # kgo:repair/… and kgo:left-out/… rule -> values
    validator_failures: int = 0  # records the SHACL engine could not check (quarantined)
    skipped: Counter = field(default_factory=Counter)  # entries that are no record of ours, by reason

    def add(self, report: RecordReport) -> None:
        self.read += 1
        self.kinds[report.kind] += 1
        for finding in report.findings:
            self.severities[finding.severity] += 1
            if finding.rule.startswith((REPAIR, LEFT_OUT)):
                self.repairs[finding.rule] += 1
                self.rules[(finding.severity, finding.rule, repair_kind(finding.rule))] += 1
                continue
            if finding.rule == VALIDATOR_FAILED:
                self.validator_failures += 1
            self.rules[(finding.severity, finding.rule or finding.path, finding.message)] += 1
        if not report.publishable:
            self.quarantined += 1
            violations = [f for f in report.findings if f.severity == "violation"]
            self.quarantined_reports.append(replace(report, findings=violations))
        else:
            self.published += 1
            if report.findings and len(self.reports) < EXAMPLES_KEPT:
                self.reports.append(report)


def ingest(
    location: str,
    *,
    settings: Settings,
    source: str | None = None,
    fmt: str | None = None,
    strict: bool = False,
    store_it: bool = True,
    progress: Progress | None = None,
) -> IngestSummary:
    """Read, map, validate and (unless ``store_it`` is false) store one source.

    :raises InputError: the source cannot be read as a whole (store unchanged).
    :raises StrictRefusal: ``strict`` and some records break violation-level shapes (store unchanged).
    :raises StoreError: the store cannot be written (store unchanged).
    """
    fmt = fmt or detect_format(location)
    name = source_name(source or _default_source(location))
    summary = IngestSummary(name, location, fmt)
    iris = Minter(settings.base_uri)
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="kg-ingest-") as scratch:
        published_nt = Path(scratch) / "published.nt"
        quarantine_nt = Path(scratch) / "quarantine.nt"
        quality_nt = Path(scratch) / "quality.nt"
        report_nt = Path(scratch) / "report.nt"
        search_jsonl = Path(scratch) / "search.jsonl"
        scores_jsonl = Path(scratch) / "scores.jsonl"
        t0 = time.perf_counter()
        with (
            open(published_nt, "w", encoding="utf-8") as pub,
            open(quarantine_nt, "w", encoding="utf-8") as qua,
            open(quality_nt, "w", encoding="utf-8") as qual,
            open(report_nt, "w", encoding="utf-8") as rep,
            open(search_jsonl, "w", encoding="utf-8") as found,
            open(scores_jsonl, "w", encoding="utf-8") as scored,
        ):
            records = _deferred(
                read_source,
                location,
                fmt=fmt,
                http_timeout=settings.http_timeout,
                jsonld_fetch=settings.jsonld_fetch,
                skipped=summary.skipped,
            )
            taken = published_elsewhere(settings, name) if store_it else {}
            held: set[str] = set()  # keys of the records quarantined so far
            for mapped, report, (lines, quality_lines, search_lines, score_lines) in process_ntriples(
                records,
                iris,
                batch=settings.validation_batch,
                workers=settings.workers,
                validator=validator_for(settings),
            ):
                if mapped.key in taken and mapped.kind in ("dataset", "service"):
                    report.findings.append(duplicate_finding(mapped.key, taken[mapped.key]))
                if mapped.kind == "catalog" and report.publishable:
                    report.findings += publisher_held_back(mapped.key, lines, held)
                summary.add(report)
                if not report.publishable:
                    held.add(mapped.key)
                if report.publishable:
                    pub.write(lines)
                    qual.write(quality_lines)
                    found.write(search_lines)
                    scored.write(score_lines)
                    if report.findings:
                        rep.write(nt_line(findings_triple(report, iris.report_graph(name))))
                else:
                    qua.write(lines)
                    qua.write(report_ntriples(report, iris, name))
                if progress:
                    progress(summary.read)
                if summary.read % TRIM_EVERY == 0:
                    _trim()
        if summary.read and summary.validator_failures == summary.read:
            raise ValidatorError(
                f"the SHACL validator ({settings.validator}) could not check any of the {summary.read} "
                "records (nothing was stored); see kg validate --verbose for its message"
            )
        if summary.quarantined:
            summary.links_held_back = hold_back_links(published_nt, quarantine_nt, summary)
        summary.seconds["read, map and validate"] = time.perf_counter() - t0
        if strict and summary.quarantined:
            raise StrictRefusal(
                f"{summary.quarantined} of {summary.read} records break mandatory DCAT-AP rules; "
                "--strict refuses the whole source (nothing was stored)"
            )
        if not store_it:
            return summary
        t1 = time.perf_counter()
        run = f"{started:%Y%m%dT%H%M%S%fZ}"
        summary.run = iris.run(name, run)
        graphs = (
            iris.source_graph(name),
            iris.quarantine_graph(name),
            iris.vocabulary_graph(),
            catalog_graph(settings),
            iris.quality_graph(name),
            iris.report_graph(name),
        )
        held = frozenset(r.key for r in summary.quarantined_reports if r.key.startswith("http"))
        search = Summaries(
            graphs[0],
            search_jsonl,
            held if summary.links_held_back else frozenset(),
            about_others=frozenset({graphs[4]}),  # kg.quality: only measurements as subjects
        )
        scores = Scores(graphs[4], scores_jsonl)  # the points per indicator, for kg.derived.quality
        with store_for(settings, search, scores).write(replace=graphs) as writer:
            writer.load(published_nt, graph=graphs[0])
            writer.load(quarantine_nt, graph=graphs[1])
            writer.load_text(eu_vocabularies.vocabulary_ntriples(), graph=graphs[2])
            writer.load_text(catalog_ntriples(settings), graph=graphs[3])
            writer.load(quality_nt, graph=graphs[4])
            writer.load(report_nt, graph=graphs[5])
            writer.update(_not_current(name, iris), private=True)
            writer.load_text(run_ntriples(summary, started, iris), graph=iris.provenance_graph())
        summary.seconds["store"] = time.perf_counter() - t1
        summary.stored = True
    return summary


def published_elsewhere(settings: Settings, source: str) -> dict[str, str]:
    """Dataset and service IRIs that other sources already publish, with the source's name.

    Two sources describing the same thing under the same IRI would merge
    into one invalid description (two titles, two publishers), so the second
    one's record is quarantined with a report naming the first.
    """
    mine = Minter(settings.base_uri).source_graph(source)
    store = store_for(settings)
    graphs = [g for g in store.data_graphs() if g.startswith(f"{settings.base_uri}graph/") and g != mine]
    if not graphs:
        return {}
    query = f"""SELECT DISTINCT ?s ?g WHERE {{ GRAPH ?g {{ ?s a ?type }}
        VALUES ?type {{ <{DCAT.Dataset}> <{DCAT.DataService}> }} }}"""
    rows = store.query(query, default_graphs=[], named_graphs=graphs)
    return {row["s"].value: row["g"].value.rsplit("/", 1)[-1] for row in rows}


def publisher_held_back(key: str, lines: str, held: set[str]) -> list[Finding]:
    """A violation for a catalogue whose publisher is quarantined, so that it waits with it.

    Why: ``dct:publisher`` is mandatory for a catalogue, and the link to a quarantined agency is
    held back with it (:func:`hold_back_links`): published, the catalogue would break DCAT-AP in
    the export. Agents come before catalogues in every reader's order, so their verdict is known.
    """
    prefix = f"{nt_iri(key)} {nt_iri(str(DCT.publisher))} <"
    found = []
    for line in lines.splitlines():
        if line.startswith(prefix) and (publisher := line[len(prefix) : line.rindex(">")]) in held:
            found.append(
                Finding(
                    "violation",
                    key,
                    str(DCT.publisher),
                    f"the catalogue's publisher {publisher} is quarantined (see its report); the catalogue "
                    "waits with it, since a catalogue without its publisher breaks DCAT-AP",
                    PUBLISHER_HELD,
                    publisher,
                )
            )
    return found


PUBLISHER_HELD = "kgo:publisher-quarantined"


def duplicate_finding(key: str, other: str) -> Finding:
    return Finding(
        "violation",
        key,
        "",
        f"source '{other}' already publishes this IRI; remove it there or give the record another identifier",
        "kgo:duplicate",
        key,
    )


def hold_back_links(published: Path, quarantine: Path, summary: IngestSummary) -> int:
    """Move published triples that point at a quarantined record into the quarantine graph.

    A catalogue or a service published while the dataset it lists is
    quarantined would point at nothing; the link waits in quarantine with it.
    """
    held = {f"<{r.key}>" for r in summary.quarantined_reports if r.key.startswith("http")}
    if not held:
        return 0
    kept = published.with_suffix(".kept")
    moved = 0
    with (
        open(published, encoding="utf-8") as src,
        open(kept, "w", encoding="utf-8") as out,
        open(quarantine, "a", encoding="utf-8") as qua,
    ):
        for line in src:
            obj = line.rstrip(" .\n").rsplit(" ", 1)[-1]
            if obj in held:
                qua.write(line)
                moved += 1
            else:
                out.write(line)
    kept.replace(published)
    return moved


def remove_source(name: str, *, settings: Settings) -> bool:
    """Drop a source's graphs (and record the removal). Returns False if it was not there."""
    iris = Minter(settings.base_uri)
    store = store_for(settings)
    graphs = (
        iris.source_graph(name),
        iris.quarantine_graph(name),
        iris.quality_graph(name),
        iris.report_graph(name),
    )
    if not any(g in store.named_graphs() for g in graphs):
        return False
    with store.write(replace=graphs) as writer:
        for g in graphs:
            writer.drop(g)
        run = iris.run(name, f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        writer.update(_not_current(name, iris), private=True)
        writer.update(
            f"""PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}>
            INSERT DATA {{ GRAPH <{iris.provenance_graph()}> {{ <{run}> a prov:Activity, kgo:IngestRun ;
                kgo:source "{name}" ; kgo:recordsPublished 0 ; kgo:recordsQuarantined 0 ;
                prov:endedAtTime "{datetime.now(UTC).isoformat()}"^^<{XSD.dateTime}> }} }}""",
            private=True,
        )
    return True


def list_sources(*, settings: Settings) -> list[dict[str, str]]:
    """The sources in the store with their latest run."""
    query = f"""PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}>
        SELECT ?source ?fmt ?location ?ended ?read ?published ?quarantined ?violations ?warnings WHERE {{
          GRAPH <{Minter(settings.base_uri).provenance_graph()}> {{
            ?run kgo:current true ; kgo:source ?source ; kgo:sourceFormat ?fmt ;
                 kgo:sourceLocation ?location ;
                 prov:endedAtTime ?ended ; kgo:recordsRead ?read ; kgo:recordsPublished ?published ;
                 kgo:recordsQuarantined ?quarantined ; kgo:violations ?violations ; kgo:warnings ?warnings }}
        }} ORDER BY ?source"""
    rows = store_for(settings).query(query, default_graphs=[], private=True)
    return [
        {
            k: row[k].value
            for k in (
                "source",
                "fmt",
                "location",
                "ended",
                "read",
                "published",
                "quarantined",
                "violations",
                "warnings",
            )
        }
        for row in rows
    ]


def _not_current(name: str, iris: Minter) -> str:
    """SPARQL update: earlier runs of this source are no longer its current state."""
    graph = iris.provenance_graph()
    return f"""PREFIX kgo: <{KGO}>
        DELETE {{ GRAPH <{graph}> {{ ?r kgo:current true }} }}
        WHERE {{ GRAPH <{graph}> {{ ?r kgo:source {Literal(name).n3()} ; kgo:current true }} }}"""


def _default_source(location: str) -> str:
    path = Path(location.rstrip("/"))
    if location.startswith(("http://", "https://")):
        return location.split("//", 1)[1].split("/", 1)[0]
    return path.name.removesuffix(".json").removesuffix(".data") if path.suffix == ".json" else path.stem


# ---------------------------------------------------------------- map + validate


Job = tuple[Record, list[Triple]]  # a record and the context the ingest gives it
Result = tuple[MappedRecord, RecordReport, tuple[str, str, str, str]]


def process(
    records: Iterable[Record], iris: Minter, *, batch: int, workers: int, validator: str = "rudof"
) -> Iterator[tuple[MappedRecord, RecordReport]]:
    """Map and validate records in batches, on ``workers`` processes when above 1, with the
    ``validator`` SHACL engine (``KG_VALIDATOR``: :func:`kg.validation.batch.validate_batch`).

    Agencies are mapped here first, because datasets need their publisher's
    description as validation context. Each record comes back as it was validated: its
    triples and its ``context`` (what else its validation graph held but the vocabularies).
    """
    for mapped, report, _ in _process(
        records, iris, batch=batch, workers=workers, ntriples=False, validator=validator
    ):
        yield mapped, report


def process_ntriples(
    records: Iterable[Record], iris: Minter, *, batch: int, workers: int, validator: str = "rudof"
) -> Iterator[tuple[MappedRecord, RecordReport, tuple[str, str, str, str]]]:
    """:func:`process`, with each record's triples as N-Triples text (``mapped.triples`` is empty),
    its quality measurements as N-Triples, the search index's summary of its datasets
    (:func:`kg.search.build.summarize`, JSON lines) and its points per quality indicator
    (:func:`kg.quality.quality_texts`, a JSON line).

    The worker writes them: rdflib terms cost far more to send back to this
    process (unpickling rebuilds every term) than their text, and this process
    has the reading and writing to do meanwhile, on the same cores; the summaries
    spare the search index a pass over the store.
    """
    return _process(records, iris, batch=batch, workers=workers, ntriples=True, validator=validator)


def _process(
    records: Iterable[Record], iris: Minter, *, batch: int, workers: int, ntriples: bool, validator: str
) -> Iterator[tuple[MappedRecord, RecordReport, tuple[str, str, str, str]]]:
    check_engine(validator)  # an unknown engine or a missing package: before any record is read
    agencies: dict[str, list[Triple]] = {}

    def jobs() -> Iterator[tuple[list[Job], list[int] | None]]:
        """Batches with the indices of their RDF catalogues; and each catalogue as soon as it is
        read, alone (``None``: see :func:`_catalogue`)."""
        chunk: list[Job] = []
        aside: list[int] = []
        minted: dict[tuple[str, str], str] = {}  # (kind, key) -> where the record that has it is
        for record in records:
            if isinstance(record, DatasetRecord | ServiceRecord):
                keep_apart(record, minted)
            if isinstance(record, AgencyRecord):
                agencies[record.key] = map_agency(record, iris).triples
            chunk.append((record, _context(record, agencies, iris)))
            if _catalogue(record):
                aside.append(len(chunk) - 1)
                yield [chunk[-1]], None
            if len(chunk) >= batch:
                yield chunk, aside
                chunk, aside = [], []
        if chunk:
            yield chunk, aside

    if workers <= 1:
        for chunk, aside in jobs():
            if aside is not None:  # a catalogue is validated with its batch here
                yield from _map_and_validate(chunk, iris.base, ntriples, validator)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_up, initargs=(validator,)) as pool:
        # start the workers before the first record is read: forked later, they would share
        # the reader's parsed source (an RDF file is parsed whole) and copy what they touch
        pool.submit(int)
        pending: list[tuple[Future, dict[int, Future]]] = []
        ahead: list[Future] = []  # catalogues submitted alone, for the batch they belong to
        for chunk, aside in jobs():
            if aside is None:
                ahead.append(pool.submit(_map_and_validate, chunk, iris.base, ntriples, validator, {0}, True))
                continue
            future = pool.submit(_map_and_validate, chunk, iris.base, ntriples, validator, set(aside))
            pending.append((future, dict(zip(aside, ahead, strict=True))))
            ahead = []
            while len(pending) > workers * 2:
                yield from _merged(*pending.pop(0))
        for future, alone in pending:
            yield from _merged(future, alone)


def keep_apart(record: DatasetRecord | ServiceRecord, minted: dict[tuple[str, str], str]) -> None:
    """Give a record whose identifier an earlier record of the source used an identifier of its own
    (``key-2``, ``key-3`` …: the IRI is minted from it), and say so in a repair, so that two
    records never merge silently into one resource (a data.json that reuses identifiers).

    The record keeps its ``dct:identifier`` as the source gave it; only its IRI differs. Records
    come in file order, so a re-ingest gives the same IRIs.
    """
    kind = "dataset" if isinstance(record, DatasetRecord) else "service"
    key = record.key
    if (kind, key) not in minted:
        minted[(kind, key)] = str(record.origin)
        return
    n = 2
    while (kind, f"{key}-{n}") in minted:
        n += 1
    new = f"{key}-{n}"
    minted[(kind, new)] = str(record.origin)
    where = minted[(kind, key)]
    if isinstance(record, DatasetRecord) and not record.identifier:
        record.identifier = key  # dct:identifier: as the source gave it
    record.key = new
    record.repairs.append(Repair(f"identifier (also that of {where})", key, "identity", new))


def _merged(batch: Future, alone: dict[int, Future]) -> Iterator[Result]:
    """A batch's results, a catalogue's from the job that took it alone when that job did."""
    for index, result in enumerate(batch.result()):
        if index in alone:
            (other,) = alone[index].result()
            result = result if other is None else other
        if result is None:
            raise RuntimeError("a catalogue was validated neither alone nor with its batch")
        yield result


def _catalogue(record: Record) -> bool:
    """An RDF catalogue: sent to a worker alone as soon as it is read, besides in its batch.

    Why: its links are validated in views (:mod:`kg.validation.split`), as long as ~30 other
    batches at 100,000 datasets, and it leaves the RDF reader before the reader claims the
    datasets (:meth:`kg.readers.rdf_split.Splitter.split`, ~9 s): alone, it is validated
    meanwhile, not once its batch is full. Its batch is made as before (reports may depend on
    a batch's other records) and leaves it to that job when it is cut into views.
    """
    return isinstance(record, RdfRecord) and record.kind == "catalog"


def _deferred(read: Callable[..., Iterable[Record]], *args: object, **kwargs: object) -> Iterator[Record]:
    """``read(*args, **kwargs)``, called when the first record is asked for.

    Readers check a file (and the RDF reader parses it into a temporary table) when
    called; deferred, that happens after :func:`process` has started its workers,
    which then do not inherit what the reader holds (their garbage collector would
    touch, and so copy, it).
    """
    yield from read(*args, **kwargs)


def _context(record: Record, agencies: dict[str, list[Triple]], iris: Minter) -> list[Triple]:
    """What a record refers to, described well enough for the class constraints of its shapes."""
    context: list[Triple] = []
    for key in (getattr(record, "publisher", ""), getattr(record, "parent", "")):
        if key and key in agencies:
            context.extend(agencies[key])
    if isinstance(record, ServiceRecord):
        context.extend((URIRef(iris.dataset(k)), RDF.type, DCAT.Dataset) for k in record.serves_datasets)
    return context


def _warm_up(validator: str = "rudof") -> None:
    validator_shapes()
    eu_vocabularies.vocabulary_graph()
    if validator == "rudof":  # the worker's own rudof session, with the shapes read
        from kg.validation.rudof_engine import session

        session()


def _map_and_validate(
    chunk: list[Job],
    base: str,
    ntriples: bool = False,
    validator: str = "rudof",
    aside: set[int] | frozenset[int] = frozenset(),
    alone: bool = False,
) -> list[Result | None]:
    """Map, validate and write a batch's records (None for those left to another job).

    ``aside``: records (catalogues) that a job of their own validates in views when they are
    cut into views (:func:`kg.validation.split.split_record`); that job (``alone``) does only
    those, the batch's job all the others. Either way each report is what validating the whole
    batch gives, since a record cut into views is validated on its own there too.
    """
    iris = Minter(base)
    mapped = []
    for record, context in chunk:
        m = map_record(record, iris)
        m.context.extend(context)
        m.notes.extend(reader_notes(record, m.key))
        repair_record(m)
        mapped.append(m)
    if aside:
        from kg.validation.split import split_record, validator_splittable

        cut = {i for i in aside if split_record(mapped[i], validator_splittable()) is not None}
        done = [(i in cut) == alone for i in range(len(mapped))]
        results = iter(_written([m for m, d in zip(mapped, done, strict=True) if d], ntriples, validator))
        return [next(results) if d else None for d in done]
    return _written(mapped, ntriples, validator)


def _written(mapped: list[MappedRecord], ntriples: bool, validator: str) -> list[Result | None]:
    """Validate mapped records, and (``ntriples``) write their triples, measurements and summaries."""
    if not mapped:
        return []
    reports = _validated(mapped, validator)
    _leave_out_invalid_values(mapped, reports, validator)
    summaries = summarize([m.triples for m in mapped]) if ntriples else [""] * len(mapped)
    texts = []
    for m, report, summary in zip(mapped, reports, summaries, strict=True):
        if ntriples:  # the record's triples and its quality measurements (kg.quality), as N-Triples
            m.context = []  # not needed any more: keep what crosses the process boundary small
            measurements, scores = quality_texts(m, report)
            texts.append(("".join(map(nt_line, m.triples)), measurements, summary, scores))
            m.triples = []
        else:
            texts.append(("", "", "", ""))
    _trim(TRIM_ABOVE)
    return list(zip(mapped, reports, texts, strict=True))


VALIDATOR_FAILED = "kgo:validator-failed"


def _validated(mapped: list[MappedRecord], validator: str) -> list[RecordReport]:
    """The records' reports; when the validator fails on the batch, each record alone, so that a
    record it cannot check is quarantined with the reason and the others are judged as usual.

    Why: one record with a term the engine cannot read (rudof refuses some that rdflib accepts)
    must not refuse a file. The ingest stops (exit 5) only if the validator fails on every record.
    """
    try:
        return validate_batch(mapped, engine=validator)
    except ValidatorError as exc:
        if len(mapped) > 1:
            return [report for m in mapped for report in _validated([m], validator)]
        m = mapped[0]
        failed = Finding("violation", m.key, "", f"the SHACL validator could not check this record: {exc}")
        return [RecordReport(m.key, m.kind, str(m.origin), m.label, [replace(failed, rule=VALIDATOR_FAILED)])]


def _leave_out_invalid_values(
    mapped: list[MappedRecord], reports: list[RecordReport], validator: str
) -> None:
    """Records whose violations name values they hold are validated again without them
    (:func:`kg.mapping.left_out.without_invalid_values`); where nothing mandatory fails then, they are
    published so, the values kept in their reports. Each record is judged alone here too."""
    trimmed = {}
    for i, (m, report) in enumerate(zip(mapped, reports, strict=True)):
        if not report.publishable and (less := without_invalid_values(m, report.findings)) is not None:
            trimmed[i] = less
    if not trimmed:
        return
    for (i, less), report in zip(trimmed.items(), _validated(list(trimmed.values()), validator), strict=True):
        if report.publishable:
            mapped[i], reports[i] = less, report


def _trim(above: int = 0) -> None:
    """Hand freed memory back to the system (glibc keeps freed heap otherwise) when this process
    holds more than ``above`` bytes.

    A worker's batch is freed once validated (rudof's graph of it: ~0.6 MB per record), but the
    process kept its high-water mark, and the ingest's peak was the sum of the processes' marks;
    trimming after every batch costs ~9 % of a worker's CPU (its next batch faults the pages in
    again), so only a process that grew past :data:`TRIM_ABOVE` is trimmed. The main process,
    whose reading leaves freed memory behind, is trimmed every :data:`TRIM_EVERY` records.
    """
    with suppress(OSError, AttributeError, ValueError):
        if above:
            with open("/proc/self/statm", "rb") as statm:
                if int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") <= above:
                    return
        _libc().malloc_trim(0)


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL("libc.so.6")


TRIM_ABOVE = 352 << 20  # a worker's usual high-water mark is ~310 MB (rudof, batch 200)
TRIM_EVERY = 10_000


# ---------------------------------------------------------------- RDF out


def findings_triple(report: RecordReport, graph: str) -> Triple:
    """A published record's findings as one JSON literal, so pages show them without validating again.

    On the record's IRI, or the reader's blank node; the ``other`` record of an RDF file (what no
    dataset, service, catalogue or agent owns) has neither, so its findings go on a node of the
    report ``graph`` named after its origin.
    """
    rows = [[f.severity, f.focus, f.path, f.message, f.rule, f.value] for f in report.findings]
    if report.key.startswith("_:"):
        key: Node = BNode(report.key[2:])
    elif report.key:
        key = URIRef(report.key)
    else:
        key = URIRef(f"{graph}#record-{_fragment(report.origin)}")
    return key, KGO.findings, Literal(json.dumps(rows, ensure_ascii=False))


def report_ntriples(report: RecordReport, iris: Minter, source: str) -> str:
    """A quarantined record's report as RDF (SHACL results), next to the record in its graph.

    Written as N-Triples text without rdflib terms: a catalogue with many quarantined
    records has millions of these triples (1.4 M for 20,000 records), and making and
    writing terms cost ~20 s of the ingest's main process.
    """
    node = f"{iris.quarantine_graph(source)}#{_fragment(report.key)}"
    n = nt_iri(node)
    key = nt_iri(report.key) if report.key.startswith("http") else nt_literal(report.key)
    lines = [
        f"{n} {_TYPE} {_QUARANTINED} .\n",
        f"{n} {_RECORD_KEY} {key} .\n",
        f"{n} {_LOCATION} {nt_literal(report.origin)} .\n",
    ]
    for i, f in enumerate(report.findings):
        r = nt_iri(f"{node}-{i}")
        lines += [
            f"{n} {_REPORT} {r} .\n",
            f"{r} {_TYPE} {_RESULT} .\n",
            f"{r} {_SEVERITY} {_SEVERITIES[f.severity]} .\n",
            f"{r} {_MESSAGE} {nt_literal(f.message)} .\n",
            f"{r} {_FOCUS} {nt_iri(f.focus) if f.focus.startswith('http') else nt_literal(f.focus)} .\n",
        ]
        if f.path:  # a complex path is text (kg.validation.report._path_text): no IRI, so a literal
            path = nt_iri(f.path) if ":" in f.path and " " not in f.path else nt_literal(f.path)
            lines.append(f"{r} {_PATH} {path} .\n")
        if f.rule:
            lines.append(f"{r} {_SHAPE} {nt_iri(f.rule) if ':' in f.rule else nt_literal(f.rule)} .\n")
        if f.value:
            lines.append(f"{r} {_VALUE} {nt_literal(f.value)} .\n")
    return "".join(lines)


_TYPE, _QUARANTINED, _RECORD_KEY, _LOCATION, _REPORT = map(
    nt_iri, (RDF.type, KGO.QuarantinedRecord, KGO.recordKey, KGO.sourceLocation, KGO.report)
)
_RESULT, _SEVERITY, _MESSAGE, _FOCUS, _PATH, _SHAPE, _VALUE = map(
    nt_iri,
    (
        SH.ValidationResult,
        SH.resultSeverity,
        SH.resultMessage,
        SH.focusNode,
        SH.resultPath,
        SH.sourceShape,
        SH.value,
    ),
)
_SEVERITIES = {name: nt_iri(iri) for name, iri in SEVERITY_IRIS.items()}


def _fragment(key: str) -> str:
    from kg.iris import short_hash

    return short_hash(key)


def run_ntriples(summary: IngestSummary, started: datetime, iris: Minter) -> str:
    run = URIRef(summary.run)
    ended = datetime.now(UTC)
    sev = summary.severities
    triples: list[Triple] = [
        (run, RDF.type, PROV.Activity),
        (run, RDF.type, KGO.IngestRun),
        (run, KGO.source, Literal(summary.source)),
        (run, KGO.sourceFormat, Literal(summary.fmt)),
        (run, KGO.sourceLocation, Literal(summary.location)),
        (run, PROV.startedAtTime, Literal(started.isoformat(), datatype=XSD.dateTime)),
        (run, PROV.endedAtTime, Literal(ended.isoformat(), datatype=XSD.dateTime)),
        (run, PROV.generated, URIRef(iris.source_graph(summary.source))),
        (run, KGO.recordsRead, Literal(summary.read)),
        (run, KGO.recordsPublished, Literal(summary.published)),
        (run, KGO.recordsQuarantined, Literal(summary.quarantined)),
        (run, KGO.violations, Literal(sev["violation"])),
        (run, KGO.warnings, Literal(sev["warning"])),
        (run, KGO.infos, Literal(sev["info"])),
    ]
    triples.append((run, KGO.current, Literal(True)))
    triples += rule_counts_triples(summary, summary.run)
    return "".join(nt_line(t) for t in triples)
