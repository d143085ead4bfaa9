"""Real portals: what the pipeline makes of every file of ../shared/data/real-portals and samples.

Per file, with one SHACL engine (``--validator``, ``KG_VALIDATOR``: rudof, the ingest's default,
or pyshacl): the datasets read, published and quarantined (:func:`kg.ingest.workers.process`, nothing
stored), the repairs made (report findings whose rule starts with ``kgo:repair``, by rule), the
invalid optional values left out (``kgo:left-out``), the false quarantines against the official
DCAT-AP 3.0.1 / CPOV shapes (records we quarantine that they accept, evaluated as the EU validator
does: ``tests/official.py``; must be 0) and the records whose verdict or violations change with
the batch (``tests/test_batch_independence.py``, on a sample of each file: datasets, what they
point at and records sharing an IRI; must be 0).

Usage::

    .venv/bin/python bench/real_portals.py                      # rudof, Markdown table on stdout
    .venv/bin/python bench/real_portals.py --validator pyshacl --sample 0   # every record alone too

A file under ``broken/`` must be refused as a whole (an InputError); another refused file is a
failure. The exit code is 1 when a file fails, a record is quarantined in vain or a verdict
changes with the batch. Nothing is written: bench/RESULTS.md is kept by hand.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from official import SHARED, OfficialValidator, judge, missing_files  # noqa: E402
from test_batch_independence import changes  # noqa: E402

from bench.common import cpu_model, package_version  # noqa: E402
from kg.errors import InputError  # noqa: E402
from kg.ingest.workers import process  # noqa: E402
from kg.iris import Minter  # noqa: E402
from kg.readers import read_source  # noqa: E402
from kg.settings import BATCH_BY_VALIDATOR, VALIDATORS  # noqa: E402

BASE = "http://kg.test/"
FOLDERS = ("real-portals", "samples")
REPAIR, LEFT_OUT = "kgo:repair", "kgo:left-out"  # a value mended; an invalid optional value left out


@dataclass
class Row:
    file: str
    records: int = 0
    datasets: int = 0
    published: int = 0
    quarantined: int = 0
    repairs: Counter = field(default_factory=Counter)
    left_out: Counter = field(default_factory=Counter)
    false_quarantines: int = 0
    batch_changes: int = 0
    seconds: float = 0.0
    note: str = ""
    failed: bool = False

    def cells(self) -> list[str]:
        repairs, left_out = (
            ", ".join(f"{r} {n}" for r, n in sorted(c.items())) for c in (self.repairs, self.left_out)
        )
        counts = (self.records, self.datasets, self.published, self.quarantined)
        rest = (self.false_quarantines, self.batch_changes)
        return [
            self.file,
            *map(str, counts),
            repairs,
            left_out,
            *map(str, rest),
            f"{self.seconds:.1f}",
            self.note,
        ]


HEADER = (
    "file", "records", "datasets", "published", "quarantined", "repairs", "left out", "false quarantines",
    "batch changes", "s", "note",
)  # fmt: skip


def files(only: str) -> list[Path]:
    found = (p for folder in FOLDERS for p in sorted((SHARED / folder).rglob("*")))
    return [p for p in found if p.is_file() and p.name != "SOURCES.md" and only in str(p)]


def measure(path: Path, validator: OfficialValidator, engine: str, sample: int | None) -> Row:
    """One file through the pipeline, judged against the official shapes and for batch effects."""
    name = str(path.relative_to(SHARED))
    started = time.perf_counter()
    try:
        results = list(
            process(
                read_source(str(path)),
                Minter(BASE),
                batch=BATCH_BY_VALIDATOR[engine],
                workers=1,
                validator=engine,
            )
        )
    except InputError as exc:
        broken = "/broken/" in name
        reason = str(exc).removeprefix(str(path)).lstrip(":, ")[:60]
        return Row(
            name, note=("refused, as expected: " if broken else "REFUSED: ") + reason, failed=not broken
        )
    if "/broken/" in name:
        return Row(name, note="NOT refused, though it does not parse", failed=True)
    judged = judge(validator, results)
    datasets = [j for j in judged if j.ours.kind == "dataset"]
    row = Row(
        name,
        records=len(judged),
        datasets=len(datasets),
        published=sum(j.ours.publishable for j in datasets),
        quarantined=sum(not j.ours.publishable for j in datasets),
        repairs=Counter(f.rule for j in judged for f in j.ours.findings if f.rule.startswith(REPAIR)),
        left_out=Counter(f.rule for j in judged for f in j.ours.findings if f.rule.startswith(LEFT_OUT)),
        false_quarantines=sum(j.false_quarantine for j in judged),
        batch_changes=len({id(record) for record, _ in changes(results, sample, engine)}),
    )
    row.failed = bool(row.false_quarantines or row.batch_changes)
    row.seconds = time.perf_counter() - started
    return row


def report(rows: list[Row], engine: str, sample: int | None) -> str:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    checked = "every record" if sample is None else f"a sample of ~{sample} a file"
    lines = [
        f"### Real portals, {engine} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or '?'})",
        "",
        f"{cpu_model()}; pyshacl {package_version('pyshacl')}, pyrudof {package_version('pyrudof')}. "
        "published / quarantined: datasets; false quarantines (must be 0): records of any kind we "
        "quarantine that the official DCAT-AP 3.0.1 / CPOV shapes accept alone; batch changes (must be 0): "
        f"records whose verdict or violations change with the batch, of {checked}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--validator", choices=VALIDATORS, default="rudof", help="our SHACL engine (KG_VALIDATOR)"
    )
    parser.add_argument(
        "--sample", type=int, default=24, help="records of each file checked for batch effects (0: all)"
    )
    parser.add_argument("--only", default="", help="files whose path contains this text")
    args = parser.parse_args(argv)
    if missing_files():
        print(f"bench/real_portals.py: needs ../shared/data: missing {', '.join(map(str, missing_files()))}")
        return 2
    validator = OfficialValidator()
    sample = args.sample or None
    rows = []
    for path in files(args.only):
        rows.append(measure(path, validator, args.validator, sample))
        print(f"  {rows[-1].file}: {rows[-1].seconds:.1f} s", file=sys.stderr)
    print(report(rows, args.validator, sample))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
