"""A JSON object read from a file piece by piece: its small members whole, its arrays item by item.

Why: a parsed ``data.json`` is several times its file (648 MB for the 100,000-dataset file of
149 MB), which made the reader most of an ingest's memory. Here only one item of an array is
held at a time; each is parsed by the standard library's own decoder (``raw_decode``), so
values are exactly what ``json.loads`` gives, and errors name the line as :func:`parse_json`
does, with the same words.

>>> import tempfile, os
>>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
...     _ = f.write('{"@type": "dcat:Catalog", "dataset": [{"title": "a"}, {"title": "b"}]}')
>>> members(f.name, stream="dataset")["@type"]
'dcat:Catalog'
>>> [item["title"] for item in array_items(f.name, "dataset")]
['a', 'b']
>>> os.unlink(f.name)
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.errors import InputError

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
CHUNK = 1 << 20


class Streamed(list):
    """Stands for an array member that was read item by item, not kept (its length is known)."""

    def __init__(self, count: int, objects: bool) -> None:
        super().__init__()
        self.count = count
        self.objects = objects  # every item was a JSON object


class _Reader:
    """A UTF-8 file as a sliding text buffer with the line number of its start."""

    def __init__(self, path: str | Path) -> None:
        self.file = str(path)
        try:
            self.handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise InputError("no such file or folder", file=self.file) from None
        except IsADirectoryError:
            raise InputError("is a folder, expected a file", file=self.file) from None
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror or exc}", file=self.file) from exc
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf, self.pos, self.line, self.read_bytes, self.eof = "", 0, 1, 0, False
        self.column = 0  # characters of the buffer's first line that were dropped before it
        self.want = CHUNK
        self.fill()
        self.buf = self.buf.removeprefix("\ufeff")

    def close(self) -> None:
        self.handle.close()

    def fill(self) -> None:
        """Drop what was consumed and read more (twice as much after each retry on one value)."""
        if self.eof:
            return
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        self.line += newlines
        self.column = len(dropped) - dropped.rfind("\n") - 1 if newlines else self.column + len(dropped)
        self.buf, self.pos = self.buf[self.pos :], 0
        data = self.handle.read(self.want)
        try:
            self.buf += self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            offset = self.read_bytes + len(data) - len(exc.object) + exc.start
            raise InputError(
                f"not UTF-8 text: byte 0x{exc.object[exc.start]:02X} at offset {offset} cannot be decoded "
                "(save the file as UTF-8)",
                file=self.file,
                line=self.line + self.buf.count("\n") + exc.object.count(b"\n", 0, exc.start),
            ) from exc
        self.read_bytes += len(data)
        self.eof = not data

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]
            self.fill()

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            self.fail(
                f"expected {' or '.join(repr(c) for c in chars)}" if char else "the text ends too early",
                truncated=not char,
            )
        self.pos += 1
        return char

    def value(self) -> Any:
        """The next JSON value, parsed whole (read on until it is complete)."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof:
                    truncated = exc.pos >= len(self.buf.rstrip()) or exc.msg.startswith("Unterminated string")
                    self.fail(exc.msg, at=exc.pos, truncated=truncated)
                self.grow()
                continue
            except RecursionError:
                self.fail("nested too deeply")
            except ValueError as exc:
                self.fail(str(exc))
            if end == len(self.buf) and not self.eof:  # a number may go on in the next piece
                self.grow()
                continue
            self.pos = end
            self.want = CHUNK
            return value

    def grow(self) -> None:
        self.want = min(self.want * 2, 1 << 30)
        self.fill()

    def fail(self, message: str, *, at: int | None = None, truncated: bool = False) -> None:
        at = self.pos if at is None else at
        line = self.line + self.buf.count("\n", 0, at)
        start = self.buf.rfind("\n", 0, at) + 1
        column = at - start + 1 + (self.column if start == 0 else 0)
        if truncated:
            text = f"invalid JSON: the text ends in the middle of a value (truncated?): {message}"
        else:
            text = f"invalid JSON at column {column}: {message}"
        raise InputError(text, file=self.file, line=line)


def members(path: str | Path, *, stream: str | None = None) -> dict[str, Any]:
    """The members of the file's top-level object; array members (``stream``'s, or any array of
    more than a few items) read item by item and given as :class:`Streamed`, not kept.

    :raises InputError: if the file is not UTF-8 JSON (line named), or its top level is not an object.
    """
    reader = _Reader(path)
    try:
        if not reader.peek():
            raise InputError("the file is empty", file=reader.file)
        if reader.peek() != "{":
            raise InputError("not a JSON object at the top level", file=reader.file)
        found = dict(_members(reader, skip=lambda key: True if stream is None else key == stream))
        if reader.peek():
            reader.fail("extra data after the top-level object")
        return found
    finally:
        reader.close()


def array_items(path: str | Path, key: str) -> Iterator[Any]:
    """The items of the top-level object's ``key`` array, one at a time, in file order (the file
    is expected to have been checked by :func:`members` first: this pass skips the checks).

    :raises InputError: as :func:`members`; or if ``key`` is missing or not an array.
    """
    reader = _Reader(path)
    try:
        reader.expect("{")
        first, found = True, False
        while reader.peek() != "}":
            if not first:
                reader.expect(",")
            first = False
            name = reader.value()
            reader.expect(":")
            if name == key and not found and reader.peek() == "[":
                found = True
                yield from _items(reader)
            else:
                reader.value()
        if not found:
            raise InputError(f'no "{key}" array in the top-level object', file=reader.file)
    finally:
        reader.close()


def _members(reader: _Reader, *, skip) -> Iterator[tuple[str, Any]]:
    reader.expect("{")
    first = True
    while reader.peek() != "}":
        if not first:
            reader.expect(",")
        first = False
        name = reader.value()
        if not isinstance(name, str):
            reader.fail("expected a member name in double quotes")
        reader.expect(":")
        if reader.peek() == "[" and skip(name):
            count, objects = 0, True
            for item in _items(reader):
                count += 1
                objects = objects and isinstance(item, dict)
            yield name, Streamed(count, objects)
        else:
            yield name, reader.value()
    reader.expect("}")


def _items(reader: _Reader) -> Iterator[Any]:
    reader.expect("[")
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        if reader.expect(",]") == "]":
            return
