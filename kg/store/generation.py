"""A generation being built, as the write and the builders of derived data see it.

:class:`Writer` is what :meth:`kg.store.embedded.Store.write` hands its caller: the two
Oxigraph stores of the next generation (public and private), written with bulk loads and
updates before anybody reads them. :class:`Generation` is what each builder registered
with :meth:`~kg.store.embedded.Store.add_builder` reads once the write is done and before
the generation is published: its graphs, read-only, and where to put derived files.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError, QueryError, StoreError
from kg.store import delta
from kg.store.bulk_load import cut_points, read_pieces
from kg.store.results import FORMATS


class Generation:
    """A generation being built, as derived-data builders see it (read-only, before publication).

    :ivar folder: where to write derived files.
    :ivar previous: the published generation's folder (to update its files incrementally), or None.
    :ivar changed: graphs this write replaced or touched; empty when unknown (rebuild everything).
    :ivar renamed: graphs the write kept but copied by a dump and a load, which named their blank
        nodes anew (same triples, other labels): for builders that keep blank nodes' labels.
    :ivar labelled: graphs loaded from one file with its blank-node labels kept
        (:meth:`Writer.load` ``keep_labels``), and nothing else written to them: a builder may
        derive from that file what it would read of the graph, blank nodes included.
    :ivar touched: of the ``changed`` graphs, those the write patched (:meth:`Writer.patch`), each
        with the N-Triples lines whose presence may differ from the previous generation's (and the
        lines of the records it replaced): a builder may copy what it derived of the rest of the
        graph and derive again only what those lines' subjects and terms are part of. A changed
        graph without an entry changed whole.
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
        for row in result:
            yield {n: (row[n].value if row[n] is not None else None) for n in names}

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


class Writer:
    """The stores of a generation being built; only valid inside :meth:`Store.write`.

    Graphs whose IRI starts with one of ``private_graphs`` go to the private store.
    """

    def __init__(
        self, store: ox.Store | None, private: ox.Store | None, private_graphs: tuple[str, ...]
    ) -> None:
        self.store = store
        self.private = private
        self._prefixes = private_graphs
        self.labelled: set[str] = set()  # see Generation.labelled
        self.touched: dict[str, frozenset[bytes]] = {}  # see Generation.touched and patch
        self.moved: dict[str, frozenset[bytes]] = {}  # see Generation.moved and patch
        self.files: dict[str, Path | None] = {}  # see put_file

    def put_file(self, name: str, path: Path | None) -> None:
        """A file (``path``, moved in) of the generation's ``records/`` folder, by ``name``; ``None``
        leaves the previous generation's file of that name out. The others are carried forward.

        Why here: what an ingest keeps beside the graphs it wrote (its per-record hashes and results,
        :mod:`kg.ingest.memo`) must be published with them and in no other generation.
        """
        self.files[name] = path

    def close(self) -> None:
        self.store = None
        self.private = None

    def _for(self, graph: str | None) -> ox.Store:
        return self.private if graph and graph.startswith(self._prefixes) else self.store

    CHUNK_BYTES = 64 << 20  # N-Triples bulk-loaded per call (about 450,000 triples)
    # N-Triples loaded per call with their labels kept: the piece is parsed into quads that
    # pyoxigraph's bulk_extend holds all at once beside the loader's own buffers (64 MB pieces
    # peaked the ingest's main process at 1,111 MB at 100,000 datasets; a load of 180 MB alone
    # (1.38 M triples) peaked at 628 MB in 64 MB pieces, 343 MB in 32 and 253 MB in 16, for 9 % and
    # 23-36 % more CPU in the load on a loaded machine)
    LABELLED_CHUNK_BYTES = 32 << 20

    def load(
        self,
        path: Path | str,
        *,
        graph: str,
        fmt: str = "nt",
        leave_out: Sequence[tuple[int, int]] = (),
        keep_labels: bool = False,
    ) -> None:
        """Bulk-load a file into ``graph`` (fast, not transactional: the generation is private);
        ``leave_out``: (start, end) offsets of N-Triples lines to skip (:func:`read_pieces`);
        ``keep_labels``: keep the file's blank-node labels (N-Triples whose labels no other graph
        uses: an ingest's, see :func:`kg.ingest.workers.unique_labels`), so that what was derived
        from the file names the store's blank nodes (:attr:`Generation.labelled`).

        N-Triples is loaded in pieces of about :attr:`CHUNK_BYTES`, cut at line ends that no blank
        node spans (:mod:`kg.store.bulk_load`: the loader names blank nodes anew on every call):
        Oxigraph's bulk loader holds what one call loads, so at 100,000 datasets (4.6 M
        triples) one call peaked at 1,689 MB and pieces of 500,000 triples at 591 MB.
        """
        store, target = self._for(graph), ox.NamedNode(graph)
        self._forget(graph)
        try:
            size = self.LABELLED_CHUNK_BYTES if keep_labels else self.CHUNK_BYTES
            big = fmt == "nt" and os.path.getsize(path) > size
            cuts = cut_points(path, size=size) if big else []
            if keep_labels and fmt == "nt":
                self._load_labelled(store, read_pieces(path, cuts, leave_out), graph)
                return
            if not cuts and not leave_out:
                store.bulk_load(path=str(path), format=FORMATS[fmt], to_graph=target)
                return
            for piece in read_pieces(path, cuts, leave_out):
                store.bulk_load(input=piece, format=FORMATS[fmt], to_graph=target)
        except SyntaxError as exc:
            raise StoreError(f"cannot load {path}: {exc}") from exc

    def _load_labelled(self, store: ox.Store, pieces: Iterable[bytes], graph: str) -> None:
        """N-Triples pieces into ``graph`` with their blank-node labels (the bulk loader names them
        anew, and has no option not to): each piece as N-Quads of ``graph``, parsed and added in Rust,
        at the bulk loader's cost (measured: 3.6 CPU s either way for 460,000 triples)."""
        suffix = f" <{graph}> .\n".encode()
        for piece in pieces:
            quads = ox.parse(input=piece.replace(b" .\n", suffix), format=ox.RdfFormat.N_QUADS)
            store.bulk_extend(quads)
        self.labelled.add(graph)

    def patch(
        self,
        graph: str,
        remove: Collection[bytes],
        add: Collection[bytes],
        *,
        labelled: bool,
        touched: Iterable[bytes] = (),
    ) -> tuple[int, int]:
        """Remove the ``remove`` N-Triples lines from ``graph`` and add the ``add`` ones, blank-node
        labels kept (:mod:`kg.store.delta`); the number of lines really taken out and put in.
        ``labelled``: the graph is now what one file holds, named as it names its blank nodes
        (:attr:`Generation.labelled`). ``touched``: more lines whose subjects' derived rows are to
        be made again (those of the records the patch replaced), beside ``remove`` and ``add``
        (:attr:`Generation.touched`); of all these, those whose presence changed are
        :attr:`Generation.moved`."""
        self._forget(graph)
        done = delta.patch(self._for(graph), graph, remove, add)
        if labelled:
            self.labelled.add(graph)
        self.touched[graph] = frozenset({*remove, *add, *touched})
        self.moved[graph] = done.removed | done.added
        return len(done.removed), len(done.added)

    def replace_by_difference(self, data: Path | bytes, *, graph: str) -> bool:
        """Make ``graph`` what N-Triples ``data`` holds by the triples that differ, which are then its
        touched and moved lines (:class:`Generation`); False (nothing done) when it cannot: blank
        nodes (:func:`kg.store.delta.replace_by_difference`)."""
        self._forget(graph)
        done = delta.replace_by_difference(self._for(graph), graph, data)
        if done is not None:
            self.touched[graph] = self.moved[graph] = done.removed | done.added
        return done is not None

    def _forget(self, graph: str) -> None:
        """``graph`` is written otherwise than by one patch: what was said of it no longer holds."""
        self.labelled.discard(graph)
        self.touched.pop(graph, None)
        self.moved.pop(graph, None)

    def names_blank_nodes_as(self, graph: str, lines: Iterable[bytes]) -> bool:
        """Whether ``graph`` holds each of these N-Triples lines with their blank nodes' labels."""
        return delta.names_blank_nodes_as(self._for(graph), graph, lines)

    def load_text(self, text: str, *, graph: str, fmt: str = "nt") -> None:
        self._forget(graph)
        try:
            self._for(graph).load(
                input=text.encode("utf-8"), format=FORMATS[fmt], to_graph=ox.NamedNode(graph)
            )
        except SyntaxError as exc:
            raise StoreError(f"cannot load data into {graph}: {exc}") from exc

    def load_bytes(self, data: bytes, *, graph: str | None, fmt: str) -> None:
        """Load a request body into a graph (``None``: the default graph), in one transaction.

        :raises InputError: if the data does not parse.
        """
        target = ox.NamedNode(graph) if graph else ox.DefaultGraph()
        self._forget(graph or "")
        try:
            self._for(graph).load(input=data, format=FORMATS[fmt], to_graph=target)
        except SyntaxError as exc:
            raise InputError(f"the {fmt} data does not parse: {exc}") from exc

    def drop(self, graph: str) -> None:
        node = ox.NamedNode(graph)
        store = self._for(graph)
        self._forget(graph)
        if store.contains_named_graph(node):
            store.remove_graph(node)

    def update(self, sparql: str, *, private: bool = False) -> None:
        """Apply a SPARQL update to the public store (``private``: to the private one)."""
        if not private:
            self.labelled.clear()  # it may have touched any graph
            self.touched.clear()
            self.moved.clear()
        try:
            (self.private if private else self.store).update(sparql)
        except SyntaxError as exc:
            raise QueryError(str(exc)) from exc
        except RuntimeError as exc:  # pyoxigraph's evaluation errors: DROP GRAPH of a missing graph,
            raise QueryError(str(exc)) from exc  # CREATE GRAPH of an existing one (the update's fault)
