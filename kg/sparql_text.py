"""A small SPARQL lexer for the few things the endpoint must know before evaluating.

pyoxigraph parses and evaluates in one call and exposes no syntax tree, yet
the Protocol needs to know whether a query names its own dataset (``FROM``:
then ``default-graph-uri`` is not imposed), and an update whether it has
``USING``/``WITH`` (then ``using-graph-uri`` is an error). Keywords are found
on tokens, never by searching the text: strings, IRIs, comments, prefixed
names (``ex:from``) and variables (``?from``) are skipped, so ``"FROM"`` in a
literal is not a ``FROM`` clause.

>>> keywords("SELECT ?from WHERE { ?s ex:from 'FROM' } # FROM")
['SELECT', 'WHERE']
>>> declares_dataset("SELECT * FROM <http://ex/g> { ?s ?p ?o }")
True
>>> add_using("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", ["http://ex/g"], [])
'DELETE { ?s ?p ?o } USING <http://ex/g> WHERE { ?s ?p ?o }'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00b7-\uffff]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-.]*(?::[^\s{}()<>,;"'\[\]]*)?|:[^\s{}()<>,;"'\[\]]*)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    depth: int  # nesting of { ( [ around it


def tokens(text: str) -> Iterator[Token]:
    """The significant tokens of a query or update (no spaces, no comments)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        if kind == "close":
            depth = max(0, depth - 1)
        yield Token(kind, match.group(), match.start(), depth)
        if kind == "open":
            depth += 1


def keywords(text: str) -> list[str]:
    """Bare words (keywords) in upper case, in order: no prefixed names, variables or strings."""
    return [t.text.upper() for t in tokens(text) if t.kind == "name" and ":" not in t.text]


def declares_dataset(query: str) -> bool:
    """True when the query has its own ``FROM`` / ``FROM NAMED`` clauses."""
    return any(t.kind == "name" and t.text.upper() == "FROM" and t.depth == 0 for t in tokens(query))


def dataset_clauses(query: str) -> tuple[list[str], list[str]]:
    """The IRIs of a query's ``FROM`` and ``FROM NAMED`` clauses, prefixed names resolved
    ("" for one that cannot be resolved).

    >>> dataset_clauses("PREFIX g: <http://ex/> SELECT * FROM g:a FROM NAMED <http://ex/b> {}")
    (['http://ex/a'], ['http://ex/b'])
    """
    toks = list(tokens(query))
    prefixes = _prefixes(toks)
    default: list[str] = []
    named: list[str] = []
    for i, tok in enumerate(toks):
        if tok.kind != "name" or tok.text.upper() != "FROM" or tok.depth != 0:
            continue
        j, into = i + 1, default
        if j < len(toks) and toks[j].kind == "name" and toks[j].text.upper() == "NAMED":
            j, into = j + 1, named
        if j < len(toks):
            into.append(_resolve(toks[j], prefixes) or "")
    return default, named


def split_prologue(text: str) -> tuple[str, str]:
    """(the ``PREFIX``/``BASE`` declarations that open a query or update, the rest).

    Some stores (Oxigraph) accept a prologue only at the very start of an update request,
    so updates joined into one request need theirs moved to the front.

    >>> split_prologue("PREFIX a: <http://a/> INSERT DATA { a:x a:y a:z }")
    ('PREFIX a: <http://a/> ', 'INSERT DATA { a:x a:y a:z }')
    """
    toks = list(tokens(text))
    i = 0
    while i < len(toks) and toks[i].kind == "name" and toks[i].text.upper() in ("PREFIX", "BASE"):
        i += 3 if toks[i].text.upper() == "PREFIX" else 2
    if i == 0:
        return "", text
    if i >= len(toks):
        return text, ""
    return text[: toks[i].start], text[toks[i].start :]


def describes_constants(query: str) -> bool:
    """True for ``DESCRIBE`` of IRIs and nothing else: no ``WHERE``, variables, ``FROM`` or modifiers.

    Its work is bounded by the description of the resources named (their triples
    and the blank nodes reached from them), so it needs no time limit.

    >>> describes_constants("PREFIX ex: <http://ex/> DESCRIBE ex:a <http://ex/b>")
    True
    >>> describes_constants("DESCRIBE ?s WHERE { ?s ?p ?o }"), describes_constants("DESCRIBE *")
    (False, False)
    """
    toks = list(tokens(query))
    i = 0
    while i < len(toks) and toks[i].kind == "name" and toks[i].text.upper() in ("PREFIX", "BASE"):
        i += 3 if toks[i].text.upper() == "PREFIX" else 2
    if i >= len(toks) or toks[i].kind != "name" or toks[i].text.upper() != "DESCRIBE":
        return False
    named = toks[i + 1 :]
    return bool(named) and all(t.kind == "iri" or (t.kind == "name" and ":" in t.text) for t in named)


def declares_using(update: str) -> bool:
    """True when an update has ``USING`` or ``WITH`` clauses (the Protocol then forbids using-graph-uri)."""
    return any(
        t.kind == "name" and t.text.upper() in ("USING", "WITH") and t.depth == 0 for t in tokens(update)
    )


def uses_keyword(text: str, *words: str) -> bool:
    """True when one of ``words`` appears as a keyword token (e.g. SERVICE, LOAD)."""
    wanted = {w.upper() for w in words}
    return any(k in wanted for k in keywords(text))


def add_using(update: str, default: list[str], named: list[str]) -> str:
    """Give every DELETE/INSERT … WHERE operation the ``using-graph-uri`` dataset.

    The clauses go right before the top-level ``WHERE`` of each modify operation.
    """
    clause = " ".join([f"USING <{g}>" for g in default] + [f"USING NAMED <{g}>" for g in named])
    if not clause:
        return update
    out, last, in_modify, previous = [], 0, False, ""
    for tok in tokens(update):
        word = tok.text.upper() if tok.kind == "name" else tok.text
        if tok.kind == "name" and tok.depth == 0:
            if word in ("DELETE", "INSERT"):
                in_modify = True
            elif word == "DATA" or (word == "WHERE" and previous == "DELETE"):
                in_modify = False  # INSERT DATA, DELETE DATA, DELETE WHERE take no USING
            elif word == "WHERE" and in_modify:
                out.append(update[last : tok.start] + clause + " ")
                last = tok.start
                in_modify = False
        previous = word
    return "".join(out) + update[last:]


def _prefixes(toks: list[Token]) -> dict[str, str]:
    """PREFIX declarations of the prologue (and of each operation of an update)."""
    found: dict[str, str] = {}
    for i, tok in enumerate(toks[:-2]):
        if tok.kind == "name" and tok.text.upper() == "PREFIX" and toks[i + 2].kind == "iri":
            found[toks[i + 1].text.rstrip(":") if toks[i + 1].text.endswith(":") else toks[i + 1].text] = (
                toks[i + 2].text[1:-1]
            )
    return found


def _resolve(tok: Token, prefixes: dict[str, str]) -> str | None:
    if tok.kind == "iri":
        return tok.text[1:-1]
    if tok.kind == "name" and ":" in tok.text:
        prefix, _, local = tok.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + local
    return None  # a variable or something unknown: the target cannot be checked


def remote_targets(text: str) -> list[str | None]:
    """The IRIs a query's ``SERVICE`` clauses or an update's ``LOAD`` operations would fetch.

    ``None`` stands for a target that is not a constant IRI (``SERVICE ?endpoint``), which
    no allow-list can vouch for.

    >>> remote_targets("PREFIX e: <http://h/> SELECT * { SERVICE SILENT e:sparql { ?s ?p ?o } }")
    ['http://h/sparql']
    >>> remote_targets("LOAD <http://h/x.ttl> INTO GRAPH <urn:g>")
    ['http://h/x.ttl']
    """
    toks = list(tokens(text))
    prefixes = _prefixes(toks)
    targets: list[str | None] = []
    for i, tok in enumerate(toks):
        if tok.kind != "name" or tok.text.upper() not in ("SERVICE", "LOAD"):
            continue
        j = i + 1
        if j < len(toks) and toks[j].kind == "name" and toks[j].text.upper() == "SILENT":
            j += 1
        targets.append(_resolve(toks[j], prefixes) if j < len(toks) else None)
    return targets


def max_depth(text: str) -> int:
    """How deeply groups, brackets and parentheses nest (for refusing pathological queries)."""
    return max((t.depth + 1 for t in tokens(text) if t.kind == "open"), default=0)
