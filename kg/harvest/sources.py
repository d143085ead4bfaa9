"""The sources file: one ``[[source]]`` table per source, read with :mod:`tomllib` and checked whole.

A mistake anywhere refuses the whole file before anything is fetched, with the file, the entry
(its position and name) and the field: a half-read sources file would harvest some sources and
silently skip the others. Credentials come from the environment (``header_env``: header -> the
name of an environment variable), so the file can be committed; their values live only in memory
(never printed: the headers are left out of the ``repr``) and are never written to the harvest
state.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kg.errors import InputError
from kg.iris import source_name
from kg.readers.detect import FORMATS, RDF_FORMAT_NAMES

KEYS = ("name", "url", "format", "schedule", "headers", "header_env")
_SCHEDULE = re.compile(r"^\s*([1-9][0-9]{0,5})\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourcesFileError(InputError):
    """A sources file that cannot be used, naming the file, the ``[[source]]`` entry and the field.

    >>> str(SourcesFileError("not a number", file="s.toml", index=2, name="x", field="schedule"))
    "s.toml, [[source]] 2 (name 'x'), field schedule: not a number"
    """

    def __init__(
        self, message: str, *, file: str, index: int | None = None, name: str = "", field: str | None = None
    ) -> None:
        self.index = index
        self.name = name
        super().__init__(message, file=file, field=field)

    def __str__(self) -> str:
        where = [self.file or ""]
        if self.index is not None:
            where.append(f"[[source]] {self.index}" + (f" (name {self.name!r})" if self.name else ""))
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}"


@dataclass(frozen=True)
class SourceSpec:
    """One source as the file names it; ``url`` is an http(s) URL or an absolute local path."""

    name: str
    url: str
    fmt: str | None = None
    schedule: str = ""
    every: float = 0.0  # the schedule in seconds; 0: none
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # credentials among them

    @property
    def remote(self) -> bool:
        return self.url.startswith(("http://", "https://"))


def schedule_seconds(text: str) -> float:
    """Seconds of a schedule: a whole number and a unit, s, m, h or d.

    >>> schedule_seconds("30m"), schedule_seconds("6h"), schedule_seconds("1d")
    (1800.0, 21600.0, 86400.0)

    :raises ValueError: any other text.
    """
    match = _SCHEDULE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a schedule: a whole number and s, m, h or d (30m, 6h, 1d)")
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def read_sources(path: str | Path, env: Mapping[str, str]) -> list[SourceSpec]:
    """Every source of the file, checked; ``env`` gives the credentials ``header_env`` names.

    :raises SourcesFileError: the file cannot be read, is not TOML, or any entry is wrong.
    """
    file = str(path)
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise SourcesFileError(f"cannot be read: {exc.strerror or exc}", file=file) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"not valid TOML: {exc}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise SourcesFileError("not UTF-8 text", file=file) from exc
    others = sorted(k for k in doc if k != "source")
    if others:
        raise SourcesFileError(f"unknown top-level keys {others}: only [[source]] tables", file=file)
    entries = doc.get("source")
    if not isinstance(entries, list) or not entries:
        raise SourcesFileError("no [[source]] tables", file=file)
    folder = Path(path).resolve().parent
    specs: list[SourceSpec] = []
    for index, entry in enumerate(entries, start=1):
        spec = _source(entry, file=file, index=index, folder=folder, env=env)
        if any(s.name == spec.name for s in specs):
            raise SourcesFileError(
                "a second source of this name", file=file, index=index, name=spec.name, field="name"
            )
        specs.append(spec)
    return specs


def _source(entry: Any, *, file: str, index: int, folder: Path, env: Mapping[str, str]) -> SourceSpec:
    if not isinstance(entry, dict):
        raise SourcesFileError("not a table", file=file, index=index)
    raw_name = entry.get("name")
    name = raw_name if isinstance(raw_name, str) else ""

    def fail(message: str, key: str | None = None) -> SourcesFileError:
        return SourcesFileError(message, file=file, index=index, name=name, field=key)

    unknown = sorted(k for k in entry if k not in KEYS)
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (a source has {', '.join(KEYS)})", unknown[0])
    if not name.strip():
        raise fail("missing, or not a text", "name")
    if source_name(name) != name:
        raise fail(
            f"{name!r} is not a source name (lower-case letters, digits, '-', '.', '_'): "
            f"say {source_name(name)!r}",
            "name",
        )
    url = _location(entry.get("url"), folder, fail)
    fmt = entry.get("format")
    if fmt is not None and (not isinstance(fmt, str) or fmt.lower() not in (*FORMATS, *RDF_FORMAT_NAMES)):
        raise fail(
            f"{fmt!r} is not one of {', '.join(FORMATS)} or an RDF syntax ({', '.join(RDF_FORMAT_NAMES)})",
            "format",
        )
    if fmt and fmt.lower() == "csv" and url.startswith(("http://", "https://")):
        raise fail("csv is a folder of CSV files: give its local path, not a URL", "format")
    schedule = entry.get("schedule", "")
    try:
        every = schedule_seconds(schedule) if schedule != "" else 0.0
    except (ValueError, TypeError) as exc:
        raise fail(str(exc) if isinstance(exc, ValueError) else "not a text", "schedule") from None
    headers = _headers(entry, env, fail)
    if headers and not url.startswith(("http://", "https://")):
        raise fail("headers are sent to http(s) sources only; this one is a local path", "headers")
    return SourceSpec(name, url, fmt.lower() if fmt else None, schedule, every, headers)


def _location(url: Any, folder: Path, fail) -> str:  # noqa: ANN001 - fail: the entry's error maker
    """An http(s) URL with a host, or a local path (relative to the sources file's folder)."""
    if not isinstance(url, str) or not url.strip():
        raise fail("missing, or not a text", "url")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https"):
        if not parts.hostname:
            raise fail(f"{url!r} names no host", "url")
        return url
    if len(parts.scheme) > 1:  # "ftp:", "file:": a scheme of one letter would be a Windows drive
        raise fail(f"{url!r} is neither an http(s) URL nor a local path", "url")
    return str((folder / url).resolve())


def _headers(entry: dict, env: Mapping[str, str], fail) -> dict[str, str]:  # noqa: ANN001
    """Literal ``headers`` and those whose value is an environment variable's (``header_env``)."""
    headers: dict[str, str] = {}
    for key in ("headers", "header_env"):
        table = entry.get(key, {})
        if not isinstance(table, dict):
            raise fail("not a table of header = text", key)
        for header, value in table.items():
            if not _HEADER_NAME.match(header):
                raise fail(f"{header!r} is not an HTTP header name", key)
            if not isinstance(value, str):
                raise fail(f"the value of {header!r} is not a text", key)
            if header.lower() in (h.lower() for h in headers):
                raise fail(f"{header!r} is given twice", key)
            if key == "header_env":
                if not _ENV_NAME.match(value):
                    raise fail(f"{value!r} (for {header!r}) is not an environment variable's name", key)
                if value not in env:
                    raise fail(f"the environment variable {value} (for {header!r}) is not set", key)
                value = env[value]  # noqa: PLW2901 - the credential itself, from here on
            if "\n" in value or "\r" in value:
                raise fail(f"the value of {header!r} holds a line break", key)
            headers[header] = value
    return headers
