"""A write to a remote store: loads staged in private graphs, published by one update request.

See :mod:`kg.store.remote` for why: a store that runs one update request in one transaction
shows readers the old graphs or the new ones, never half a source.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

import pyoxigraph as ox

from kg.errors import InputError, QueryError, QueryTimeout, StoreError
from kg.sparql_text import split_prologue, tokens
from kg.sparql_updates import graphs_named
from kg.store.bulk_load import cut_points, read_pieces
from kg.store.remote_http import GRAPHS, STATE, VERSION, RemoteEndpoints, check_answer
from kg.store.results import FORMATS


class RemoteWriter:
    """A write being staged; only valid inside :meth:`kg.store.remote.RemoteStore.write`.

    Loads go to staging graphs at once (in pieces); drops and updates are kept, in order,
    for the one update request that publishes the write.
    """

    def __init__(
        self,
        endpoints: RemoteEndpoints,
        staging: str,
        *,
        default_graph: str,
        own_graphs: str,
        chunk_bytes: int,
    ) -> None:
        self._endpoints = endpoints
        self._staging = staging
        self._default_graph = default_graph  # the named graph that stands for the service's default
        self._own_graphs = own_graphs  # <base>graph/: graphs outside it are listed in the state graph
        self._chunk_bytes = chunk_bytes  # N-Triples sent per Graph Store request
        self._steps: list[str] = []
        self._staged: list[str] = []
        self._targets: set[str] = set()  # graphs this write may create

    def _stage(self, graph: str) -> str:
        self._targets.add(graph)
        staged = f"{self._staging}{len(self._staged)}"
        self._staged.append(staged)
        self._steps.append(f"ADD SILENT GRAPH <{staged}> TO GRAPH <{graph}> ;\nDROP SILENT GRAPH <{staged}>")
        return staged

    def _post(self, staged: str, data: bytes) -> None:
        response = self._endpoints.request(
            "POST",
            self._endpoints.graph_url(staged),
            body=data,
            headers={"Content-Type": "application/n-triples"},
        )
        check_answer(response, "load")

    def load(
        self,
        path: Path | str,
        *,
        graph: str,
        fmt: str = "nt",
        leave_out: Sequence[tuple[int, int]] = (),
        keep_labels: bool = False,
    ) -> None:
        """Send an N-Triples file to a staging graph in pieces cut at line ends that no blank
        node spans (:mod:`kg.store.bulk_load`: a store names blank nodes anew in every request);
        ``leave_out``: (start, end) offsets of lines to skip. ``keep_labels`` is not honoured (a
        SPARQL store names blank nodes itself): the remote generation's ``labelled`` stays empty."""
        if fmt != "nt":
            self.load_bytes(Path(path).read_bytes(), graph=graph, fmt=fmt)
            return
        if os.path.getsize(path) == 0:
            return
        staged = self._stage(graph)
        for piece in read_pieces(path, cut_points(path, size=self._chunk_bytes), leave_out):
            self._post(staged, piece)

    def load_text(self, text: str, *, graph: str, fmt: str = "nt") -> None:
        self.load_bytes(text.encode("utf-8"), graph=graph, fmt=fmt)

    def load_bytes(self, data: bytes, *, graph: str | None, fmt: str) -> None:
        """Stage data for a graph (``None``: the default graph), as N-Triples.

        :raises InputError: if the data does not parse.
        """
        if fmt != "nt":
            try:
                triples = [q.triple for q in ox.parse(data, format=FORMATS[fmt])]
            except SyntaxError as exc:
                raise InputError(f"the {fmt} data does not parse: {exc}") from exc
            out = io.BytesIO()
            ox.serialize(triples, out, format=ox.RdfFormat.N_TRIPLES)
            data = out.getvalue()
        if data.strip():
            self._post(self._stage(graph or self._default_graph), data)

    def drop(self, graph: str) -> None:
        self._steps.append(f"DROP SILENT GRAPH <{graph}>")

    def update(self, sparql: str, *, private: bool = False) -> None:
        """Apply a SPARQL update with the publication (``private`` is the embedded store's routing)."""
        toks = list(tokens(sparql))
        if not toks:
            raise QueryError("empty update")
        self._steps.append(sparql.rstrip().removesuffix(";") if toks[-1].text == ";" else sparql)
        self._targets.update(graphs_named(sparql))

    def publication(self, replace: tuple[str, ...], version: str) -> str:
        """The one update request that publishes this write."""
        steps = [f"DROP SILENT GRAPH <{g}>" for g in replace]
        prologue: list[str] = []
        for step in self._steps:  # one prologue, at the start: some stores take no other
            declared, rest = split_prologue(step)
            prologue.append(declared)
            steps.append(rest)
        foreign = sorted({g for g in self._targets if not g.startswith(self._own_graphs)})
        if foreign:
            listed = " ".join(f"<{STATE}> <{GRAPHS}> <{g}> ." for g in foreign)
            steps.append(f"INSERT DATA {{ GRAPH <{STATE}> {{ {listed} }} }}")
        steps.append(f"DELETE WHERE {{ GRAPH <{STATE}> {{ <{STATE}> <{VERSION}> ?v }} }}")
        steps.append(f'INSERT DATA {{ GRAPH <{STATE}> {{ <{STATE}> <{VERSION}> "{version}" }} }}')
        return "".join(prologue) + " ;\n".join(s for s in steps if s.strip())

    def discard(self) -> None:
        """Drop what was staged (best effort: a failed write leaves the published graphs as they were)."""
        if not self._staged:
            return
        with suppress(StoreError, QueryError, QueryTimeout):
            self._endpoints.post_update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in self._staged))
