"""What an ingest writes about itself as RDF: findings, quarantine reports, the run.

A published record's findings are one JSON literal on it (:func:`findings_triple`), in the
source's private report graph; a quarantined record's report is SHACL results next to it
(:func:`report_ntriples`); each run is a ``prov:Activity`` (:func:`run_ntriples`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from kg.ingest.summary import IngestSummary
from kg.iris import Minter
from kg.mapping.mapped import Triple
from kg.mapping.ntriples import nt_iri, nt_line, nt_literal
from kg.quality import rule_counts_triples
from kg.validation.report import RecordReport
from kg.vocab import KGO, PROV, RDF, SH, XSD

SEVERITY_IRIS = {"violation": SH.Violation, "warning": SH.Warning, "info": SH.Info}


def findings_triple(report: RecordReport, graph: str) -> Triple:
    """A published record's findings as one JSON literal, so pages show them without validating again.

    On the record's IRI, or the reader's blank node; the ``other`` record of an RDF file (what no
    dataset, service, catalogue or agent owns) has neither, so its findings go on a node of the
    report ``graph`` named after its origin.
    """
    rows = [[f.severity, f.focus, f.path, f.message, f.rule, f.value] for f in report.findings]
    if report.key.startswith("_:"):
        key: Node = BNode(report.key[2:])
    elif report.key:
        key = URIRef(report.key)
    else:
        key = URIRef(f"{graph}#record-{_fragment(report.origin)}")
    return key, KGO.findings, Literal(json.dumps(rows, ensure_ascii=False))


_FINDINGS = nt_iri(str(KGO.findings))


def findings_line(report: RecordReport, graph: str) -> str:
    """:func:`findings_triple` as an N-Triples line, written as text for a record with an IRI.

    Why: an ingest writes one for every published record with findings (99,000 at 100,000 datasets,
    those whose results it reused too), and the rdflib literal and :func:`nt_line` cost ~40 µs of
    the main process's time each, on the path the delta write waits for."""
    if report.key and not report.key.startswith("_:"):
        rows = [[f.severity, f.focus, f.path, f.message, f.rule, f.value] for f in report.findings]
        return f"{nt_iri(report.key)} {_FINDINGS} {nt_literal(json.dumps(rows, ensure_ascii=False))} .\n"
    return nt_line(findings_triple(report, graph))


def report_ntriples(report: RecordReport, iris: Minter, source: str) -> str:
    """A quarantined record's report as RDF (SHACL results), next to the record in its graph.

    Written as N-Triples text without rdflib terms: a catalogue with many quarantined
    records has millions of these triples (1.4 M for 20,000 records), and making and
    writing terms cost ~20 s of the ingest's main process.
    """
    node = f"{iris.quarantine_graph(source)}#{_fragment(report.key)}"
    n = nt_iri(node)
    key = nt_iri(report.key) if report.key.startswith("http") else nt_literal(report.key)
    lines = [
        f"{n} {_TYPE} {_QUARANTINED} .\n",
        f"{n} {_RECORD_KEY} {key} .\n",
        f"{n} {_LOCATION} {nt_literal(report.origin)} .\n",
    ]
    for i, f in enumerate(report.findings):
        r = nt_iri(f"{node}-{i}")
        lines += [
            f"{n} {_REPORT} {r} .\n",
            f"{r} {_TYPE} {_RESULT} .\n",
            f"{r} {_SEVERITY} {_SEVERITIES[f.severity]} .\n",
            f"{r} {_MESSAGE} {nt_literal(f.message)} .\n",
            f"{r} {_FOCUS} {nt_iri(f.focus) if f.focus.startswith('http') else nt_literal(f.focus)} .\n",
        ]
        if f.path:  # a complex path is text (kg.validation.report._path_text): no IRI, so a literal
            path = nt_iri(f.path) if ":" in f.path and " " not in f.path else nt_literal(f.path)
            lines.append(f"{r} {_PATH} {path} .\n")
        if f.rule:
            lines.append(f"{r} {_SHAPE} {nt_iri(f.rule) if ':' in f.rule else nt_literal(f.rule)} .\n")
        if f.value:
            lines.append(f"{r} {_VALUE} {nt_literal(f.value)} .\n")
    return "".join(lines)


_TYPE, _QUARANTINED, _RECORD_KEY, _LOCATION, _REPORT = map(
    nt_iri, (RDF.type, KGO.QuarantinedRecord, KGO.recordKey, KGO.sourceLocation, KGO.report)
)


_RESULT, _SEVERITY, _MESSAGE, _FOCUS, _PATH, _SHAPE, _VALUE = map(
    nt_iri,
    (
        SH.ValidationResult,
        SH.resultSeverity,
        SH.resultMessage,
        SH.focusNode,
        SH.resultPath,
        SH.sourceShape,
        SH.value,
    ),
)


_SEVERITIES = {name: nt_iri(iri) for name, iri in SEVERITY_IRIS.items()}


def _fragment(key: str) -> str:
    from kg.iris import short_hash

    return short_hash(key)


def run_ntriples(summary: IngestSummary, started: datetime, iris: Minter) -> str:
    run = URIRef(summary.run)
    ended = datetime.now(UTC)
    sev = summary.severities
    triples: list[Triple] = [
        (run, RDF.type, PROV.Activity),
        (run, RDF.type, KGO.IngestRun),
        (run, KGO.source, Literal(summary.source)),
        (run, KGO.sourceFormat, Literal(summary.fmt)),
        (run, KGO.sourceLocation, Literal(summary.location)),
        (run, PROV.startedAtTime, Literal(started.isoformat(), datatype=XSD.dateTime)),
        (run, PROV.endedAtTime, Literal(ended.isoformat(), datatype=XSD.dateTime)),
        (run, PROV.generated, URIRef(iris.source_graph(summary.source))),
        (run, KGO.recordsRead, Literal(summary.read)),
        (run, KGO.recordsPublished, Literal(summary.published)),
        (run, KGO.recordsQuarantined, Literal(summary.quarantined)),
        (run, KGO.violations, Literal(sev["violation"])),
        (run, KGO.warnings, Literal(sev["warning"])),
        (run, KGO.infos, Literal(sev["info"])),
    ]
    if summary.location.startswith(("http://", "https://")):  # the portal the run read (a local file's
        # path stays a literal, kgo:sourceLocation, which the pages show by the file's name only)
        triples.append((run, PROV.used, URIRef(quote(summary.location, safe=":/?#[]@!$&'()*+,;=%~"))))
    triples.append((run, KGO.current, Literal(True)))
    triples += rule_counts_triples(summary, summary.run)
    return "".join(nt_line(t) for t in triples)
