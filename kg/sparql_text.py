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


def keywords(text: str) -> list[str]:
    """Bare words (keywords) in upper case, in order: no prefixed names, variables or strings."""
    return [t.text.upper() for t in tokens(text) if t.kind == "name" and ":" not in t.text]


def declares_dataset(query: str) -> bool:
    """True when the query has its own ``FROM`` / ``FROM NAMED`` clauses (a text without the word
    anywhere is not lexed: the evaluator asks this of every query).

    >>> declares_dataset("SELECT ?from { ?s ?p 'from' }"), declares_dataset("SELECT * FROM <g> {}")
    (False, True)
    """
    if not _FROM.search(query):
        return False
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


_SCHEME = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")
_FROM = re.compile(r"from", re.IGNORECASE)
_REMOTE = re.compile(r"service|load", re.IGNORECASE)
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
    if not _REMOTE.search(text):  # neither word anywhere: nothing to lex (the guard asks every query)
        return []
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


_OPERATIONS = {"INSERT", "DELETE", "WITH", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}


def default_graph_as(update: str, graph: str, public: list[str] | None = None) -> str:
    """An update with every use of the default graph turned into named graph ``graph``.

    A remote store keeps the service's default graph as a named graph (stores disagree on
    what their own default graph is), so updates that write it are rewritten: triples of
    ``INSERT DATA`` / ``DELETE DATA`` / ``DELETE WHERE`` outside a ``GRAPH`` block are put in
    one, a modify operation without ``WITH`` gets ``WITH <graph>`` (its WHERE then matches the
    default graph, as in the embedded store), ``DEFAULT`` becomes ``GRAPH <graph>`` (``SILENT`` where
    it is the operand a missing graph fails: ``CLEAR DEFAULT`` on a fresh store must succeed, as
    the default graph always exists) and a ``LOAD`` without ``INTO`` loads into it.

    ``CLEAR``/``DROP`` ``ALL`` or ``NAMED`` would reach the service's private graphs too; with
    ``public`` (the service's public graphs, ``graph`` among them) they become one operation per
    public graph (``NAMED``: all but ``graph``), which is what they do on the embedded store, whose
    private graphs are stored apart.

    :raises ValueError: for ``CLEAR``/``DROP`` ``ALL`` or ``NAMED`` without ``public``.

    >>> default_graph_as("INSERT DATA { <a> <b> <c> . GRAPH <g> { <d> <e> <f> } }", "urn:d")
    'INSERT DATA { GRAPH <urn:d> { <a> <b> <c> . } GRAPH <g> { <d> <e> <f> } }'
    >>> default_graph_as("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o } ; CLEAR DEFAULT", "urn:d")
    'WITH <urn:d> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o } ; CLEAR SILENT GRAPH <urn:d>'
    >>> default_graph_as("MOVE DEFAULT TO <g> ; ADD <g> TO DEFAULT ; DROP SILENT DEFAULT", "urn:d")
    'MOVE SILENT GRAPH <urn:d> TO <g> ; ADD <g> TO GRAPH <urn:d> ; DROP SILENT GRAPH <urn:d>'
    >>> default_graph_as("CLEAR ALL ; DROP SILENT NAMED", "urn:d", ["urn:d", "urn:g"])
    'CLEAR SILENT GRAPH <urn:d> ; CLEAR SILENT GRAPH <urn:g> ; DROP SILENT GRAPH <urn:g>'
    """
    toks = list(tokens(update))
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the text
    at_start, operation, started, i = True, "", 0, 0
    while i < len(toks):
        tok = toks[i]
        word = tok.text.upper() if tok.kind == "name" else ""
        if tok.depth == 0 and tok.text == ";":
            at_start, operation = True, ""
        elif tok.depth == 0 and word in _OPERATIONS and at_start:
            at_start, operation, started = False, word, tok.start
            nxt = toks[i + 1].text.upper() if i + 1 < len(toks) else ""
            if word in ("INSERT", "DELETE") and nxt not in ("DATA", "WHERE"):
                edits.append((tok.start, tok.start, f"WITH <{graph}> "))
            elif word in ("INSERT", "DELETE"):
                i = _wrap_block(toks, i + 2, graph, edits)
                continue
            elif word == "LOAD" and not any(
                t.kind == "name" and t.text.upper() == "INTO" for t in _operation_tokens(toks, i)
            ):
                last = _operation_tokens(toks, i)[-1]
                edits.append(
                    (last.start + len(last.text), last.start + len(last.text), f" INTO GRAPH <{graph}>")
                )
        elif tok.depth == 0 and word in ("ALL", "NAMED") and operation in ("CLEAR", "DROP"):
            if public is None:
                raise ValueError(
                    f"{operation} {word} would reach the service's private graphs: name the graphs"
                )
            every = [g for g in public if word == "ALL" or g != graph]
            edits.append((started, tok.start + len(tok.text), _each_graph(operation, every)))
        elif tok.depth == 0 and word == "DEFAULT" and operation in ("CLEAR", "DROP", "ADD", "MOVE", "COPY"):
            # the default graph always exists; its named stand-in may not (a fresh store): where a
            # missing graph is an error (the operand right after the operation), it is SILENT
            operand = toks[i - 1].kind == "name" and toks[i - 1].text.upper() == operation
            edits.append(
                (tok.start, tok.start + len(tok.text), ("SILENT " if operand else "") + f"GRAPH <{graph}>")
            )
        i += 1
    for start, end, text in sorted(edits, reverse=True):
        update = update[:start] + text + update[end:]
    return update


def _each_graph(operation: str, graphs: list[str]) -> str:
    """``CLEAR``/``DROP`` of each graph, as one sequence of operations (a no-op when there is none)."""
    if not graphs:
        return "INSERT DATA { }"
    return " ; ".join(f"{operation} SILENT GRAPH <{g}>" for g in graphs)


def _operation_tokens(toks: list[Token], i: int) -> list[Token]:
    """The tokens of the operation starting at ``i``, up to its ``;``."""
    out = []
    for tok in toks[i:]:
        if tok.depth == 0 and tok.text == ";":
            break
        out.append(tok)
    return out


def _wrap_block(toks: list[Token], i: int, graph: str, edits: list[tuple[int, int, str]]) -> int:
    """Put the triples of the quad block opening at ``toks[i]`` that are outside ``GRAPH`` blocks
    into ``GRAPH <graph> { … }``; returns the index after the block."""
    if i >= len(toks) or toks[i].text != "{":
        return i
    depth, i = toks[i].depth, i + 1
    open_at: int | None = None
    while i < len(toks) and not (toks[i].text == "}" and toks[i].depth == depth):
        tok = toks[i]
        if tok.kind == "name" and tok.text.upper() == "GRAPH" and tok.depth == depth + 1:
            if open_at is not None:
                edits.append((tok.start, tok.start, "} "))
                open_at = None
            i += 2  # GRAPH and its name
            while i < len(toks) and not (toks[i].text == "}" and toks[i].depth == depth + 1):
                i += 1
        elif open_at is None and tok.text != ".":
            open_at = tok.start
            edits.append((tok.start, tok.start, f"GRAPH <{graph}> {{ "))
        i += 1
    if open_at is not None and i < len(toks):
        edits.append((toks[i].start, toks[i].start, "} "))
    return i + 1


def graphs_named(update: str) -> list[str]:
    """The constant graph IRIs an update names as a graph (after ``GRAPH``, ``WITH``, ``TO``,
    ``INTO``): those it may create.

    >>> graphs_named("PREFIX g: <http://g/> INSERT DATA { GRAPH g:a { <s> <p> <o> } } ; ADD <x> TO <y>")
    ['http://g/a', 'y']
    """
    toks = list(tokens(update))
    prefixes = _prefixes(toks)
    found: list[str] = []
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "name" and tok.text.upper() in ("GRAPH", "WITH", "TO", "INTO"):
            nxt = toks[i + 1]
            if nxt.kind == "name" and nxt.text.upper() == "GRAPH":
                continue  # TO GRAPH <g>: the IRI follows GRAPH
            iri = _resolve(nxt, prefixes)
            if iri:
                found.append(iri)
    return found


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


def graph_preconditions(update: str) -> list[tuple[str, bool]]:
    """(graph, must exist) for each non-``SILENT`` ``DROP``/``CLEAR GRAPH`` (True) and ``CREATE
    GRAPH`` (False) of an update, whose graph no earlier operation of it names: SPARQL 1.1 Update
    makes these errors when the graph is missing (or, for CREATE, present). A remote store checks
    them itself, where its server would fail the whole request (Oxigraph: with a 500).

    >>> graph_preconditions("CREATE GRAPH <a> ; DROP GRAPH <a> ; DROP SILENT GRAPH <b> ; CLEAR GRAPH <c>")
    [('a', False), ('c', True)]
    """
    toks = list(tokens(update))
    prefixes = _prefixes(toks)
    named_before: set[str] = set()
    found: list[tuple[str, bool]] = []
    for i, tok in enumerate(toks):
        word = tok.text.upper() if tok.kind == "name" else ""
        graph_next = i + 2 < len(toks) and toks[i + 1].text.upper() == "GRAPH"  # not SILENT
        if tok.depth == 0 and word in ("DROP", "CLEAR", "CREATE") and graph_next:
            graph = _resolve(toks[i + 2], prefixes)
            if graph and graph not in named_before:
                found.append((graph, word != "CREATE"))
        if (iri := _resolve(tok, prefixes)) is not None:
            named_before.add(iri)
    return found
