"""The validation findings a resource page shows: read from the store, never computed for a page.

Where they are:

* a *published* record's findings, as one JSON literal per record
  (:func:`kg.ingest.provenance.findings_triple`), in the private report graph of its source
  (``{base}graph/report/{source}``); a record the ingest found nothing to say
  about has no entry there, and has no findings;
* a *quarantined* record's SHACL report, next to it in its quarantine graph;
* a distribution's, among its dataset's (the ingest validates them as one record).

A published record that no ingest loaded (written over the Graph Store Protocol or
a SPARQL update: its graph has no report graph) is shown as *not validated*. The
pages validated such records, and before the ingest kept its findings every
record, on demand: rebuilding a record from the store and running pyshacl on it
took 0.2-2 s, more than a page may take, so a page no longer does; ``kg validate``
checks a file, and ``kg ingest`` stores the findings of what it publishes.

Every lookup starts from the record's IRI: the cost does not grow with the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kg.describe import RECORD_KINDS, Describer, Location
from kg.terms import Term, iri_ok
from kg.validation.report import SEVERITIES, Finding
from kg.vocab import DCAT, KGO, SH

STATUSES = {
    "stored": "validated by the ingest that published it",
    "quarantined": "its report, kept with the quarantined record",
    "not-validated": "published without an ingest (Graph Store, SPARQL update): no report",
    "not-a-record": "not a record of its own: nothing was validated for it",
}
_ORDER = {"violation": 0, "warning": 1, "info": 2}


@dataclass
class Findings:
    """What a page says about validation: a status of :data:`STATUSES` and the findings shown
    (None unless the status is stored or quarantined)."""

    status: str
    shown: list[dict] | None


def findings_of(d: Describer, loc: Location, record: str | None = None) -> Findings:
    """The findings of the record ``loc`` belongs to; ``record``: its key when the page knows it
    (a distribution's dataset), else looked up."""
    if loc.status == "quarantined":
        return Findings("quarantined", _shown(d, _quarantined(d, loc)))
    if loc.status != "published":
        return Findings("not-a-record", None)
    if record is None:
        if loc.kind in RECORD_KINDS and loc.iri != d.iris.catalog():
            record = loc.iri
        elif loc.kind == "distribution":
            record = dataset_of(d, loc)
    if not record:
        return Findings("not-a-record", None)
    found = stored(d, record, loc.sources)
    if found is None:
        return Findings("not-validated", None)
    if record != loc.iri:  # a distribution: the findings about it, out of its dataset's
        found = [f for f in found if f.focus == loc.iri or f.focus.startswith(loc.iri + "#")]
    return Findings("stored", _shown(d, found))


def dataset_of(d: Describer, loc: Location) -> str:
    rows = d.rows(f"SELECT ?d WHERE {{ ?d <{DCAT.distribution}> <{loc.iri}> }} LIMIT 1", loc.graphs)
    return rows[0]["d"].value if rows else ""


def stored(d: Describer, key: str, sources: list[str]) -> list[Finding] | None:
    """The findings the last ingest of the record's ``sources`` (the graphs that hold it: a
    distribution's are its dataset's) stored for it: [] if it stored none, None if no ingest
    wrote those graphs. One lookup by the record's IRI in those sources' report graphs."""
    prefix = f"{d.iris.base}graph/report/"
    existing = {g for g in d.store.named_graphs() if g.startswith(prefix)}
    reports = sorted(r for g in sources if (r := prefix + g.rsplit("/", 1)[-1]) in existing)
    if not reports:
        return None
    rows = d.rows(f"SELECT ?f WHERE {{ <{key}> <{KGO.findings}> ?f }} LIMIT 1", reports, private=True)
    return [Finding(*row) for row in json.loads(rows[0]["f"].value)] if rows else []


def _quarantined(d: Describer, loc: Location) -> list[Finding]:
    """A quarantined record's report: the results of its own report, and those about it in the
    report of the dataset it is a distribution of (lookups from the IRI, not a scan of them all)."""
    key = f"<{loc.iri}>"
    rows = d.rows(
        f"""SELECT DISTINCT ?focus ?sev ?msg ?path ?value WHERE {{
          {{ ?node <{KGO.recordKey}> {key} BIND(true AS ?own) }}
          UNION {{ ?owner <{DCAT.distribution}> {key} . ?node <{KGO.recordKey}> ?owner BIND(false AS ?own) }}
          ?node a <{KGO.QuarantinedRecord}> ; <{KGO.report}> ?r .
          ?r <{SH.resultSeverity}> ?sev ; <{SH.resultMessage}> ?msg ; <{SH.focusNode}> ?focus .
          FILTER(?own || ?focus = {key} || STRSTARTS(STR(?focus), {json.dumps(loc.iri + "#")}))
          OPTIONAL {{ ?r <{SH.resultPath}> ?path }} OPTIONAL {{ ?r <{SH.value}> ?value }} }}""",
        loc.graphs,
    )
    severities = {str(k): v for k, v in SEVERITIES.items()}
    return [
        Finding(
            severities.get(r["sev"].value, "violation"),
            r["focus"].value,
            r["path"].value if r["path"] else "",
            r["msg"].value,
            value=r["value"].value if r["value"] else "",
        )
        for r in rows
    ]


def _shown(d: Describer, found: list[Finding]) -> list[dict]:
    """Findings as the page lists them: worst first, with their property and focus as terms."""
    return [
        {
            "severity": f.severity,
            "message": f.message,
            "path": d.iri(f.path) if iri_ok(f.path) else None,
            "value": f.value,
            "focus": d.iri(f.focus)
            if iri_ok(f.focus)
            else Term("bnode", f.focus, label="(a part without a name)"),
        }
        for f in sorted(found, key=lambda f: (_ORDER.get(f.severity, 3), f.focus, f.path, f.message))
    ]
