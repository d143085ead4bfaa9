"""An RDF catalogue is validated by a worker alone as soon as it is read (kg.ingest.workers._catalogue):
the results are those of validating it with its batch, in the same order.

In one process (the jobs a pool would run, run here): a pool forked after pyoxigraph has parsed
a file can hang in rudof, which is why the ingest starts its workers before it reads.
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import Future
from pathlib import Path

import pytest
from conftest import BASE

from kg.ingest.workers import _map_and_validate, _merged
from kg.readers.rdf import read_rdf
from kg.validation import split

ROOT = Path(__file__).resolve().parents[1]


def _generated(n: int, folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(n, 1, "ttl", folder)


def _done(value: object) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


@pytest.mark.parametrize("link_chunk", [7, 1000])  # the catalogue's 40 links cut into views, or not
def test_a_catalogue_alone_gives_the_results_of_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link_chunk: int
) -> None:
    monkeypatch.setattr(split, "LINK_CHUNK", link_chunk)
    records = list(read_rdf(_generated(40, tmp_path)))  # read once: the same blank-node labels
    at = next(i for i, r in enumerate(records) if r.kind == "catalog")
    chunk = [(r, []) for r in records[max(0, at - 5) : at + 20]]
    index = next(i for i, (r, _) in enumerate(chunk) if r.kind == "catalog")

    whole = _map_and_validate(chunk, BASE, True, "rudof")
    batch = _map_and_validate(chunk, BASE, True, "rudof", {index})
    alone = _map_and_validate([chunk[index]], BASE, True, "rudof", {0}, True)
    assert (batch[index] is None) == (link_chunk < 40) == (alone[0] is not None)
    merged = list(_merged(_done(batch), {index: _done(alone)}))

    def key(results: list) -> list[tuple]:
        return [(m.key, m.kind, str(m.origin), m.label, report, texts) for m, report, texts in results]

    assert key(merged) == key(whole)
