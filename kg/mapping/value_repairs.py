"""Repairs of values that read one way only: dates, byte sizes, decimals, durations, e-mail addresses.

Each ``fix_*`` function is what :mod:`kg.mapping.repairs` asks of a literal (or a ``mailto:`` IRI)
on its property: None when it is right as it is, else the triples instead of it, the kind of
repair and whether the value was repaired or left out (a value that reads two ways, "04-08-2021",
is left out with a note: a guess is worse).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from rdflib import Literal, URIRef
from rdflib.term import Node

from kg.mapping.fields import parse_date
from kg.mapping.mapped import Triple
from kg.vocab import DCAT, DCT, XSD

Fix = tuple[list[Triple], str, str]  # the triples instead of one, the kind, "repair" or "left out"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
DATE_TYPES = frozenset({XSD.date, XSD.dateTime, XSD.gYear, XSD.gYearMonth})
DATE_PROPERTIES = frozenset({DCT.issued, DCT.modified, DCAT.startDate, DCAT.endDate})


def fix_date(s: Node, p: Node, o: Literal) -> Fix | None:
    if o.datatype in DATE_TYPES and not getattr(o, "ill_typed", False) and _well_formed(o):
        return None
    value = read_date(str(o))
    if value is None:
        return [], "date", "left out"
    if value == o:
        return None
    return [(s, p, value)], "date", "repaired"


def _well_formed(o: Literal) -> bool:
    """Whether a date-typed literal's text is its type's form (rdflib accepts some it should not)."""
    value = read_date(str(o))
    return value is not None and value.datatype == o.datatype and str(value) == str(o)


_GMT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ]+(?:(?:GMT|UTC|Z)\s*)?(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(GMT|UTC|Z)?$"
)
_DAY_FIRST = re.compile(
    r"^(?:[^\W\d]{2,9}\.?,?\s+)?(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s*-?\s*(\d{1,2}):(\d{2}))?$"
)


def read_date(text: str) -> Literal | None:
    """A date literal for text that reads as one date only, else None.

    ISO 8601 forms (:func:`kg.mapping.fields.parse_date`), a time zone written GMT or UTC, fractional
    seconds beyond microseconds, and day/month/year forms whose day is over 12 (so that they
    cannot be month/day). "04-08-2021", "5/1/13" and "2019-2020" read two ways: None.

    >>> read_date("2021-01-28 GMT 01:51:03.34919300").toPython().isoformat()
    '2021-01-28T01:51:03.349193+00:00'
    >>> str(read_date("2022-03-22T08:51:36"))
    '2022-03-22T08:51:36'
    >>> str(read_date("jeu, 19/12/2019 - 03:00")), read_date("04-08-2021"), read_date("R/P1D")
    ('2019-12-19T03:00:00', None, None)
    """
    text = text.strip()
    if not text:
        return None
    found = parse_date(text)
    if found is not None:
        return found
    if m := _GMT.match(text):
        day, clock, zone = m.group(1), m.group(2), "Z" if "GMT" in text or "UTC" in text or m.group(3) else ""
        clock = clock.zfill(5) if clock.count(":") == 1 else clock.zfill(8)
        clock = re.sub(r"(\.\d{6})\d+$", r"\1", clock + (":00" if clock.count(":") == 1 else ""))
        return _checked(f"{day}T{clock}{zone}", XSD.dateTime)
    if m := _DAY_FIRST.match(text):
        first, second, year = int(m.group(1)), int(m.group(2)), m.group(3)
        if first <= 12 and second <= 12 and first != second:
            return None  # day/month or month/day: cannot tell
        day, month = (first, second) if first > 12 or first == second else (second, first)
        if m.group(4):
            return _checked(
                f"{year}-{month:02d}-{day:02d}T{int(m.group(4)):02d}:{m.group(5)}:00", XSD.dateTime
            )
        return _checked(f"{year}-{month:02d}-{day:02d}", XSD.date)
    return None


def _checked(text: str, datatype: URIRef) -> Literal | None:
    try:
        if datatype == XSD.date:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return Literal(text, datatype=datatype)


def fix_byte_size(s: Node, p: Node, o: Literal) -> Fix | None:
    if o.datatype == XSD.nonNegativeInteger and re.fullmatch(r"\d+", str(o)):
        return None
    try:
        size = float(str(o).replace(",", "").strip())
    except ValueError:
        return [], "byte-size", "left out"
    if size < 0 or size != int(size):
        return [], "byte-size", "left out"
    return [(s, p, Literal(str(int(size)), datatype=XSD.nonNegativeInteger))], "byte-size", "repaired"


def fix_number(s: Node, p: Node, o: Literal) -> Fix | None:
    if o.datatype == XSD.decimal:
        return None
    try:
        value = float(str(o).strip())
    except ValueError:
        return None
    text = f"{value:f}".rstrip("0").rstrip(".") if "e" not in str(o).lower() else repr(value)
    return (
        [(s, p, Literal(text if "." in text else text + ".0", datatype=XSD.decimal))],
        "decimal",
        "repaired",
    )


_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def fix_duration(s: Node, p: Node, o: Literal) -> Fix | None:
    text = str(o).strip()
    if o.datatype == XSD.duration or not _DURATION.fullmatch(text):
        return None
    return [(s, p, Literal(text, datatype=XSD.duration))], "duration", "repaired"


def fix_email(s: Node, p: Node, text: str) -> Fix | None:
    """``mailto:a@x, b@y`` → two IRIs; ``a@x`` → ``mailto:a@x``; ``mailto:`` alone → left out."""
    body = re.sub(r"^mailto:", "", text.strip(), flags=re.IGNORECASE)
    addresses = [a for a in re.split(r"[,;\s]+", body) if a]
    good = [URIRef("mailto:" + a) for a in addresses if _EMAIL.match(a)]
    if not good:
        return [], "email", "left out"
    if len(good) == 1 and str(good[0]) == text:
        return None
    return [(s, p, iri) for iri in good], "email", "repaired"
