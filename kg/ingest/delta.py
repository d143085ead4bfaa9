"""An ingest's store write by difference: the source's big graphs changed by the records that changed.

Why: with change detection per record (:mod:`kg.ingest.memo`) a re-harvest with 1 % of 100,000
records changed maps and validates only those, but the whole write then loaded the source's graphs
again (4.7 M catalogue triples, 1.8 M measurements: ~65 s of bulk loads on a quiet machine).
Here the next generation keeps the published catalogue, quality and report graphs (a checkpoint:
hard links) and :meth:`kg.store.writer.Writer.patch` takes out the lines of the *touched*
records and adds their new ones (a record's report line is its findings, :func:`findings_line`).
The vocabularies and the catalogue's own graph (the same each run) stay in the checkpoint and are
changed by the triples that differ (:meth:`~kg.store.writer.Writer.replace_by_difference`);
the quarantine graph, all of it touched records', is written whole; the provenance graph is added
to. Why not the report graph whole as well: the private store would then be copied by a dump and a
load instead of a checkpoint (the replaced graphs are most of what a removal costs), its provenance
graph (440,000 triples at 100,000 datasets) most of it: 9-15 s.

*Touched*: added, changed and removed records, and every record quarantined by this run or the
last (a record's verdict may change with no change of its own: another source may now publish its
IRI, and the links to a quarantined record are held back from the catalogue graph).

*Why the result is the whole write's* (``F``: the file the whole write would load, ``Old``: the
published graph, the union of the last run's records' lines): every line of ``Old`` not in ``F`` is
a touched record's old line or a link held back now, so it is in ``remove``; every line of ``F`` not
in ``Old`` is a touched record's new line or a link no longer held back, so it is in ``add``. A
triple two records assert (an agency or a concept that several datasets describe) is taken out only
when no line of ``F`` has it: ``remove`` is the touched records' old lines *minus* ``F``, which one
pass over ``F`` finds, and ``add`` is only lines of ``F``.

*When it writes whole instead* (the reason goes in the summary): no kept results of the last run
under the same recipe (a first ingest, a new mapping or shapes, an RDF source mapped whole, a result
not kept), a remote store, more than :data:`MAX_SHARE` of the records touched, or, found in the
write, a published generation other than the one the records were compared with, or a graph whose
blank nodes were named anew by a copy (then only that graph is dropped and loaded whole).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kg.errors import StoreError
from kg.ingest.memo import Memo
from kg.ingest.provenance import findings_line
from kg.ingest.records_file import records_signature, results_of
from kg.ingest.summary import IngestSummary
from kg.processes import die_with_parent
from kg.store.bulk_load import read_pieces
from kg.store.interface import GraphStore
from kg.store.next_generation import FILES
from kg.store.writer import Writer
from kg.vocab import KGO

# Above this share of touched records the whole write is used. Measured at 100,000 datasets (load 5,
# bench/RESULTS.md): the delta took 19 s for 1.9 % touched (reading their results back, one pass
# over the new files, ~7 µs a triple removed), the bulk loads it replaces ~65-110 s; after it the
# derived tables and search index are updated for the touched lines only (Generation.touched), where
# the whole write has them rebuilt for the source. Its cost grows with the touched records, the
# loads' with the source, so 10 % keeps a margin without a measured crossover (not measured: a guess).
MAX_SHARE = 0.10
LABEL_SAMPLE = 64  # kept lines with blank nodes checked to be in the published graph as written


@dataclass
class Plan:
    """What the delta write needs, decided before the write from the run's records."""

    source: str
    signature: str  # of the records file the published graphs were made with (the memo's previous)
    touched: frozenset[str]  # identities (kg.ingest.digests.identity) of the records to take out and add
    results: Path  # this run's records file (Memo.target)
    unheld: frozenset[bytes]  # quarantined before, not now: links to them are published again
    graphs: tuple[str, str, str]  # the source's catalogue, quality and report graphs, patched
    differ: tuple[str, ...]  # the vocabularies and our catalogue's, by the triples that differ
    replaced: tuple[str, ...]  # the source's quarantine graph, written whole


def plan_delta(
    store: GraphStore, memo: Memo | None, summary: IngestSummary, graphs: tuple[str, ...]
) -> Plan | str:
    """The delta write's plan for this run, or why the graphs are written whole.

    ``graphs``: the ingest's, in :func:`kg.ingest.run.ingest`'s order (the source's catalogue,
    quarantine, vocabulary, our catalogue, quality and report graphs).
    """
    if memo is None:
        return "whole: the last results are not kept (a remote store, or reuse off)"
    if not memo.before:
        return "whole: a first ingest of the source"
    if memo.opaque or memo.incomplete or not memo.previous_signature:
        return "whole: no usable results of the last run (a new recipe, an RDF source or a failed check)"
    previous_quarantine = quarantined_keys(store, graphs[1])
    now = {r.key for r in summary.quarantined_reports}
    quarantined = previous_quarantine | now
    touched = {i for i, digest in memo.seen.items() if memo.before.get(i) != digest}
    touched |= {i for i in memo.before if i not in memo.seen}
    touched |= {i for i in (*memo.before, *memo.seen) if memo.stored_key(i) in quarantined}
    share = len(touched) / max(len(memo.before), len(memo.seen), 1)
    if share > MAX_SHARE:
        return f"whole: {share:.0%} of the records touched (more than {MAX_SHARE:.0%})"
    unheld = frozenset(f"<{k}>".encode() for k in previous_quarantine - now if k.startswith("http"))
    patched, differ, replaced = (graphs[0], graphs[4], graphs[5]), (graphs[2], graphs[3]), (graphs[1],)
    signature, results = memo.previous_signature, memo.target
    return Plan(summary.source, signature, frozenset(touched), results, unheld, patched, differ, replaced)


def quarantined_keys(store: GraphStore, graph: str) -> set[str]:
    """The record keys a published quarantine graph holds (its reports' ``kgo:recordKey``)."""
    query = f"SELECT ?k WHERE {{ GRAPH <{graph}> {{ ?r <{KGO.recordKey}> ?k }} }}"
    return {row["k"].value for row in store.query(query, default_graphs=[], private=True)}


@contextmanager
def source_write(
    store: GraphStore, graphs: tuple[str, ...], memo: Memo | None, summary: IngestSummary
) -> Iterator[Writer]:
    """The write of an ingest's ``graphs`` (:func:`plan_delta`): whole, replacing them, or by
    difference (the source's catalogue and quality graphs by the touched records, the others by
    their triples); which one goes in ``summary.write``."""
    plan = plan_delta(store, memo, summary, graphs)
    if isinstance(plan, str):
        summary.write = plan
        with store.write(replace=graphs) as writer:
            yield writer
        return
    with store.write(replace=plan.replaced, changed=graphs) as writer:
        delta = DeltaWriter(writer, plan, store.folder() / FILES / f"{plan.source}.sqlite", summary)
        try:
            yield delta
            delta.check_done()
        finally:
            delta.close()


class DeltaWriter:
    """The store's writer, but a load of one of the plan's graphs patches the published one to what
    the file holds (see the module docstring); any other call goes to the writer as it is."""

    def __init__(self, writer: Writer, plan: Plan, base: Path, summary: IngestSummary) -> None:
        self._writer, self._plan, self._base, self._summary = writer, plan, base, summary
        self._lines: dict[str, tuple[set[bytes], set[bytes]]] | None = None  # graph -> (old, new)
        self._patched: dict[str, tuple[int, int]] = {}  # graph -> triples removed, added
        self._whole: set[str] = set()  # graphs of the plan loaded whole after all
        self._seconds = 0.0  # spent waiting for the difference and applying it
        self._pending: dict[str, tuple[Future, Path | str, Sequence[tuple[int, int]], bool]] = {}
        self._pool: ProcessPoolExecutor | None = None
        summary.write = f"delta: {len(plan.touched):,} records' triples replaced"

    def __getattr__(self, name: str) -> object:
        return getattr(self._writer, name)

    def load(
        self,
        path: Path | str,
        *,
        graph: str,
        fmt: str = "nt",
        leave_out: Sequence[tuple[int, int]] = (),
        keep_labels: bool = False,
    ) -> None:
        if graph not in self._plan.graphs:
            self._writer.load(path, graph=graph, fmt=fmt, leave_out=leave_out, keep_labels=keep_labels)
            return
        why = self._unsafe(graph, keep_labels) if fmt == "nt" else "not N-Triples"
        if why:
            self._load_whole(graph, why, path, fmt, leave_out, keep_labels)
            return
        old, new = self._old_and_new()[graph]
        found = self._finder().submit(file_difference, old, new, self._plan.unheld, path, list(leave_out))
        self._pending[graph] = (found, path, leave_out, keep_labels)

    def _apply(self, graph: str) -> None:
        """Patch a graph of the plan by the difference found for it (see :meth:`load`)."""
        found, path, leave_out, keep_labels = self._pending.pop(graph)
        t0 = time.perf_counter()
        remove, add, blank = found.result()
        if keep_labels and not self._labels_kept(graph, remove, blank):
            self._load_whole(
                graph, "its blank nodes were named anew by a copy", path, "nt", leave_out, keep_labels
            )
            return
        old, new = self._old_and_new()[graph]  # the records' lines: their subjects' rows made again
        self._patched[graph] = self._writer.patch(graph, remove, add, labelled=keep_labels, touched=old | new)
        self._seconds += time.perf_counter() - t0

    def _load_whole(
        self,
        graph: str,
        why: str,
        path: Path | str,
        fmt: str,
        leave_out: Sequence[tuple[int, int]],
        labels: bool,
    ) -> None:
        """This graph whole: dropped from the checkpoint and loaded."""
        self._whole.add(graph)
        self._summary.write += f"; {graph} whole ({why})"
        self._writer.drop(graph)
        self._writer.load(path, graph=graph, fmt=fmt, leave_out=leave_out, keep_labels=labels)

    def _finder(self) -> ProcessPoolExecutor:
        """Processes that find the graphs' differences (:func:`file_difference`) while this one goes
        on with the write. Why: each is a pass over a file of the run (650 MB of catalogue triples at
        100,000 datasets, and the quality and report graphs'), ~5 s in all on one core, while the
        other idled; forked: started in a moment, the store's files not opened again."""
        if self._pool is None:
            fork = multiprocessing.get_context("fork")
            self._pool = ProcessPoolExecutor(max_workers=2, mp_context=fork, initializer=die_with_parent)
        return self._pool

    def close(self) -> None:
        """The finding processes stopped (after the write, or when it failed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def load_text(self, text: str, *, graph: str, fmt: str = "nt") -> None:
        if graph in self._plan.differ:  # kept in the checkpoint: changed by difference, else whole
            data = text.encode("utf-8")
            if not (fmt == "nt" and self._writer.replace_by_difference(data, graph=graph)):
                self._writer.drop(graph)
                self._writer.load_text(text, graph=graph, fmt=fmt)
            self._patched[graph] = (0, 0)
            return
        self._writer.load_text(text, graph=graph, fmt=fmt)

    def check_done(self) -> None:
        """The graphs of the plan patched, in the order they were loaded; every one of them was
        loaded (else the generation would keep its old triples)."""
        for graph in list(self._pending):
            self._apply(graph)
        self.close()
        planned = (*self._plan.graphs, *self._plan.differ)  # (the replaced ones: empty if not given)
        missing = [g for g in planned if g not in self._patched and g not in self._whole]
        if missing:  # the code's own mistake: published, the graphs would keep their old triples
            raise StoreError(f"the delta write was not given {missing} to load: nothing written")
        removed = sum(self._patched[g][0] for g in self._plan.graphs if g in self._patched)
        added = sum(self._patched[g][1] for g in self._plan.graphs if g in self._patched)
        self._summary.write += f" ({removed:,} triples removed, {added:,} added in {self._seconds:.1f} s)"

    def _unsafe(self, graph: str, keep_labels: bool) -> str:
        """Why this graph cannot be patched (""  when it can)."""
        if self._old_and_new() is None:
            return "the published records are not those the run compared with"
        if not keep_labels and any(b"_:" in line for part in self._old_and_new()[graph] for line in part):
            return "blank nodes in a graph loaded without its labels"
        return ""

    def _old_and_new(self) -> dict[str, tuple[set[bytes], set[bytes]]] | None:
        """Per graph of the plan, the touched records' lines in the published generation and in this
        run; None when the published records file is not the one the run compared with."""
        if self._lines is None:
            if records_signature(self._base) != self._plan.signature:
                return None
            lines = {g: (set(), set()) for g in self._plan.graphs}
            reports = self._plan.graphs[2]
            for which, path in ((0, self._base), (1, self._plan.results)):
                for _, (_, report, texts) in results_of(path, self._plan.touched):
                    # its findings line as the ingest writes it for a published record (one whose
                    # verdict the checks across records changed has none: the file says which)
                    found = findings_line(report, reports) if report.publishable and report.findings else ""
                    for graph, text in zip(self._plan.graphs, (*texts[:2], found), strict=True):
                        lines[graph][which].update(text.encode("utf-8").splitlines(keepends=True))
            self._lines = lines
        return self._lines

    def _labels_kept(self, graph: str, remove: set[bytes], blank: list[bytes]) -> bool:
        """Whether the checkpoint's graph names its blank nodes as the file does: checked on lines
        with blank nodes of records not touched (which it must hold), or else on those to remove."""
        sample = blank or [line for line in remove if b"_:" in line]
        return self._writer.names_blank_nodes_as(graph, sample)


def file_difference(
    old: set[bytes],
    new: set[bytes],
    unheld: frozenset[bytes],
    path: Path | str,
    leave_out: list[tuple[int, int]],
) -> tuple[set[bytes], set[bytes], list[bytes]]:
    """(lines to remove, lines to add, a sample of the other lines with blank nodes) of a graph whose
    touched records had the lines ``old`` and have ``new``, and whose file is ``path`` less the lines
    at ``leave_out``: the old lines and the links held back now, but those the file has; the new
    lines and the links to ``unheld`` (no longer held back), that the file has."""
    remove = old | set(_held(path, leave_out))
    in_file: set[bytes] = set()
    add: set[bytes] = set()
    blank: list[bytes] = []
    for piece in read_pieces(path, [], leave_out):
        lines = piece.splitlines(keepends=True)  # the set operations below run in C, not per line
        in_file |= remove.intersection(lines)
        add |= new.intersection(lines)
        add |= _ending_in(piece, unheld)
        blank += _with_labels(piece, add, LABEL_SAMPLE - len(blank))
    return remove - in_file, add, blank


def _ending_in(text: bytes, objects: frozenset[bytes]) -> set[bytes]:
    """The lines of N-Triples ``text`` whose object is one of these IRIs (``<...>``), found by a
    search for each (a few: the records just out of quarantine) rather than a look at every line."""
    found = set()
    for iri in objects:
        needle = b" " + iri + b" .\n"
        at = text.find(needle)
        while at >= 0:
            end = at + len(needle)
            found.add(text[text.rfind(b"\n", 0, at) + 1 : end])
            at = text.find(needle, end)
    return found


def _with_labels(text: bytes, leave: set[bytes], most: int) -> list[bytes]:
    """Up to ``most`` lines of N-Triples ``text`` with a blank node, but those in ``leave``."""
    found: list[bytes] = []
    at = text.find(b"_:")
    while at >= 0 and len(found) < most:
        start, end = text.rfind(b"\n", 0, at) + 1, text.find(b"\n", at) + 1
        end = end or len(text)
        if (line := text[start:end]) not in leave:
            found.append(line)
        at = text.find(b"_:", end)
    return found


def _held(path: Path | str, spans: Sequence[tuple[int, int]]) -> Iterator[bytes]:
    with open(path, "rb") as source:
        for start, end in spans:
            source.seek(start)
            yield source.read(end - start)
