"""Read DCAT / DCAT-AP RDF (Turtle, RDF/XML, JSON-LD, N-Triples, N-Quads, TriG) into records.

RDF needs no field mapping, only cutting into records the validator and the
store can handle one by one: one per dataset, data service, catalogue and
agent, plus one ``other`` record, so that every triple of the file lands in
exactly one record's ``triples`` (nothing is lost, nothing is stored twice).

The cut is made per subject: a record owns its subject, the blank nodes it
reaches (they have no name of their own) and, for a dataset, its
distributions. A blank node two records reach goes to the first (in output
order) and shows up in the other's ``context``. Named graphs of N-Quads/TriG
are merged: a source is one graph in our store.

JSON-LD is read without the network: a remote ``@context`` is refused, since
fetching it would make an ingest depend on (and leak to) a third-party site.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException

from rdflib import RDF, BNode, Dataset, Graph, Literal
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.errors import InputError
from kg.readers import decode_utf8, parse_json, read_bytes
from kg.records import Origin, RdfKind, RdfRecord
from kg.vocab import CPOV, DCAT, DCT, FOAF, ORG

# our names, rdflib's names and file extensions → rdflib parser name
SYNTAXES = {
    "ttl": "turtle", "turtle": "turtle", "n3": "n3",
    "rdf": "xml", "xml": "xml", "owl": "xml", "rdfxml": "xml", "application/rdf+xml": "xml",
    "jsonld": "json-ld", "json-ld": "json-ld", "json": "json-ld",
    "nt": "nt", "ntriples": "nt", "nt11": "nt",
    "nq": "nquads", "nquads": "nquads",
    "trig": "trig",
}  # fmt: skip
AGENT_CLASSES = frozenset(
    {FOAF.Agent, FOAF.Organization, FOAF.Person, ORG.Organization, ORG.FormalOrganization,
     ORG.OrganizationalUnit, CPOV.PublicOrganisation, DCT.Agent}
)  # fmt: skip
_SYNTAX_NAMES = {
    "turtle": "Turtle", "n3": "N3", "xml": "RDF/XML", "json-ld": "JSON-LD",
    "nt": "N-Triples", "nquads": "N-Quads", "trig": "TriG",
}  # fmt: skip
# "<?xml", "<!--", "<rdf:RDF …" — but not an N-Triples/Turtle IRI such as "<http://…>"
_XML_START = re.compile(rb"<(\?|!|[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?[\s/>])")
_GRAPH_SYNTAXES = ("nquads", "trig", "json-ld")  # may hold named graphs: merged
KIND_ORDER: tuple[RdfKind, ...] = ("agency", "dataset", "service", "catalog")

Triple = tuple[Any, Any, Any]


def read_rdf(path: str | Path, *, fmt: str | None = None) -> Iterator[RdfRecord]:
    """Agency, dataset, service and catalogue records, then one ``other`` record with the rest.

    ``fmt`` is one of our names (ttl, rdf, xml, jsonld, nt, nq, trig) or rdflib's; by default the
    file extension decides, and for an unknown extension the first character of the file.
    """
    file = str(path)
    data = read_bytes(path)
    syntax = _syntax(fmt, Path(path), data)
    triples = parse(data, syntax, file)
    if not triples:
        raise InputError("the file holds no RDF triples", file=file)
    return _records(triples, file)


def _syntax(fmt: str | None, path: Path, data: bytes) -> str:
    if fmt:
        if fmt.lower() not in SYNTAXES:
            raise InputError(
                f"unknown RDF format {fmt!r}; expected one of {', '.join(SYNTAXES)}", file=str(path)
            )
        return SYNTAXES[fmt.lower()]
    suffix = path.suffix.lower().lstrip(".")
    if suffix in SYNTAXES:
        return SYNTAXES[suffix]
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200]
    if _XML_START.match(head):
        return "xml"
    return "json-ld" if head[:1] in (b"{", b"[") else "turtle"  # Turtle also reads N-Triples


def parse(data: bytes, syntax: str, file: str) -> set[Triple]:
    """The triples of a file, named graphs merged; syntax errors as InputError with the line."""
    source: bytes | str = data
    if syntax != "xml":  # XML declares its own encoding; every other RDF syntax is UTF-8
        source = decode_utf8(data, file)
        if syntax == "json-ld":
            _refuse_remote_context(parse_json(source, file), file)
    try:
        return _parse_with_rdflib(source, syntax, Path(file).resolve().as_uri())
    except Exception as exc:  # rdflib's parsers raise many unrelated types
        raise _syntax_error(exc, syntax, source, file) from exc


def _parse_with_rdflib(source: bytes | str, syntax: str, base: str) -> set[Triple]:
    if syntax not in _GRAPH_SYNTAXES:
        graph = Graph()
        graph.parse(data=source, format=syntax, publicID=base)
        return set(graph)
    dataset = Dataset()
    with warnings.catch_warnings():  # rdflib's own quad parsers use its deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset.parse(data=source, format=syntax, publicID=base)
    return {(s, p, o) for s, p, o, _ in dataset.quads((None, None, None, None))}


def _syntax_error(exc: Exception, syntax: str, source: bytes | str, file: str) -> InputError:
    name = _SYNTAX_NAMES.get(syntax, syntax)
    if isinstance(exc, BadSyntax):
        return InputError(f"{name} syntax error: {exc._why}", file=file, line=exc.lines + 1)
    if isinstance(exc, SAXParseException):
        return InputError(
            f"{name} syntax error at column {exc.getColumnNumber()}: {exc.getMessage()}",
            file=file,
            line=exc.getLineNumber(),
        )
    message = " ".join(str(exc).split())[:300] or type(exc).__name__
    line = _first_bad_line(source, syntax) if syntax in ("nt", "nquads") and isinstance(source, str) else None
    return InputError(f"{name} syntax error: {message}", file=file, line=line)


def _first_bad_line(text: str, syntax: str, *, limit: int = 100_000) -> int | None:
    """rdflib's line-based parsers do not say where they failed: find the line (error path only)."""
    for number, line in enumerate(text.splitlines()[:limit], start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                _parse_with_rdflib(line, syntax, "file:///")
            except Exception:  # any failure marks the line
                return number
    return None


def _refuse_remote_context(doc: Any, file: str) -> None:
    """Raise if any ``@context``/``@import`` names a document instead of being inline."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key in ("@context", "@import"):
                refs = node.get(key)
                for ref in refs if isinstance(refs, list) else [refs]:
                    if isinstance(ref, str):
                        raise InputError(
                            f"JSON-LD with a remote {key} ({ref}) is not read: the reader does not use the "
                            "network; put the context inline",
                            file=file,
                        )
            stack.extend(node.values())


# --- cutting the graph into records -------------------------------------------------


def _records(triples: set[Triple], file: str) -> Iterator[RdfRecord]:
    splitter = Splitter(triples)
    for index, (kind, key, own, context) in enumerate(splitter.split()):
        yield RdfRecord(key=key, kind=kind, origin=Origin(file, record=index), triples=own, context=context)


class Splitter:
    """Assigns each subject (with all its triples) to exactly one record."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        self.by_subject: dict[Any, list[Triple]] = defaultdict(list)
        for triple in triples:
            self.by_subject[triple[0]].append(triple)
        self.referenced = {o for s, p, o in self._all() if isinstance(o, BNode) and o != s}
        self.agents = {o for _, p, o in self._all() if p in (DCT.publisher, DCT.creator)}
        self.roots = {node: kind for node in self.by_subject if (kind := self._root_kind(node))}
        self.owner: dict[Any, Any] = {}

    def _all(self) -> Iterator[Triple]:
        for triples in self.by_subject.values():
            yield from triples

    def _root_kind(self, node: Any) -> RdfKind | None:
        types = {o for _, p, o in self.by_subject[node] if p == RDF.type}
        kind: RdfKind | None = None
        if DCAT.Dataset in types:
            return "dataset"  # a dataset is its own record even as a blank node inside a catalogue
        if DCAT.DataService in types:
            kind = "service"
        elif DCAT.Catalog in types:
            kind = "catalog"
        elif types & AGENT_CLASSES or node in self.agents:
            kind = "agency"
        if kind and isinstance(node, BNode) and node in self.referenced:
            return None  # part of the description of whatever refers to it
        return kind

    def split(self) -> list[tuple[RdfKind, str, list[Triple], list[Triple]]]:
        """(kind, key, triples, context) in output order: agency, dataset, service, catalog, other."""
        ordered = sorted(self.roots, key=lambda n: (KIND_ORDER.index(self.roots[n]), _key(n)))
        claim_order = sorted(ordered, key=lambda n: self.roots[n] != "dataset")  # datasets claim first
        members = {root: self._claim(root) for root in claim_order}
        rest = [node for node in self.by_subject if node not in self.owner]
        out = [(self.roots[root], _key(root), members[root]) for root in ordered]
        if rest:
            out.append(("other", "", rest))
        return [(kind, key, self._triples(nodes), self._context(nodes)) for kind, key, nodes in out]

    def _claim(self, root: Any) -> list[Any]:
        """The root, the blank nodes it reaches and (for a dataset) its distributions, not yet owned."""
        nodes, stack = [], [root]
        is_dataset = self.roots[root] == "dataset"
        while stack:
            node = stack.pop()
            if node in self.owner or node not in self.by_subject:
                continue
            self.owner[node] = root
            nodes.append(node)
            for _, p, o in self.by_subject[node]:
                if o in self.roots:
                    continue
                if isinstance(o, BNode) or (is_dataset and node == root and p == DCAT.distribution):
                    stack.append(o)
        return nodes

    def _triples(self, nodes: list[Any]) -> list[Triple]:
        return sorted((t for node in nodes for t in self.by_subject[node]), key=_sort_key)

    def _context(self, nodes: list[Any]) -> list[Triple]:
        """The triples of the resources these triples point at (publisher, frequency, …), one hop.

        One hop is what a shape checks about a referenced resource (its type, mostly); going
        further would copy the whole file into the context of a catalogue.
        """
        own = set(nodes)
        pointed = {o for node in nodes for _, _, o in self.by_subject[node] if o in self.by_subject}
        return self._triples(sorted(pointed - own, key=_key))


def _key(node: Any) -> str:
    return f"_:{node}" if isinstance(node, BNode) else str(node)


def _sort_key(triple: Triple) -> tuple[str, str, str]:
    obj = triple[2]
    text = f'"{obj}"@{obj.language or ""}^^{obj.datatype or ""}' if isinstance(obj, Literal) else _key(obj)
    return _key(triple[0]), str(triple[1]), text
