"""N-Triples files cut into pieces for loading, without splitting a blank node.

A store's loader (Oxigraph's bulk loader, or a Graph Store request) names
blank nodes anew in every call: ``_:b1`` in two calls becomes two nodes. So a
file is cut only at line ends that no blank-node label spans: every mention
of a label lies in one piece. The ingest's files list each record's triples
together and a record's blank nodes are its own, so cuts are found every few
lines; a label mentioned at both ends of a file (a blank node shared by the
whole catalogue) leaves no cut between, and the file is loaded in one call.

>>> import tempfile, os
>>> lines = [b"_:a <p> <o> .\\n", b"<s> <p> _:a .\\n", b"<s> <p> <o> .\\n", b"_:b <p> _:c .\\n"]
>>> with tempfile.NamedTemporaryFile(delete=False) as f:
...     _ = f.write(b"".join(lines))
>>> cut_points(f.name, size=10)
[28, 42]
>>> [len(piece) for piece in read_pieces(f.name, cut_points(f.name, size=10))]
[28, 14, 14]
>>> os.unlink(f.name)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

# a label as N-Triples writes it (``_:`` up to white space, or up to the dot that ends the
# triple); one inside a literal or an IRI is taken for a label too, which can only make
# cuts rarer, never split a node
_LABEL = re.compile(rb"_:[^\s\"<>]+")
_SCAN = 1 << 24


def read_pieces(
    path: Path | str, cuts: list[int], leave_out: Sequence[tuple[int, int]] = ()
) -> Iterator[bytes]:
    """The file's bytes cut at ``cuts`` (from :func:`cut_points`), a line end closing the last.

    ``leave_out``: (start, end) offsets of whole lines to skip, in file order. Why: the ingest
    holds a few lines of a large file back (links to quarantined records); skipping them here
    spares writing the whole file again without them.
    """
    spans = iter(leave_out)
    span = next(spans, None)
    with open(path, "rb") as source:
        start = 0
        for end in [*cuts, None]:
            data = source.read() if end is None else source.read(end - start)
            stop = start + len(data)
            kept, at = [], start
            while span is not None and span[0] < stop:  # a line lies in one piece: cuts are line starts
                kept.append(data[at - start : span[0] - start])
                at = span[1]
                span = next(spans, None)
            if kept:
                data = b"".join(kept) + data[at - start :]
            start = stop
            if end is None:
                if data.strip():
                    yield data if data.endswith(b"\n") else data + b"\n"
            else:
                yield data


def cut_points(path: Path | str, *, size: int) -> list[int]:
    """Offsets where the file may be cut (line starts, inside the file), each the first
    allowed one at least ``size`` bytes after the previous; empty when the file fits in one
    piece or cannot be cut."""
    spans = _label_spans(path) if mentions(path, b"_:") else []
    cuts: list[int] = []
    want = size  # the next cut: the first allowed line start at or after this offset
    span = 0  # the first merged span that ends at or after the current candidate
    with open(path, "rb") as source:
        offset, tail = 0, b""  # tail: the incomplete last line of the previous block
        while block := source.read(_SCAN):
            data = tail + block
            base = offset - len(tail)  # the file offset of data[0]
            while True:
                found = data.find(b"\n", max(want - base - 1, 0))
                if found < 0:
                    break  # the candidate is in the next block
                cut = base + found + 1
                while span < len(spans) and spans[span][1] < cut:
                    span += 1
                if span < len(spans) and spans[span][0] < cut:  # a blank node on both sides:
                    want = spans[span][1] + 1  # move past its last mention
                    continue
                cuts.append(cut)
                want = cut + size
            offset += len(block)
            tail = data[data.rfind(b"\n") + 1 :]
    return [c for c in cuts if c < offset]


def mentions(path: Path | str, needle: bytes) -> bool:
    """Whether a file holds ``needle`` (read in blocks: the file may be large)."""
    with open(path, "rb") as handle:
        tail = b""
        while block := handle.read(_SCAN):
            if needle in tail + block[: len(needle)] or needle in block:
                return True
            tail = block[-len(needle) + 1 :]
    return False


def _label_spans(path: Path | str) -> list[tuple[int, int]]:
    """(first, last) offsets of the blank-node labels, overlapping spans merged, in order."""
    first: dict[int, int] = {}  # hash of the label -> offset (a collision only merges spans)
    last: dict[int, int] = {}
    for key, at in _labels(path):
        first.setdefault(key, at)
        last[key] = at
    merged: list[tuple[int, int]] = []
    for key, start in first.items():  # in order of first mention
        stop = last[key]
        if stop == start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _labels(path: Path | str) -> Iterator[tuple[int, int]]:
    """(hash of the label, offset) of every blank-node label mentioned, in file order."""
    with open(path, "rb") as source:
        offset, tail = 0, b""
        while True:
            block = source.read(_SCAN)
            data = tail + block
            end = data.rfind(b"\n") + 1 if block else len(data)  # whole lines; at the end, the rest
            base = offset - len(tail)
            for match in _LABEL.finditer(data, 0, end):
                yield hash(match.group().rstrip(b".")), base + match.start()  # a label never ends with "."
            if not block:
                return
            tail = data[end:]
            offset += len(block)
