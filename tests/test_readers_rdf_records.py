"""The RDF reader's records as they reach the ingest's workers: the same as before the reader sent
rows instead of rdflib terms, and the same once pickled.

The fingerprints were taken from the reader as it was before (commit 564ec5e), which made rdflib
terms in the reading process: each record's kind, key, file name, index, triples and context (as
sorted text: blank-node labels, random per parse for anonymous nodes, left out), in record order.
"""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from pathlib import Path

import pytest
from rdflib import BNode, Literal

from kg.readers.rdf import read_rdf
from kg.records import Origin, RdfRecord

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "data" / "samples"
BEFORE = {  # (records, fingerprint) of the reader at 564ec5e
    "generated-12": (64, "bbba74c462f7cb25354718710160db9cc452295d6e5cbc490eebc3822dc9bd96"),
    "generated-1000": (1053, "a2bad80ba7badfe0fe1893a561d7a37e6cac25c886c7cae6f10ce0b071a33923"),
    "dataset_gob_es.ttl": (3, "2886e5458b29b7d3057c018ff0933d49c769fe84d82cb77dd97072e5cf607bf3"),
    "dataset_sweden.rdf": (3, "fc91b9bc62972b659e3664afbfc29fd276d39c73595acfd94e26e2c4ba628976"),
}


def _generated(n: int, folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(n, 1, "ttl", folder)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rdf-records")
    found = {f"generated-{n}": _generated(n, folder / str(n)) for n in (12, 1000)}
    found.update({name: SAMPLES / name for name in ("dataset_gob_es.ttl", "dataset_sweden.rdf")})
    return found


def _text(term: object) -> str:
    if isinstance(term, BNode):
        return "_:"
    if isinstance(term, Literal):
        return f'"{term}"@{term.language or ""}^^{term.datatype or ""}'
    return str(term)


def _lines(triples: list[tuple]) -> list[str]:
    return sorted(" ".join(map(_text, t)) for t in triples)


def fingerprint(records: list[RdfRecord]) -> str:
    digests = []
    for r in records:
        key = "_:" if r.key.startswith("_:") else r.key
        head = [r.kind, key, Path(r.origin.file).name, str(r.origin.record)]
        text = "\n".join([*head, *_lines(r.triples), "--", *_lines(r.context)])
        digests.append(hashlib.sha256(text.encode()).hexdigest())
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def _file(files: dict[str, Path], name: str) -> Path:
    if not files[name].is_file():
        pytest.skip(f"…/shared/data/samples not found: {files[name]}")
    return files[name]


@pytest.mark.parametrize("name", list(BEFORE))
def test_the_records_are_those_the_reader_gave_before(files: dict[str, Path], name: str) -> None:
    records = list(read_rdf(_file(files, name)))
    assert (len(records), fingerprint(records)) == BEFORE[name]


def _key(term: object) -> str:
    """A term as the table keys it: ``_:`` and the label for a blank node."""
    return f"_:{term}" if isinstance(term, BNode) else _text(term)


def _order(triple: tuple) -> tuple[str, ...]:
    return tuple(map(_key, triple))


@pytest.mark.parametrize("name", list(BEFORE))
def test_triples_come_in_their_stable_order(files: dict[str, Path], name: str) -> None:
    for record in read_rdf(_file(files, name)):
        for part in (record.triples, record.context):
            assert part == sorted(part, key=_order), record.key


@pytest.mark.parametrize("name", ["generated-12", "dataset_gob_es.ttl"])
def test_a_pickled_record_carries_rows_and_gives_the_same_triples(files: dict[str, Path], name: str) -> None:
    for record in read_rdf(_file(files, name)):
        sent = pickle.dumps(record)
        assert b"rdflib" not in sent  # rows of strings and numbers, no terms to rebuild
        received = pickle.loads(sent)
        assert (received.triples, received.context) == (record.triples, record.context)
        assert received == record
        again = pickle.loads(pickle.dumps(received))  # made terms travel as terms
        assert again == record and again.triples == record.triples


def test_a_record_made_of_triples_is_as_before() -> None:
    record = RdfRecord("http://example.org/a", "dataset", Origin("x.ttl", record=0), triples=[(1, 2, 3)])
    assert record.context == [] and record.triples == [(1, 2, 3)]
    record.context = [(4, 5, 6)]
    assert pickle.loads(pickle.dumps(record)) == record
    assert "context=[(4, 5, 6)]" in repr(record)
