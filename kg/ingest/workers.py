"""Map and validate, in batches, on ``KG_WORKERS`` processes: the ingest's worker side.

Records come from a reader in file order; agencies are mapped here first, as the context the
datasets that name them are validated with. A batch is mapped, repaired, validated and written
as N-Triples text by a worker process (:func:`_map_and_validate`), so that what crosses back
to the main process is text, not rdflib terms. Used by :func:`kg.ingest.run.ingest`, and alone
by the tests and benchmarks that compare verdicts (:func:`process`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import suppress
from dataclasses import replace
from functools import cache

from rdflib import URIRef

from kg.derived.descriptions import Row, record_rows
from kg.errors import ValidatorError
from kg.ingest.keys import keyed
from kg.ingest.memo import Memo
from kg.iris import Minter
from kg.mapping import eu_vocabularies, map_record
from kg.mapping.agencies import map_agency
from kg.mapping.left_out import without_invalid_values
from kg.mapping.mapped import MappedRecord, Triple
from kg.mapping.ntriples import nt_line
from kg.mapping.repairs import reader_notes, repair_record
from kg.quality import quality_texts
from kg.records import AgencyRecord, RdfRecord, Record, ServiceRecord
from kg.search.summaries import summarize
from kg.validation.batch import check_engine, validate_batch
from kg.validation.report import Finding, RecordReport
from kg.validation.shapes import validator_shapes
from kg.vocab import DCAT, RDF

Job = tuple[Record, list[Triple]]  # a record and the context the ingest gives it


Texts = tuple[str, str, str, str, list[Row]]  # what a worker writes of a record (process_ntriples)
Result = tuple[MappedRecord, RecordReport, Texts]


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
    records: Iterable[Record],
    iris: Minter,
    *,
    batch: int,
    workers: int,
    validator: str = "rudof",
    labels: str = "",
    memo: Memo | None = None,
) -> Iterator[Result]:
    """:func:`process`, with each record's triples as N-Triples text (``mapped.triples`` is empty),
    its quality measurements as N-Triples, the search index's summary of its datasets
    (:func:`kg.search.summaries.summarize`, JSON lines), its points per quality indicator
    (:func:`kg.quality.quality_texts`, a JSON line) and, for a publishable record, the catalogue
    pages' rows of its subjects (:func:`kg.derived.descriptions.record_rows`). ``labels``: what
    makes the blank-node labels of this source's text its own (:func:`unique_labels`).

    The worker writes them: rdflib terms cost far more to send back to this
    process (unpickling rebuilds every term) than their text, and this process
    has the reading and writing to do meanwhile, on the same cores; the summaries
    spare the search index a pass over the store.

    ``memo``: the last run's results (:mod:`kg.ingest.memo`); a record whose digest it knows is
    not mapped or validated, its result comes from there, in its place in the source's order.
    """
    results = _process(
        records,
        iris,
        batch=batch,
        workers=workers,
        ntriples=True,
        validator=validator,
        labels=labels,
        memo=memo,
    )
    return memo.merged(results) if memo is not None else results


def _process(
    records: Iterable[Record],
    iris: Minter,
    *,
    batch: int,
    workers: int,
    ntriples: bool,
    validator: str,
    labels: str = "",
    memo: Memo | None = None,
) -> Iterator[Result]:
    check_engine(validator)  # an unknown engine or a missing package: before any record is read
    agencies: dict[str, list[Triple]] = {}

    def jobs() -> Iterator[tuple[list[Job], list[int] | None]]:
        """Batches with the indices of their RDF catalogues; and each catalogue as soon as it is
        read, alone (``None``: see :func:`_catalogue`)."""
        chunk: list[Job] = []
        aside: list[int] = []
        for record, around in keyed(records, digests=memo is not None):
            if isinstance(record, AgencyRecord):
                agencies[record.key] = map_agency(record, iris).triples
            if memo is not None and memo.take(record, around)[1]:
                continue  # its last result is reused
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
                yield from _map_and_validate(chunk, iris.base, ntriples, validator, labels=labels)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_up, initargs=(validator,)) as pool:
        # start the workers before the first record is read: forked later, they would share
        # the reader's parsed source (an RDF file is parsed whole) and copy what they touch
        pool.submit(int)
        pending: list[tuple[Future, dict[int, Future]]] = []
        ahead: list[Future] = []  # catalogues submitted alone, for the batch they belong to
        for chunk, aside in jobs():
            if aside is None:
                ahead.append(
                    pool.submit(
                        _map_and_validate, chunk, iris.base, ntriples, validator, {0}, True, labels=labels
                    )
                )
                continue
            future = pool.submit(
                _map_and_validate, chunk, iris.base, ntriples, validator, set(aside), labels=labels
            )
            pending.append((future, dict(zip(aside, ahead, strict=True))))
            ahead = []
            # the batches done are handed on now, not when more are waiting than the workers hold:
            # the ingest's reused results (kg.ingest.memo) wait behind each batch's, in the order
            while pending and (len(pending) > workers * 2 or _done(*pending[0])):
                yield from _merged(*pending.pop(0))
        for future, alone in pending:
            yield from _merged(future, alone)


def _done(batch: Future, alone: dict[int, Future]) -> bool:
    """Whether a batch's results are in, its catalogues' validated alone too (:func:`_merged`).

    Why: a re-harvest with 1 % of 100,000 records changed has ~5 batches to map, never more than
    the workers hold, so no result came back before the whole source was read; the ~98,500 results
    reused behind them (:meth:`kg.ingest.memo.Memo.merged`) were then handed out after the reading,
    not beside it."""
    return batch.done() and all(future.done() for future in alone.values())


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


def deferred(read: Callable[..., Iterable[Record]], *args: object, **kwargs: object) -> Iterator[Record]:
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
    *,
    labels: str = "",
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
        chosen = [m for m, d in zip(mapped, done, strict=True) if d]
        results = iter(_written(chosen, ntriples, validator, labels))
        return [next(results) if d else None for d in done]
    return _written(mapped, ntriples, validator, labels)


def _written(
    mapped: list[MappedRecord], ntriples: bool, validator: str, labels: str = ""
) -> list[Result | None]:
    """Validate mapped records, and (``ntriples``) write their triples, measurements, summaries and
    (for the publishable ones) the catalogue pages' rows."""
    if not mapped:
        return []
    reports = _validated(mapped, validator)
    _leave_out_invalid_values(mapped, reports, validator)
    summaries = summarize([m.triples for m in mapped]) if ntriples else [""] * len(mapped)
    texts: list[Texts] = []
    for m, report, summary in zip(mapped, reports, summaries, strict=True):
        if ntriples:  # the record's triples and its quality measurements (kg.quality), as N-Triples
            m.context = []  # not needed any more: keep what crosses the process boundary small
            measurements, scores = quality_texts(m, report)
            lines = unique_labels("".join(map(nt_line, m.triples)), labels)
            texts.append((lines, measurements, summary, scores, []))
            m.triples = []
        else:
            texts.append(("", "", "", "", []))
    if ntriples:
        published = [i for i, report in enumerate(reports) if report.publishable]
        for i, rows in zip(published, record_rows([texts[i][0] for i in published]), strict=True):
            texts[i][4].extend(rows)
    trim(TRIM_ABOVE)
    return list(zip(mapped, reports, texts, strict=True))


_LABEL = re.compile(r"^_:([A-Za-z0-9_]+)(?= )|(?<= )_:([A-Za-z0-9_]+)(?= \.$)", re.MULTILINE)


def unique_labels(ntriples: str, salt: str) -> str:
    """N-Triples whose blank-node labels are made this source's own: each label ``x`` becomes the
    hexadecimal number of a 128-bit hash of ``salt`` and ``x`` (as Oxigraph's own labels are, so it
    keeps them as numbers); ``salt`` empty: the text as it is.

    Why: the store is to keep the labels the ingest wrote (:meth:`kg.store.writer.Writer.load`
    ``keep_labels``), so that the catalogue pages' rows made here name its blank nodes; a reader's
    labels (``_:b0``) are only unique within their file, so two sources would share nodes. The
    same source and label give the same label again: a record's blank nodes keep their labels from
    one ingest to the next. (A label is a term at a line's start or before its final dot: N-Triples
    escapes line ends, so no literal ends a line.)
    """
    if not salt or "_:" not in ntriples:
        return ntriples
    return _LABEL.sub(lambda m: "_:" + _hashed(salt, m.group(1) or m.group(2)), ntriples)


def _hashed(salt: str, label: str) -> str:
    digest = hashlib.blake2b(f"{salt}\x00{label}".encode(), digest_size=16).digest()
    return format(int.from_bytes(digest, "big"), "x")


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


def trim(above: int = 0) -> None:
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
