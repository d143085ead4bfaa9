"""The derived data of the records held back and of the ingest runs, as ``/quality`` shows them.

Why a module of its own: these tables come from the private graphs (a quarantine graph per
source, the provenance graph), not from the published data the scores are measured on; a
quarantined record keeps its violation messages and its publisher's name as the quarantine
graph gives them, and a run its rule tallies. Built by :func:`kg.derived.build.build_derived`
before :mod:`kg.derived.quality`, whose totals count the quarantined records.

Tables:

* ``quarantine(graph, node, record, title, origin, publisher, publisher_name, violations,
  warnings, position, source_position, agency_position)``: the quarantined records;
* ``runs(source, run, ended, read, published, quarantined, violations, warnings, rules)``: the
  current ingest run of each source with its rule tallies (most frequent first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kg.derived.tables import Build
from kg.records import public_location
from kg.vocab import DCAT, DCT, DQV, FOAF, KGO, PROV, QUALITY, SH, SKOS

RULES_KEPT = 500  # per run (kg.quality.MAX_RULE_TALLIES)
CHUNK = 1000
TABLES = ("quarantine", "runs")
SCHEMA = """
CREATE TABLE quarantine(graph TEXT NOT NULL, node TEXT NOT NULL, record TEXT NOT NULL, title TEXT,
  origin TEXT, publisher TEXT NOT NULL, publisher_name TEXT, violations TEXT NOT NULL,
  warnings INTEGER NOT NULL, position INTEGER, source_position INTEGER, agency_position INTEGER,
  PRIMARY KEY(graph, node)) WITHOUT ROWID;
CREATE INDEX quarantine_position ON quarantine(position);
CREATE INDEX quarantine_source ON quarantine(graph, source_position);
CREATE INDEX quarantine_agency ON quarantine(publisher, agency_position);
CREATE TABLE runs(source TEXT PRIMARY KEY, run TEXT NOT NULL, ended TEXT, read INTEGER NOT NULL,
  published INTEGER NOT NULL, quarantined INTEGER NOT NULL, violations INTEGER NOT NULL,
  warnings INTEGER NOT NULL, rules TEXT NOT NULL);
"""
PREFIXES = (
    f"PREFIX dqv: <{DQV}> PREFIX kgq: <{QUALITY}> PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}> "
    f"PREFIX sh: <{SH}> PREFIX dct: <{DCT}> PREFIX dcat: <{DCAT}> PREFIX foaf: <{FOAF}> "
    f"PREFIX skos: <{SKOS}>\n"
)
_SEVERITY = {str(SH.Violation): "violation", str(SH.Warning): "warning", str(SH.Info): "info"}


def build(b: Build) -> None:
    """The quarantined records, then the current run of every source."""
    _quarantine(b)
    _runs(b)


def _quarantine(b: Build) -> None:
    prefix = b.layout.quarantine_prefix
    graphs = {
        row["g"] or ""
        for row in b.rows(  # an empty group pattern would do on Oxigraph; not every store answers it
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?r a <{KGO.QuarantinedRecord}> }} }}",
            default_graphs=[],
            private=True,
        )
        if (row["g"] or "").startswith(prefix)
    }
    columns = "graph, node, record, title, origin, publisher, publisher_name, violations, warnings"
    if b.incremental:
        b.db.executemany(
            f"INSERT INTO quarantine({columns}) SELECT {columns} FROM old.quarantine WHERE graph = ?",
            [(g,) for g in sorted(graphs) if not b.changed(g)],
        )
    for graph in sorted(graphs):
        if b.changed(graph):
            b.db.executemany(
                f"INSERT INTO quarantine({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _held(b, graph)
            )
    for column, partition in (("position", ""), ("source_position", "PARTITION BY graph"),
                              ("agency_position", "PARTITION BY publisher")):  # fmt: skip
        b.db.execute(
            f"UPDATE quarantine SET {column} = r.n FROM (SELECT graph, node, row_number() OVER ({partition} "
            "ORDER BY graph, record, node) AS n FROM quarantine) r WHERE quarantine.graph = r.graph "
            "AND quarantine.node = r.node"
        )


def _held(b: Build, graph: str) -> Iterator[tuple]:
    """The quarantined records of one quarantine graph, with their violation messages."""
    records = b.rows(
        f"""{PREFIXES} SELECT ?r ?key (SAMPLE(?o) AS ?origin) (SAMPLE(?t) AS ?title)
        (MIN(STR(?a)) AS ?publisher) WHERE {{ GRAPH <{graph}> {{
          ?r a kgo:QuarantinedRecord ; kgo:recordKey ?key .
          OPTIONAL {{ ?r kgo:sourceLocation ?o }} OPTIONAL {{ ?key dct:title ?t }}
          OPTIONAL {{ ?key dct:publisher ?a FILTER(isIRI(?a)) }} }} }} GROUP BY ?r ?key""",
        default_graphs=[],
        private=True,
    )
    found = {row["r"] or "": row for row in records}
    results: dict[str, list[tuple[str, str]]] = {}
    query = f"""{PREFIXES} SELECT ?r ?severity ?message WHERE {{ GRAPH <{graph}> {{
        ?r kgo:report ?x . ?x sh:resultSeverity ?severity ; sh:resultMessage ?message }} }}"""
    for row in b.rows(query, default_graphs=[], private=True):
        results.setdefault(row["r"] or "", []).append(
            (_SEVERITY.get(row["severity"] or "", "info"), row["message"] or "")
        )
    publishers = sorted({row["publisher"] for row in found.values() if row["publisher"]})
    names = _names(b, graph, publishers)
    for node, row in found.items():
        own = sorted(results.get(node, []), key=lambda r: r[1])
        violations = [message for severity, message in own if severity == "violation"]
        origin = public_location(row["origin"]) if row["origin"] else row["origin"]  # a public page's
        yield (graph, node, row["key"] or "", row["title"], origin, row["publisher"] or "",
               names.get(row["publisher"] or ""), json.dumps(violations, ensure_ascii=False),
               sum(1 for severity, _ in own if severity == "warning"))  # fmt: skip


def _names(b: Build, graph: str, iris: list[str]) -> dict[str, str]:
    """Names of the publishers of quarantined records, as that quarantine graph gives them."""
    out: dict[str, str] = {}
    for start in range(0, len(iris), CHUNK):
        values = " ".join(f"<{iri}>" for iri in iris[start : start + CHUNK])
        query = f"""SELECT ?a (SAMPLE(?n) AS ?name) WHERE {{ VALUES ?a {{ {values} }}
            GRAPH <{graph}> {{ ?a <{FOAF.name}>|<{SKOS.prefLabel}> ?n }} }} GROUP BY ?a"""
        out.update(
            {row["a"] or "": row["name"] or "" for row in b.rows(query, default_graphs=[], private=True)}
        )
    return out


def _runs(b: Build) -> None:
    """The current run of every source, with its rule tallies (bounded: a run keeps at most 500)."""
    provenance = b.layout.provenance
    counts = ("read", "published", "quarantined", "violations", "warnings")
    runs = b.rows(
        f"""{PREFIXES} SELECT ?run ?source ?ended ?read ?published ?quarantined ?violations ?warnings WHERE {{
          GRAPH <{provenance}> {{ ?run kgo:current true ; kgo:source ?source .
            OPTIONAL {{ ?run prov:endedAtTime ?ended }} OPTIONAL {{ ?run kgo:recordsRead ?read }}
            OPTIONAL {{ ?run kgo:recordsPublished ?published }}
            OPTIONAL {{ ?run kgo:recordsQuarantined ?quarantined }}
            OPTIONAL {{ ?run kgo:violations ?violations }}
            OPTIONAL {{ ?run kgo:warnings ?warnings }} }} }}""",
        default_graphs=[],
        private=True,
    )
    rules: dict[str, list[dict[str, Any]]] = {}
    query = f"""{PREFIXES} SELECT ?run ?severity ?rule ?message ?count WHERE {{ GRAPH <{provenance}> {{
        ?run kgo:current true . ?m dqv:computedOn ?run ; dqv:isMeasurementOf kgq:validationResults ;
           dqv:value ?count ; sh:resultSeverity ?severity ; sh:resultMessage ?message .
        OPTIONAL {{ ?m kgo:rule ?rule }} }} }}"""
    for row in b.rows(query, default_graphs=[], private=True):
        rules.setdefault(row["run"] or "", []).append(
            {"severity": _SEVERITY.get(row["severity"] or "", "info"), "rule": row["rule"],
             "message": row["message"], "count": _count(row["count"])}
        )  # fmt: skip
    for run in runs:
        own = sorted(rules.get(run["run"] or "", []), key=lambda r: (-r["count"], r["message"] or ""))
        b.db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run["source"], run["run"], run["ended"], *(_count(run[k]) for k in counts),
             json.dumps(own[:RULES_KEPT], ensure_ascii=False)),
        )  # fmt: skip


def _count(value: str | None) -> int:
    return int(float(value)) if value else 0
