"""Read one CSV file of a CSV source: its header checked against a :class:`Spec`, its rows streamed.

A row keeps its physical line number (the header is line 1), so every error
names the file, line and column. The file is decoded as it is read; only when
a byte is not UTF-8 is the file scanned again, to say where.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.errors import InputError
from kg.readers.files import read_text
from kg.records import Origin, Text

_LANG_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class Spec:
    """The columns of one CSV file (the same names as the record fields they fill, where they can)."""

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    lang: tuple[str, ...]  # text columns that may have @lang variants
    many: tuple[str, ...]  # multi-valued columns (values separated by ";")


def split_values(cell: str) -> list[str]:
    """A multi-valued cell: split on ``;``, each value trimmed, empties dropped.

    >>> split_values(" a; b ;; c;")
    ['a', 'b', 'c']
    """
    return [v.strip() for v in cell.split(";") if v.strip()]


@dataclass
class Row:
    """One data row: cells by normalised column name (``title``, ``title@fr``)."""

    spec: Spec
    file: str
    line: int
    cells: dict[str, str]

    @property
    def origin(self) -> Origin:
        return Origin(self.file, line=self.line)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def text(self, column: str) -> Text:
        """The plain column as language "" plus every ``column@lang`` that has a value."""
        return {lang: value for lang, value in self._variants(column) if value}

    def keywords(self, column: str) -> list[tuple[str, str]]:
        return [(kw, lang) for lang, value in self._variants(column) for kw in split_values(value)]

    def fields(self, *skip: str) -> dict[str, object]:
        """Every column of the spec (but ``skip``) as the record field of the same name."""
        values: dict[str, object] = {}
        for column in self.spec.columns:
            if column in skip:
                continue
            if column == "keywords":
                values[column] = self.keywords(column)
            elif column in self.spec.lang:
                values[column] = self.text(column)
            elif column in self.spec.many:
                values[column] = split_values(self.get(column))
            else:
                values[column] = self.get(column)
        return values

    def _variants(self, column: str) -> list[tuple[str, str]]:
        prefix = column + "@"
        tagged = [(name[len(prefix) :], v) for name, v in self.cells.items() if name.startswith(prefix)]
        return [("", self.get(column)), *tagged]

    def fail(self, message: str, column: str) -> InputError:
        return InputError(message, file=self.file, line=self.line, field=column)


def read_rows(path: Path, spec: Spec) -> Iterator[Row]:
    """Rows of one CSV file with their physical line number (header = line 1), read as they come."""
    file = str(path)
    for line, columns, cells in _cells(path, spec):
        yield Row(spec, file, line, {c: v.strip() for c, v in zip(columns, cells, strict=False) if c})


def read_columns(path: Path, spec: Spec, *names: str) -> Iterator[tuple]:
    """(line, value of each of ``names``) of every row: the checks need no more than that."""
    where: list[int] = []
    for line, columns, cells in _cells(path, spec):
        if not where:
            where = [columns.index(n) if n in columns else len(columns) + 9 for n in names]
        yield (line, *(cells[i].strip() if i < len(cells) else "" for i in where))


def _cells(path: Path, spec: Spec) -> Iterator[tuple[int, list[str], list[str]]]:
    """(line, normalised columns, cells) of every data row, streamed from the file.

    The file is decoded as it is read; a byte that is not UTF-8 is reported as
    :func:`kg.readers.files.decode_utf8` reports it (line and offset), found by a scan
    of the file's bytes then.
    """
    file = str(path)
    _check_not_empty(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            columns = _header(next(reader), file, spec)
            while True:
                start = reader.line_num + 1
                cells = next(reader, None)
                if cells is None:
                    return
                if not any(c.strip() for c in cells):
                    continue
                if any(c.strip() for c in cells[len(columns) :]):
                    raise InputError(
                        f"the row has {len(cells)} values but the header has {len(columns)} columns",
                        file=file,
                        line=start,
                    )
                yield start, columns, cells
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", file=file, line=reader.line_num) from exc
        except UnicodeDecodeError:
            _not_utf8(path)
            raise


def _check_not_empty(path: Path) -> None:
    """What :func:`kg.readers.files.read_text` refuses (missing, a folder, unreadable, only blanks)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16).removeprefix(b"\xef\xbb\xbf")
            while head and not head.strip():
                head = handle.read(1 << 16)
    except OSError:
        read_text(path)  # raises with read_text's message
        raise
    if not head.strip():
        raise InputError("the file is empty", file=str(path))


def _not_utf8(path: Path) -> None:
    """Raise :func:`kg.readers.files.decode_utf8`'s error for the first byte of the file that is not UTF-8
    (scanned line by line: the file is not held whole)."""
    offset = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):  # a multi-byte character never holds b"\n"
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:  # the message of kg.readers.files.decode_utf8
                raise InputError(
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02X} at offset {offset + exc.start} cannot "
                    "be decoded (save the file as UTF-8)",
                    file=str(path),
                    line=number,
                ) from exc
            offset += len(raw)


def _header(cells: list[str], file: str, spec: Spec) -> list[str]:
    """Normalised column names; unknown, repeated or missing columns stop the file."""
    names = [c.strip() for c in cells]
    while names and not names[-1]:
        names.pop()  # trailing empty columns from spreadsheet exports
    columns, unknown = [], []
    for position, raw in enumerate(names, start=1):
        base, at, lang = raw.partition("@")
        base = base.lower()
        if not raw:
            raise InputError(f"column {position} of the header has no name", file=file, line=1)
        if base not in spec.columns or (at and (base not in spec.lang or not _LANG_TAG.match(lang))):
            unknown.append(raw)
        columns.append(f"{base}@{lang}" if at else base)
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in spec.required if c not in columns]
    problems = []
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
    if missing:
        problems.append(f"missing required column(s) {', '.join(missing)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        hint = " (the file must use ',' between columns)" if len(names) == 1 and ";" in names[0] else ""
        raise InputError(
            f"{'; '.join(problems)}{hint}. Expected columns: {', '.join(spec.columns)} "
            f"(required: {', '.join(spec.required)}; with @lang variants: {', '.join(spec.lang)})",
            file=file,
            line=1,
            field=(unknown + missing + repeated)[0],
        )
    return columns
