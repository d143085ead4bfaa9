"""kg.store.bulk_load: N-Triples files cut for loading, never between two mentions of a blank node.

A loader names blank nodes anew in every call, so a cut between two mentions of ``_:b``
would make two nodes of one. Checked on random files (the cut rules) and by loading a
file in small pieces into a real store (embedded, or ``oxigraph serve`` in the remote run)
and comparing it with the file loaded whole.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from test_store import make

from kg.store.bulk_load import cut_points, read_pieces
from kg.store.writer import Writer

GRAPH = "http://kg.test/graph/one"
LABEL = re.compile(rb"_:[^\s\"<>]+")


def record_lines(i: int, rng: random.Random) -> list[str]:
    """A record as the ingest writes it: its triples together, its blank nodes its own."""
    s = f"<http://kg.test/d/{i}>"
    lines = [f'{s} <http://kg.test/title> "record {i}" .\n']
    for j in range(rng.randrange(3)):
        b = f"_:r{i}x{j}"
        lines += [f"{s} <http://kg.test/temporal> {b} .\n", f'{b} <http://kg.test/start> "{2000 + j}" .\n']
        if rng.random() < 0.5:  # a nested node, mentioned from its parent
            lines += [f"{b} <http://kg.test/in> _:r{i}n{j} .\n", f'_:r{i}n{j} <http://kg.test/label> "n" .\n']
    return lines


def write_records(path: Path, n: int, seed: int, *, shared: int = 0) -> bytes:
    """``n`` records; ``shared`` > 0: some records also point at a node first seen ``shared`` records back."""
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(n):
        lines += record_lines(i, rng)
        if shared and i >= shared and rng.random() < 0.2:
            lines.append(f"<http://kg.test/d/{i}> <http://kg.test/same> _:r{i - shared}x0 .\n")
            lines.append(f'_:r{i - shared}x0 <http://kg.test/seen> "{i}" .\n')  # the node exists now
    data = "".join(lines).encode()
    path.write_bytes(data)
    return data


def check_pieces(data: bytes, pieces: list[bytes]) -> None:
    assert b"".join(pieces) == data
    owner: dict[bytes, int] = {}
    for k, piece in enumerate(pieces):
        assert piece.endswith(b"\n")
        for label in set(LABEL.findall(piece)):
            assert owner.setdefault(label, k) == k, f"{label!r} in pieces {owner[label]} and {k}"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shared", [0, 3, 40])
def test_no_blank_node_is_cut_and_nothing_is_lost(tmp_path, seed, shared):
    path = tmp_path / "data.nt"
    data = write_records(path, 400, seed, shared=shared)
    size = random.Random(seed).choice([50, 300, 2000])
    cuts = cut_points(path, size=size)
    pieces = list(read_pieces(path, cuts))
    check_pieces(data, pieces)
    assert len(pieces) > 3  # records are local: cuts exist
    assert all(data[c - 1 : c] == b"\n" for c in cuts)
    assert cuts == sorted(set(cuts)) and cuts[-1] < len(data)
    if not shared:  # a piece is no longer than the size plus one record
        assert max(len(p) for p in pieces) <= size + 2000  # a record is a few hundred bytes


def test_a_file_without_blank_nodes_is_cut_at_line_ends_about_size_apart(tmp_path):
    path = tmp_path / "plain.nt"
    data = b"".join(f'<http://kg.test/s/{i}> <http://kg.test/p> "v{i}" .\n'.encode() for i in range(1000))
    path.write_bytes(data)
    cuts = cut_points(path, size=4096)
    pieces = list(read_pieces(path, cuts))
    check_pieces(data, pieces)
    assert all(4096 <= len(p) < 4096 + 60 for p in pieces[:-1])


def test_a_node_mentioned_at_both_ends_leaves_one_piece(tmp_path):
    path = tmp_path / "catalogue.nt"
    body = "".join(f'<http://kg.test/s/{i}> <http://kg.test/p> "v{i}" .\n' for i in range(500))
    data = f'_:cat <http://kg.test/title> "c" .\n{body}<http://kg.test/s/0> <http://kg.test/in> _:cat.\n'
    path.write_text(data, encoding="utf-8")  # the last mention ends with its dot, no space
    assert cut_points(path, size=1000) == []
    assert list(read_pieces(path, [])) == [data.encode()]


def test_a_file_that_fits_in_one_piece_and_an_unfinished_last_line(tmp_path):
    path = tmp_path / "small.nt"
    path.write_bytes(b"_:a <http://kg.test/p> _:b .\n_:b <http://kg.test/p> <http://kg.test/o> .")
    assert cut_points(path, size=1 << 20) == []
    assert list(read_pieces(path, [])) == [path.read_bytes() + b"\n"]
    empty = tmp_path / "empty.nt"
    empty.write_bytes(b"")
    assert cut_points(empty, size=10) == [] and list(read_pieces(empty, [])) == []


def counts(store) -> tuple[int, int]:
    """Triples and distinct blank nodes in the graph."""
    query = f"""SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?b) AS ?blank) WHERE {{
        GRAPH <{GRAPH}> {{ ?s ?p ?o }} BIND(IF(isBlank(?s), ?s, IF(isBlank(?o), ?o, 1)) AS ?b) }}"""
    row = next(iter(store.query(query)))
    return int(row["n"].value), int(row["blank"].value) - 1  # less the 1 of triples without one


def test_loading_in_pieces_keeps_every_blank_node_one_node(tmp_path, monkeypatch):
    """The file loaded in ~40 pieces has as many triples and blank nodes as the file loaded whole."""
    path = tmp_path / "records.nt"
    data = write_records(path, 300, 7, shared=5)
    labels = set(LABEL.findall(data))
    monkeypatch.setattr(Writer, "CHUNK_BYTES", len(data) // 40)
    store = make(tmp_path / "store")
    if getattr(store, "remote", False):
        store.CHUNK_BYTES = len(data) // 40
    assert len(cut_points(path, size=len(data) // 40)) > 20
    with store.write(replace=(GRAPH,)) as writer:
        writer.load(path, graph=GRAPH)
    assert counts(store) == (data.count(b"\n"), len(labels))


@pytest.mark.parametrize("seed", range(4))
def test_left_out_lines_are_skipped_and_the_rest_is_cut_as_before(tmp_path, seed):
    """``leave_out`` spans (whole lines, as the ingest holds links back) leave exactly those lines
    out of each piece, wherever they fall: the first line, the last, a line starting at a cut."""
    path = tmp_path / "data.nt"
    data = write_records(path, 300, seed, shared=3)
    rng = random.Random(seed)
    starts = [0] + [i + 1 for i, b in enumerate(data[:-1]) if b == 10]
    lines = list(zip(starts, [*starts[1:], len(data)], strict=True))
    cuts = cut_points(path, size=rng.choice([300, 2000]))
    at_cuts = [line for line in lines if line[0] in cuts[:3]]
    chosen = sorted({lines[0], lines[-1], *at_cuts, *rng.sample(lines, 25)})
    pieces = list(read_pieces(path, cuts, chosen))
    assert len(at_cuts) == 3
    bounds = [0, *cuts, len(data)]
    expected = [
        b"".join(data[s:e] for s, e in lines if bounds[k] <= s < bounds[k + 1] and (s, e) not in chosen)
        for k in range(len(bounds) - 1)
    ]
    if not expected[-1]:  # the last piece was only left-out lines: nothing to load
        expected.pop()
    assert pieces == expected
    check_pieces(b"".join(data[s:e] for s, e in lines if (s, e) not in chosen), pieces)


def test_a_load_leaves_out_the_lines_it_is_told_to(tmp_path):
    """Through the writer into a real store, small file (one call) and in pieces alike."""
    path = tmp_path / "records.nt"
    data = write_records(path, 200, 3)
    lines = data.splitlines(keepends=True)
    first, third = len(lines[0]), len(lines[0]) + len(lines[1])
    spans = [(0, first), (third, third + len(lines[2]))]
    store = make(tmp_path / "store")
    with store.write(replace=(GRAPH,)) as writer:
        writer.load(path, graph=GRAPH, leave_out=spans)
    assert counts(store)[0] == len(lines) - 2
    remaining = store.query(f"ASK {{ GRAPH <{GRAPH}> {{ <http://kg.test/d/0> <http://kg.test/title> ?t }} }}")
    assert not bool(remaining)


def test_a_labelled_load_in_pieces_keeps_the_file_s_labels(tmp_path, monkeypatch):
    """With its labels kept, a file is loaded in pieces of LABELLED_CHUNK_BYTES (bounded memory):
    every triple and blank node is there once, named as the file names it."""
    path = tmp_path / "records.nt"
    data = write_records(path, 300, 11, shared=5)
    labels = set(LABEL.findall(data))
    monkeypatch.setattr(Writer, "LABELLED_CHUNK_BYTES", len(data) // 40)
    loaded: list[int] = []
    load_labelled = Writer._load_labelled

    def counted(self, store, pieces, graph):
        pieces = list(pieces)
        loaded.append(len(pieces))
        return load_labelled(self, store, pieces, graph)

    monkeypatch.setattr(Writer, "_load_labelled", counted)
    store = make(tmp_path / "store")
    if getattr(store, "remote", False):
        pytest.skip("a remote store loads over the Graph Store protocol, not with kept labels")
    with store.write(replace=(GRAPH,)) as writer:
        writer.load(path, graph=GRAPH, keep_labels=True)
    assert loaded and loaded[0] > 20
    assert counts(store) == (data.count(b"\n"), len(labels))
    rows = store.query(f"SELECT DISTINCT ?b WHERE {{ GRAPH <{GRAPH}> {{ ?b ?p ?o }} FILTER(isBlank(?b)) }}")
    assert {f"_:{row['b'].value}".encode() for row in rows} == labels  # each is a subject somewhere
