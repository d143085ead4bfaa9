"""Records as the ingest keys them, before any is mapped: one identifier per record in a source,
and the digests of the agencies each record is validated with.

Both are decided in the source's order by the main process, the same way whether a record is then
mapped by a worker or its last result is reused (:mod:`kg.ingest.memo`), so that the two give the
same IRIs and the same verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kg.ingest.digests import record_digest
from kg.records import AgencyRecord, DatasetRecord, Record, Repair, ServiceRecord


def keyed(records: Iterable[Record], *, digests: bool = True) -> Iterator[tuple[Record, list[bytes]]]:
    """Records as the ingest maps them: each identifier an earlier record used made the record's own
    (:func:`keep_apart`), with the digests of the agencies its context is made of (its publisher's
    and parent's, as :mod:`kg.ingest.workers` gives them), for :mod:`kg.ingest.memo`; ``digests``
    false: no digests."""
    minted: dict[tuple[str, str], str] = {}  # (kind, key) -> where the record that has it is
    made: dict[str, bytes] = {}  # agency key -> its record's digest
    for record in records:
        if isinstance(record, DatasetRecord | ServiceRecord):
            keep_apart(record, minted)
        around = [made.get(getattr(record, k, ""), b"") for k in ("publisher", "parent")] if digests else []
        if digests and isinstance(record, AgencyRecord):
            made[record.key] = record_digest(record, around)
        yield record, around


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
