"""Source files read as the readers need them: bytes that exist, UTF-8 text, JSON with a useful message.

Every failure is an :class:`~kg.errors.InputError` that names the file and, where there is one,
the line (and the byte or column): a data steward must find the problem without a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kg.errors import InputError


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a file that exists, is a file and is not empty."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or folder", file=str(path))
    if p.is_dir():
        raise InputError("is a folder, expected a file", file=str(path))
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    if not data.strip():
        raise InputError("the file is empty", file=str(path))
    return data


def decode_utf8(data: bytes, file: str) -> str:
    """UTF-8 text without a BOM; the offending byte and line when it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start} cannot be decoded "
            "(save the file as UTF-8)",
            file=file,
            line=line,
        ) from exc
    return text.removeprefix("\ufeff")


def read_text(path: str | Path) -> str:
    """The text of a non-empty UTF-8 file (a BOM is accepted)."""
    text = decode_utf8(read_bytes(path), str(path))
    if not text.strip():
        raise InputError("the file is empty", file=str(path))
    return text


def parse_json(text: str, file: str) -> Any:
    """Parse JSON, naming line and column, and saying so when the text just stops (truncated)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            message = f"invalid JSON: the text ends in the middle of a value (truncated?): {exc.msg}"
        else:
            message = f"invalid JSON at column {exc.colno}: {exc.msg}"
        raise InputError(message, file=file, line=exc.lineno) from exc
    except RecursionError as exc:
        raise InputError("invalid JSON: nested too deeply", file=file) from exc
    except ValueError as exc:  # e.g. an integer longer than Python's 4,300-digit limit
        raise InputError(f"invalid JSON: {exc}", file=file) from exc


def load_json(path: str | Path) -> Any:
    return parse_json(read_text(path), str(path))


def read_bytes_head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a non-empty file that are not white space (as :func:`read_bytes` checks)."""
    if path.is_dir():
        raise InputError("is a folder, expected a file", file=str(path))
    try:
        with open(path, "rb") as handle:
            while block := handle.read(size):
                if block.strip():
                    return block.lstrip()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=str(path)) from exc
    raise InputError("the file is empty", file=str(path))
