"""A JSON file read piece by piece: its big arrays item by item, everything else whole.

Why: a parsed file is several times its size (648 MB for a data.json of 149 MB, ~2 GB for a
CKAN package_search file of 300 MB), which made the readers most of an ingest's memory. A
first pass (:func:`outline`) checks the whole file and gives it with the arrays named by key
paths replaced by a :class:`Streamed` list of small stand-ins of their items (what format
checks look at: the type, some keys); a second pass (:func:`items`) gives the items of one of
them, one at a time. Values are parsed by the standard library's own decoder (``raw_decode``),
so they are exactly what ``json.loads`` gives, and the structure between them is checked as it
does: an error is the one :func:`kg.readers.files.parse_json` gives for the file read whole, with the
same words, line and column (and a byte that is not UTF-8 anywhere comes first, as there).

>>> import tempfile, os
>>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
...     _ = f.write('{"result": {"count": 2, "results": [{"id": "a", "x": 1}, "b"]}}')
>>> doc = outline(f.name, arrays=[("result", "results")], keep=["id"])
>>> doc, doc["result"]["results"].route
({'result': {'count': 2, 'results': [{'id': None}, '']}}, (0, 1))
>>> list(items(f.name, (0, 1)))
[{'id': 'a', 'x': 1}, 'b']
>>> os.unlink(f.name)
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, NoReturn

from kg.errors import InputError

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
CHUNK = 1 << 20
# the decoder looks at most a few characters past the place it names in an error (a literal,
# an escape); an error further back than this from the end of the text read so far is final
_LOOKAHEAD = 64


class Streamed(list):
    """An array read item by item: a stand-in per item, and where it is for :func:`items`
    (``route``: the position of the member at each object on the way, the first one 0)."""

    def __init__(self, route: tuple[int, ...]) -> None:
        super().__init__()
        self.route = route


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
        newlines = self.buf.count("\n", 0, self.pos)
        self.line += newlines
        last = self.buf.rfind("\n", 0, self.pos)
        self.column = self.pos - last - 1 if newlines else self.column + self.pos
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
        """The next character that is not JSON white space ("" at the end of the file)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]
            self.fill()

    def value(self) -> Any:
        """The next JSON value, parsed whole (read on until it is complete)."""
        self.peek()
        tried = ""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                final = exc.pos < len(self.buf) - _LOOKAHEAD and not exc.msg.startswith("Unterminated")
                if self.eof or final:
                    self.fail(exc.msg, at=exc.pos)
                self.grow()
                continue
            except RecursionError:
                self.fail_plain("nested too deeply")
            except ValueError as exc:  # an integer over Python's digit limit: its count as in the file
                if self.eof or str(exc) == tried:
                    self.fail_plain(str(exc))
                tried = str(exc)
                self.grow()
                continue
            if end == len(self.buf) and not self.eof:  # a number may go on in the next piece
                self.grow()
                continue
            self.pos = end
            self.want = CHUNK
            return value

    def grow(self) -> None:
        self.want = min(self.want * 2, 1 << 30)
        self.fill()

    def fail(self, message: str, *, at: int | None = None, empty: bool = False) -> NoReturn:
        """Raise the error :func:`kg.readers.files.parse_json` gives at ``at`` (``empty``: or, if
        nothing but white space follows, the one of an empty file)."""
        at = self.pos if at is None else at
        line = self.line + self.buf.count("\n", 0, at)
        start = self.buf.rfind("\n", 0, at) + 1
        column = at - start + 1 + (self.column if start == 0 else 0)
        blank = self.blank_from(at)
        if blank and empty:
            raise InputError("the file is empty", file=self.file)
        if blank or message.startswith("Unterminated string"):
            text = f"invalid JSON: the text ends in the middle of a value (truncated?): {message}"
        else:
            text = f"invalid JSON at column {column}: {message}"
        raise InputError(text, file=self.file, line=line)

    def fail_plain(self, message: str) -> NoReturn:
        self.blank_from(self.pos)
        raise InputError(f"invalid JSON: {message}", file=self.file)

    def blank_from(self, at: int) -> bool:
        """Whether only white space follows ``at``. Reads the rest of the file: a byte that is
        not UTF-8 is then the error, as when the file is decoded whole before it is parsed."""
        blank = not self.buf[at:].strip()
        self.want = CHUNK
        while not self.eof:
            self.pos = len(self.buf)
            self.fill()
            blank = blank and not self.buf.strip()
        return blank


class _Outline:
    """Reads a value: whole, but for the objects on the way to ``arrays`` (key paths), read
    member by member, and those arrays, read item by item into stand-ins that keep ``keep``."""

    def __init__(self, reader: _Reader, arrays: Collection[tuple[str, ...]], keep: Collection[str]) -> None:
        self.reader = reader
        self.arrays = {tuple(a) for a in arrays}
        self.ways = {a[:i] for a in self.arrays for i in range(len(a))}
        self.keep = tuple(keep)
        self.shared: dict[Any, Any] = {}  # equal stand-ins are one object: a pointer per item

    def value(self, path: tuple[str, ...], route: tuple[int, ...]) -> Any:
        char = self.reader.peek()
        if char == "[" and path in self.arrays:
            found = Streamed(route)
            found.extend(self.stand_in(item) for item in _items(self.reader))
            return found
        if char == "{" and path in self.ways:
            members = {}
            for position, name in enumerate(_names(self.reader)):
                members[name] = self.value((*path, name), (*route, position))
            return members
        return self.reader.value()

    def stand_in(self, item: Any) -> Any:
        """An object's keys among ``keep`` (values None); for any other value, an empty one of its type."""
        key = tuple(k for k in self.keep if k in item) if isinstance(item, dict) else type(item)
        if key not in self.shared:
            self.shared[key] = dict.fromkeys(key) if isinstance(key, tuple) else type(item)()
        return self.shared[key]


def outline(path: str | Path, *, arrays: Collection[tuple[str, ...]], keep: Collection[str] = ()) -> Any:
    """The file's JSON value, with the arrays at ``arrays`` (key paths from the top, ``()`` for a
    top-level array) read item by item and given as :class:`Streamed` stand-ins of their items.

    :raises InputError: what :func:`kg.readers.files.parse_json` of the whole file raises, or that it
        is empty.
    """
    reader = _Reader(path)
    try:
        char = reader.peek()
        if not char:
            raise InputError("the file is empty", file=reader.file)
        if char.isspace():  # white space JSON does not allow (U+00A0, …), as the first thing
            reader.fail("Expecting value", empty=True)
        if char == "\ufeff" and (reader.pos, reader.line, reader.column) == (0, 1, 0):
            reader.fail("Unexpected UTF-8 BOM (decode using utf-8-sig)")  # a second one: json.loads's words
        found = _Outline(reader, arrays, keep).value((), ())
        if reader.peek():
            reader.fail("Extra data")
        return found
    finally:
        reader.close()


def items(path: str | Path, route: tuple[int, ...]) -> Iterator[Any]:
    """The items of the array at ``route`` (a :class:`Streamed`'s), one at a time, in file order.
    The file is expected to have been checked by :func:`outline`: this pass does not look past the array.
    """
    reader = _Reader(path)
    try:
        for position in route:
            for index, _ in enumerate(_names(reader)):
                if index == position:
                    break
                reader.value()
        reader.peek()
        yield from _items(reader)
    finally:
        reader.close()


def _names(reader: _Reader) -> Iterator[str]:
    """The member names of the object at the reader; after each, the caller reads its value."""
    reader.peek()
    reader.pos += 1  # "{"
    char = reader.peek()
    if char == "}":
        reader.pos += 1
        return
    while True:
        if char != '"':
            reader.fail("Expecting property name enclosed in double quotes")
        name = reader.value()
        if reader.peek() != ":":
            reader.fail("Expecting ':' delimiter")
        reader.pos += 1
        yield name
        if not _more(reader, "}"):
            return
        char = reader.peek()


def _items(reader: _Reader) -> Iterator[Any]:
    """The items of the array at the reader, each parsed whole."""
    reader.pos += 1  # "[", peeked
    if reader.peek() == "]":
        reader.pos += 1
        return
    while True:
        yield reader.value()
        if not _more(reader, "]"):
            return


def _more(reader: _Reader, close: str) -> bool:
    """After a member or an item: True past a comma, False past the closing ``close``."""
    char = reader.peek()
    if char not in (close, ","):
        reader.fail("Expecting ',' delimiter")
    reader.pos += 1
    return char == ","
