"""Relevance of broad searches: FTS5's bm25, recomputed in bulk from per-token postings.

Why: FTS5 ranks a MATCH by calling bm25 on every matching row (decoding its position lists
and reading its length) before ``ORDER BY … LIMIT 20`` can keep 20; a word found in most of
100,000 datasets costs ~100 ms there, and fetching the matches for the facet bitsets ~40 ms
more. Here the tokens found in more than :data:`POSTED_MIN` datasets get, with each
generation, their postings (the datasets holding the token in title, keywords or
description, and its weighted count there) and every row's length in tokens; a query whose
words are all such tokens is matched and ranked with numpy in a few milliseconds. Any other
query matches fewer than :data:`POSTED_MIN` rows, which FTS5 ranks quickly itself.

Same answer, not an approximation: the score is FTS5's bm25 (``fts5_aux.c``) with the same
inputs (row count and total tokens as FTS5 keeps them, each phrase's IDF from its matching
rows, weights 10, 5, 1, 0) and the same floating-point operations in the same order, so the
order by (score, rowid) is the one ``ORDER BY bm25(…), rowid`` gives; the tests compare them.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kg.search.tables import TOKENIZE

POSTED_MIN = 1000  # tokens found in more datasets than this get postings
WEIGHTS = (10.0, 5.0, 1.0, 0.0)  # bm25 weight of the columns title, keywords, description, tags
K1, B = 1.2, 0.75  # fts5_aux.c's constants
_TAG = re.compile(r"f\d+")  # the tokens of the tags column (kg.search.build): never posted


# ---------------------------------------------------------------- building


def write_postings(db: sqlite3.Connection, posted_min: int | None = None) -> None:
    """Fill ``postings`` and ``lengths`` from the index's FTS5 table ``text`` as it now is."""
    posted_min = POSTED_MIN if posted_min is None else posted_min
    db.execute("DELETE FROM postings")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.text_rows USING fts5vocab(main, text, row)")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.text_hits USING fts5vocab(main, text, instance)")
    weighted = _weighted("temp.text_hits")
    for token in _posted(db, posted_min):
        rows = np.fromiter(db.execute(weighted, (token,)), dtype=_ROW)
        if len(rows):  # two arrays of 4 bytes a row, not a list of tuples (a million rows at 1,000,000)
            docs, weights = rows["doc"].tobytes(), rows["weight"].tobytes()
            db.execute("INSERT INTO postings VALUES (?, ?, ?)", (token, docs, weights))
    _write_lengths(db, np.zeros(0, dtype="<u4"), 0)
    db.execute("DROP TABLE temp.text_rows")
    db.execute("DROP TABLE temp.text_hits")


_ROW = [("doc", "<u4"), ("weight", "<u4")]


def _weighted(table: str) -> str:
    """Per document, a token's weighted count in an FTS5 ``instance`` vocabulary table."""
    case = " ".join(f"WHEN '{name}' THEN {w}" for name, w in zip(_COLUMNS, WEIGHTS, strict=True))
    return (
        f"SELECT doc, sum(CASE col {case} ELSE 0 END) FROM {table} "
        "WHERE term = ? AND col != 'tags' GROUP BY doc ORDER BY doc"
    )


def _posted(db: sqlite3.Connection, posted_min: int) -> list[str]:
    """The tokens to post: in more than ``posted_min`` rows of ``text`` (``temp.text_rows``), not tags."""
    rows = db.execute("SELECT term FROM temp.text_rows WHERE doc > ?", (posted_min,))
    return [t for (t,) in rows if not _TAG.fullmatch(t)]


def _write_lengths(db: sqlite3.Connection, kept: np.ndarray, since: int) -> None:
    """``lengths``: FTS5's averages and every row's length in tokens, those up to ``since`` taken
    from ``kept`` (a deleted row's 0), the others from ``text_docsize``."""
    top = db.execute("SELECT coalesce(max(id), 0) FROM text_docsize").fetchone()[0]
    lengths = np.zeros(top + 1, dtype="<u4")
    upto = min(since + 1, top + 1, len(kept))
    lengths[:upto] = kept[:upto]
    for ident, blob in db.execute("SELECT id, sz FROM text_docsize WHERE id > ? ORDER BY id", (since,)):
        lengths[ident] = sum(_varints(blob))
    db.execute("DELETE FROM lengths")
    db.execute("INSERT INTO lengths VALUES (1, ?, ?, ?)", (*_averages(db), lengths.tobytes()))


def update_postings(
    db: sqlite3.Connection, gone: Sequence[int], since: int, posted_min: int | None = None
) -> None:
    """:func:`write_postings`' tables brought forward in an index copied from the previous generation's,
    whose rows ``gone`` were deleted and whose rows above ``since`` are new (the others as they were).

    Why: after a re-harvest of 100,000 datasets with 1 % changed, every posted token's postings were
    read again from the whole text index (244 tokens, 4.8 s profiled) for ~2,000 rows that changed.
    A row's weighted count of a token is its own (the column weights), so a kept posting loses the
    rows gone and gains the new ones, counted in a table of those rows alone with the same tokenizer;
    a token newly posted is read whole, as :func:`write_postings` does."""
    posted_min = POSTED_MIN if posted_min is None else posted_min
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.text_rows USING fts5vocab(main, text, row)")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.text_hits USING fts5vocab(main, text, instance)")
    db.execute(f"CREATE VIRTUAL TABLE temp.fresh USING fts5({', '.join(_COLUMNS)}, tokenize = '{TOKENIZE}')")
    db.execute("CREATE VIRTUAL TABLE temp.fresh_hits USING fts5vocab(temp, fresh, instance)")
    names = ", ".join(_COLUMNS)
    db.execute(
        f"INSERT INTO temp.fresh(rowid, {names}) SELECT rowid, {names} FROM text WHERE rowid > ?", (since,)
    )
    kept = {token: (docs, weights) for token, docs, weights in db.execute("SELECT * FROM postings")}
    tokens = _posted(db, posted_min)
    db.execute("DELETE FROM postings")
    removed = np.array(sorted(gone), dtype="<u4")
    for token in tokens:
        if token in kept:
            docs, weights = (np.frombuffer(blob, dtype="<u4") for blob in kept[token])
            keep = ~np.isin(docs, removed)
            new = np.fromiter(db.execute(_weighted("temp.fresh_hits"), (token,)), dtype=_ROW)
            docs = np.concatenate([docs[keep], new["doc"]])
            weights = np.concatenate([weights[keep], new["weight"]])
        else:
            rows = np.fromiter(db.execute(_weighted("temp.text_hits"), (token,)), dtype=_ROW)
            docs, weights = rows["doc"], rows["weight"]
        if len(docs):
            db.execute("INSERT INTO postings VALUES (?, ?, ?)", (token, docs.tobytes(), weights.tobytes()))
    found = db.execute("SELECT lengths FROM lengths WHERE id = 1").fetchone()
    lengths = np.frombuffer(found[0], dtype="<u4").copy() if found else np.zeros(0, dtype="<u4")
    lengths[removed[removed < len(lengths)]] = 0
    _write_lengths(db, lengths, since)
    for table in ("fresh_hits", "fresh", "text_rows", "text_hits"):
        db.execute(f"DROP TABLE temp.{table}")


_COLUMNS = ("title", "keywords", "description", "tags")


def _averages(db: sqlite3.Connection) -> tuple[int, int]:
    """(rows, tokens of every column): FTS5's averages record, the ``avgdl`` of its bm25."""
    found = db.execute("SELECT block FROM text_data WHERE id = 1").fetchone()
    values = _varints(found[0]) if found else []
    if not values:  # a table that never had a row keeps an empty record
        return 0, 0
    return values[0], sum(values[1:])


def _varints(blob: bytes) -> list[int]:
    """SQLite's varints (FTS5's records): big-endian 7 bits a byte, the ninth byte whole."""
    out, value, used = [], 0, 0
    for byte in blob:
        used += 1
        if used == 9:
            out.append(value << 8 | byte)
            value, used = 0, 0
        elif byte & 0x80:
            value = value << 7 | byte & 0x7F
        else:
            out.append(value << 7 | byte)
            value, used = 0, 0
    return out


# ---------------------------------------------------------------- querying


@dataclass(frozen=True)
class Ranking:
    """The rows matching every phrase of a query, each with its bm25 rank (lower is better)."""

    ids: np.ndarray  # ascending rowids
    rank: np.ndarray  # -score, as FTS5's bm25 returns it
    bits: int  # ids as a bitset (kg.search.tables.bitset)

    def page(self, found: int, offset: int, size: int) -> list[int]:
        """Rows ``offset`` to ``offset + size`` of those in ``found``, by (rank, rowid)."""
        ids, rank = self.ids, self.rank
        if found != self.bits:
            member = _members(found, int(ids[-1]) + 1 if len(ids) else 0)
            keep = member[ids]
            ids, rank = ids[keep], rank[keep]
        wanted = offset + size
        if wanted < len(ids):  # the rows up to the wanted-th rank, ties included, then sorted
            cut = np.partition(rank, wanted - 1)[wanted - 1]
            keep = rank <= cut
            ids, rank = ids[keep], rank[keep]
        order = np.lexsort((ids, rank))[offset:wanted]
        return ids[order].tolist()


class Postings:
    """One generation's postings, read per query; the row lengths held (4 bytes a dataset)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        try:
            found = db.execute("SELECT rows, tokens, lengths FROM lengths WHERE id = 1").fetchone()
            tokens = [t for (t,) in db.execute("SELECT token FROM postings")]
        except sqlite3.OperationalError:  # an index of schema 1, until the next write rebuilds it
            found, tokens = None, []
        self.rows, total, blob = found if found else (0, 0, b"")
        self.lengths = np.frombuffer(blob, dtype="<u4").astype(np.float64)
        self.avgdl = total / self.rows if self.rows else 0.0  # as fts5_aux.c: (double)nToken / nRow
        self.tokens = frozenset(tokens)
        self._local = threading.local()

    def rank(self, db: sqlite3.Connection, words: Sequence[str]) -> Ranking | None:
        """The match and ranks of the phrases ``words``, or None when one is not a posted token."""
        tokens = self._tokens(words)
        if not tokens or any(t not in self.tokens for t in tokens):
            return None
        top = len(self.lengths)
        postings = []
        for token in tokens:
            docs, weights = db.execute(
                "SELECT docs, weights FROM postings WHERE token = ?", (token,)
            ).fetchone()
            postings.append((np.frombuffer(docs, dtype="<u4"), np.frombuffer(weights, dtype="<u4")))
        member = np.ones(top, dtype=bool)
        for docs, _ in postings:
            hit = np.zeros(top, dtype=bool)
            hit[docs] = True
            member &= hit
        ids = np.flatnonzero(member)
        length = self.lengths[ids]
        score = np.zeros(len(ids))
        for docs, weights in postings:  # phrase by phrase, as fts5Bm25Function sums them
            f = weights[member[docs]].astype(np.float64)  # docs ascend, as ids do: aligned
            score += self._idf(len(docs)) * (
                (f * (K1 + 1.0)) / (f + K1 * ((1 - B) + B * length / self.avgdl))
            )
        bits = int.from_bytes(np.packbits(member, bitorder="little").tobytes(), "little")
        return Ranking(ids, -1.0 * score, bits)

    def _idf(self, hits: int) -> float:
        idf = math.log((self.rows - hits + 0.5) / (hits + 0.5))
        return idf if idf > 0.0 else 1e-6

    def _tokens(self, words: Sequence[str]) -> list[str] | None:
        """Each word's token as the index's tokenizer makes it; None if a word makes more or fewer."""
        db = getattr(self._local, "db", None)
        if db is None:  # a private in-memory table with the index's tokenizer, one per thread
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.executescript(
                f"CREATE VIRTUAL TABLE words USING fts5(w, tokenize = '{TOKENIZE}');"
                "CREATE VIRTUAL TABLE word_tokens USING fts5vocab(words, instance);"
            )
            self._local.db = db
        try:
            db.executemany("INSERT INTO words(rowid, w) VALUES (?, ?)", enumerate(words))
            made: dict[int, list[str]] = {}
            for doc, term in db.execute("SELECT doc, term FROM word_tokens ORDER BY doc, offset"):
                made.setdefault(doc, []).append(term)
        finally:
            db.execute("DELETE FROM words")
        tokens = [made.get(i, []) for i in range(len(words))]
        return None if any(len(t) != 1 for t in tokens) else [t[0] for t in tokens]


def _members(bits: int, top: int) -> np.ndarray:
    """The bitset ``bits`` as booleans by rowid, ``top`` of them at least."""
    raw = np.frombuffer(bits.to_bytes((max(bits.bit_length(), top) + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little").astype(bool)
