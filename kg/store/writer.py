"""The generation being written, as :meth:`kg.store.embedded.Store.write` hands it to its caller.

:class:`Writer` holds the two Oxigraph stores of the next generation (public and private),
written with bulk loads, patches and updates before anybody reads them, and what the write tells
the builders of derived data about them (:class:`kg.store.generation.Generation`: which graphs it
loaded from one file, patched, or replaced by difference).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError, QueryError, StoreError
from kg.store import delta
from kg.store.bulk_load import cut_points, read_pieces
from kg.store.results import FORMATS


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
