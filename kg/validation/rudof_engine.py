"""The ``rudof`` SHACL engine (``KG_VALIDATOR=rudof``): pyrudof instead of pyshacl, same findings.

Why: validation is ~75 % of the CPU time of an ingest (430 s for 100,000 CSV
datasets on 2 cores, against a 300 s target), and pyshacl runs one Python call
per focus node and property shape. pyrudof (PyPI, the Rust SHACL engine of the
rudof project) validates a 1,000-record batch (47,147 triples) in 1.95 s all
told (0.17 s to write it as N-Triples, 0.18 s to read it, 1.54 s to validate),
against 4.1 s for pyshacl, with the same findings; a 100,000-dataset CSV ingest
took 301 s instead of 445 (2 workers; bench/RESULTS.md, "Validation engines").
It is the ingest's default engine (``KG_VALIDATOR=rudof``, a dependency of the
project); pyshacl is the reference, and validates what rudof cannot read.

Same findings: :func:`kg.validation.batch.validate_batch` builds the same data graph
(:func:`kg.validation.batch.batch_triples`) and traces the results back to records and
sorts them with the same code; this module turns rudof's results into the same
:class:`~kg.validation.report.Finding` objects as pyshacl's:

* severity: rudof's ``Violation`` / ``Warning`` / ``Info``;
* message and path: read from the shapes graph by source shape (the shape's
  ``sh:message`` and ``sh:path`` are what pyshacl writes in each result; rudof
  prefixes the message with its own text);
* focus node and value: rudof writes terms as text; blank nodes get our own
  labels and IRIs that N-Triples writes differently (escaped characters) are
  mapped back, so the focus is the rdflib term the records hold and the value is
  ``str()`` of the term, as pyshacl gives it (a literal's lexical form).

Where rudof differs from pyshacl (and from the SHACL spec):

* rudof (0.3.35) does not evaluate the property shapes of a focus node that is
  a literal: ``"es"`` as a dataset's ``dct:language`` breaks ``sh:node
  kgs:InLanguageList`` (a literal has no ``skos:inScheme``: ``sh:minCount 1``
  fails) for pyshacl, not for rudof. RDF sources have such literals
  (``dct:format "CSV"``). The shapes rudof gets say the same with a node kind
  (:func:`literal_plan`: the vocabulary-list shapes get ``sh:nodeKind
  sh:BlankNodeOrIRI``), so top-level results are the same; a batch with a
  literal that this cannot settle (none with our shapes) goes to pyshacl
  (:class:`NotForRudof`, :func:`literal_sensitive_predicates`).
* rudof's N-Triples parser refuses some terms rdflib accepts (an IRI without a
  scheme, say): that batch goes to pyshacl too.
* Memory: rudof takes ~12 KB per data triple while it validates (a 1,000-record
  CSV batch, 47,000 triples: +550 MB; pyshacl ~3 KB), so ``KG_VALIDATION_BATCH=200``
  suits it, and a batch above :data:`MAX_TRIPLES` goes to pyshacl, as does one whose
  context describes more than :data:`kg.validation.batch.MAX_UNOWNED_CONTEXT` nodes no
  record owns (an RDF catalogue record naming its datasets: rudof would target each).

Any other failure of pyrudof is a :class:`~kg.errors.ValidatorError`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

from rdflib import BNode, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.errors import ValidatorError
from kg.mapping.ntriples import nt_term
from kg.validation.report import SHACL, Finding, path_text
from kg.validation.shapes import validator_shapes

MISSING = "KG_VALIDATOR=rudof needs the pyrudof package: pip install pyrudof"
MESSAGE, PATH = URIRef(f"{SHACL}message"), URIRef(f"{SHACL}path")
PROPERTY, TARGET_OBJECTS, TARGET_NODE = (
    URIRef(f"{SHACL}{n}") for n in ("property", "targetObjectsOf", "targetNode")
)
SHAPE_PARAMETERS = tuple(URIRef(f"{SHACL}{n}") for n in ("node", "not", "qualifiedValueShape"))
SHAPE_LISTS = tuple(URIRef(f"{SHACL}{n}") for n in ("or", "and", "xone"))
NODE_KIND = URIRef(f"{SHACL}nodeKind")
NOT_LITERAL = {URIRef(f"{SHACL}{n}") for n in ("IRI", "BlankNode", "BlankNodeOrIRI")}
MAX_TRIPLES = 100_000  # larger batches go to pyshacl: ~1.2 GB while rudof validates them
SEVERITIES = {"Violation": "violation", "Warning": "warning", "Info": "info"}

Triple = tuple[Node, Node, Node]


class NotForRudof(Exception):
    """rudof would not give pyshacl's findings on this batch (validate it with pyshacl instead)."""


def pyrudof_module() -> Any:
    """The pyrudof module, or a :class:`ValidatorError` saying how to install it."""
    try:
        import pyrudof
    except ImportError as exc:
        raise ValidatorError(MISSING) from exc
    return pyrudof


_sessions: dict[int, Any] = {}
EMPTY_DATA = "# the batches are staged on this empty graph and rolled back\n"


def session() -> Any:
    """This process's rudof session, with the shapes read and an empty data graph loaded (once per
    process: a forked worker makes its own, as a Rust object's state need not survive ``fork``).

    The data graph is empty but loaded so that each batch can be staged on it (see
    :func:`rudof_findings`); a comment is how rudof reads no triples (it refuses an empty text).
    """
    pid = os.getpid()
    found = _sessions.get(pid)
    if found is None:
        pyrudof = pyrudof_module()
        try:
            found = pyrudof.Rudof(pyrudof.RudofConfig())
            found.read_shacl(
                _shapes_ntriples(), pyrudof.ShaclFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict
            )
            found.read_data(EMPTY_DATA, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict)
        except Exception as exc:
            raise ValidatorError(f"rudof cannot read the shapes: {exc}") from exc
        _sessions.clear()
        _sessions[pid] = found
    return found


def _shapes_ntriples() -> str:
    """:func:`kg.validation.shapes.validator_shapes` as N-Triples (the very triples pyshacl gets), with the
    node kinds that make rudof judge literals as pyshacl does (:func:`literal_plan`)."""
    triples = [*validator_shapes(), *literal_plan()[0]]
    return "".join(f"{nt_term(s)} {nt_term(p)} {nt_term(o)} .\n" for s, p, o in triples)


@cache
def _shape_texts() -> dict[str, tuple[str, str]]:
    """Shape IRI -> (its ``sh:message``, its ``sh:path`` as :func:`kg.validation.report.path_text`
    writes it)."""
    shapes = validator_shapes()
    out: dict[str, tuple[str, str]] = {}
    for shape in {*shapes.subjects(MESSAGE, None), *shapes.subjects(PATH, None)}:
        if isinstance(shape, URIRef):
            message, path = shapes.value(shape, MESSAGE), shapes.value(shape, PATH)
            out[str(shape)] = (
                str(message) if message is not None else "",
                path_text(shapes, path) if path is not None else "",
            )
    return out


def sh(name: str) -> URIRef:
    return URIRef(f"{SHACL}{name}")


@cache
def literal_plan() -> tuple[tuple[Triple, ...], frozenset[Node] | None]:
    """How rudof is made to judge literals as pyshacl does, and where it cannot be.

    rudof (0.3.35) skips the property shapes of a focus node that is a literal (a value
    checked against another shape with ``sh:node``, ``sh:or``...). A property shape whose path
    gives a literal no value (a predicate, alternatives of predicates) has an empty value set on a
    literal, so it fails there iff it asks for a value (``sh:minCount`` >= 1, ``sh:hasValue``,
    ``sh:qualifiedMinCount`` >= 1) and holds otherwise. A node shape with such a failing property
    is given ``sh:nodeKind sh:BlankNodeOrIRI`` for rudof: a literal then fails it there too, and
    the top-level result (the shape that sent the literal there) is the same; only the nested
    results, which are never read, differ. An IRI or a blank node meets that node kind: nothing
    else changes. The shapes this cannot settle (a property shape checked on a literal with another
    path, a node shape that can have a literal as a target of its own...) give the predicates on
    which a literal sends the batch to pyshacl.

    :returns: the triples added to rudof's shapes, and those predicates (None: a literal
        ``sh:targetNode`` makes every batch one for pyshacl).
    """
    shapes = validator_shapes()
    first = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")

    def members(items: Node) -> list[Node]:
        return list(Collection(shapes, items))

    def no_values_from_a_literal(path: Node) -> bool:
        if isinstance(path, URIRef):
            return True
        alternatives = shapes.value(path, sh("alternativePath"))
        if alternatives is not None:
            return all(no_values_from_a_literal(p) for p in members(alternatives))
        if shapes.value(path, sh("oneOrMorePath")) is not None:
            return no_values_from_a_literal(shapes.value(path, sh("oneOrMorePath")))
        if shapes.value(path, first) is not None:  # a sequence: its first step
            return no_values_from_a_literal(shapes.value(path, first))
        return False  # inverse, zero-or-more, zero-or-one: a literal may have values

    def asks_for_a_value(prop: Node) -> bool:
        def at_least_one(parameter: str) -> bool:
            return any(
                isinstance(v, Literal) and _number(v) >= 1 for v in shapes.objects(prop, sh(parameter))
            )

        return (
            at_least_one("minCount")
            or at_least_one("qualifiedMinCount")
            or (prop, sh("hasValue"), None) in shapes
        )

    def referenced(shape: Node) -> list[Node]:
        out = [o for p in SHAPE_PARAMETERS for o in shapes.objects(shape, p)]
        for p in SHAPE_LISTS:
            for items in shapes.objects(shape, p):
                out.extend(members(items))
        return out

    literal_targets = set(shapes.subjects(TARGET_OBJECTS, None)) | {
        s for s, o in shapes.subject_objects(TARGET_NODE) if isinstance(o, Literal)
    }
    added: list[Triple] = []
    wrong: dict[Node, bool] = {}  # shape -> rudof may judge a literal focus node otherwise

    def judged_wrong(shape: Node) -> bool:
        if shape not in wrong:
            wrong[shape] = False  # a cycle adds nothing
            wrong[shape] = _judged_wrong(shape)
        return wrong[shape]

    def _judged_wrong(shape: Node) -> bool:
        if (shape, PATH, None) in shapes:  # a property shape checked on a literal: skipped by rudof
            path = shapes.value(shape, PATH)
            return not no_values_from_a_literal(path) or asks_for_a_value(shape)
        properties = list(shapes.objects(shape, PROPERTY))
        if any(not no_values_from_a_literal(shapes.value(p, PATH)) for p in properties):
            return True
        if any(judged_wrong(r) for r in referenced(shape)):
            return True
        if any(asks_for_a_value(p) for p in properties):
            kinds = set(shapes.objects(shape, NODE_KIND))
            if kinds <= NOT_LITERAL and kinds:  # a literal fails it already
                return False
            if kinds or shape in literal_targets:  # a second node kind; a top-level result of its own
                return True
            added.append((shape, NODE_KIND, sh("BlankNodeOrIRI")))
        return False

    predicates: set[Node] = set()
    for shape, path in shapes.subject_objects(PATH):
        if any(judged_wrong(r) for r in referenced(shape)):
            predicates |= _iris(shapes, path)
    for shape in literal_targets:
        if judged_wrong(shape):
            if any(isinstance(o, Literal) for o in shapes.objects(shape, TARGET_NODE)):
                return tuple(added), None
            predicates.update(shapes.objects(shape, TARGET_OBJECTS))
    return tuple(added), frozenset(predicates)


def _number(value: Literal) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _iris(shapes, path: Node) -> set[Node]:
    """Every IRI in a path (a superset of its predicates)."""
    if isinstance(path, URIRef):
        return {path}
    found: set[Node] = set()
    for _, _, o in shapes.triples((path, None, None)):
        if isinstance(o, URIRef):
            found.add(o)
        elif isinstance(o, BNode):
            found |= _iris(shapes, o)
    return found


def literal_sensitive_predicates() -> frozenset[Node] | None:
    """The predicates on which a literal object sends a batch to pyshacl (:func:`literal_plan`)."""
    return literal_plan()[1]


def literal_on(triples: Sequence[Triple], predicates: frozenset[Node] | None) -> Triple | None:
    """The first triple with a literal object on one of these predicates (None: any predicate)."""
    for t in triples:
        if isinstance(t[2], Literal) and (predicates is None or t[1] in predicates):
            return t
    return None


def ntriples(triples: Sequence[Triple]) -> tuple[str, dict[str, Node]]:
    """The triples as N-Triples, and the terms whose text in rudof's results is not ``str(term)``:
    blank nodes (labelled here ``_:b0``, ``_:b1``...: rdflib's names need not be N-Triples labels)
    and IRIs that N-Triples writes escaped."""
    labels: dict[Node, str] = {}
    back: dict[str, Node] = {}

    def text(term: Node) -> str:
        if isinstance(term, BNode):
            label = labels.get(term)
            if label is None:
                label = labels[term] = f"_:b{len(labels)}"
                back[label] = term
            return label
        written = nt_term(term)
        if isinstance(term, URIRef) and written[1:-1] != term:
            back[written[1:-1]] = term
        return written

    return "".join(f"{text(s)} {text(p)} {text(o)} .\n" for s, p, o in triples), back


def rudof_findings(triples: Sequence[Triple]) -> list[tuple[Finding, Node]]:
    """rudof's top-level results on a data graph of these triples, as (finding, focus node).

    :raises NotForRudof: rudof would validate the batch differently, or cannot read it.
    :raises ValidatorError: pyrudof is missing or fails.
    """
    pyrudof = pyrudof_module()
    rudof = session()
    sensitive = literal_sensitive_predicates()
    literal = literal_on(triples, sensitive) if sensitive is None or sensitive else None
    if literal is not None:
        raise NotForRudof(f"a literal rudof would judge otherwise: {literal[1]} {literal[2]!r}")
    if not triples:  # pyrudof refuses empty input
        return []
    if len(triples) > MAX_TRIPLES:
        raise NotForRudof(f"{len(triples)} triples: more than rudof validates in reasonable memory")
    text, back = ntriples(triples)
    # the batch is staged on the session's empty graph and rolled back after validation: reading
    # it with merge=False instead (a graph of its own) cost a fixed ~66 ms per call (200 CSV
    # records: read + validate 385 -> 322 ms; ~30 CPU s of a 100,000-dataset ingest)
    rudof.begin_staging()
    try:
        try:
            rudof.read_data(
                text, pyrudof.RDFFormat.NTriples, reader_mode=pyrudof.ReaderMode.Strict, merge=True
            )
        except pyrudof.DataError as exc:
            raise NotForRudof(f"rudof cannot read the batch: {exc}") from exc
        except Exception as exc:
            raise ValidatorError(f"rudof cannot read the batch: {exc}") from exc
        try:
            report = rudof.validate_shacl()
            results = list(report.violations)
        except Exception as exc:
            raise ValidatorError(f"the SHACL validator (rudof) failed: {exc}") from exc
    finally:
        rudof.rollback_staging()  # the batch's graph is not kept until the next one
    shapes = _shape_texts()
    found = []
    for result in results:
        focus = _term(result.focus_node, back)
        shape = result.source_shape or ""
        # a shape of ours without sh:message gives pyshacl's own text, which rudof's differs from
        # (none of those gives top-level results); a blank-node shape has another label here
        message, path = shapes.get(shape) or ("", result.path or "")
        value = result.value
        found.append(
            (
                Finding(
                    severity=SEVERITIES.get(result.severity, "violation"),
                    focus=str(focus),
                    path=path,
                    message=message or result.message or "constraint not met",
                    rule="" if shape.startswith("_:") else shape,
                    value=str(_term(value, back)) if value is not None else "",
                ),
                focus,
            )
        )
    return found


def _term(text: str, back: dict[str, Node]) -> Node:
    """The rdflib term for a term as rudof writes it: an IRI as is, a blank node by its label,
    a literal in quotes (its lexical form as it is, not escaped) and then ``@lang`` or ``^^datatype``."""
    found = back.get(text)
    if found is not None:
        return found
    if text.startswith('"'):  # lang tags and datatype IRIs hold no quote: the last one closes the form
        return Literal(text[1 : text.rindex('"')])
    if text.startswith("_:"):
        return BNode(text[2:])
    return URIRef(text)
