"""The workers' results come back while the source is still being read (kg.ingest.workers).

Why it matters: a re-harvest hands out the reused results of unchanged records (kg.ingest.memo) in
the source's order, behind the results of the changed ones' batches. When no batch came back before
more were waiting than the workers hold, a source with a few batches to map (1 % of 100,000
records changed: ~5) had every reused result handed out only after the whole source was read, on
the same main process, instead of while the reading went on.

The workers are threads here (the same executor interface), so that the test knows when the first
batch is done: it holds the reading until then.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pytest

import kg.ingest.workers
from kg.ingest.workers import process_ntriples
from kg.iris import Minter
from kg.readers import read_source
from kg.records import Record

SAMPLE = "kg/sample/csv"


class _Pool(ThreadPoolExecutor):
    """The workers' executor, keeping what was submitted to it; one thread (the SHACL engine is not
    to be used by two at once), whatever number of workers the ingest counts on."""

    submitted: list[Future] = []

    def __init__(self, max_workers: int, **kwargs: object) -> None:
        super().__init__(max_workers=1, **kwargs)

    def submit(self, *args: object, **kwargs: object) -> Future:
        future = super().submit(*args, **kwargs)
        _Pool.submitted.append(future)
        return future


def test_a_batch_done_is_handed_on_before_the_source_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kg.ingest.workers, "ProcessPoolExecutor", _Pool)
    monkeypatch.setattr(_Pool, "submitted", [])
    records = list(read_source(SAMPLE))
    assert len(records) > 12
    read: list[Record] = []

    def reading() -> Iterator[Record]:
        for record in records:
            if len(read) == 2:  # the first batch (of 2) is with the workers: let it finish first
                wait(_Pool.submitted, timeout=120)
            read.append(record)
            yield record

    results = process_ntriples(reading(), Minter("http://kg.test/"), batch=2, workers=2)
    first = next(results)
    # the first batch came back when the second was handed to the workers (before: only once
    # more than 2 x 2 batches were waiting, after 10 records)
    assert len(read) == 4
    assert first[1].origin == str(records[0].origin)  # in the source's order
    assert len(list(results)) == len(records) - 1


def test_the_reading_process_sends_fewer_whole_records_a_batch_than_known_ones(monkeypatch) -> None:
    """kg.ingest.read_ahead's batches: a whole record (changed or new, ~10x a Known one's pickle)
    counts as WHOLE items, so that the batches its queue holds ahead of slow workers stay as small in
    bytes as before the queue grew for reused records; every record is sent once, in order."""
    from kg.ingest import read_ahead
    from kg.ingest.digests import Known, record_digest
    from kg.ingest.keys import keyed
    from kg.records import AgencyRecord

    monkeypatch.setattr(read_ahead, "BATCH", 16)
    every = list(keyed(read_source(SAMPLE)))
    reusable = frozenset(record_digest(r, around) for r, around in every if not isinstance(r, AgencyRecord))
    datasets = sum(1 for r, _ in every if not isinstance(r, AgencyRecord))
    assert datasets > 40

    whole = list(read_ahead.batches(keyed(read_source(SAMPLE)), frozenset()))
    assert [len(b) for b in whole[:-1]] == [16 // read_ahead.WHOLE] * (len(whole) - 1)
    assert sum(map(len, whole)) == len(every) and not any(isinstance(i, Known) for b in whole for i in b)

    reused = list(read_ahead.batches(keyed(read_source(SAMPLE)), reusable))
    items = [i for b in reused for i in b]
    assert sum(isinstance(i, Known) for i in items) == datasets and len(items) == len(every)
    assert max(len(b) for b in reused) > 16 // read_ahead.WHOLE  # Known ones go 16 a batch
    assert [i.origin for i in items] == [r.origin for r, _ in every]  # each once, in the source's order
