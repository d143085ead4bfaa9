"""The derived data of ``/quality``: scores per dataset, their ranks and the quality totals.

Built by :func:`kg.derived.build.build_derived` (see there for where and when). The points per
indicator are not in the graph (:mod:`kg.quality` keeps it lean): an ingest hands them over
as JSON lines (:class:`kg.derived.tables.Scores`); a quality graph without them (a write whose change
is unknown, a store older than the lean graph) is read back from the store, its points per
indicator worked out again from the datasets' triples (or read from the older graph's own
measurements of them).

Tables:

* ``scores(graph, iri, score, i_<indicator>…, rank, source_rank)``: every measured dataset,
  ``rank`` its position worst first (score, then IRI) and ``source_rank`` within its source;
  ``agency_scores(agency, rank, graph, iri)`` the same per publisher;
* ``quality_totals(source, agency, published, scored, score, i_<indicator>…, <rating>…,
  quarantined)``: sums per source and publisher (``agency`` '' for the whole source), which the
  page adds up for the whole store, one source or one agency;
* the value ``quality_agencies`` of the ``derived`` table: the agencies of the whole store, lowest
  average score first, as ``/quality`` lists them.

The quarantined records and the ingest runs, which the page shows beside them and the totals
count, are :mod:`kg.derived.quarantine`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from rdflib import BNode, Literal, URIRef

from kg.derived.tables import Build, Scores
from kg.quality import ASSESSED, BY_NAME, RATINGS, Facts, dimension_points, percentage, rating, score
from kg.vocab import DCAT, DCT, DQV, QUALITY

COLUMNS = tuple(f"i_{i.name}" for i in ASSESSED)
RATING_NAMES = tuple(name for name, _ in RATINGS)
AGENCIES_SHOWN = 200
CHUNK = 1000
TABLES = ("scores", "agency_scores", "quality_totals")
_I = ", ".join(f"{c} REAL NOT NULL" for c in COLUMNS)
_IRI_INDEX = "CREATE INDEX scores_iri ON scores(iri)"
_RANK_INDEXES = (  # made again after the ranks are set (_ranks)
    "CREATE INDEX scores_rank ON scores(rank)",
    "CREATE INDEX scores_source ON scores(graph, source_rank)",
)
SCHEMA = f"""
CREATE TABLE scores(graph TEXT NOT NULL, iri TEXT NOT NULL, score REAL NOT NULL, {_I},
  rank INTEGER, source_rank INTEGER, PRIMARY KEY(graph, iri)) WITHOUT ROWID;
{_IRI_INDEX};
{";".join(_RANK_INDEXES)};
CREATE TABLE agency_scores(agency TEXT NOT NULL, rank INTEGER NOT NULL, graph TEXT NOT NULL,
  iri TEXT NOT NULL, PRIMARY KEY(agency, rank)) WITHOUT ROWID;
CREATE TABLE quality_totals(source TEXT NOT NULL, agency TEXT NOT NULL, published INTEGER NOT NULL,
  scored INTEGER NOT NULL, score REAL NOT NULL, {", ".join(f"{c} REAL NOT NULL" for c in COLUMNS)},
  {", ".join(f"{r} INTEGER NOT NULL" for r in RATING_NAMES)}, quarantined INTEGER NOT NULL,
  PRIMARY KEY(source, agency)) WITHOUT ROWID;
CREATE INDEX quality_totals_agency ON quality_totals(agency);
"""


def build(b: Build, scores: Scores | None) -> None:
    """Scores, then what is worked out from them and from the quarantine
    (:func:`kg.derived.quarantine.build`, which runs first): ranks and totals."""
    _scores(b, scores)
    _publishers(b)
    _ranks(b)
    _totals(b)
    b.put("quality_agencies", _agency_list(b))


# ---------------------------------------------------------------- scores


def _scores(b: Build, scores: Scores | None) -> None:
    """Every measured dataset's points, in ``temp.measured`` (:func:`_ranks` puts them in ``scores``
    with their ranks): copied for an unchanged graph; for a patched one, copied but for the datasets
    its touched lines measure (:func:`_touched_datasets`); else read from the ingest's summaries or
    the store."""
    graphs = [g for g in b.generation.data_graphs() if b.layout.is_quality(g)]
    names = ", ".join(("graph", "iri", "score", *COLUMNS))
    b.db.execute("DROP TABLE IF EXISTS temp.measured")
    b.db.execute(f"CREATE TEMP TABLE measured({_MEASURED}, PRIMARY KEY(graph, iri)) WITHOUT ROWID")
    copy = f"INSERT INTO temp.measured({names}) SELECT {names} FROM old.scores WHERE graph = ?"
    if b.incremental:
        b.db.executemany(copy, [(g,) for g in graphs if not b.changed(g)])
    insert = f"INSERT OR REPLACE INTO temp.measured({names}) VALUES ({', '.join('?' * (3 + len(COLUMNS)))})"
    for graph in graphs:
        if not b.changed(graph):
            continue
        if scores is not None and scores.graph == graph and scores.path.is_file():
            if (only := _touched_datasets(b, graph)) is not None:
                b.db.execute(copy, (graph,))
                b.db.executemany(
                    "DELETE FROM temp.measured WHERE graph = ? AND iri = ?", [(graph, d) for d in only]
                )
            rows = _from_summaries(graph, scores, only)
        else:
            rows = _from_store(b, graph)
        b.db.executemany(insert, rows)


_MEASURED = f"graph TEXT NOT NULL, iri TEXT NOT NULL, score REAL NOT NULL, {_I}"
_COMPUTED_ON = f" <{DQV.computedOn}> ".encode()


def _touched_datasets(b: Build, graph: str) -> set[str] | None:
    """The datasets a patched quality graph's touched lines (:meth:`Build.touched`: the lines of the
    records the write replaced, as they were and are) measure; None when the graph is to be read
    whole, or an IRI is escaped (its text would not be its value).

    Why: a dataset's points come from its record's result alone, so only the touched records' can
    differ from the previous generation's; reading every summary again (99,500 JSON lines and rows
    at 100,000 datasets, 3.6 s profiled) changed ~1,500."""
    lines = b.touched(graph)
    if lines is None:
        return None
    found = set()
    for line in lines:
        if _COMPUTED_ON in line:
            iri = line[line.index(_COMPUTED_ON) + len(_COMPUTED_ON) :].rstrip(b" .\n")
            if not iri.startswith(b"<") or b"\\" in iri:
                return None
            found.add(iri[1:-1].decode("utf-8"))
    return found


def _from_summaries(graph: str, scores: Scores, only: set[str] | None = None) -> Iterator[tuple]:
    """The summaries' rows (``only``: of these datasets, each line's IRI read without parsing it;
    a later line of a dataset replaces an earlier one, as when all are read)."""
    with open(scores.path, encoding="utf-8") as lines:
        for line in lines:
            if only is not None and _dataset_of(line) not in only:
                continue
            found = json.loads(line)
            yield (graph, found["d"], round(sum(found["p"]), 2), *found["p"])


def _dataset_of(line: str) -> str:
    """The dataset of a summary line (:func:`kg.quality.summary_line`: it begins ``{"d": "``), parsed
    only when its IRI has an escape."""
    end = line.find('"', 7)
    iri = line[7:end]
    return json.loads(line)["d"] if "\\" in iri or not line.startswith('{"d": "') else iri


def _from_store(b: Build, graph: str) -> Iterator[tuple]:
    """A quality graph's datasets from the store: the score as measured; the points per indicator
    as an older graph measured them, else worked out again from the datasets' triples."""
    measured: dict[str, dict[str, float]] = {}
    query = f"""PREFIX dqv: <{DQV}> SELECT ?d ?metric ?v WHERE {{ GRAPH <{graph}> {{
        ?m dqv:computedOn ?d ; dqv:isMeasurementOf ?metric ; dqv:value ?v }} FILTER(isNumeric(?v)) }}"""
    for row in b.rows(query):
        name = (row["metric"] or "").removeprefix(str(QUALITY))
        measured.setdefault(row["d"] or "", {})[name] = float(row["v"] or 0)
    todo = [iri for iri, values in measured.items() if not set(values) & set(BY_NAME)]
    again = _recomputed(b, todo)
    for iri, values in sorted(measured.items()):
        points = again.get(iri) or {i.name: values.get(i.name, 0.0) for i in ASSESSED}
        total = values.get("score", round(sum(points.values()), 2))
        yield (graph, iri, total, *(points[i.name] for i in ASSESSED))


_DATASET_PROPS = (DCAT.keyword, DCAT.theme, DCT.spatial, DCT.temporal, DCT.accessRights, DCAT.contactPoint,
                  DCT.publisher, DCT.issued, DCT.modified, DCAT.distribution)  # fmt: skip
_PART_PROPS = (DCAT.downloadURL, DCT.format, DCAT.mediaType, DCT.license, DCT.rights, DCAT.byteSize,
               DCT.issued, DCT.modified)  # fmt: skip


def _recomputed(b: Build, iris: Sequence[str]) -> dict[str, dict[str, float]]:
    """The points per indicator of published datasets (compliant, then), from their triples."""
    out: dict[str, dict[str, float]] = {}
    mine = ", ".join(f"<{p}>" for p in _DATASET_PROPS)
    parts = ", ".join(f"<{p}>" for p in _PART_PROPS)
    for start in range(0, len(iris), CHUNK):
        chunk = iris[start : start + CHUNK]
        values = " ".join(f"<{iri}>" for iri in chunk)
        query = f"""SELECT ?d ?x ?p ?o (isIRI(?o) AS ?i) (isBlank(?o) AS ?b) WHERE {{ VALUES ?d {{ {values} }}
            {{ ?d ?p ?o FILTER(?p IN ({mine})) }}
            UNION {{ ?d <{DCAT.distribution}> ?x . ?x ?p ?o FILTER(?p IN ({parts})) }} }}"""
        props: dict[str, dict] = {}
        for row in b.rows(query):
            term = _term(row)
            owner = props.setdefault(row["d"] or "", {"": {}})
            node = owner.setdefault(row["x"] or "", {})
            node.setdefault(URIRef(row["p"] or ""), []).append(term)
        for iri in chunk:
            found = props.get(iri, {"": {}})
            dataset = found[""]
            links = [str(d) for d in dict.fromkeys(dataset.get(DCAT.distribution, []))]
            out[iri] = score(Facts(dataset, [found.get(link, {}) for link in links], True))
    return out


def _term(row: dict[str, str | None]) -> URIRef | BNode | Literal:
    value = row["o"] or ""
    if row["i"] in ("true", "1"):
        return URIRef(value)
    return BNode(value) if row["b"] in ("true", "1") else Literal(value)


def _publishers(b: Build) -> None:
    """Each dataset's publishers and source, from the search index (a temporary table for this build)."""
    b.db.execute("DROP TABLE IF EXISTS temp.published")
    b.db.execute(
        "CREATE TEMP TABLE published AS SELECT d.iri AS iri, t.value AS agency FROM datasets d "
        "JOIN facets f ON f.dataset = d.id JOIN terms t ON t.id = f.term WHERE t.facet = 'publisher'"
    )
    b.db.execute("CREATE INDEX temp.published_iri ON published(iri)")


def _ranks(b: Build) -> None:
    db = b.db
    # both ranks in one pass, the indexes on them made after (kept up row by row, they were most
    # of the two UPDATEs' 2.8 s at 100,000 datasets)
    db.execute("DROP INDEX scores_rank")
    db.execute("DROP INDEX scores_source")
    db.execute("DROP INDEX scores_iri")
    # the rows written once with their ranks (an UPDATE of every row after the INSERT was 3.5 s
    # profiled at 100,000 datasets)
    db.execute(
        "INSERT INTO scores SELECT *, row_number() OVER (ORDER BY score, iri), "
        "row_number() OVER (PARTITION BY graph ORDER BY score, iri) FROM temp.measured ORDER BY graph, iri"
    )
    db.execute("DROP TABLE temp.measured")
    for index in (_IRI_INDEX, *_RANK_INDEXES):
        db.execute(index)
    db.execute(
        "INSERT INTO agency_scores SELECT p.agency, row_number() OVER (PARTITION BY p.agency "
        "ORDER BY s.score, s.iri, s.graph), s.graph, s.iri FROM scores s JOIN published p ON p.iri = s.iri"
    )


def _totals(b: Build) -> None:
    """Sums per (source, publisher) and per source: datasets published and scored, points, ratings,
    quarantined records."""
    db, layout = b.db, b.layout
    db.create_function("source_of", 1, layout.source_of, deterministic=True)
    db.create_function("rating_of", 1, rating, deterministic=True)
    zeros = ", ".join("0" for _ in (*COLUMNS, *RATING_NAMES))
    db.execute(
        "CREATE TEMP TABLE by_source AS SELECT source_of(x.graph) AS source, d.iri AS iri FROM sources x "
        "JOIN datasets d ON d.id = x.dataset"
    )
    db.execute(  # the datasets each source publishes, per publisher and in all ('')
        f"INSERT INTO quality_totals SELECT source, agency, count(DISTINCT iri), 0, 0, {zeros}, 0 FROM ("
        "SELECT x.source, p.agency, x.iri FROM by_source x JOIN published p ON p.iri = x.iri "
        "UNION ALL SELECT source, '', iri FROM by_source) GROUP BY source, agency"
    )
    sums = ", ".join(f"round(sum(s.{c}), 2)" for c in COLUMNS)  # round: the same whatever the rows' order
    bands = ", ".join(f"sum(s.band = '{name}')" for name in RATING_NAMES)
    # each score's source and rating worked out once (MATERIALIZED), not in every sum of every row
    # the join gives (the Python functions: ~1 M calls at 100,000 datasets)
    db.execute(
        f"WITH s AS MATERIALIZED (SELECT source_of(graph) AS source, iri, score, {', '.join(COLUMNS)}, "
        "rating_of(score) AS band FROM scores) "
        "INSERT INTO quality_totals SELECT s.source, p.agency, 0, count(*), "
        f"round(sum(s.score), 2), {sums}, {bands}, 0 FROM s JOIN "
        "(SELECT iri, agency FROM published UNION ALL SELECT DISTINCT iri, '' FROM scores) p "
        "ON p.iri = s.iri GROUP BY s.source, p.agency "
        "ON CONFLICT(source, agency) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in ("scored", "score", *COLUMNS, *RATING_NAMES))
    )
    held = db.execute(
        "SELECT graph, publisher, count(DISTINCT record) FROM quarantine GROUP BY graph, publisher"
    )
    for graph, publisher, n in held.fetchall():
        for agency in ("", publisher) if publisher else ("",):
            db.execute(
                f"INSERT INTO quality_totals VALUES (?, ?, 0, 0, 0, {zeros}, ?) "
                "ON CONFLICT(source, agency) DO UPDATE SET quarantined = quarantined + excluded.quarantined",
                (layout.source_of(graph), agency, n),
            )
    db.execute("DROP TABLE temp.by_source")


def _agency_list(b: Build) -> list[dict[str, Any]]:
    """The publishers of the whole store, lowest average score first (those never scored last)."""
    rows = b.db.execute(
        "SELECT agency, sum(published), sum(scored), round(sum(score), 2), sum(quarantined) "
        "FROM quality_totals "
        "WHERE agency != '' GROUP BY agency"
    ).fetchall()
    return agency_rows(b.db, rows)[:AGENCIES_SHOWN]


def agency_rows(db, rows: list[tuple]) -> list[dict[str, Any]]:
    """(agency, published, scored, score sum, quarantined) as the page lists them, worst average first,
    each with its name (from the agency directory, else from its quarantined records)."""
    table = [
        {"agency": agency, "datasets": published, "scored": scored,
         "average_score": round(total / scored, 2) if scored else None, "quarantined": held}
        for agency, published, scored, total, held in rows
    ]  # fmt: skip
    table.sort(key=lambda r: (r["average_score"] is None, r["average_score"] or 0, r["agency"]))
    iris = [r["agency"] for r in table[:AGENCIES_SHOWN]]
    names: dict[str, str] = {}
    for start in range(0, len(iris), 500):
        part = iris[start : start + 500]
        marks = ",".join("?" * len(part))
        held = "SELECT publisher, max(publisher_name) FROM quarantine WHERE publisher IN ({}) GROUP BY 1"
        held = held.format(marks)
        names.update(db.execute(held, part).fetchall())  # an agency described only in quarantine
        names.update(db.execute(f"SELECT iri, name FROM agencies WHERE iri IN ({marks})", part).fetchall())
    for row in table:
        row["name"] = names.get(row["agency"]) or row["agency"]
    return table


def dataset_quality(db, iri: str) -> dict[str, Any] | None:
    """One dataset's quality as a page shows it (None when it was not measured): its score,
    percentage and rating, its points per dimension and per indicator (one lookup by IRI)."""
    row = db.execute(
        f"SELECT score, {', '.join(COLUMNS)} FROM scores WHERE iri = ? LIMIT 1", (iri,)
    ).fetchone()
    if row is None:
        return None
    points = dict(zip((i.name for i in ASSESSED), row[1:], strict=True))
    return {
        "score": row[0],
        "percentage": percentage(row[0]),
        "rating": rating(row[0]),
        "dimensions": dimension_points(points),
        "indicators": [
            {
                "name": i.name,
                "label": i.label,
                "dimension": i.dimension,
                "points": points[i.name],
                "of": i.points,
            }
            for i in ASSESSED
        ],
    }
