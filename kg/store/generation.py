"""A generation being built, as the builders of derived data see it.

:class:`Generation` is what each builder registered with
:meth:`~kg.store.embedded.Store.add_builder` reads once the write is done and before the
generation is published: its graphs, read-only, and where to put derived files. What the write
itself hands its caller is :class:`kg.store.writer.Writer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox

from kg.errors import QueryError, StoreError


class Generation:
    """A generation being built, as derived-data builders see it (read-only, before publication).

    :ivar folder: where to write derived files.
    :ivar previous: the published generation's folder (to update its files incrementally), or None.
    :ivar changed: graphs this write replaced or touched; empty when unknown (rebuild everything).
    :ivar renamed: graphs the write kept but copied by a dump and a load, which named their blank
        nodes anew (same triples, other labels): for builders that keep blank nodes' labels.
    :ivar labelled: graphs loaded from one file with its blank-node labels kept
        (:meth:`kg.store.writer.Writer.load` ``keep_labels``), and nothing else written to them: a
        builder may derive from that file what it would read of the graph, blank nodes included.
    :ivar touched: of the ``changed`` graphs, those the write patched
        (:meth:`kg.store.writer.Writer.patch`), each with the N-Triples lines whose presence may
        differ from the previous generation's (and the lines of the records it replaced): a builder
        may copy what it derived of the rest of the graph and derive again only what those lines'
        subjects and terms are part of. A changed graph without an entry changed whole.
    :ivar moved: of the ``touched`` graphs, the lines whose presence differs from the previous
        generation's (:class:`kg.store.delta.Patched`): a builder that counts terms (VoID) looks
        up only those, a few of the touched lines.
    :ivar previous_store: the previous generation's public store, read-only: given by a writer
        that holds it open already, else opened on first use.
    """

    _VALUE = ox.NamedNode("urn:kg:value")  # the predicate of :meth:`stored_literals`' scratch store

    def __init__(
        self,
        folder: Path,
        previous: Path | None,
        changed: set[str],
        store: ox.Store,
        private_graphs: tuple[str, ...],
    ) -> None:
        self.folder = folder
        self.previous = previous
        self.changed = changed
        self.renamed: set[str] = set()
        self.labelled: set[str] = set()
        self.touched: dict[str, frozenset[bytes]] = {}
        self.moved: dict[str, frozenset[bytes]] = {}
        self._store: ox.Store | None = store
        self._private = private_graphs
        self._private_store: ox.Store | None = None  # opened when a builder first asks for it
        self.previous_store: ox.Store | None = None  # opened when a builder first asks for it

    def data_graphs(self) -> list[str]:
        """The public named graphs (the private ones are in another store)."""
        assert self._store is not None
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def rows(
        self, sparql: str, *, default_graphs: list[str] | None = None, private: bool = False
    ) -> Iterator[dict[str, str | None]]:
        """SELECT results as dicts of plain strings (None for unbound), default graph = the public graphs;
        ``private``: on the private graphs (quarantine, reports, runs), which GRAPH patterns reach."""
        assert self._store is not None
        store = self._store
        if private:
            if self._private_store is None:
                folder = self.folder / "private"
                self._private_store = ox.Store.read_only(str(folder)) if folder.is_dir() else ox.Store()
            store = self._private_store
        return self._rows(store, sparql, default_graphs)

    @staticmethod
    def _rows(
        store: ox.Store, sparql: str, default_graphs: list[str] | None
    ) -> Iterator[dict[str, str | None]]:
        if default_graphs is None:
            kwargs: dict = {"use_default_graph_as_union": True}
        else:
            kwargs = {"default_graph": [ox.NamedNode(g) for g in default_graphs] or ox.DefaultGraph()}
        try:
            result = store.query(sparql, **kwargs)
        except SyntaxError as exc:
            raise QueryError(str(exc)) from exc
        names = [v.value for v in result.variables]
        for row in result:  # a solution's terms in the order of its variables: a lookup by name
            # (row[name]) cost 2.5-4x as much, ~0.1 CPU-s of each small ingest's derived build
            yield {n: (term.value if term is not None else None) for n, term in zip(names, row, strict=True)}

    def graph_ntriples(self, graph: str, *, previous: bool = False) -> Iterator[str]:
        """The triples of the public graph ``graph`` as N-Triples lines, in pyoxigraph's own form
        (``<s> <p> <o> .``), those of one subject together as the store keeps them (by subject);
        ``previous``: of the previous generation (none there: no lines).

        Why not :meth:`rows`: a builder that keeps whole descriptions (the catalogue pages') reads
        every triple of a graph once; Oxigraph's own dump writes them in Rust, through a file in
        the generation's folder (removed after), with no Python object per term.
        """
        store = self._previous() if previous else self._store
        assert store is not None
        if not store.contains_named_graph(ox.NamedNode(graph)):
            return
        path = self.folder / "graph.nt.tmp"
        try:
            store.dump(str(path), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
            with path.open(encoding="utf-8") as lines:
                yield from lines
        finally:
            path.unlink(missing_ok=True)

    def previous_rows(
        self, sparql: str, *, default_graphs: list[str] | None = None
    ) -> Iterator[dict[str, str | None]]:
        """:meth:`rows` on the public graphs of the *previous* generation (published, so opened
        read-only like any reader's), for builders that update figures by difference (VoID).

        :raises StoreError: if there is no previous generation.
        """
        return self._rows(self._previous(), sparql, default_graphs)

    def _previous(self) -> ox.Store:
        if self.previous_store is None:
            if self.previous is None or not (self.previous / "rdf").is_dir():
                raise StoreError("there is no previous generation to compare with")
            self.previous_store = ox.Store.read_only(str(self.previous / "rdf"))
        return self.previous_store

    _ANY = "<urn:kg:any>"  # what a pattern's missing term is written as, to be parsed

    def matches(
        self,
        patterns: Sequence[tuple[str | None, str | None, str | None]],
        *,
        graph: str | None = None,
        previous: bool = False,
    ) -> list[bool]:
        """Whether each (subject, predicate, object) pattern, N-Triples terms or None for any term,
        matches a triple of the public ``graph`` (None: of any public graph or the default graph),
        in this generation or (``previous``) the one before.

        Why: builders that update figures by difference (VoID) look up the few terms a patch
        touched (:attr:`touched`), a lookup in an index each, where a query per term costs a parse.
        """
        store = self._previous() if previous else self._store
        assert store is not None
        any_ = self._ANY
        text = "".join(f"{s or any_} {p or any_} {o or any_} .\n" for s, p, o in patterns).encode()
        triples = list(ox.parse(input=text, format=ox.RdfFormat.N_TRIPLES)) if text else []
        target = ox.NamedNode(graph) if graph else None
        found = []
        for (s, p, o), triple in zip(patterns, triples, strict=True):
            hits = store.quads_for_pattern(
                triple.subject if s else None,
                triple.predicate if p else None,
                triple.object if o else None,
                target,
            )
            found.append(next(iter(hits), None) is not None)
        return found

    @staticmethod
    def subjects(lines: Iterable[bytes]) -> set[str]:
        """The subjects of N-Triples lines, as the store writes them back: an IRI's text, or a blank
        node's ``_:label`` (the keys of :mod:`kg.derived.descriptions`' rows)."""
        text = b"".join(lines)
        found = ox.parse(input=text, format=ox.RdfFormat.N_TRIPLES) if text else ()
        return {t.subject.value if isinstance(t.subject, ox.NamedNode) else str(t.subject) for t in found}

    def close(self) -> None:
        self._store = None
        self._private_store = None
        self.previous_store = None

    @staticmethod
    def stored_ntriples(texts: Sequence[str]) -> list[str]:
        """Each N-Triples text as the store writes it back (:meth:`graph_ntriples`), blank-node labels
        kept: typed literals canonical, IRIs and literals escaped as pyoxigraph writes them, each
        triple once, one subject's together.

        Why: derived data made from an ingest's own N-Triples (in its worker processes) must be
        what a builder would have read from the store, without the store decoding every triple.
        """
        if not texts:
            return []
        scratch = ox.Store()  # in memory: the store's own encoding, both ways
        graphs = [f"<urn:kg:text:{i}> .\n" for i in range(len(texts))]
        quads = "".join(text.replace(" .\n", graph) for text, graph in zip(texts, graphs, strict=True))
        scratch.extend(ox.parse(input=quads.encode("utf-8"), format=ox.RdfFormat.N_QUADS))
        return [
            scratch.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(f"urn:kg:text:{i}")).decode()
            for i in range(len(texts))
        ]

    @staticmethod
    def stored_literals(literals: list[tuple[str, str]]) -> list[str]:
        """The lexical forms the store keeps for typed literals given as (text, datatype IRI).

        Why: Oxigraph keeps numbers, dates, booleans and durations in canonical form
        (``"01"^^xsd:integer`` reads back as ``"1"``), so data derived from a source's
        triples without a query (kg.search) must canonicalise them the same way. A
        datatype that is not an IRI is kept as given (such a triple does not load anyway).
        """
        out = [text for text, _ in literals]
        if not literals:
            return out
        scratch = ox.Store()  # in memory: the store's own encoding, both ways
        quads = []
        for i, (text, datatype) in enumerate(literals):
            try:
                value = ox.Literal(text, datatype=ox.NamedNode(datatype))
                quads.append(ox.Quad(ox.NamedNode(f"urn:kg:{i}"), Generation._VALUE, value))
            except ValueError:
                continue
        scratch.extend(quads)
        for quad in scratch.quads_for_pattern(None, Generation._VALUE, None, ox.DefaultGraph()):
            out[int(quad.subject.value[7:])] = quad.object.value
        return out
