"""The summaries an ingest's workers write of their datasets: what the search index needs of each.

Why a module of its own: indexing by SPARQL meant iterating ~14 solutions per dataset in Python
(176 s at 100,000 datasets); a worker that holds a record's triples anyway writes, beside its
N-Triples, one JSON line per dataset (:func:`summarize`), and the builder (:mod:`kg.search.build`)
reads those lines back (:func:`summary_doc`) as it would have read the store. The two sides of
that file, and the rules that make a line give what the store would (terms in their stored
form, a blank node's value unknown), are kept together here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.store.generation import Generation
from kg.vocab import DCAT, DCT, RDF

IRI_FACETS = ("theme", "publisher", "language", "format", "licence")  # facets whose values may be IRIs
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters, dropped from indexed text
Doc = dict[str, list[tuple[str, str, bool]]]  # property -> (text, language, is an IRI)


@dataclass(frozen=True)
class Summaries:
    """What the index needs of the datasets of one graph, written while the graph's data was made.

    ``path`` holds one JSON line per dataset (:func:`summarize`) of the triples
    loaded into ``graph``; ``held`` are the IRIs whose incoming links were taken
    out of those triples afterwards (:func:`kg.ingest.run.hold_back_links`); ``about_others``
    are graphs the same write made that say nothing about a dataset or distribution as
    subject (the source's quality graph: its subjects are the measurements), so they need
    not be searched for triples about the summarised ones.
    """

    graph: str
    path: Path
    held: frozenset[str] = frozenset()
    about_others: frozenset[str] = frozenset()


_DIRECT = {  # PROPERTIES that are one triple of the dataset
    "title": DCT.title,
    "description": DCT.description,
    "keyword": DCAT.keyword,
    "modified": DCT.modified,
    "theme": DCAT.theme,
    "publisher": DCT.publisher,
    "language": DCT.language,
    "licence": DCT.license,
}
_DIRECT_NAMES = {prop: name for name, prop in _DIRECT.items()}  # one lookup a triple, not eight tests
_PARTS = (DCT.format, DCT.license)
_XSD, _XSD_STRING = "http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/2001/XMLSchema#string"


def summarize(records: Sequence[Sequence[tuple]]) -> list[str]:
    """For each record's triples (rdflib terms), the JSON lines that summarise its datasets.

    Why: indexing by SPARQL meant iterating ~14 solutions per dataset in Python (176 s at
    100,000 datasets); a worker that holds the triples anyway writes the same values here.
    A line: ``{"d": IRI, "p": {property: [term]}, "x": [[distribution IRI or null,
    [format term], [licence term]]], "u": 1 if the record alone cannot tell}``, a term being
    ``[kind, text, tag]`` (kind ``i`` IRI, ``l`` literal with tag ``@lang``, ``^^datatype`` or
    "") as the store keeps it (IRIs as written to N-Triples, typed literals canonical).
    """
    from rdflib import Literal, URIRef

    from kg.mapping.ntriples import nt_term

    typed: list[tuple[str, str]] = []  # literals whose stored form the store decides
    slots: list[list] = []

    def term(node: object) -> list | None:
        if isinstance(node, URIRef):
            return ["i", nt_term(node)[1:-1], ""]
        if isinstance(node, Literal):
            if node.language:
                return ["l", str(node), "@" + node.language.lower()]
            datatype = str(node.datatype) if node.datatype else ""
            if not datatype or datatype == _XSD_STRING:
                return ["l", str(node), ""]
            found = ["l", str(node), f"^^{datatype}"]
            if datatype.startswith(_XSD):
                typed.append((str(node), datatype))
                slots.append(found)
            return found
        return None  # a blank node: the store renames it, so its text is unknown here

    out = []
    rdf_type, dataset_class, distribution = RDF.type, DCAT.Dataset, DCAT.distribution  # looked up once
    for triples in records:
        by_subject: dict = {}
        for s, p, o in triples:
            by_subject.setdefault(s, []).append((p, o))
        lines = []
        datasets = [
            s for s, p, o in triples if p == rdf_type and o == dataset_class and isinstance(s, URIRef)
        ]
        for d in dict.fromkeys(datasets):
            unsafe = False
            props: dict[str, list] = {}
            for p, o in by_subject[d]:
                name = _DIRECT_NAMES.get(p)
                if name is not None:
                    found = term(o)
                    if found is None:
                        unsafe = True
                    else:
                        props.setdefault(name, []).append(found)
            parts = []
            for p, x in by_subject[d]:
                if p != distribution or isinstance(x, Literal):
                    continue
                if x not in by_subject:  # described by another record, or nowhere: ask the store
                    unsafe = True
                    continue
                formats, licences = [], []
                for q, o in by_subject[x]:
                    if q in _PARTS:
                        found = term(o)
                        if found is None:
                            unsafe = True
                        else:
                            (formats if q == DCT.format else licences).append(found)
                name = nt_term(x)[1:-1] if isinstance(x, URIRef) else None  # a blank node is the record's
                parts.append([name, formats, licences])
            line = {"d": nt_term(d)[1:-1], "p": props, "x": parts}
            if unsafe:
                line["u"] = 1
            lines.append(line)
        out.append(lines)
    for found, text in zip(slots, Generation.stored_literals(typed), strict=True):
        found[1] = text
    return ["".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines) for lines in out]


def summary_doc(line: dict, held: frozenset[str]) -> Doc:
    """The :data:`Doc` of a summary line, as :func:`kg.search.build._read` would have read it from the store.

    SELECT DISTINCT: a term counts once per property (after the store's canonical forms);
    links to ``held`` IRIs are gone from the store, so they are left out here too.
    """
    doc: Doc = {}
    seen: dict[str, set] = {}

    def add(name: str, terms: list) -> None:
        mine = seen.setdefault(name, set())
        for kind, text, tag in terms:
            key = (kind, text, tag)
            if key in mine or kind == "i" and text in held:
                continue
            mine.add(key)
            clean = " ".join(CONTROL.sub("", text).split())
            if clean:  # the extra columns of _read: LANG for texts, isIRI for facets
                lang = tag[1:] if name in ("title", "description") and tag.startswith("@") else ""
                doc.setdefault(name, []).append((clean, lang, kind == "i" and name in IRI_FACETS))

    parts = [part for part in line["x"] if part[0] is None or part[0] not in held]
    for name, terms in line["p"].items():
        if name != "licence":
            add(name, terms)
    for _, _, licences in parts:  # the UNION's first branch first, as the query reads
        add("licence", licences)
    add("licence", line["p"].get("licence", []))
    for _, formats, _ in parts:
        add("format", formats)
    return doc


def read_summaries(path: Path) -> Iterator[dict]:
    """The lines of a summaries file, one dict each."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)
