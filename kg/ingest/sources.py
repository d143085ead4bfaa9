"""The sources in a store: each one's latest run (:func:`list_sources`), and a source removed whole
(:func:`remove_source`); an ingest marks its earlier runs no longer current (:func:`not_current`).

Apart from :mod:`kg.ingest.run`, whose ingest writes a source, because they only read or drop one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rdflib import Literal

from kg.factory import store_for
from kg.ingest.history import keep_history
from kg.iris import Minter
from kg.scratch import scratch_folder
from kg.settings import Settings
from kg.vocab import KGO, PROV, XSD


def remove_source(name: str, *, settings: Settings) -> bool:
    """Drop a source's graphs (and record the removal). Returns False if it was not there."""
    iris = Minter(settings.base_uri)
    store = store_for(settings)
    graphs = (
        iris.source_graph(name),
        iris.quarantine_graph(name),
        iris.quality_graph(name),
        iris.report_graph(name),
    )
    if not any(g in store.named_graphs() for g in graphs):
        return False
    with scratch_folder("kg-remove-") as scratch, store.write(replace=graphs) as writer:
        for g in graphs:
            writer.drop(g)
        run = iris.run(name, f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}")
        if hasattr(writer, "put_file"):  # an embedded store: its per-record results go, its history stays
            writer.put_file(f"{name}.sqlite", None)
            keep_history(writer, settings, name, None, run, Path(scratch))
        writer.update(not_current(name, iris), private=True)
        writer.update(
            f"""PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}>
            INSERT DATA {{ GRAPH <{iris.provenance_graph()}> {{ <{run}> a prov:Activity, kgo:IngestRun ;
                kgo:source "{name}" ; kgo:recordsPublished 0 ; kgo:recordsQuarantined 0 ;
                prov:endedAtTime "{datetime.now(UTC).isoformat()}"^^<{XSD.dateTime}> }} }}""",
            private=True,
        )
    return True


def list_sources(*, settings: Settings) -> list[dict[str, str]]:
    """The sources in the store with their latest run."""
    query = f"""PREFIX kgo: <{KGO}> PREFIX prov: <{PROV}>
        SELECT ?run ?source ?fmt ?location ?ended ?read ?published ?quarantined ?violations ?warnings WHERE {{
          GRAPH <{Minter(settings.base_uri).provenance_graph()}> {{
            ?run kgo:current true ; kgo:source ?source ; kgo:sourceFormat ?fmt ;
                 kgo:sourceLocation ?location ;
                 prov:endedAtTime ?ended ; kgo:recordsRead ?read ; kgo:recordsPublished ?published ;
                 kgo:recordsQuarantined ?quarantined ; kgo:violations ?violations ; kgo:warnings ?warnings }}
        }} ORDER BY ?source"""
    rows = store_for(settings).query(query, default_graphs=[], private=True)
    return [{k: row[k].value for k in _SOURCE_COLUMNS} for row in rows]


_SOURCE_COLUMNS = ("run", "source", "fmt", "location", "ended", "read", "published", "quarantined",
                   "violations", "warnings")  # fmt: skip


def not_current(name: str, iris: Minter) -> str:
    """SPARQL update: earlier runs of this source are no longer its current state."""
    graph = iris.provenance_graph()
    return f"""PREFIX kgo: <{KGO}>
        DELETE {{ GRAPH <{graph}> {{ ?r kgo:current true }} }}
        WHERE {{ GRAPH <{graph}> {{ ?r kgo:source {Literal(name).n3()} ; kgo:current true }} }}"""
