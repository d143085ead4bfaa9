"""A record's verdict does not depend on the batch it is validated in.

The ingest validates records in batches (``KG_VALIDATION_BATCH``): one data graph per batch, every
result traced back to the record that owns its focus node. What a record is told must not depend on
which records share its batch, nor on their order. So for a few real files with varied content (RDF
whose records share blank nodes and a catalogue, a data.json file whose datasets share publishers,
CKAN), the records the ingest validated (:func:`kg.ingest.workers.process`, with their context) are
validated again with :func:`kg.validation.batch.validate_batch`: alone, in batches of 7 and in one
default-size batch, both in shuffled (seeded) order. A record whose verdict (publishable or not) or
set of violations changes fails the test.

The records checked are the datasets with the records they point at (publishers, agents) and every
record whose IRI another record of the file has too: where a batch can make a difference. Each costs
a validation alone (~0.1 s with rudof), so a sample of each file is taken. Real records are test
data read from ../shared; without them the test is skipped.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from functools import cache

import pytest
from official import SHARED
from rdflib import BNode, URIRef

from kg.ingest.workers import process
from kg.iris import Minter
from kg.mapping.mapped import MappedRecord
from kg.readers import read_source
from kg.records import Record
from kg.settings import BATCH_BY_VALIDATOR, VALIDATORS
from kg.validation.batch import validate_batch
from kg.validation.report import RecordReport

BASE = "http://kg.test/"
FILES: dict[str, int | None] = {  # file -> how many datasets and what they point at (None: all)
    "real-portals/dcat-ap-rdf/data.gouv.fr-ville-de-vanves.rdf": None,  # RDF: catalogue, service
    "real-portals/dcat-ap-rdf/raa.se-ksamsok-soch.rdf": 12,  # RDF: blank nodes shared by records
    "real-portals/data-json/ed.gov.data.json": 12,  # data.json: publishers, parents, an IRI twice
    "real-portals/ckan-json/catalog.data.gov-hud.packages.json": None,  # CKAN
}
Outcome = tuple[bool, frozenset]


def _key(node: object) -> str:
    """The record key a node stands for (RDF blank-node records: ``_:label``)."""
    if isinstance(node, BNode):
        return f"_:{node}"
    return str(node) if isinstance(node, URIRef) else ""


def at_risk(records: Sequence[MappedRecord], size: int | None) -> list[MappedRecord]:
    """Datasets with the records they point at (publishers, agents) and those that point at them
    (a catalogue, a service whose context describes them), in reading order, up to about ``size``
    (``None``: all records), and every record whose IRI another record has too."""
    if size is None:
        return list(records)
    index = {r.key: i for i, r in enumerate(records)}
    mentions = [{_key(o) for *_, o in r.triples} | {_key(t[0]) for t in r.context} for r in records]
    mentioned_by: dict[str, list[int]] = {}
    for i, keys in enumerate(mentions):
        for k in keys:
            mentioned_by.setdefault(k, []).append(i)
    twice = Counter(r.key for r in records)
    chosen = dict.fromkeys(i for i, r in enumerate(records) if twice[r.key] > 1)
    for i, record in enumerate(records):
        if len(chosen) >= size:
            break
        if record.kind == "dataset":
            linked = [index[k] for k in mentions[i] if k in index] + mentioned_by.get(record.key, [])
            chosen.update(dict.fromkeys([i, *sorted(set(linked))]))
    return [records[i] for i in sorted(chosen)]


def outcome(report: RecordReport) -> Outcome:
    return report.publishable, frozenset(f for f in report.findings if f.severity == "violation")


def changes(
    results: Sequence[tuple[MappedRecord, RecordReport]], size: int | None, engine: str
) -> list[tuple[MappedRecord, str]]:
    """The records of :func:`at_risk` whose outcome, as validated in ``results``, changes alone, in
    batches of 7 or in one default-size batch (shuffled): each with a line on what changed."""
    before = {id(m): outcome(report) for m, report in results}
    sample = at_risk([m for m, _ in results], size)
    found = []
    for label, batch, seed in (
        ("alone", 1, None),
        ("batches of 7, shuffled", 7, 7),
        ("one batch, shuffled", 0, 1),
    ):
        order = list(sample)
        if seed is not None:
            random.Random(seed).shuffle(order)
        batch = batch or BATCH_BY_VALIDATOR[engine]
        reports = [
            r
            for i in range(0, len(order), batch)
            for r in validate_batch(order[i : i + batch], engine=engine)
        ]
        for record, report in zip(order, reports, strict=True):
            (was, old), (now, new) = before[id(record)], outcome(report)
            if (was, old) != (now, new):
                gone, added = sorted(f.message for f in old - new), sorted(f.message for f in new - old)
                line = f"{record.kind} {record.key} ({record.origin}), {label}: publishable {was} -> {now}"
                found.append((record, f"{line}; violations gone {gone}, new {added}"))
    return found


@cache
def read(name: str) -> list[Record]:
    """One of these files, read once: a second reading would name its blank nodes anew."""
    return list(read_source(str(SHARED / name)))


@cache
def processed(name: str, engine: str) -> list[tuple[MappedRecord, RecordReport]]:
    """One of these files as the ingest validates it with ``engine`` (kept: tests share it)."""
    return list(
        process(read(name), Minter(BASE), batch=BATCH_BY_VALIDATOR[engine], workers=1, validator=engine)
    )


@pytest.mark.parametrize("engine", VALIDATORS)
@pytest.mark.parametrize("name", list(FILES))
def test_verdicts_do_not_depend_on_the_batch(name: str, engine: str) -> None:
    if not (SHARED / name).is_file():
        pytest.skip(f"the real records come with ../shared/data: {SHARED / name} is absent")
    found = changes(processed(name, engine), FILES[name], engine)
    lines = "\n".join(f"  - {line}" for _, line in found)
    if found:
        pytest.fail(f"{name} ({engine}): verdicts that change with the batch:\n{lines}", pytrace=False)
