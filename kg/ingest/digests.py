"""What names a record from one ingest to the next, and what hashes it (:mod:`kg.ingest.memo`'s
digests): the record as its reader made it, without its origin, and its context's digests.

Why a module of its own: the reading process (:mod:`kg.ingest.read_ahead`) and the keying of records
(:mod:`kg.ingest.keys`) hash records too, and need none of the memo's files, store or settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from kg.records import Origin, Record

_NO_ORIGIN = Origin("")


@dataclass(frozen=True)
class Known:
    """A record hashed by another process whose last result is reused, as
    :meth:`kg.ingest.memo.Memo.take` needs it (its identity, digest and origin): the record itself
    is not sent (:mod:`kg.ingest.read_ahead`)."""

    ident: str
    digest: bytes
    origin: Origin


def record_digest(record: Record, context: Iterable[bytes] = ()) -> bytes:
    """A record's hash: the record as read but for its origins, and the digests of its context.

    Why ``repr``: every reader's record is a dataclass whose generated ``repr`` shows every field
    (nested ones too) and escapes what no text may hold; a field whose order the source changed
    (two languages of a title swapped) only makes the record look changed, which is safe.
    """
    items = [record, *getattr(record, "distributions", ())]
    origins = [item.origin for item in items]
    try:
        for item in items:
            item.origin = _NO_ORIGIN
        text = repr(record)
    finally:
        for item, origin in zip(items, origins, strict=True):
            item.origin = origin
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
    for part in context:
        digest.update(part)
    return digest.digest()


def identity(record: Record) -> str:
    """What names a record from one ingest to the next (its kind and key, as the reader gave them)."""
    return f"{type(record).__name__}:{record.key}"
