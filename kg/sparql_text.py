"""A small SPARQL lexer for the few things the endpoint must know before evaluating.

pyoxigraph parses and evaluates in one call and exposes no syntax tree, yet
the Protocol needs to know whether a query names its own dataset (``FROM``:
then ``default-graph-uri`` is not imposed). What is asked of updates alone (their
``USING``/``WITH``, their graphs, their rewriting for a remote store) is in
:mod:`kg.sparql_updates`, on these tokens. Keywords are found
on tokens, never by searching the text: strings, IRIs, comments, prefixed
names (``ex:from``) and variables (``?from``) are skipped, so ``"FROM"`` in a
literal is not a ``FROM`` clause.

>>> keywords("SELECT ?from WHERE { ?s ex:from 'FROM' } # FROM")
['SELECT', 'WHERE']
>>> declares_dataset("SELECT * FROM <http://ex/g> { ?s ?p ?o }")
True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import NamedTuple

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


class Token(NamedTuple):
    """A tuple, not a frozen dataclass: its ``__init__`` (``object.__setattr__`` per field) was
    half the lexing time of a query, which every uncached ``/sparql`` request pays."""

    kind: str
    text: str
    start: int
    depth: int  # nesting of { ( [ around it


def tokens(text: str) -> Iterator[Token]:
    """The significant tokens of a query or update (no spaces, no comments)."""
    return iter(_lexed(text))


@functools.lru_cache(maxsize=8)
def _lexed(text: str) -> tuple[Token, ...]:
    """Kept for the last few texts: one request asks several questions of its query (the guard's
    two, whether it describes constants, whether it names its dataset), and lexing it in Python
    was a tenth of the work of a ``DESCRIBE <iri>``."""
    found = []
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        if kind == "close":
            depth = max(0, depth - 1)
        found.append(Token(kind, match.group(), match.start(), depth))
        if kind == "open":
            depth += 1
    return tuple(found)


def _mentions(text: str, *words: str) -> bool:
    """Whether one of the lower-case ``words`` occurs anywhere in ``text``, in any ASCII case (as
    SPARQL spells its keywords): the test that spares lexing a text that cannot hold the keyword.
    ``str.lower`` and ``in`` rather than a case-insensitive regex, which has no fast literal search:
    21 us against 1 us for ``service|load`` in a 757-character query, asked of every query."""
    lowered = text.lower()
    return any(word in lowered for word in words)


def keywords(text: str) -> list[str]:
    """Bare words (keywords) in upper case, in order: no prefixed names, variables or strings."""
    return [t.text.upper() for t in tokens(text) if t.kind == "name" and ":" not in t.text]


def declares_dataset(query: str) -> bool:
    """True when the query has its own ``FROM`` / ``FROM NAMED`` clauses (a text without the word
    anywhere is not lexed: the endpoint asks this of every query).

    >>> declares_dataset("SELECT ?from { ?s ?p 'from' }"), declares_dataset("SELECT * FROM <g> {}")
    (False, True)
    """
    if not _mentions(query, "from"):
        return False
    return any(t.kind == "name" and t.text.upper() == "FROM" and t.depth == 0 for t in tokens(query))


def dataset_clauses(query: str) -> tuple[list[str], list[str]]:
    """The IRIs of a query's ``FROM`` and ``FROM NAMED`` clauses, prefixed names resolved
    ("" for one that cannot be resolved).

    >>> dataset_clauses("PREFIX g: <http://ex/> SELECT * FROM g:a FROM NAMED <http://ex/b> {}")
    (['http://ex/a'], ['http://ex/b'])
    """
    toks = list(tokens(query))
    prefixes = prefixes_of(toks)
    default: list[str] = []
    named: list[str] = []
    for i, tok in enumerate(toks):
        if tok.kind != "name" or tok.text.upper() != "FROM" or tok.depth != 0:
            continue
        j, into = i + 1, default
        if j < len(toks) and toks[j].kind == "name" and toks[j].text.upper() == "NAMED":
            j, into = j + 1, named
        if j < len(toks):
            into.append(resolve_iri(toks[j], prefixes) or "")
    return default, named


_SCHEME = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")
_FINAL_LIMIT = re.compile(r"(?:^|[\s})])LIMIT\s+(\d+)(?:\s+OFFSET\s+\d+)?\s*\Z", re.IGNORECASE)
# a "<" that starts no absolute IRI: a relative one, or a comparison (only lexing tells which)
_NOT_ABSOLUTE = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.\-]*:)")


def has_relative_iris(text: str) -> bool:
    """True when a query or update has a relative IRI (``<test>``, ``<>``) and no ``BASE`` of its own.

    >>> has_relative_iris("ASK { <s> <http://e/p> ?o }")
    True
    >>> has_relative_iris("BASE <http://e/> ASK { <s> ?p ?o }")
    False
    >>> has_relative_iris("ASK { ?s <http://e/p> ?o FILTER(?o < 3) }")  # a "<" lexed: no IRI
    False
    """
    if not _NOT_ABSOLUTE.search(text):  # every "<" starts an absolute IRI: none is relative
        return False
    toks = tokens(text)
    relative = False
    for tok in toks:
        if tok.kind == "name" and tok.text.upper() == "BASE":
            return False
        relative = relative or (tok.kind == "iri" and not _SCHEME.match(tok.text))
    return relative


def with_base(text: str, base: str) -> str:
    """``text`` with ``BASE <base>`` in front when it has relative IRIs and no ``BASE`` of its own:
    the Protocol lets the service define the base, and this one is the endpoint's URL. On the
    same line, so that the line numbers of a syntax error stay the client's.

    >>> with_base("ASK { <s> ?p ?o }", "http://h/sparql")
    'BASE <http://h/sparql> ASK { <s> ?p ?o }'
    """
    return f"BASE <{base}> {text}" if has_relative_iris(text) else text


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


def described_terms(query: str) -> tuple[str, str] | None:
    """(its prologue, the terms it names) for a ``DESCRIBE`` of IRIs and nothing else, else None.

    Its work is the description of the resources named (their triples and the blank nodes
    reached from them): bounded by how many triples they have, which the two parts let a caller
    count first in a query of its own, with the same prefixes and base.

    >>> described_terms("PREFIX ex: <http://ex/> DESCRIBE ex:a <http://ex/b>")
    ('PREFIX ex: <http://ex/> ', 'ex:a <http://ex/b>')
    >>> described_terms("DESCRIBE ?s WHERE { ?s ?p ?o }"), described_terms("DESCRIBE *")
    (None, None)

    A text without the word anywhere is not lexed: the front asks this of every uncached query,
    and lexing a 750-character SELECT in Python cost it 0.05-0.19 ms, a fifth of its own work.
    """
    if not _mentions(query, "describe"):
        return None
    toks = list(tokens(query))
    i = 0
    while i < len(toks) and toks[i].kind == "name" and toks[i].text.upper() in ("PREFIX", "BASE"):
        i += 3 if toks[i].text.upper() == "PREFIX" else 2
    if i >= len(toks) or toks[i].kind != "name" or toks[i].text.upper() != "DESCRIBE":
        return None
    named = toks[i + 1 :]
    if not named or not all(t.kind == "iri" or (t.kind == "name" and ":" in t.text) for t in named):
        return None
    return query[: toks[i].start], query[named[0].start :].strip()


_CONSTANT = r"<[^<>\"{}|^`\\\x00-\x20]*>|(?:[A-Za-z][\w\-.]*)?:[\w\-.%:]*"  # an IRI, a prefixed name
_VARIABLE = r"[?$]\w+"
_ONE_SUBJECT = re.compile(
    rf"""\A(?:\s+|\#[^\n]*\n|PREFIX\s+(?:[A-Za-z][\w\-.]*)?:\s*<[^<>\s]*>|BASE\s*<[^<>\s]*>)*
    SELECT\s+(?:\*|{_VARIABLE}(?:\s+{_VARIABLE})*)\s*(?:WHERE\s*)?
    \{{\s*(?:{_CONSTANT})\s+(?:{_CONSTANT}|a|{_VARIABLE})\s+(?:{_CONSTANT}|{_VARIABLE})\s*\.?\s*\}}
    (?:\s*LIMIT\s+\d+)?\s*\Z""",
    re.VERBOSE | re.IGNORECASE,
)


def selects_one_subject(query: str) -> bool:
    """True for a ``SELECT`` of one triple pattern whose subject is a constant IRI, with no
    modifier but a ``LIMIT``: ``SELECT ?p ?o WHERE { <dataset> ?p ?o }``, a script reading a record.

    Its work is bounded by that subject's triples, read in order and stopped at the row cap (no
    ``ORDER BY``, ``DISTINCT`` or ``OFFSET`` that would read them all first), so, like
    :func:`described_terms`, it needs no thread: handing a 0.2 ms lookup to one and back cost
    the front 0.2-0.3 ms of CPU a request (bench/RESULTS.md, "the thread's hand-off"). One regular
    expression over the whole text, never the lexer (asked of every uncached query): what it
    accepts is a strict subset of SPARQL in which no string or comment can hide anything (a text
    with a backslash, whose ``\\u`` escapes are decoded before parsing, never matches). A blank
    node or variable subject, a constant object alone, a path, a second pattern: no.

    >>> selects_one_subject("PREFIX ex: <http://ex/>\\nSELECT ?p ?o WHERE { ex:a ?p ?o } LIMIT 5")
    True
    >>> selects_one_subject("SELECT * { ?s ?p <http://ex/o> }"), selects_one_subject("SELECT * { _:b ?p ?o }")
    (False, False)
    >>> selects_one_subject("SELECT ?o { <http://ex/a> ?p ?o } ORDER BY ?o")
    False
    """
    return "\\" not in query and _ONE_SUBJECT.match(query) is not None


def final_limit(query: str) -> int | None:
    """The ``LIMIT`` a query's text ends with (an ``OFFSET`` before or after it), which bounds its
    whole answer: a subquery's ``LIMIT`` is followed by the brace that closes it, and a ``VALUES``
    clause comes after any ``LIMIT``. Read after the text's last ``}`` without lexing (the
    evaluation asks this of every SELECT, and lexing costs more than the row cap it spares), so
    None whenever that could mislead: a ``#`` on the brace's line (the brace, or the rest, could
    be a comment), a quote after the brace (it could be in a string), a backslash anywhere
    (``\\u`` escapes are decoded before parsing, and could hide either).

    >>> final_limit('SELECT * { ?s ?p "}" FILTER(?o != "x") }\\nORDER BY ?s LIMIT 20 OFFSET 1000\\n')
    20
    >>> final_limit("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 5 } }"), final_limit("SELECT * {} # } LIMIT 5")
    (None, None)
    >>> final_limit("SELECT * {} \\\\u0023 LIMIT 5"), final_limit("SELECT * { ?s ?p '} LIMIT 5' }")
    (None, None)
    """
    text = query.rstrip()
    brace = text.rfind("}")
    if brace < 0 or "\\" in text:
        return None
    tail = text[brace + 1 :]
    if "#" in text[text.rfind("\n", 0, brace) + 1 :] or '"' in tail or "'" in tail:
        return None
    found = _FINAL_LIMIT.search(tail)
    return int(found.group(1)) if found else None


def uses_keyword(text: str, *words: str) -> bool:
    """True when one of ``words`` appears as a keyword token (e.g. SERVICE, LOAD)."""
    wanted = {w.upper() for w in words}
    return any(k in wanted for k in keywords(text))


def prefixes_of(toks: list[Token]) -> dict[str, str]:
    """PREFIX declarations of the prologue (and of each operation of an update)."""
    found: dict[str, str] = {}
    for i, tok in enumerate(toks[:-2]):
        if tok.kind == "name" and tok.text.upper() == "PREFIX" and toks[i + 2].kind == "iri":
            found[toks[i + 1].text.rstrip(":") if toks[i + 1].text.endswith(":") else toks[i + 1].text] = (
                toks[i + 2].text[1:-1]
            )
    return found


def resolve_iri(tok: Token, prefixes: dict[str, str]) -> str | None:
    """The IRI a token stands for (an IRI, or a prefixed name of a declared prefix), else None."""
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
    >>> remote_targets("select * { sErViCe <http://h/s> {} }"), remote_targets("SELECT * { ?s ?p 'x' }")
    (['http://h/s'], [])
    """
    if not _mentions(text, "service", "load"):  # nothing to lex (the guard asks every query)
        return []
    toks = list(tokens(text))
    prefixes = prefixes_of(toks)
    targets: list[str | None] = []
    for i, tok in enumerate(toks):
        if tok.kind != "name" or tok.text.upper() not in ("SERVICE", "LOAD"):
            continue
        j = i + 1
        if j < len(toks) and toks[j].kind == "name" and toks[j].text.upper() == "SILENT":
            j += 1
        targets.append(resolve_iri(toks[j], prefixes) if j < len(toks) else None)
    return targets


def nests_deeper_than(text: str, limit: int) -> bool:
    """Whether groups, brackets and parentheses nest more than ``limit`` deep; a text with no more
    opening characters than that (strings included) cannot, and is not lexed.

    >>> nests_deeper_than("ASK { { { ?s ?p ?o } } }", 2), nests_deeper_than('ASK { ?s ?p "{{{" }', 2)
    (True, False)
    """
    return sum(map(text.count, "{([")) > limit and max_depth(text) > limit


def max_depth(text: str) -> int:
    """How deeply groups, brackets and parentheses nest (for refusing pathological queries)."""
    return max((t.depth + 1 for t in tokens(text) if t.kind == "open"), default=0)


def query_form(query: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first keyword after the prologue ("" if none).

    >>> query_form("PREFIX a: <http://a/> CONSTRUCT WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for word in keywords(split_prologue(query)[1]):
        return word if word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") else ""
    return ""


def without_dataset(query: str) -> str:
    """The query without its ``FROM`` / ``FROM NAMED`` clauses (sent as protocol parameters instead:
    not every store lets those win over the query's own, as the Protocol says they must).

    >>> without_dataset("SELECT * FROM <http://a/> FROM NAMED <http://b/> WHERE { ?s ?p ?o }")
    'SELECT *   WHERE { ?s ?p ?o }'
    """
    toks = list(tokens(query))
    cuts: list[tuple[int, int]] = []
    for i, tok in enumerate(toks):
        if tok.kind == "name" and tok.text.upper() == "FROM" and tok.depth == 0:
            j = i + 1
            if j < len(toks) and toks[j].kind == "name" and toks[j].text.upper() == "NAMED":
                j += 1
            if j < len(toks):
                cuts.append((tok.start, toks[j].start + len(toks[j].text)))
    for start, end in reversed(cuts):
        query = query[:start] + query[end:]
    return query
