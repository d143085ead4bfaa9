"""Record text from JSON values, with the text no RDF syntax can hold replaced, and the
:class:`~kg.records.Repair` of each replacement, so that the mapper can report it.

The JSON readers (data.json, CKAN) make record text with :func:`as_text` and :func:`as_texts`:
strings stripped, other values as compact JSON. A JSON escape can give Python a character
that RDF cannot carry: a lone surrogate (``"\\udc92"``, half of a UTF-16 pair, from a broken
encoder) or a control character (``"\\u0007"``). Kept, it fails the ingest when the record is
written (UTF-8 has no surrogates; XML 1.0 excludes both). :func:`clean_text` replaces each with
U+FFFD (what a UTF-8 decoder puts for what it cannot read); :func:`text_repairs` says where, and
what was there.

>>> clean_text("caf\\udc92"), compact_json({"k": ["\\u0007"]})
('caf\ufffd', '{"k":["\ufffd"]}')
>>> as_text(3), as_text(None), as_text({"a": [1, 2]}), as_texts(" x ")
('3', '', '{"a":[1,2]}', ['x'])
>>> as_text("caf\\udc92\\x07")
'caf\\ufffd\\ufffd'
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from kg.records import Repair

# characters no RDF syntax can hold (XML 1.0 excludes them; N-Triples and rudof need UTF-8, which
# has no lone surrogates): a JSON escape such as "\udc92" or "\u0007" gives them to Python
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
INVALID_CHARACTER = "invalid-character"  # the rule id of the repairs text_repairs() reports


class _Replaced(threading.local):
    count = 0  # texts clean_text() changed in this thread


_REPLACED = _Replaced()


def clean_text(text: str) -> str:
    """``text`` with each character RDF cannot hold replaced by U+FFFD (see :func:`text_repairs`)."""
    if _INVALID.search(text) is None:
        return text
    _REPLACED.count += 1
    return _INVALID.sub("\ufffd", text)


def replaced_count() -> int:
    """How many texts :func:`clean_text` has changed in this thread, for :func:`repairs_since`."""
    return _REPLACED.count


def repairs_since(mark: int, value: Any, where: str = "") -> list[Repair]:
    """:func:`text_repairs` of ``value``, if a text was changed since ``replaced_count()`` was
    ``mark`` (the record was made from it), else none. Why: walking every record's JSON again
    cost a third of the reading time, for repairs that almost no record needs."""
    return text_repairs(value, where) if _REPLACED.count != mark else []


def compact_json(value: Any) -> str:
    """A list or object as compact JSON text, its strings and member names cleaned as the readers'
    other text is (so that each reads as :func:`text_repairs` says it does)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if _SUSPECT.search(text):
        try:
            text = json.dumps(_cleaned(value), separators=(",", ":"), ensure_ascii=False)
        except RecursionError:  # nested as deeply as the parser allows: the escapes are valid text
            text = clean_text(text)
    return text


# what json.dumps writes for a character of _INVALID: itself, or an escape (a control character);
# an escaped backslash before "b" or "f" matches too, which only costs a needless _cleaned()
_SUSPECT = re.compile(r"\\u00[01][0-9a-f]|\\[bf]|[\ud800-\udfff\ufffe\uffff]")


def _cleaned(value: Any) -> Any:
    """A JSON value with :func:`clean_text` applied to each string and member name in it."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: _cleaned(v) for k, v in value.items()}
    return value


def text_repairs(value: Any, where: str = "") -> list[Repair]:
    """A :class:`Repair` for each text in a JSON value (its strings and member names, at any depth)
    that :func:`clean_text` changes: the readers take text from the value with it, and the record
    carries these, so that the mapper can report each change. ``where`` names the value ("" for
    a whole record); a nested one is named like ``distribution[0].title``.

    >>> (repair,) = text_repairs({"title": "ok", "distribution": [{"title": "caf\\udc92 "}]})
    >>> repair.field, repair.original, repair.rule, repair.value
    ('distribution[0].title', 'caf\\\\udc92 ', 'invalid-character', 'caf\\ufffd')
    """
    found: list[Repair] = []
    todo = [(where, value)]  # not recursive: a value may be nested as deeply as the parser allows
    while todo:
        where, value = todo.pop()
        if isinstance(value, str):
            if _INVALID.search(value):
                found.append(Repair(where, _escaped(value), INVALID_CHARACTER, clean_text(value).strip()))
        elif isinstance(value, list):
            todo.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            for name, item in reversed(list(value.items())):
                path = f"{where}.{clean_text(name)}" if where else clean_text(name)
                todo.append((path, item))
                if _INVALID.search(name):  # after its value: popped first
                    todo.append((path, name))
    return found


def _escaped(text: str) -> str:
    r"""``text`` with each character RDF cannot hold written as a JSON escape (``\udc92``)."""
    return _INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def as_text(value: Any) -> str:
    """A JSON value as record text: strings stripped, None → "", other values as compact JSON;
    characters RDF cannot hold replaced (:func:`text_repairs` reports them)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(value).strip()
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return compact_json(value)


def as_texts(value: Any) -> list[str]:
    """A list of texts from a list, a single value or nothing (types vary in the wild)."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (as_text(v) for v in items) if t]
