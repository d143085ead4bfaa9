"""Writes to a remote store: staging, the one publishing update, and derived-file builds.

Split from :mod:`kg.remote` (reading); see its docstring for why a write is staged in
private graphs and published by one update request with a new version.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
import urllib3

from kg.errors import InputError, QueryError, QueryTimeout, StoreError
from kg.pieces import cut_points, read_pieces
from kg.sparql_text import graphs_named, split_prologue, tokens
from kg.store import FORMATS, Generation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from kg.remote import RemoteStore

STATE = "urn:kg:state"
VERSION = "urn:kg:version"
GRAPHS = "urn:kg:graph"  # graphs the service wrote outside its own ``<base>graph/`` (by GSP or update)


class RemoteGeneration(Generation):
    """A published version as builders of derived files see it (:class:`kg.store.Generation`)."""

    def __init__(self, folder: Path, previous: Path | None, changed: set[str], store: RemoteStore) -> None:
        super().__init__(folder, previous, changed, None, store.private_graphs)  # type: ignore[arg-type]
        self._remote = store

    def data_graphs(self) -> list[str]:
        return self._remote.data_graphs()

    def rows(
        self, sparql: str, *, default_graphs: list[str] | None = None, private: bool = False
    ) -> Iterator[dict[str, str | None]]:
        response = self._remote.send_query(
            sparql,
            accept="application/sparql-results+json",
            default_graphs=default_graphs,
            named_graphs=None if default_graphs is None or private else [],
            private=private,
        )
        result = json.loads(canonical_booleans(response.data))
        names = result["head"]["vars"]
        for row in result["results"]["bindings"]:
            yield {n: row[n]["value"] if n in row else None for n in names}


class RemoteWriter:
    """A write being staged; only valid inside :meth:`RemoteStore.write`.

    Loads go to staging graphs at once (in pieces); drops and updates are kept, in order,
    for the one update request that publishes the write.
    """

    def __init__(self, store: RemoteStore, staging: str) -> None:
        self._store = store
        self._staging = staging
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
        response = self._store.request(
            "POST",
            self._store._gsp(staged),
            body=data,
            headers={"Content-Type": "application/n-triples"},
        )
        check_answer(response, "load")

    def load(self, path: Path | str, *, graph: str, fmt: str = "nt") -> None:
        """Send an N-Triples file to a staging graph in pieces cut at line ends that no blank
        node spans (:mod:`kg.pieces`: a store names blank nodes anew in every request)."""
        if fmt != "nt":
            self.load_bytes(Path(path).read_bytes(), graph=graph, fmt=fmt)
            return
        if os.path.getsize(path) == 0:
            return
        staged = self._stage(graph)
        for piece in read_pieces(path, cut_points(path, size=self._store.CHUNK_BYTES)):
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
            self._post(self._stage(graph or self._store.default_graph), data)

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
        foreign = sorted({g for g in self._targets if not g.startswith(self._store.own_graphs)})
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
            self._store._post_update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in self._staged))


def check_answer(response: urllib3.BaseHTTPResponse, what: str) -> None:
    """A 4xx is the request's fault (the store's message as a QueryError); anything else a StoreError."""
    if response.status < 300:
        return
    text = response.data.decode("utf-8", "replace").strip()[:2000]
    if 400 <= response.status < 500 and response.status not in (401, 403, 404, 407, 408, 429):
        raise QueryError(text or f"the remote store refused the {what} ({response.status})")
    raise StoreError(f"the remote store answered the {what} with {response.status}: {text[:300]}")


BOOLEAN = b"http://www.w3.org/2001/XMLSchema#boolean"


def canonical_booleans(data: bytes) -> bytes:
    """SPARQL JSON results with xsd:boolean values in canonical form: Virtuoso writes ``1``/``0``
    where the app's code, like Oxigraph, reads ``true``/``false``."""
    if BOOLEAN not in data or not data.lstrip().startswith(b"{"):
        return data
    doc = json.loads(data)
    for row in doc.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("datatype") == BOOLEAN.decode() and term.get("value") in ("1", "0"):
                term["value"] = "true" if term["value"] == "1" else "false"
    return json.dumps(doc).encode()
