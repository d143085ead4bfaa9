"""The files derived from a remote store (the search index, the pages' tables), kept per version
in ``KG_STORE/remote/<version>/``.

The writer builds them before its write returns; a web machine that finds none for the
published version builds them from the store in the background and serves the newest one it
has meanwhile (see docs/production.md, "Scaling out"). The builders are the embedded store's
(:meth:`kg.store.embedded.Store.add_builder`): they read a :class:`RemoteGeneration`, which
answers their queries from the remote store.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
import urllib3

from kg.errors import StoreError
from kg.store.generation import Generation
from kg.store.remote_http import GRAPH_TYPES, canonical_booleans, media_type
from kg.store.results import FORMATS

KEEP_VERSIONS = 3  # folders of derived files kept, the newest ones


class QueriedStore(Protocol):
    """What a :class:`RemoteGeneration` reads through: :class:`kg.store.remote.RemoteStore`."""

    private_graphs: tuple[str, ...]

    def data_graphs(self) -> list[str]: ...
    def send_query(
        self,
        sparql: str,
        *,
        accept: str,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        private: bool | None = False,
        stream: bool = False,
    ) -> urllib3.BaseHTTPResponse: ...


class RemoteGeneration(Generation):
    """A published version as builders of derived files see it (:class:`kg.store.generation.Generation`)."""

    def __init__(self, folder: Path, previous: Path | None, changed: set[str], store: QueriedStore) -> None:
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

    def graph_ntriples(self, graph: str) -> Iterator[str]:
        """:meth:`kg.store.generation.Generation.graph_ntriples`: the graph asked for as N-Triples,
        each triple written again by pyoxigraph (its own form, whatever the server's)."""
        response = self._remote.send_query(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
            accept="application/n-triples",
            private=None,
            stream=True,
        )
        kind = media_type(response)
        if kind not in GRAPH_TYPES:
            raise StoreError(f"the remote store answered a CONSTRUCT with an unexpected type {kind!r}")
        try:
            for quad in ox.parse(response, format=FORMATS[GRAPH_TYPES[kind]]):
                yield f"{quad.triple} .\n"
        finally:
            response.release_conn()


class DerivedFiles:
    """The derived files of one remote store: ``root`` is ``KG_STORE/remote``."""

    def __init__(self, root: Path, store: QueriedStore) -> None:
        self.root = root
        self._store = store
        self.builders: list[Callable[[Generation], None]] = []
        self._building: set[str] = set()
        self._lock = threading.Lock()

    def folder(self, version: str) -> Path | None:
        """The folder of ``version``'s files, or the newest one built so far while that one is being
        built (in the background: the first request must not wait)."""
        folder = self.root / version
        if folder.is_dir():
            return folder
        self.build_in_background(version)
        built = sorted(p for p in self.root.glob("*") if p.is_dir() and "." not in p.name)
        return built[-1] if built else None

    def build(self, version: str, previous: str, changed: set[str]) -> None:
        """Build ``version``'s files: incrementally from ``previous``'s when they are here."""
        if not self.builders:
            return
        root = self.root
        folder = root / version
        tmp = root / f"{version}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        before = root / previous if previous and (root / previous).is_dir() else None
        generation = RemoteGeneration(tmp, before, changed if before else set(), self._store)
        try:
            for builder in self.builders:
                builder(generation)
            if not folder.exists():
                tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in sorted(p for p in root.iterdir() if p.is_dir() and "." not in p.name)[:-KEEP_VERSIONS]:
            shutil.rmtree(old, ignore_errors=True)

    def build_in_background(self, version: str) -> None:
        with self._lock:
            if version in self._building:
                return
            self._building.add(version)

        def build() -> None:
            try:
                self.build(version, "", set())
            except Exception:  # noqa: BLE001 - retried by the next request that needs it
                logging.getLogger(__name__).exception("building the derived files of %s failed", version)
            finally:
                with self._lock:
                    self._building.discard(version)

        threading.Thread(target=build, daemon=True, name=f"kg-derive-{version}").start()
