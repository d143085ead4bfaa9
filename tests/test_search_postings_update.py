"""kg.search.postings.update_postings: the postings and row lengths of an index copied from the last
generation's, some rows deleted and new ones added after the last id, are those write_postings makes
of the same rows (tokens kept, dropped below the threshold and newly above it)."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import numpy as np
from test_search_postings import sentence

from kg.search.postings import update_postings, write_postings
from kg.search.tables import SCHEMA

POSTED = 100  # tokens in more than this many rows are posted


def rows(db: sqlite3.Connection, rng: random.Random, ids: range, word: str, every: int) -> None:
    """Random rows, every ``every``-th one's title with ``word`` too."""
    for rowid in ids:
        tags = " ".join(f"f{rng.randint(1, 6)}" for _ in range(rng.randint(0, 3)))
        title = sentence(rng, 6) + (f" {word}" if rowid % every == 0 else "")
        row = (rowid, title, sentence(rng, 4), sentence(rng, 40), tags)
        db.execute("INSERT INTO text(rowid, title, keywords, description, tags) VALUES (?, ?, ?, ?, ?)", row)


def tables(db: sqlite3.Connection) -> tuple[list, tuple, list[int]]:
    postings = [
        (token, np.frombuffer(docs, "<u4").tolist(), np.frombuffer(weights, "<u4").tolist())
        for token, docs, weights in db.execute("SELECT * FROM postings ORDER BY token")
    ]
    found, total, lengths = db.execute("SELECT rows, tokens, lengths FROM lengths").fetchone()
    return postings, (found, total), np.frombuffer(lengths, "<u4").tolist()


def test_postings_brought_forward_are_those_written_anew(tmp_path: Path) -> None:
    rng = random.Random(5)
    before = sqlite3.connect(tmp_path / "before.sqlite")
    before.executescript(SCHEMA)
    rows(before, rng, range(1, 301), "alpha", 2)  # alpha in 150 rows
    write_postings(before, posted_min=POSTED)
    before.commit()
    before.close()
    shutil.copyfile(tmp_path / "before.sqlite", tmp_path / "after.sqlite")
    after = sqlite3.connect(tmp_path / "after.sqlite")
    # 100 of alpha's rows (it falls below the threshold) and the last row (the lengths end earlier
    # unless new rows come)
    gone = [*range(2, 201, 2), 201, 300]
    after.executemany("DELETE FROM text WHERE rowid = ?", [(i,) for i in gone])
    rows(after, random.Random(6), range(305, 425), "omega", 1)  # omega: newly above the threshold
    after.execute("INSERT INTO text(text, rank) VALUES ('merge', 500)")
    after.commit()
    fresh = sqlite3.connect(":memory:")
    after.backup(fresh)
    update_postings(after, gone, 300, posted_min=POSTED)
    write_postings(fresh, posted_min=POSTED)
    mine, theirs = tables(after), tables(fresh)
    assert len(theirs[0]) > 10 and mine[1] == theirs[1]
    assert mine[0] == theirs[0]
    assert mine[2] == theirs[2]
    kept = {t for t, _, _ in tables(sqlite3.connect(tmp_path / "before.sqlite"))[0]}
    now = {t for t, _, _ in theirs[0]}
    assert "alpha" in kept - now and "omega" in now - kept and "the" in now & kept
