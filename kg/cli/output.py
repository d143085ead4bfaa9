"""What the ``kg`` commands print: an ingest's progress line and summary, and plain tables.

The summary is for a person at a terminal: counts first, then the rules most
often broken, what was repaired, and the quarantined records, a long list cut
at :data:`LISTED` lines unless ``--verbose``; the full reports are in the store.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress counter on stderr when it is a terminal and the work takes a while."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.shown = False
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int) -> None:
        if not self.tty or done % 100:
            return
        elapsed = time.monotonic() - self.start
        if elapsed > 1.0:
            rate = done / elapsed
            bar = "#" * min(30, done // 1000) or "#"
            print(f"\r  {bar:<30} {done:>9,} records  {rate:,.0f}/s", end="", file=sys.stderr, flush=True)
            self.shown = True

    def done(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def changes_text(changes: dict[str, int] | None) -> str:
    """Records against the last run: "added/changed/removed/unchanged" ("-": not known)."""
    if not changes:
        return "-"
    return "/".join(str(changes.get(k, "-")) for k in ("added", "changed", "removed", "unchanged"))


def print_summary(summary, *, verbose: bool = False) -> None:
    stored = "stored" if summary.stored else "not stored"
    print(f"source {summary.source} ({summary.fmt}) from {summary.location}: {stored}")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary.kinds.items()))
    table(
        ["records", "published", "quarantined", "violations", "warnings", "notes"],
        [
            [
                f"{summary.read} ({kinds})" if kinds else "0",
                summary.published,
                summary.quarantined,
                summary.severities["violation"],
                summary.severities["warning"],
                summary.severities["info"],
            ]
        ],
    )
    if summary.changes is not None and summary.stored:
        c = summary.changes
        print(
            f"records against the last ingest: {c.added} added, {c.changed} changed, {c.removed} removed, "
            f"{c.unchanged} unchanged; {c.mapped} mapped and validated, {c.reused} reused"
        )
    rules = [(sev, rule, msg, n) for (sev, rule, msg), n in summary.rules.items() if sev != "info"]
    if rules:
        print("\nfindings by rule:")
        table(
            ["severity", "count", "rule", "message"],
            [
                [sev, n, rule.rsplit("#", 1)[-1], msg[:90]]
                for sev, rule, msg, n in sorted(rules, key=lambda r: (r[0] != "violation", -r[3]))[:15]
            ],
        )
    for reason, n in sorted(summary.skipped.items()):
        print(f"\npassed over: {n:,} {reason}")
    _print_repairs(summary)
    if summary.quarantined_reports:
        print(f"\nquarantined ({summary.quarantined}): kept in the quarantine graph with their report")
        _print_lines(
            (
                f"  {report.origin}: {report.label[:60]!r}: {f.message}"
                + (f" (value {f.value[:200]!r})" if f.value else "")
                for report in summary.quarantined_reports
                for f in report.findings
                if f.severity == "violation"
            ),
            verbose=verbose,
        )
    if verbose:
        for report in summary.reports:
            for f in report.findings:
                print(f"  {report.origin}: {f.severity}: {f.message}")
    if summary.links_held_back:
        print(f"{summary.links_held_back} links to quarantined records wait with them in quarantine")
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in summary.seconds.items())
    if timing:
        print(f"\n{timing}" + (f"; written {summary.write}" if summary.write else ""))


LISTED = 20  # lines of a long list printed unless --verbose


def _print_lines(lines, *, verbose: bool) -> None:
    """The lines, or the first :data:`LISTED` and how many more there are and where they are."""
    shown = 0
    for line in lines:
        if verbose or shown < LISTED:
            print(line)
        shown += 1
    if shown > LISTED and not verbose:
        print(f"  … and {shown - LISTED:,} more (kg sources, the quality page, or --verbose)")


def _print_repairs(summary) -> None:
    """What was repaired and left out before validation, by kind: the values are in the reports."""
    from kg.mapping.repairs import LEFT_OUT, repair_kind

    if not summary.repairs:
        return
    print("\nrepaired before validation (each value in its record's report):")
    for rule, n in sorted(summary.repairs.items(), key=lambda item: (item[0].startswith(LEFT_OUT), -item[1])):
        print(f"  {n:>7,} × {repair_kind(rule)}")


def cell_text(term) -> str:
    """A query result's term in a table cell: its value (an IRI, a literal's text), or empty."""
    if term is None:
        return ""
    return getattr(term, "value", str(term))


def table(header: list[str], rows: list[list[object]]) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [min(60, max(len(r[i]) for r in cells)) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c[:60].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
