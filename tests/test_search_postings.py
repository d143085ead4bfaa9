"""Searches for common words, matched and ranked from postings (kg.search.postings), answer as FTS5 does.

Every expectation here is computed by SQLite itself (``MATCH``, ``ORDER BY bm25(…), rowid``,
``count(*)``) or by SQL over the ``facets`` table, never written down by hand: the postings
path must give the same rows, in the same order, with the same scores, totals and facet counts.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from conftest import BASE

import kg.search.postings
from kg.factory import store_for
from kg.search.postings import Postings, write_postings
from kg.search.query import parse_query
from kg.search.tables import SCHEMA, bitset
from kg.settings import Settings
from kg.store.embedded import Store
from kg.vocab import DCAT, DCT

BM25 = (
    "bm25(text, 10.0, 5.0, 1.0, 0.0)"  # the weights kg.search ranks with: title, keywords, description, tags
)
COLUMNS = "{title keywords description}"
# a few words in most rows, then rarer ones (Zipf-like), accents and case folded by the tokenizer
VOCABULARY = ["the", "of", "data", "Qualité", "air", "water", "by", "monthly", "counts", "énergie"] + [
    f"word{i}" for i in range(40)
]


def fts_text(words: list[str]) -> str:
    return f"{COLUMNS} : (" + " ".join(f'"{w}"' for w in words) + ")"


def sentence(rng: random.Random, most: int) -> str:
    weights = [1 / (i + 1) for i in range(len(VOCABULARY))]
    return " ".join(rng.choices(VOCABULARY, weights, k=rng.randint(0, most)))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    """An index file of 600 random rows (some deleted again, as an incremental build does) with
    postings for every token."""
    path = tmp_path_factory.mktemp("postings") / "search.sqlite"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    rng = random.Random(17)
    for rowid in range(1, 601):
        tags = " ".join(f"f{rng.randint(1, 6)}" for _ in range(rng.randint(0, 3)))
        row = (rowid, sentence(rng, 6), sentence(rng, 4), sentence(rng, 40), tags)
        db.execute("INSERT INTO text(rowid, title, keywords, description, tags) VALUES (?, ?, ?, ?, ?)", row)
    db.execute("DELETE FROM text WHERE rowid % 7 = 0")
    db.execute("INSERT INTO text(text, rank) VALUES ('merge', 500)")
    write_postings(db, posted_min=0)
    db.commit()
    return db


QUERIES = [
    ["the"],
    ["of", "the"],
    ["data"],
    ["qualite"],  # Qualité without its accent, lower case
    ["QUALITÉ", "air"],
    ["energie", "by", "the"],
    ["the", "THE"],  # two phrases, one token: both count, as in FTS5
    ["word1", "of"],
    ["word3", "word5"],
    ["monthly", "counts", "water", "air"],
]


@pytest.mark.parametrize("words", QUERIES, ids=" ".join)
def test_rows_order_and_scores_are_fts5_s(index: sqlite3.Connection, words: list[str]) -> None:
    ranking = Postings(index).rank(index, words)
    assert ranking is not None
    want = index.execute(
        f"SELECT rowid, {BM25} FROM text WHERE text MATCH ? ORDER BY 2, rowid", (fts_text(words),)
    ).fetchall()
    assert len(want) > 0 and ranking.bits.bit_count() == len(want)
    assert ranking.page(ranking.bits, 0, len(want)) == [rowid for rowid, _ in want]
    mine = dict(zip(ranking.ids.tolist(), ranking.rank.tolist(), strict=True))
    assert mine == dict(want)  # the same floating-point numbers, not merely the same order
    for offset, size in ((0, 20), (3, 5), (len(want) - 2, 20)):
        assert ranking.page(ranking.bits, offset, size) == [r for r, _ in want][offset : offset + size]


@pytest.mark.parametrize("words", QUERIES[:6], ids=" ".join)
def test_a_page_within_a_facet_filter_is_fts5_s(index: sqlite3.Connection, words: list[str]) -> None:
    """The page kg.search asks FTS5 for with facet filters: the words AND a tags phrase."""
    ranking = Postings(index).rank(index, words)
    assert ranking is not None
    tagged = [r for (r,) in index.execute("SELECT rowid FROM text WHERE text MATCH 'tags : (f2 OR f5)'")]
    found = ranking.bits & bitset(tagged, max(tagged))
    matched = f"{fts_text(words)} AND tags : (f2 OR f5)"
    for offset in (0, 4):
        want = index.execute(
            f"SELECT rowid FROM text WHERE text MATCH ? ORDER BY {BM25}, rowid LIMIT 6 OFFSET ?",
            (matched, offset),
        ).fetchall()
        assert want and ranking.page(found, offset, 6) == [r for (r,) in want]


def test_words_that_are_not_posted_tokens_are_left_to_fts5(index: sqlite3.Connection) -> None:
    postings = Postings(index)
    assert postings.rank(index, ["the", "nowhere"]) is None  # no such token: FTS5 finds nothing fast
    assert postings.rank(index, ["f2"]) is None  # a tag's token: FTS5 decides what it matches
    assert postings.rank(index, []) is None


def test_an_index_without_rows_has_no_postings(tmp_path: Path) -> None:
    """A store without datasets (an empty store's first SPARQL update) still gets its index."""
    db = sqlite3.connect(tmp_path / "empty.sqlite")
    db.executescript(SCHEMA)
    write_postings(db, posted_min=0)
    postings = Postings(db)
    assert postings.tokens == frozenset() and postings.rows == 0 and postings.rank(db, ["the"]) is None


def test_an_index_without_postings_answers_by_fts5(tmp_path: Path) -> None:
    """An index written before postings existed (schema 1) is served until the next write."""
    db = sqlite3.connect(tmp_path / "old.sqlite")
    db.executescript(SCHEMA.split("CREATE TABLE postings")[0])
    postings = Postings(db)
    assert postings.tokens == frozenset() and postings.rank(db, ["the"]) is None


# ---------------------------------------------------------------- the sample, through kg.search


@pytest.fixture
def posted(seeded: Settings, monkeypatch: pytest.MonkeyPatch) -> Store:
    """The sample store, its index rebuilt with postings for every token, then updated incrementally
    by one more source (the postings are written anew from the merged text index)."""
    monkeypatch.setattr(kg.search.postings, "POSTED_MIN", 0)
    store = store_for(seeded)
    store.update(f"INSERT DATA {{ GRAPH <{BASE}graph/x> {{ <{BASE}x> <{BASE}y> 1 }} }}")  # a full rebuild
    turtle = f"""@prefix dcat: <{DCAT}> . @prefix dct: <{DCT}> .
        <{BASE}dataset/p-new> a dcat:Dataset ; dct:title "The national roads and the bridges"@en ;
          dct:description "Counts of the roads, of the bridges and of the national tunnels"@en ."""
    store.put_graph(f"{BASE}graph/other", turtle.encode(), "ttl")
    return store


def facet_counts(db: sqlite3.Connection, ids: list[int], facet: str) -> dict[str, int]:
    """A facet's counts over some datasets, by SQL over the facets table (not the bitsets)."""
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f"SELECT t.value, count(*) FROM facets f JOIN terms t ON t.id = f.term "
        f"WHERE t.facet = ? AND f.dataset IN ({marks}) GROUP BY t.value",
        (facet, *ids),
    )
    return dict(rows)


@pytest.mark.parametrize("q", ["and", "the of", "of and", "with", "national", "and in the"])
def test_broad_searches_of_the_sample_keep_order_totals_and_facets(posted: Store, q: str) -> None:
    from kg.search.query import open_index

    index = open_index(posted)
    words = parse_query({"q": [q]}).words()
    assert index.postings.rank(index._db(), words) is not None, "the postings path is the one tested"
    db = sqlite3.connect(f"file:{index.path}?mode=ro", uri=True)
    want = [
        r
        for (r,) in db.execute(
            f"SELECT rowid FROM text WHERE text MATCH ? ORDER BY {BM25}, rowid", (fts_text(words),)
        )
    ]
    assert want, q
    iri_of = dict(db.execute("SELECT id, iri FROM datasets"))
    result = index.search(parse_query({"q": [q], "size": ["100"]}), facet_limit=1000)
    assert result.total == len(want)
    if {w.lower() for w in words} <= {"the", "of", "and", "national"}:  # all in the incremental one
        assert f"{BASE}dataset/p-new" in [h.iri for h in result.hits]
    assert [h.iri for h in result.hits] == [iri_of[i] for i in want]
    second = index.search(parse_query({"q": [q], "size": ["3"], "page": ["2"]}))
    assert [h.iri for h in second.hits] == [iri_of[i] for i in want[3:6]]
    for facet, values in result.facets.items():
        assert {v.value: v.count for v in values} == facet_counts(db, want, facet), facet
    theme = next(iter(result.facets["theme"])).value  # the same within a facet filter
    filtered = index.search(parse_query({"q": [q], "theme": [theme], "size": ["100"]}))
    with_theme = [
        r
        for (r,) in db.execute(
            f"SELECT rowid FROM text WHERE text MATCH ? AND rowid IN "
            f"(SELECT dataset FROM facets JOIN terms ON terms.id = facets.term WHERE terms.value = ?) "
            f"ORDER BY {BM25}, rowid",
            (fts_text(words), theme),
        )
    ]
    assert [h.iri for h in filtered.hits] == [iri_of[i] for i in with_theme] and with_theme
