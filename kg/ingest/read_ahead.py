"""Records read, keyed and hashed by a process of their own, while the ingest hands out results.

Why: a re-harvest of a 100,000-dataset source with 1 % changed spent ~20 s of its main process
reading the document into records and hashing them (:func:`kg.ingest.keys.keyed`,
:func:`kg.ingest.digests.record_digest`), on one core, while the workers, with ~1,000 records to map,
idled on the other. Here a forked process does that reading and hashing, and sends the main process
each record whose last result is reused as a :class:`Known` (what :meth:`kg.ingest.memo.Memo.take`
needs of it: its identity, digest and origin), every other record whole (an agency too: the
records after it are validated with its description), in the source's order.

The records are those :func:`kg.ingest.keys.keyed` makes in the main process (the same
identifiers, digests and context: the main process keys them again, and finds every identifier
already its own), so the results are the same; a reader's error is raised in the main process as
the reader raised it, and what the reader skipped is counted in ``skipped``. Only for a local file
or folder (a harvest's copy): a URL's reader would fetch it from the forked process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from queue import Empty

from kg.ingest.digests import Known, identity, record_digest
from kg.ingest.keys import keyed
from kg.processes import die_with_parent
from kg.records import AgencyRecord, RdfRecord, Record

BATCH = 256  # items sent at a time (one pickle, one queue item each): Known ones, or fewer whole
WHOLE = 8  # records (a whole record counts as this many: ~1.2-2.8 KB pickled, a Known ~0.15 KB)
# batches the reading process may be ahead: the whole of a 100,000-record source when its records are
# reused (a batch of Known is ~40 KB pickled). Why so many: the main process now hands out the reused
# results in bursts, as each batch of the workers comes back (~20,000 records' worth at a 1 %
# re-harvest), and with 64 batches (16,000 records) the reading process stopped, its queue full,
# during each burst. Whole records are 32 a batch (BATCH // WHOLE), so at most 16,384 of them wait,
# as with 64 batches of 256 before: a source whose records mostly changed (a portal that stamps
# every record each day) does not hold ~165-365 MB of pickles ahead of slower workers
QUEUED = 512
WAIT = 1.0  # seconds between two looks at whether the reading process still lives


class ReadAhead:
    """The reading process's items, as they come (an iterable, once); :meth:`close` stops the
    process when the ingest does not read them all (the items' own iterator stops it once started)."""

    def __init__(self, process, queue, skipped: Counter) -> None:  # noqa: ANN001 - multiprocessing's
        self._process, self._queue = process, queue
        self._items = _received(process, queue, skipped)
        self._taken: list[Record | Known] = []  # by the first pass, to be given again

    def first_pass(self) -> Iterator[Record | Known]:
        """The items for a harvest's first pass (:meth:`kg.ingest.memo.Memo.as_stored`), each kept:
        iterating this object gives those it took again, then the others.

        Why: that pass read and hashed the source again on the main process (the document's outline
        parsed: ~2.5 s at 100,000 datasets, quiet) beside this process doing the same; the main
        process is the busier one once it hands out the reused results while this one reads."""
        for item in self._items:
            self._taken.append(item)
            yield item

    def __iter__(self) -> Iterator[Record | Known]:
        taken, self._taken = self._taken, []
        return chain(taken, self._items)

    def close(self) -> None:
        self._items.close()  # if started: its own clean-up; if not, nothing
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._queue.close()


def read_ahead(records: Iterable[Record], reusable: frozenset[bytes], skipped: Counter) -> ReadAhead:
    """``records`` read and keyed (:func:`kg.ingest.keys.keyed`) by a forked process: a record whose
    digest is in ``reusable`` comes as a :class:`Known`, any other as :func:`keyed` left it (its
    identifier its own), for the ingest to key again (the same: :class:`Known` records name no
    agency, and the agencies come whole). ``records`` must not have been started (the process
    reads its own copy of them; ``skipped``, the Counter the reader was given to count what it
    skips, is set to the reading process's at the end)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue(QUEUED)
    process = context.Process(target=_read, args=(records, reusable, queue, skipped), daemon=True)
    process.start()  # now, not at the first record asked for: before the ingest starts threads
    return ReadAhead(process, queue, skipped)


def _received(process, queue, skipped: Counter) -> Iterator[Record | Known]:
    """The reading process's items, as they come; its error raised here."""
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=WAIT)
            except Empty:
                if process.is_alive():
                    continue
                ended = process.exitcode
                raise RuntimeError(f"the process reading the source ended ({ended}) unfinished") from None
            if kind == "records":
                yield from pickle.loads(payload)
            elif kind == "error":
                raise payload
            else:
                skipped.clear()
                skipped.update(payload)
                break
        process.join()
    finally:
        if process.is_alive():  # the ingest stopped early (an error of its own, or a refusal)
            process.kill()
            process.join()
        queue.close()


def _read(records: Iterable[Record], reusable: frozenset[bytes], queue, skipped: Counter) -> None:
    """The reading process: batches of items, then ("end", ``skipped``: its copy, as the reader
    counted in it) or ("error", what was raised)."""
    die_with_parent()
    try:
        for batch in batches(keyed(records), reusable):
            queue.put(("records", pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)))
        queue.put(("end", skipped))
    except BaseException as exc:  # noqa: BLE001 - every failure is the ingest's to report
        queue.put(("error", _picklable(exc)))
    finally:
        queue.close()
        queue.join_thread()
        os._exit(0)  # no atexit handlers or finalizers of the forked ingest's objects


def batches(
    keyed_records: Iterable[tuple[Record, list[bytes]]], reusable: frozenset[bytes]
) -> Iterator[list[Record | Known]]:
    """The items to send, in order, a batch at a time: up to :data:`BATCH` :class:`Known` records, a
    whole record counting as :data:`WHOLE` of them (the last batch may be empty)."""
    batch: list[Record | Known] = []
    weight = 0
    for record, around in keyed_records:
        known = _known(record, around, reusable)
        batch.append(known or record)
        weight += 1 if known is not None else WHOLE
        if weight >= BATCH:
            yield batch
            batch, weight = [], 0
    yield batch


def _known(record: Record, around: list[bytes], reusable: frozenset[bytes]) -> Known | None:
    if isinstance(record, AgencyRecord | RdfRecord):
        return None  # an agency is the context of the records after it; RDF: never reused
    digest = record_digest(record, around)
    return Known(identity(record), digest, record.origin) if digest in reusable else None


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"reading the source failed: {exc!r}")
    return exc
