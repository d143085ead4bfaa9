"""One source: read -> map -> validate -> store, plus provenance; all or nothing.

Nothing touches the store until the whole source has been read, mapped and
validated: a file-level error (:class:`kg.errors.InputError`) or a ``--strict``
refusal leaves the store exactly as it was. The source's graph, its
quarantine graph and the vocabulary graph are then replaced in one new store
generation (see :mod:`kg.store`), so readers see the old source or the new
one, never a mix.

Mapping and validation run in batches on ``KG_WORKERS`` processes; the
published and quarantined triples stream to temporary N-Triples files, so
memory stays flat however large the source (:mod:`kg.ingest.workers`). Removing a source and
listing the sources are here too.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from kg.catalog import catalog_graph, catalog_ntriples
from kg.derived.descriptions import Descriptions, RowWriter
from kg.derived.tables import Scores
from kg.errors import StrictRefusal, ValidatorError
from kg.factory import store_for, validator_for
from kg.ingest.delta import source_write
from kg.ingest.history import RdfVersions, keep_history
from kg.ingest.keys import keyed
from kg.ingest.memo import memo_for
from kg.ingest.provenance import findings_line, report_ntriples, run_ntriples
from kg.ingest.read_ahead import read_ahead
from kg.ingest.sources import not_current
from kg.ingest.summary import IngestSummary
from kg.ingest.workers import TRIM_EVERY, deferred, process_ntriples, trim
from kg.iris import Minter, source_name
from kg.mapping import eu_vocabularies
from kg.mapping.ntriples import nt_iri
from kg.readers import read_source
from kg.readers.detect import detect_format
from kg.readers.http import client_for
from kg.records import Origin, Record
from kg.scratch import scratch_folder
from kg.search.summaries import Summaries
from kg.settings import Settings
from kg.validation.report import Finding
from kg.vocab import DCAT, DCT

Progress = Callable[[int], None]


def ingest(
    location: str,
    *,
    settings: Settings,
    source: str | None = None,
    fmt: str | None = None,
    strict: bool = False,
    store_it: bool = True,
    progress: Progress | None = None,
    origin: str | None = None,
    reuse: bool = True,
    skip_unchanged: bool = False,
) -> IngestSummary:
    """Read, map, validate and (unless ``store_it`` is false) store one source.

    ``origin``: where the source came from when ``location`` is a local copy of it (the URL a
    harvest fetched into a temporary file), as the run's provenance records it.

    ``reuse``: records the source's last ingest saw, unchanged, get that ingest's result back instead
    of being mapped and validated (:mod:`kg.ingest.memo`); the graphs are the same either way.
    ``skip_unchanged``: when every record and the checks across sources are as the last ingest found
    them, nothing is written (``summary.unchanged``): the store holds these graphs already.

    :raises InputError: the source cannot be read as a whole (store unchanged).
    :raises StrictRefusal: ``strict`` and some records break violation-level shapes (store unchanged).
    :raises StoreError: the store cannot be written (store unchanged).
    """
    fmt = fmt or detect_format(location)
    name = source_name(source or _default_source(origin or location))
    summary = IngestSummary(name, origin or location, fmt)
    iris = Minter(settings.base_uri)
    started = datetime.now(UTC)
    with scratch_folder("kg-ingest-") as scratch:
        published_nt = Path(scratch) / "published.nt"
        quarantine_nt = Path(scratch) / "quarantine.nt"
        quality_nt = Path(scratch) / "quality.nt"
        report_nt = Path(scratch) / "report.nt"
        search_jsonl = Path(scratch) / "search.jsonl"
        scores_jsonl = Path(scratch) / "scores.jsonl"
        rows = RowWriter(Path(scratch) / "descriptions.sqlite")  # the catalogue pages' rows
        t0 = time.perf_counter()
        with (
            open(published_nt, "w", encoding="utf-8") as pub,
            open(quarantine_nt, "w", encoding="utf-8") as qua,
            open(quality_nt, "w", encoding="utf-8") as qual,
            open(report_nt, "w", encoding="utf-8") as rep,
            open(search_jsonl, "w", encoding="utf-8") as found,
            open(scores_jsonl, "w", encoding="utf-8") as scored,
        ):

            def read(skipped: Counter) -> Iterator[Record]:
                records = deferred(
                    read_source,
                    location,
                    fmt=fmt,
                    http_timeout=settings.http_timeout,
                    jsonld_fetch=settings.jsonld_fetch,
                    skipped=skipped,
                    client=client_for(settings),
                )
                return _named_from(records, location, origin) if origin and origin != location else records

            records = read(summary.skipped)
            taken = published_elsewhere(settings, name) if store_it else {}
            # what the graphs hold besides what each record's digest stands for (:meth:`Memo.signature`):
            # this source's IRIs that others publish, and where each quarantined record stands
            across: list[str] = []
            memo = memo_for(settings, name, Path(scratch)) if store_it and reuse else None
            ahead = None
            if memo is not None and (reusable := memo.reusable()) and "://" not in location:
                # read and hashed by a process of its own, a reused record handed over as Known;
                # the first pass below reads its items too (given again to the ingest after it),
                # and it is stopped if that pass is the last
                records = ahead = read_ahead(records, reusable, summary.skipped)
            if skip_unchanged and memo is not None and memo.previous_signature:
                extra = [catalog_ntriples(settings)]
                try:
                    first = read(Counter()) if ahead is None else ahead.first_pass()
                    n = memo.as_stored(keyed(first), taken, extra)
                except BaseException:
                    if ahead is not None:
                        ahead.close()
                    raise
                if n is not None:
                    if ahead is not None:
                        ahead.close()
                    memo.close()
                    summary.read, summary.changes, summary.unchanged = (
                        n,
                        replace(memo.changes, unchanged=n),
                        True,
                    )
                    return summary
            held: set[str] = set()  # keys of the records quarantined so far
            versions = RdfVersions()  # an RDF source's records, for their history (its memo keeps none)
            for mapped, report, (lines, quality_lines, search_lines, score_lines, nodes) in process_ntriples(
                records,
                iris,
                batch=settings.validation_batch,
                workers=settings.workers,
                validator=validator_for(settings),
                labels=iris.source_graph(name),
                memo=memo,
            ):
                if mapped.key in taken and mapped.kind in ("dataset", "service"):
                    report.findings.append(duplicate_finding(mapped.key, taken[mapped.key]))
                    across.append(f"{mapped.key}\0{taken[mapped.key]}")
                if mapped.kind == "catalog" and report.publishable:
                    report.findings += publisher_held_back(mapped.key, lines, held)
                summary.add(report)
                if memo is not None and memo.opaque:
                    versions.add(mapped.key, mapped.kind, report.publishable, lines)
                if not report.publishable:
                    held.add(mapped.key)
                    across.append(f"{mapped.key}\0{report.origin}")  # its quarantine report says where
                if report.publishable:
                    pub.write(lines)
                    qual.write(quality_lines)
                    found.write(search_lines)
                    scored.write(score_lines)
                    rows.add(nodes)
                    if report.findings:
                        rep.write(findings_line(report, iris.report_graph(name)))
                else:
                    qua.write(lines)
                    qua.write(report_ntriples(report, iris, name))
                if progress:
                    progress(summary.read)
                if summary.read % TRIM_EVERY == 0:
                    trim()
        rows.close()
        if summary.read and summary.validator_failures == summary.read:
            raise ValidatorError(
                f"the SHACL validator ({settings.validator}) could not check any of the {summary.read} "
                "records (nothing was stored); see kg validate --verbose for its message"
            )
        held_lines = hold_back_links(published_nt, quarantine_nt, summary) if summary.quarantined else []
        summary.links_held_back = len(held_lines)
        summary.seconds["read, map and validate"] = time.perf_counter() - t0
        if strict and summary.quarantined:
            raise StrictRefusal(
                f"{summary.quarantined} of {summary.read} records break mandatory DCAT-AP rules; "
                "--strict refuses the whole source (nothing was stored)"
            )
        if not store_it:
            return summary
        if memo is not None:
            signature = memo.signature([*across, catalog_ntriples(settings)])
            same = bool(signature) and signature == memo.previous_signature
            summary.changes = memo.finish(signature)
            if skip_unchanged and same:
                summary.unchanged = True
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
        descriptions = Descriptions(graphs[0], rows.path, frozenset(_lines(published_nt, held_lines)))
        store = store_for(settings, search, scores, descriptions)
        with source_write(store, graphs, memo, summary) as writer:
            writer.load(published_nt, graph=graphs[0], leave_out=held_lines, keep_labels=True)
            writer.load(quarantine_nt, graph=graphs[1])
            writer.load_text(eu_vocabularies.vocabulary_ntriples(), graph=graphs[2])
            writer.load_text(catalog_ntriples(settings), graph=graphs[3])
            writer.load(quality_nt, graph=graphs[4])
            writer.load(report_nt, graph=graphs[5])
            writer.update(not_current(name, iris), private=True)
            writer.load_text(run_ntriples(summary, started, iris), graph=iris.provenance_graph())
            if memo is not None:
                writer.put_file(f"{name}.sqlite", memo.target)
                counts = keep_history(writer, settings, name, memo, summary.run, Path(scratch), versions)
                summary.changes = summary.changes or counts  # an RDF source's, from its history
            elif hasattr(writer, "put_file"):  # results not kept (reuse off): the last ones go
                writer.put_file(f"{name}.sqlite", None)
        summary.seconds["store"] = time.perf_counter() - t1
        summary.stored = True
    return summary


def _named_from(records: Iterator[Record], location: str, origin: str) -> Iterator[Record]:
    """Records of a local copy (a harvest's temporary file) named as from where the copy came: their
    reports and quarantine would otherwise point at a file that is gone."""
    for record in records:
        for item in (record, *getattr(record, "distributions", ())):
            if (was := item.origin).file == location:  # not dataclasses.replace: ~10x its cost
                item.origin = Origin(origin, was.line, was.record, was.field)
        yield record


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


def hold_back_links(published: Path, quarantine: Path, summary: IngestSummary) -> list[tuple[int, int]]:
    """Copy published triples that point at a quarantined record into the quarantine file; their
    (start, end) offsets in ``published``, for the load to leave out.

    A catalogue or a service published while the dataset it lists is
    quarantined would point at nothing; the link waits in quarantine with it. The published file
    is only read: writing it again without those few lines wrote as much as the file (650 MB at
    100,000 datasets) to hold back a handful. The lines are found by a search (in C) for objects
    that begin as the held IRIs all do, not by a look at every line (4.7 M at 100,000 datasets:
    ~2 s of the main process, for a few hundred found).
    """
    held = {f"<{r.key}>".encode() for r in summary.quarantined_reports if r.key.startswith("http")}
    spans: list[tuple[int, int]] = []
    if not held:
        return spans
    # an object IRI that ends its line: after a space (not a datatype's ^^), no '>' or line end
    # inside (N-Triples escapes both); the last term of the line, as the triple's object is
    common = os.path.commonprefix([iri[:-1] for iri in held])
    ending = re.compile(rb" (" + re.escape(common) + rb"[^>\n]*>) \.\n")
    start = 0
    with open(published, "rb") as src, open(quarantine, "ab") as qua:
        while piece := src.read(_PIECE):
            if not piece.endswith(b"\n") and (rest := src.readline()):
                piece += rest
            for found in ending.finditer(piece):
                if found.group(1) in held:
                    line = piece.rfind(b"\n", 0, found.start()) + 1
                    qua.write(piece[line : found.end()])
                    spans.append((start + line, start + found.end()))
            start += len(piece)
    return spans


_PIECE = 1 << 24  # bytes of the published file searched at a time (then to its line's end)


def _lines(path: Path, spans: list[tuple[int, int]]) -> list[str]:
    """The lines of a file at (start, end) offsets."""
    found = []
    with open(path, "rb") as source:
        for start, end in spans:
            source.seek(start)
            found.append(source.read(end - start).decode("utf-8"))
    return found


def _default_source(location: str) -> str:
    path = Path(location.rstrip("/"))
    if location.startswith(("http://", "https://")):
        return location.split("//", 1)[1].split("/", 1)[0]
    return path.name.removesuffix(".json").removesuffix(".data") if path.suffix == ".json" else path.stem
