"""The project's exceptions.

Library errors (json, csv, rdflib, pyoxigraph, urllib) are caught where they
happen and turned into one of these; the CLI turns them into exit codes and
the web app into HTTP statuses. Input errors carry the file, the line or
record, and the field, so that a data steward can find the problem.
"""

from __future__ import annotations


class KgError(Exception):
    """Base class of every error the project raises on purpose."""

    exit_code = 1


class InputError(KgError):
    """A source file, folder or URL that cannot be read as a whole.

    >>> str(InputError("bad date", file="a.csv", line=3, field="issued"))
    'a.csv, line 3, field issued: bad date'
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        record: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.record = record
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [
            p
            for p in (
                self.file,
                f"line {self.line}" if self.line is not None else None,
                f"record {self.record}" if self.record is not None else None,
                f"field {self.field}" if self.field else None,
            )
            if p
        ]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class StrictRefusal(KgError):
    """``--strict`` ingest refused because some records break violation-level shapes."""

    exit_code = 3


class StoreError(KgError):
    """The store cannot be opened, read or written (locked, corrupt, disk full)."""

    exit_code = 4


class StoreBusy(StoreError):
    """Another process holds the store (Oxigraph allows one read-write process)."""


class QueryError(KgError):
    """A SPARQL query or update that does not parse or cannot be evaluated."""

    exit_code = 2


class QueryTimeout(KgError):
    """A query that ran out of time and was given up (a runaway retires its web worker)."""

    exit_code = 2


class ValidatorError(KgError):
    """The SHACL validator itself broke (not: the data has findings)."""

    exit_code = 5
