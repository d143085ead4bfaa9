"""The records file of kg.ingest.memo: its small columns before the result, and a file of the order
before (the result third) read the same, so that a store's next harvest reuses its results."""

from __future__ import annotations

import pickle
import sqlite3
import zlib
from pathlib import Path

from kg.ingest.memo import Memo
from kg.ingest.records_file import kept_records, results_of
from kg.mapping.mapped import MappedRecord
from kg.records import Origin
from kg.validation.report import RecordReport

KEY = "https://example.org/dataset/a"


def result() -> tuple:
    mapped = MappedRecord(KEY, "dataset", Origin("data.json", 3), "A")
    return mapped, RecordReport(KEY, "dataset", "data.json", "A"), ("<a> <b> <c> .\n", "", "", "", [])


def test_the_result_is_the_last_column(tmp_path: Path) -> None:
    """Why it matters: a row's columns after a blob are read through its overflow pages, and the
    small ones are read for every record of the last run as a harvest starts (the whole file, cold:
    14.6 s profiled at 100,000 datasets, when the result came third)."""
    memo = Memo(None, tmp_path / "records.sqlite", "recipe")
    memo._keep("DatasetRecord:a", b"digest", result())
    memo.finish("")
    db = sqlite3.connect(tmp_path / "records.sqlite")
    columns = [row[1] for row in db.execute("PRAGMA table_info(records)")]
    db.close()
    assert columns[-1] == "result" and set(columns) == {
        "ident",
        "digest",
        "key",
        "kind",
        "publishable",
        "result",
    }
    assert kept_records(tmp_path / "records.sqlite") == {"DatasetRecord:a": (KEY, b"digest", "dataset", 1)}


def test_a_file_with_the_result_third_is_read_as_before(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.executescript(
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE records (ident TEXT NOT NULL, digest BLOB NOT NULL, result BLOB NOT NULL,"
        " key TEXT NOT NULL, kind TEXT NOT NULL, publishable INTEGER NOT NULL);"
    )
    blob = zlib.compress(pickle.dumps(result()))
    db.execute(
        "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
        ("DatasetRecord:a", b"digest", blob, KEY, "dataset", 1),
    )
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)", [("layout", "2"), ("recipe", "recipe"), ("signature", "s")]
    )
    db.commit()
    db.close()
    memo = Memo(old, tmp_path / "new.sqlite", "recipe")
    assert memo.before == {"DatasetRecord:a": b"digest"} and memo.previous_signature == "s"
    assert memo.stored_key("DatasetRecord:a") == KEY
    memo.close()
    assert kept_records(old) == {"DatasetRecord:a": (KEY, b"digest", "dataset", 1)}
    ((ident, (mapped, report, texts)),) = results_of(old, ["DatasetRecord:a"])
    assert (ident, mapped.key, report.publishable, texts[0]) == (
        "DatasetRecord:a",
        KEY,
        True,
        "<a> <b> <c> .\n",
    )
