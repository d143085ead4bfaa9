"""What an ingest tells of a source: records read, published and quarantined, findings by rule.

Filled by :func:`kg.ingest.run.ingest` from the workers' reports, one record at a time; printed
by ``kg ingest`` and ``kg validate``, and written as the run's provenance
(:func:`kg.ingest.provenance.run_ntriples`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from kg.ingest.memo import Changes
from kg.ingest.workers import VALIDATOR_FAILED
from kg.mapping.repairs import LEFT_OUT, REPAIR, repair_kind
from kg.validation.report import RecordReport

EXAMPLES_KEPT = 200  # reports with findings kept in the summary (all quarantined ones are kept)


@dataclass
class IngestSummary:
    source: str
    location: str
    fmt: str
    run: str = ""
    read: int = 0
    published: int = 0
    quarantined: int = 0
    kinds: Counter = field(default_factory=Counter)
    severities: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)
    # each quarantined record with its violations only: its whole report is in the quarantine
    # graph, and kept here a catalogue's 20,000 quarantined records held ~150 MB of warnings
    quarantined_reports: list[RecordReport] = field(default_factory=list)
    reports: list[RecordReport] = field(default_factory=list)  # a sample of published ones with findings
    seconds: dict[str, float] = field(default_factory=dict)
    stored: bool = False
    links_held_back: int = 0
    repairs: Counter = field(default_factory=Counter)  # kgo:repair/… and kgo:left-out/… rule -> values
    validator_failures: int = 0  # records the SHACL engine could not check (quarantined)
    skipped: Counter = field(default_factory=Counter)  # entries that are no record of ours, by reason
    changes: Changes | None = None  # records against the last ingest's (kg.ingest.memo); None: not known
    write: str = ""  # how the graphs were written: whole or by difference, and why (kg.ingest.delta)
    unchanged: bool = False  # nothing written: every record, and the checks across sources, as last time

    def add(self, report: RecordReport) -> None:
        self.read += 1
        self.kinds[report.kind] += 1
        for finding in report.findings:
            self.severities[finding.severity] += 1
            if finding.rule.startswith((REPAIR, LEFT_OUT)):
                self.repairs[finding.rule] += 1
                self.rules[(finding.severity, finding.rule, repair_kind(finding.rule))] += 1
                continue
            if finding.rule == VALIDATOR_FAILED:
                self.validator_failures += 1
            self.rules[(finding.severity, finding.rule or finding.path, finding.message)] += 1
        if not report.publishable:
            self.quarantined += 1
            violations = [f for f in report.findings if f.severity == "violation"]
            self.quarantined_reports.append(replace(report, findings=violations))
        else:
            self.published += 1
            if report.findings and len(self.reports) < EXAMPLES_KEPT:
                self.reports.append(report)
