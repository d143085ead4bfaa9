"""One page of a paged RDF catalogue (Hydra): its triples, without the paging's, and its next link.

A portal that pages its DCAT catalogue (our own ``/catalog``, udata, ckanext-dcat, piveau) puts a
view of the collection on each page: a ``hydra:PartialCollectionView`` with ``hydra:next`` (Hydra
today), or a ``hydra:PagedCollection`` with ``hydra:nextPage`` (Hydra's older terms, which
ckanext-dcat still sends, often with ``hydra:next`` beside it). The harvester follows those links
(:mod:`kg.harvest.pages`); this module reads one page.

The pages together are one source, so their triples are copied into one N-Triples file. Two
things keep that faithful: each page's blank nodes get labels of their own (pyoxigraph keeps a
file's labels, and ``_:b0`` on page 1 is not ``_:b0`` on page 2), and the Hydra statements are
left out (they describe the pages, which change as the catalogue grows, not the catalogue).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from kg.errors import InputError
from kg.readers.jsonld_contexts import ContextLoader
from kg.readers.rdf import quads
from kg.vocab import HYDRA, RDF

# in a page's bytes whenever it can carry a Hydra view (the namespace, or a JSON-LD context under it)
HYDRA_MARK = b"www.w3.org/ns/hydra/"
VIEW_CLASSES = frozenset({str(HYDRA.PartialCollectionView), str(HYDRA.PagedCollection)})
NEXT_LINKS = frozenset({str(HYDRA.next), str(HYDRA.nextPage)})
_HYDRA = str(HYDRA)
_TYPE = str(RDF.type)


@dataclass
class PageLinks:
    """What a page says about the paging: whether it has a view, and the view's next link(s)."""

    paged: bool = False
    next: list[str] = field(default_factory=list)
    triples: int = 0  # copied (the paging's left out)


def copy_page(
    path: Path,
    syntax: str,
    *,
    url: str,
    number: int,
    out: IO[bytes],
    contexts: ContextLoader | None = None,
) -> PageLinks:
    """Append the page's triples (named graphs merged) to ``out`` as N-Triples, its blank nodes
    labelled ``p{number}_…``, without Hydra's statements; return its paging links.

    :param url: where the page came from: the base of its relative IRIs, and the name in errors.
    :raises InputError: the page cannot be parsed (naming ``url``, with the line where known), or its
        view's next link is not an IRI.
    """
    links = PageLinks()
    views: set[str] = set()
    nexts: dict[str, list[ox.NamedNode | ox.BlankNode | ox.Literal]] = {}
    kept = _kept(quads(path, syntax, url, base=url, contexts=contexts), syntax, views, nexts, links)
    ox.serialize((_relabelled(t, number) for t in kept), out, ox.RdfFormat.N_TRIPLES)
    links.paged = bool(views)
    for view in sorted(views):
        for target in nexts.get(view, []):
            if not isinstance(target, ox.NamedNode):
                raise InputError(f"the page's hydra:next is not a link: {target}", file=url)
            if target.value not in links.next:
                links.next.append(target.value)
    return links


def _kept(
    stream: Iterator[ox.Quad],
    syntax: str,
    views: set[str],
    nexts: dict[str, list],
    links: PageLinks,
) -> Iterator[ox.Triple]:
    """The triples that describe the catalogue; the paging's noted in ``views`` and ``nexts``."""
    for quad in stream:
        if syntax == "n3" and not isinstance(quad.graph_name, ox.DefaultGraph):
            continue  # N3's other graphs are formulae, as the reader has it
        predicate, obj = quad.predicate.value, quad.object
        if predicate.startswith(_HYDRA):
            if predicate in NEXT_LINKS:
                nexts.setdefault(_key(quad.subject), []).append(obj)
            continue
        if predicate == _TYPE and isinstance(obj, ox.NamedNode) and obj.value.startswith(_HYDRA):
            if obj.value in VIEW_CLASSES:
                views.add(_key(quad.subject))
            continue
        links.triples += 1
        yield quad.triple


def _key(term: object) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else str(getattr(term, "value", term))


def _relabelled(triple: ox.Triple, number: int) -> ox.Triple:
    """The triple with its blank nodes made the page's own."""
    subject, obj = triple.subject, triple.object
    if isinstance(subject, ox.BlankNode):
        subject = ox.BlankNode(f"p{number}_{subject.value}")
    if isinstance(obj, ox.BlankNode):
        obj = ox.BlankNode(f"p{number}_{obj.value}")
    if subject is triple.subject and obj is triple.object:
        return triple
    return ox.Triple(subject, triple.predicate, obj)
