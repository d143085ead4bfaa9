"""Read DCAT / DCAT-AP RDF (Turtle, RDF/XML, JSON-LD, N-Triples, N-Quads, TriG, N3) into records.

RDF input is kept as published; the reader only cuts the graph into records
(:mod:`kg.readers.rdf_split`: one per dataset, data service, catalogue and agent,
plus one ``other`` record). Named graphs of N-Quads/TriG/JSON-LD are merged: a
source is one graph in our store.

pyoxigraph parses (a 100,000-dataset Turtle file, 4.6 M triples, in seconds) straight
into a :class:`~kg.readers.rdf_table.TripleTable` on disk, so the file's triples
never sit in the Python heap; rdflib parsed it into ~7 GB of objects. The records
are what rdflib's parsers gave, but for what pyoxigraph cannot tell apart:

* language tags come in lower case (BCP 47 tags are case-insensitive, and our
  store lowercases them anyway);
* ``"a"^^xsd:string`` is the plain literal ``"a"`` (the same literal in RDF 1.1);
* blank nodes keep the labels the file gives them (rdflib made new ones on every
  parse); anonymous ones get pyoxigraph's ids.

IRIs are not checked (``lenient``), as rdflib did not refuse them either. A JSON-LD
context named by URL is inlined before the parse (:mod:`kg.readers.jsonld_contexts`):
the well-known ones are bundled, others are fetched only from the prefixes
``KG_JSONLD_FETCH`` allows, and any other is refused, since fetching it would make an
ingest depend on (and leak to) a third-party site. RDF/XML in another encoding than
UTF-8 is transcoded first (pyoxigraph reads UTF-8 only).
"""

from __future__ import annotations

import codecs
import io
import re
import xml.sax
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from kg.errors import InputError
from kg.readers.files import decode_utf8, parse_json, read_bytes, read_bytes_head
from kg.readers.jsonld_contexts import ContextLoader, inline_contexts
from kg.readers.rdf_split import Splitter
from kg.readers.rdf_table import QuotedTriple, TripleTable
from kg.records import Origin, RdfRecord

# our names, rdflib's names and file extensions → parser name
SYNTAXES = {
    "ttl": "turtle", "turtle": "turtle", "n3": "n3",
    "rdf": "xml", "xml": "xml", "owl": "xml", "rdfxml": "xml", "application/rdf+xml": "xml",
    "jsonld": "json-ld", "json-ld": "json-ld", "json": "json-ld",
    "nt": "nt", "ntriples": "nt", "nt11": "nt",
    "nq": "nquads", "nquads": "nquads",
    "trig": "trig",
}  # fmt: skip
_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE, "n3": ox.RdfFormat.N3, "xml": ox.RdfFormat.RDF_XML,
    "json-ld": ox.RdfFormat.JSON_LD, "nt": ox.RdfFormat.N_TRIPLES, "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
}  # fmt: skip
_SYNTAX_NAMES = {
    "turtle": "Turtle", "n3": "N3", "xml": "RDF/XML", "json-ld": "JSON-LD",
    "nt": "N-Triples", "nquads": "N-Quads", "trig": "TriG",
}  # fmt: skip
# "<?xml", "<!--", "<rdf:RDF …" — but not an N-Triples/Turtle IRI such as "<http://…>"
_XML_START = re.compile(rb"<(\?|!|[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?[\s/>])")
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_LOCATION = re.compile(r"^Parser error [^:]*: ")  # pyoxigraph's "Parser error at line 3 column 11: "
_BOM = b"\xef\xbb\xbf"


def read_rdf(
    path: str | Path, *, fmt: str | None = None, contexts: ContextLoader | None = None
) -> Iterator[RdfRecord]:
    """Agency, dataset, service and catalogue records, then one ``other`` record with the rest.

    ``fmt`` is one of our names (ttl, rdf, xml, jsonld, nt, nq, trig) or rdflib's; by default the
    file extension decides, and for an unknown extension the first character of the file.
    ``contexts`` says where JSON-LD remote contexts may come from (default: the bundled ones only).
    The file is parsed now (syntax errors are raised here); records are made as they are asked for.
    """
    file = str(path)
    syntax = _syntax(fmt, Path(path), _head(Path(path)))
    table = load(Path(path), syntax, file, contexts=contexts or ContextLoader())
    if not table.count:
        table.close()
        raise InputError("the file holds no RDF triples", file=file)
    return _records(table, file)


def _head(path: Path) -> bytes:
    """The start of a file that exists and is not empty (the errors :func:`read_bytes` gives)."""
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    return read_bytes_head(path).lstrip(_BOM + b" \t\r\n")[:200]


def _syntax(fmt: str | None, path: Path, head: bytes) -> str:
    if fmt:
        if fmt.lower() not in SYNTAXES:
            raise InputError(
                f"unknown RDF format {fmt!r}; expected one of {', '.join(SYNTAXES)}", file=str(path)
            )
        return SYNTAXES[fmt.lower()]
    suffix = path.suffix.lower().lstrip(".")
    if suffix in SYNTAXES:
        return SYNTAXES[suffix]
    if _XML_START.match(head):
        return "xml"
    return "json-ld" if head[:1] in (b"{", b"[") else "turtle"  # Turtle also reads N-Triples


def load(path: Path, syntax: str, file: str, *, contexts: ContextLoader | None = None) -> TripleTable:
    """The file's triples, named graphs merged, in a table; syntax errors as InputError with the line."""
    table = TripleTable()
    try:
        # N3's other graphs are formulae
        table.load(quads(path, syntax, file, contexts=contexts), default_graph_only=syntax == "n3")
    except QuotedTriple as exc:
        table.close()
        raise InputError(str(exc), file=file) from exc
    except BaseException:
        table.close()
        raise
    return table


def quads(
    path: Path, syntax: str, file: str, *, base: str | None = None, contexts: ContextLoader | None = None
) -> Iterator[ox.Quad]:
    """The file's quads as pyoxigraph parses them, relative IRIs resolved against ``base`` (default:
    the file's own ``file:`` URI; a page fetched over HTTP passes its URL); every failure (syntax,
    encoding, a JSON-LD context refused, the disk) an InputError naming ``file``, raised as the
    stream reaches it.
    """
    try:
        with _source(path, syntax, file, contexts or ContextLoader()) as source:
            yield from ox.parse(
                source, _FORMATS[syntax], base_iri=base or path.resolve().as_uri(), lenient=True
            )
    except SyntaxError as exc:
        raise _syntax_error(exc, syntax, path, file) from exc
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=file) from exc


def syntax_of(path: Path, fmt: str | None = None) -> str:
    """The parser name for a file: ``fmt`` (one of our names) if given, else as :func:`read_rdf` decides."""
    return _syntax(fmt, path, _head(path))


def _source(path: Path, syntax: str, file: str, contexts: ContextLoader) -> IO[Any]:
    """The file to parse: checked to be UTF-8 (as rdflib's readers needed), past a byte-order mark;
    JSON-LD with its remote contexts inlined (JSON syntax errors are found in the file's own text)."""
    if syntax == "json-ld":
        text = decode_utf8(read_bytes(path), file)
        doc = parse_json(text, file)
        inlined = inline_contexts(doc, base=path.resolve().as_uri(), file=file, loader=contexts)
        return io.StringIO(text if inlined is None else inlined)
    if syntax == "xml":
        text = _transcoded_xml(path, file)
        if text is not None:
            return io.StringIO(text)
    else:
        _check_utf8(path, file)
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller's with
    if handle.read(len(_BOM)) != _BOM:
        handle.seek(0)
    return handle


def _syntax_error(exc: SyntaxError, syntax: str, path: Path, file: str) -> InputError:
    name = _SYNTAX_NAMES.get(syntax, syntax)
    if syntax == "xml" and exc.lineno is None and (found := _xml_error(path)) is not None:
        line, column, message = found
        return InputError(f"{name} syntax error at column {column}: {message}", file=file, line=line)
    reason = " ".join(_LOCATION.sub("", exc.msg or str(exc)).split())[:300] or "not readable"
    if exc.lineno is None:
        return InputError(f"{name} syntax error: {reason}", file=file)
    return InputError(f"{name} syntax error at column {exc.offset}: {reason}", file=file, line=exc.lineno)


def _xml_error(path: Path) -> tuple[int, int, str] | None:
    """Where the XML itself is broken, if it is (pyoxigraph does not say): read it once more."""
    try:
        xml.sax.parse(str(path), xml.sax.ContentHandler())
    except xml.sax.SAXParseException as exc:
        return exc.getLineNumber(), exc.getColumnNumber(), exc.getMessage()
    except (OSError, ValueError):
        return None
    return None


def _check_utf8(path: Path, file: str, *, block: int = 1 << 20) -> None:
    """Raise what :func:`kg.readers.files.decode_utf8` says about a file that is not UTF-8, reading it in
    blocks (the whole file would be 247 MB of bytes and as much again of text at 100,000 datasets)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with open(path, "rb") as handle:
        while True:
            data = handle.read(block)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                start = offset - len(pending) + exc.start
                line = lines + exc.object.count(b"\n", 0, exc.start) + 1
                raise InputError(
                    f"not UTF-8 text: byte 0x{exc.object[exc.start]:02X} at offset {start} cannot be "
                    "decoded (save the file as UTF-8)",
                    file=file,
                    line=line,
                ) from exc
            if not data:
                return
            offset += len(data)
            lines += data.count(b"\n")


def _transcoded_xml(path: Path, file: str) -> str | None:
    """The text of RDF/XML that declares another encoding than UTF-8 (or has a UTF-16 mark), else None."""
    with open(path, "rb") as handle:
        head = handle.read(200)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif (match := _XML_ENCODING.match(head.lstrip(_BOM))) is not None:
        encoding = match.group(1).decode("ascii").lower()
    else:
        return None
    try:
        if codecs.lookup(encoding).name == "utf-8":
            return None
    except LookupError as exc:
        raise InputError(f"RDF/XML syntax error: unknown encoding {encoding!r}", file=file, line=1) from exc
    try:
        text = read_bytes(path).decode(encoding).removeprefix("\ufeff")
    except (LookupError, UnicodeDecodeError) as exc:
        raise InputError(f"RDF/XML not readable as {encoding}: {exc}", file=file) from exc
    return re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*["'])[^"']+""", r"\1UTF-8", text, count=1)


def _records(table: TripleTable, file: str) -> Iterator[RdfRecord]:
    """The records, one at a time; the table is closed (its file removed) at the end."""
    try:
        for index, (kind, key, rows) in enumerate(Splitter(table).split()):
            yield RdfRecord(key=key, kind=kind, origin=Origin(file, record=index), rows=rows)
    finally:
        table.close()
