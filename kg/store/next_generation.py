"""The next generation's two stores, made from the published one without the graphs a write replaces.

Why a module of its own: :mod:`kg.store.embedded` decides *when* a generation is built and
published; this decides *how* its stores start out, which is a cost trade-off of its own.
Most writes keep most graphs, so the next generation starts as a RocksDB checkpoint of the
current one (hard links, instant) and the replaced graphs are removed from it; when they are
most of the store, removing them costs more than copying the rest (Oxigraph removes a 1 M-triple
graph in ~36 s, bulk-loads ~100,000 triples/s), so the kept graphs are dumped and bulk-loaded
into a fresh store instead. A generation written before the public/private split has its graphs
sorted into the two stores the same way.

A graph copied by a dump and a load has its blank nodes named anew: the functions here return
those graphs' names, for the builders that keep blank nodes' labels.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pyoxigraph as ox

PARTS = ("rdf", "private")  # the two Oxigraph stores of a generation, by folder name
FILES = "records"  # a generation's folder of files kept per source (kg.store.writer.Writer.put_file)


def next_stores(
    previous: Path | None,
    target: Path,
    replace: tuple[str, ...],
    is_private: Callable[[str | None], bool],
    scratch: Path,
    *,
    opened: tuple[ox.Store, ox.Store] | None = None,
) -> tuple[ox.Store, ox.Store, set[str]]:
    """The public and private stores of the next generation in ``target``, without the ``replace``
    graphs, and the graphs copied by a dump and a load (their blank nodes renamed).

    :param previous: the published generation's folder, or None when nothing was published yet.
    :param is_private: whether a graph IRI belongs to the private store.
    :param scratch: where a copied graph's dump is written for the time of its load.
    :param opened: ``previous``'s public and private stores as the writing process already holds
        them open (read-only), else each is opened here. Why: opening a RocksDB store read-only
        costs 10-25 ms; a small write (one graph through the Graph Store) opened seven stores.
    """
    if previous is None:
        return ox.Store(str(target / "rdf")), ox.Store(str(target / "private")), set()
    renamed: set[str] = set()
    if not (previous / "private").is_dir():  # written before the split: sort its graphs
        public, private = _split(previous / "rdf", target, replace, is_private, renamed, scratch)
    else:
        sources = opened or tuple(ox.Store.read_only(str(previous / part)) for part in PARTS)
        public, private = (
            _next_part(source, target / part, replace, renamed, scratch)
            for source, part in zip(sources, PARTS, strict=True)
        )
    return public, private, renamed


def _next_part(
    source: ox.Store, target: Path, replace: tuple[str, ...], renamed: set[str], scratch: Path
) -> ox.Store:
    names = [g for g in source.named_graphs() if isinstance(g, ox.NamedNode)]
    replaced = [g for g in names if g.value in replace]
    if not replaced:
        source.backup(str(target))
        return ox.Store(str(target))
    total = _size(source)
    dropped = sum(_size(source, g) for g in replaced)
    if dropped * 4 <= total - dropped:  # checkpoint + remove is cheaper
        source.backup(str(target))
        store = ox.Store(str(target))
        for g in replaced:
            store.remove_graph(g)
        return store
    store = ox.Store(str(target))  # most of the store is replaced: copy what is kept
    _copy_graphs(source, [ox.DefaultGraph(), *names], replace, lambda g: store, renamed, scratch)
    return store


def _split(
    folder: Path,
    target: Path,
    replace: tuple[str, ...],
    is_private: Callable[[str | None], bool],
    renamed: set[str],
    scratch: Path,
) -> tuple[ox.Store, ox.Store]:
    source = ox.Store.read_only(str(folder))
    public, private = ox.Store(str(target / "rdf")), ox.Store(str(target / "private"))
    graphs = [ox.DefaultGraph(), *(g for g in source.named_graphs() if isinstance(g, ox.NamedNode))]
    _copy_graphs(source, graphs, replace, lambda g: private if is_private(g) else public, renamed, scratch)
    return public, private


def _copy_graphs(
    source: ox.Store,
    graphs: list,
    replace: tuple[str, ...],
    into: Callable[[str | None], ox.Store],
    renamed: set[str],
    scratch: Path,
) -> None:
    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        for g in graphs:
            name = g.value if isinstance(g, ox.NamedNode) else None
            if name in replace:
                continue
            if name is not None:
                renamed.add(name)  # its blank nodes are named anew by the load
            dump = Path(folder) / "graph.nt"
            source.dump(str(dump), format=ox.RdfFormat.N_TRIPLES, from_graph=g)
            into(name).bulk_load(path=str(dump), format=ox.RdfFormat.N_TRIPLES, to_graph=g)


def _size(store: ox.Store, graph: ox.NamedNode | None = None) -> int:
    where = f"GRAPH <{graph.value}> {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
    return int(next(iter(store.query(f"SELECT (COUNT(*) AS ?n) {{ {where} }}")))["n"].value)


def carry_files(previous: Path | None, target: Path, files: Mapping[str, Path | None]) -> None:
    """The next generation's ``records/`` folder: the previous one's files hard-linked (generations
    are never written again, so they can share them), but for those ``files`` names; those given a
    path are moved in."""
    folder = target / FILES
    folder.mkdir(exist_ok=True)
    old = previous / FILES if previous is not None else None
    if old is not None and old.is_dir():
        for item in old.iterdir():
            if item.name not in files and item.is_file():
                os.link(item, folder / item.name)
    for name, path in files.items():
        if path is not None:
            shutil.move(str(path), folder / name)
