"""What the endpoint and a remote store must know of a SPARQL update before it is run, on the
tokens of :mod:`kg.sparql_text` (never by searching the text).

* the Protocol: whether an update has ``USING``/``WITH`` (then ``using-graph-uri`` is an error),
  and the ``using-graph-uri`` dataset given to each modify operation;
* a remote store: the default graph turned into the named graph that stands for it, the graphs an
  update may create, and the ``DROP``/``CLEAR``/``CREATE GRAPH`` rules that SPARQL 1.1 Update
  makes errors of, checked before the store would fail the whole request.

>>> add_using("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", ["http://ex/g"], [])
'DELETE { ?s ?p ?o } USING <http://ex/g> WHERE { ?s ?p ?o }'
"""

from __future__ import annotations

from kg.sparql_text import Token, prefixes_of, resolve_iri, tokens


def declares_using(update: str) -> bool:
    """True when an update has ``USING`` or ``WITH`` clauses (the Protocol then forbids using-graph-uri)."""
    return any(
        t.kind == "name" and t.text.upper() in ("USING", "WITH") and t.depth == 0 for t in tokens(update)
    )


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
    prefixes = prefixes_of(toks)
    found: list[str] = []
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "name" and tok.text.upper() in ("GRAPH", "WITH", "TO", "INTO"):
            nxt = toks[i + 1]
            if nxt.kind == "name" and nxt.text.upper() == "GRAPH":
                continue  # TO GRAPH <g>: the IRI follows GRAPH
            iri = resolve_iri(nxt, prefixes)
            if iri:
                found.append(iri)
    return found


def graph_preconditions(update: str) -> list[tuple[str, bool]]:
    """(graph, must exist) for each non-``SILENT`` ``DROP``/``CLEAR GRAPH`` (True) and ``CREATE
    GRAPH`` (False) of an update, whose graph no earlier operation of it names: SPARQL 1.1 Update
    makes these errors when the graph is missing (or, for CREATE, present). A remote store checks
    them itself, where its server would fail the whole request (Oxigraph: with a 500).

    >>> graph_preconditions("CREATE GRAPH <a> ; DROP GRAPH <a> ; DROP SILENT GRAPH <b> ; CLEAR GRAPH <c>")
    [('a', False), ('c', True)]
    """
    toks = list(tokens(update))
    prefixes = prefixes_of(toks)
    named_before: set[str] = set()
    found: list[tuple[str, bool]] = []
    for i, tok in enumerate(toks):
        word = tok.text.upper() if tok.kind == "name" else ""
        graph_next = i + 2 < len(toks) and toks[i + 1].text.upper() == "GRAPH"  # not SILENT
        if tok.depth == 0 and word in ("DROP", "CLEAR", "CREATE") and graph_next:
            graph = resolve_iri(toks[i + 2], prefixes)
            if graph and graph not in named_before:
                found.append((graph, word != "CREATE"))
        if (iri := resolve_iri(tok, prefixes)) is not None:
            named_before.add(iri)
    return found


_TRANSFERS = ("ADD", "MOVE", "COPY")
SKIP = ("SILENT", "TO")  # the words of a transfer between its graphs


def graphs_written(update: str, *, default: str | None = None) -> tuple[str, ...] | None:
    """The graphs an update may change, or None when it cannot be told from its text: a template's
    or a ``DELETE WHERE``'s ``GRAPH ?g``, ``CLEAR``/``DROP`` ``ALL`` or ``NAMED``, a relative IRI
    (its base is the store's business), or the default graph when no ``default`` graph stands for it.

    Why: the derived tables of a new generation are made again only from the graphs a write
    changed, and copied for the rest; an update that names none of them made every table again
    (at 100,000 datasets, minutes for a one-triple ``INSERT DATA``).

    >>> graphs_written("PREFIX g: <http://g/> INSERT DATA { GRAPH g:a { <s:1> <p:1> 1 } } ; DROP SILENT GRAPH <http://g/b>")
    ('http://g/a', 'http://g/b')
    >>> graphs_written("WITH <http://g/w> DELETE { ?s ?p ?o } INSERT { GRAPH <http://g/i> { ?s ?p 1 } }"
    ...                " WHERE { GRAPH ?g { ?s ?p ?o } }")
    ('http://g/i', 'http://g/w')
    >>> graphs_written("DELETE WHERE { GRAPH ?g { ?s ?p ?o } }") is None
    True
    >>> graphs_written("INSERT DATA { <s:1> <p:1> 1 }", default="urn:d")
    ('urn:d',)
    """
    toks = list(tokens(update))
    prefixes: dict[str, str] = {}
    found: set[str | None] = set()
    operation, with_graph, i = "", default, 0

    def name(at: int) -> str | None:  # the absolute IRI at toks[at], else None
        iri = resolve_iri(toks[at], prefixes) if at < len(toks) else None
        return iri if iri and ":" in iri.split("/", 1)[0] else None

    while i < len(toks):
        tok = toks[i]
        word = tok.text.upper() if tok.kind == "name" else ""
        if tok.depth > 0:
            i += 1
            continue
        if tok.text == ";":
            operation, with_graph = "", default
        elif word == "PREFIX" and i + 2 < len(toks) and toks[i + 2].kind == "iri":
            prefixes[toks[i + 1].text.removesuffix(":")] = toks[i + 2].text[1:-1]
            i += 3
            continue
        elif word == "WITH" and not operation:
            with_graph = name(i + 1)
            found.add(with_graph)  # its templates' default triples go there
            i += 2
            continue
        elif word in ("INSERT", "DELETE"):
            operation = operation or word
            j = i + 1
            if j < len(toks) and toks[j].text.upper() in ("DATA", "WHERE"):
                j += 1
            if j < len(toks) and toks[j].text == "{":
                i = _block_graphs(toks, j, with_graph, name, found)
                continue
        elif word == "WHERE" and operation:  # a modify operation's pattern: it writes nothing
            i = _skip_block(toks, i + 1)
            continue
        elif word in ("CLEAR", "DROP", "CREATE", "LOAD", *_TRANSFERS) and not operation:
            operation = word
            i = _operation_graphs(toks, i, word, default, name, found)
            continue
        i += 1
    if None in found:
        return None
    return tuple(sorted(g for g in found if g is not None))


def _block_graphs(toks: list[Token], i: int, default: str | None, name, found: set) -> int:
    """The graphs the quad block opening at ``toks[i]`` writes (``GRAPH x { … }``, and ``default``
    for triples outside one); returns the index after the block."""
    depth, i = toks[i].depth, i + 1
    while i < len(toks) and not (toks[i].text == "}" and toks[i].depth == depth):
        tok = toks[i]
        if tok.depth == depth + 1 and tok.kind == "name" and tok.text.upper() == "GRAPH":
            found.add(name(i + 1))
            i = _skip_block(toks, i + 2)
            continue
        if tok.depth == depth + 1 and tok.text != ".":
            found.add(default)
        i += 1
    return i + 1


def _skip_block(toks: list[Token], i: int) -> int:
    """The index after the block opening at ``toks[i]`` (``i`` itself when no block opens there)."""
    if i >= len(toks) or toks[i].text != "{":
        return i
    depth, i = toks[i].depth, i + 1
    while i < len(toks) and not (toks[i].text == "}" and toks[i].depth == depth):
        i += 1
    return i + 1


def _operation_graphs(toks: list[Token], i: int, word: str, default: str | None, name, found: set) -> int:
    """The graphs a graph management operation (or ``LOAD``) starting at ``toks[i]`` writes;
    returns the index of its end (``;`` or the text's)."""
    end = i + 1
    while end < len(toks) and not (toks[end].depth == 0 and toks[end].text == ";"):
        end += 1
    words = [t.text.upper() if t.kind == "name" else t.text for t in toks[i + 1 : end]]
    operands: list[str | None] = []  # each graph operand, in order; None for DEFAULT
    j = i + 1
    while j < end:
        w = words[j - i - 1]
        if w in ("ALL", "NAMED"):
            found.add(None)
        elif w == "DEFAULT":
            operands.append(None)
        elif w == "GRAPH" or (word in _TRANSFERS and toks[j].kind in ("iri", "name") and w not in SKIP):
            at = j + 1 if w == "GRAPH" else j
            operands.append(name(at) or "")
            j = at
        j += 1
    if word == "LOAD":  # LOAD <source> [INTO GRAPH <g>]: the source is no graph of ours
        written = operands[-1:] if "INTO" in words else [None]
    elif word in _TRANSFERS:
        written = operands if word == "MOVE" else operands[-1:]
    else:
        written = operands
    for graph in written:
        found.add(default if graph is None else (graph or None))
    return end
