"""kg.readers.json_stream: a file read piece by piece gives what ``json.loads`` gives, and the same
errors as :func:`kg.readers.files.load_json` (words, line, column), wherever the file is cut or broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.errors import InputError
from kg.readers import json_stream
from kg.readers.files import load_json
from kg.readers.json_stream import Streamed, items, outline

ENVELOPE = (
    '{"help": "https://x.example/api/3/action/help_show?name=package_search",\n'
    ' "success": true,\n'
    ' "result": {"count": 3, "sort": "score desc", "facets": {},\n'
    '  "results": [\n'
    '   {"id": "a", "title": "Caf\u00e9 \\u00e9\\ud834\\udd1e", "n": -1.5e3, "tags": [{"name": "t"}]},\n'
    '   {"name": "b", "private": false, "extras": [], "x": null, "big": 12345678901234567890},\n'
    '   "c"\n'
    "  ]\n"
    " }\n"
    "}\n"
)
ARRAYS = [(), ("result",), ("result", "results")]


def error(read, path: Path) -> tuple | None:
    try:
        read(path)
    except InputError as exc:
        return (exc.file, exc.line, exc.record, exc.message)
    return None


def streamed(path: Path) -> object:
    return outline(path, arrays=ARRAYS, keep=["id", "name"])


@pytest.fixture(params=[3, 7, 1 << 20], ids=["chunk3", "chunk7", "chunk1M"])
def chunk(request, monkeypatch) -> int:
    monkeypatch.setattr(json_stream, "CHUNK", request.param)  # values cut at every possible place
    return request.param


def test_outline_and_items_of_an_envelope(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "e.json"
    path.write_text(ENVELOPE, encoding="utf-8")
    whole = json.loads(ENVELOPE)
    doc = streamed(path)
    results = doc["result"]["results"]
    assert isinstance(results, Streamed) and results.route == (2, 3)
    assert results == [{"id": None}, {"name": None}, ""]
    assert {k: v for k, v in doc["result"].items() if k != "results"} == {
        k: v for k, v in whole["result"].items() if k != "results"
    }
    assert list(items(path, results.route)) == whole["result"]["results"]
    assert outline(path, arrays=[]) == whole  # nothing streamed: the parsed file


def test_a_top_level_array_and_a_scalar(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "a.json"
    path.write_text(' [ {"id": 1} , 2, [3], "x" ] ', encoding="utf-8")
    doc = streamed(path)
    assert doc == [{"id": None}, 0, [], ""] and doc.route == ()
    assert list(items(path, ())) == [{"id": 1}, 2, [3], "x"]
    path.write_text("[]", encoding="utf-8")
    assert streamed(path) == [] and list(items(path, ())) == []
    path.write_text(' "text" ', encoding="utf-8")
    assert streamed(path) == "text"


def test_duplicate_keys_the_last_counts_as_in_json_loads(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"result": [{"id": "first"}], "result": [{"id": "last"}, {"id": "x"}]}', "utf-8")
    doc = outline(path, arrays=ARRAYS)
    assert (
        len(doc["result"]) == 2
        and list(items(path, doc["result"].route)) == json.loads(path.read_text())["result"]
    )


def cuts(text: str) -> list[str]:
    """Every prefix of ``text``, and ``text`` with one character replaced by characters that break JSON."""
    broken = [text[:i] for i in range(len(text))]
    for i in range(0, len(text), 3):
        broken += [text[:i] + c + text[i + 1 :] for c in ',:{}[]"x\u00a0\\']
    return broken


@pytest.mark.parametrize("chunk_size", [5, 1 << 20])
def test_every_cut_or_broken_text_fails_as_the_whole_file_parse(
    tmp_path: Path, monkeypatch, chunk_size
) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", chunk_size)
    path = tmp_path / "cut.json"
    for text in cuts(ENVELOPE):
        path.write_text(text, encoding="utf-8")
        expected = error(load_json, path)
        assert error(streamed, path) == expected, repr(text)
        if expected is None:  # then the items are those of the parsed file
            doc = json.loads(text)
            found = streamed(path)
            if isinstance(found, dict) and isinstance(found.get("result"), dict):
                results = found["result"].get("results")
                if isinstance(results, Streamed):
                    assert list(items(path, results.route)) == doc["result"]["results"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" \n\t ",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\xef\xbb\xbf{}",
        "\u00a0\n".encode(),
        "\u00a0 {}".encode(),
        b"{} x",
        b"{}\n\n",
        b'{"a": 1}\xe9',
        b'{"a": \xe9 1}',
        b'{"a": 1,, "b": \xe9}',
        b'{"a": "\xc3',
        b"[" + b"9" * 5000 + b"]",
        b'{"result": [' + b"9" * 5000 + b"]}",
        b'{"result": [' + b"[" * 100_000 + b"]}",
    ],
)
def test_files_of_odd_bytes_fail_as_the_whole_file_parse(tmp_path: Path, data: bytes, monkeypatch) -> None:
    monkeypatch.setattr(json_stream, "CHUNK", 16)
    path = tmp_path / "odd.json"
    path.write_bytes(data)
    assert error(streamed, path) == error(load_json, path)


def test_an_early_error_in_a_big_file_does_not_read_it_whole(tmp_path: Path, monkeypatch) -> None:
    """The text read so far is kept only until the error is known to be one (not until the file's end)."""
    seen: list[int] = []
    fill = json_stream._Reader.fill

    def recording_fill(self) -> None:
        fill(self)
        seen.append(len(self.buf))

    monkeypatch.setattr(json_stream._Reader, "fill", recording_fill)
    monkeypatch.setattr(json_stream, "CHUNK", 1024)
    path = tmp_path / "big.json"
    rows = ",\n".join(json.dumps({"id": i, "title": "t" * 50}) for i in range(20_000))
    path.write_text('{"result": [{"id": 0, "title": }, \n' + rows + "]}", encoding="utf-8")
    found = error(streamed, path)
    assert found == error(load_json, path) and found[1] == 1
    assert max(seen) < 10_000, "the rest of the file was checked piece by piece, not kept"
