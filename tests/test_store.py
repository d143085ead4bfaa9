"""kg.store: immutable generations swapped in atomically, one writer, readers that follow along.

The tests of the interface run on the remote store too (``KG_TEST_STORE=oxigraph``): there a
write is staged and published in one update request, and versions are ``000001-<tag>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import backend
import pytest
from conftest import ROOT

from kg.errors import QueryError, StoreBusy
from kg.store.embedded import Store
from kg.store.publication import KEEP_GENERATIONS

GRAPH = "http://kg.test/graph/one"
OTHER = "http://kg.test/graph/other"


def make(path: Path, private: tuple[str, ...] = ()):
    """A store at ``path``: embedded, or remote on a fresh server when the suite runs remote."""
    if not backend.REMOTE:
        return Store(path, private_graphs=private)
    from kg.store.remote import RemoteStore

    urls = backend.settings_for(path)
    return RemoteStore(
        path,
        query_url=urls["store_query_url"],
        update_url=urls["store_update_url"],
        gsp_url=urls["store_gsp_url"],
        private_graphs=(*private, "http://kg.test/graph/staging/"),
        default_graph="http://kg.test/graph/default",
        staging_prefix="http://kg.test/graph/staging/",
    )


def reopen(store):
    """A second store object on the same store (another process's view of it)."""
    if not getattr(store, "remote", False):
        return Store(store.path, private_graphs=store.private_graphs)
    from kg.store.remote import RemoteStore

    return RemoteStore(
        store.path,
        query_url=store.query_url,
        update_url=store.update_url,
        gsp_url=store.gsp_url,
        private_graphs=store.private_graphs,
        default_graph=store.default_graph,
        staging_prefix=store.staging_prefix,
    )


def number(version: str) -> int:
    """The counter of a version (embedded: ``000002``; remote: ``000002-1f2e3d4c``)."""
    return int(version.split("-")[0])


def ntriples(value: str, n: int = 3) -> str:
    return "".join(f'<http://kg.test/thing/{i}> <http://kg.test/p> "{value}" .\n' for i in range(n))


def put(store: Store, value: str, *, graph: str = GRAPH, n: int = 3) -> None:
    with store.write(replace=(graph,)) as writer:
        writer.load_text(ntriples(value, n), graph=graph)


def values(store: Store) -> set[str]:
    return {row["o"].value for row in store.query("SELECT DISTINCT ?o WHERE { ?s ?p ?o }")}


def generations(store: Store) -> list[str]:
    return sorted(p.name for p in (store.path / "generations").iterdir())


def test_a_write_publishes_a_new_generation(tmp_path):
    store = make(tmp_path / "store")
    assert store.version() == ""
    assert values(store) == set(), "an empty store answers"
    put(store, "a")
    assert number(store.version()) == 1
    if not backend.REMOTE:
        assert os.readlink(store.path / "current") == "generations/000001"
    assert values(store) == {"a"}
    put(store, "b")
    assert number(store.version()) == 2
    assert values(store) == {"b"}, "the replaced graph is gone"
    put(store, "c", graph=OTHER)
    assert values(store) == {"b", "c"}, "other graphs are kept"
    assert store.named_graphs() == [GRAPH, OTHER]
    assert store.count(GRAPH) == 3


def test_private_graphs_are_kept_apart_from_the_public_ones(tmp_path):
    store = make(tmp_path / "store", ("http://kg.test/graph/other",))
    put(store, "public")
    put(store, "private", graph=OTHER)
    assert values(store) == {"public"}
    assert store.data_graphs() == [GRAPH]
    assert store.named_graphs() == [GRAPH, OTHER]
    in_other = f"SELECT ?o WHERE {{ GRAPH <{OTHER}> {{ ?s ?p ?o }} }}"
    assert not list(store.query(in_other)), "public queries do not reach a private graph"
    assert {r["o"].value for r in store.query(in_other, private=True)} == {"private"}
    assert {r["o"].value for r in store.query("SELECT ?o { ?s ?p ?o }", private=True)} == {"private"}
    assert store.count(OTHER) == len(list(store.graph_triples(OTHER))) == store.count(GRAPH) > 0
    assert store.has_graph(OTHER) and "private" in {t.object.value for t in store.graph_triples(OTHER)}
    if not backend.REMOTE:
        folder = store.folder()
        assert (folder / "rdf").is_dir() and (folder / "private").is_dir()


def test_a_bad_query_is_a_query_error(tmp_path):
    store = make(tmp_path / "store")
    put(store, "a")
    with pytest.raises(QueryError):
        store.query("SELECT ?s WHERE { ?s ?p }")


def failing_write(store: Store) -> None:
    with store.write(replace=(GRAPH,)) as writer:
        writer.load_text(ntriples("new"), graph=GRAPH)
        raise RuntimeError("the mapper broke half-way")


def test_an_exception_inside_write_keeps_the_previous_generation(tmp_path):
    store = make(tmp_path / "store")
    put(store, "old")
    published = store.version()
    with contextlib.suppress(RuntimeError):
        failing_write(store)
    assert store.version() == published and number(published) == 1
    assert values(store) == {"old"}
    assert reopen(store).version() == published
    if backend.REMOTE:  # the staged graph is dropped again
        assert store.named_graphs() == [GRAPH]
        assert not bool(store.query("ASK { GRAPH ?g { ?s ?p 'new' } }", private=None))
    else:
        assert not [g for g in generations(store) if g.endswith(".tmp")]
    put(store, "newer")
    assert values(store) == {"newer"}


def test_the_next_write_succeeds_while_the_failed_one_is_still_referenced(tmp_path):
    store = make(tmp_path / "store")
    put(store, "old")
    # a caller that keeps the error (to log or report it) and its writer variable
    with pytest.raises(RuntimeError) as failed, store.write(replace=(GRAPH,)) as writer:
        writer.load_text(ntriples("new"), graph=GRAPH)
        raise RuntimeError("the mapper broke half-way")
    assert failed.value is not None and writer is not None
    put(store, "newer")
    assert values(store) == {"newer"}


def test_a_second_store_object_sees_new_versions_without_restart(tmp_path):
    writer_side = make(tmp_path / "store")
    put(writer_side, "one")
    reader_side = reopen(writer_side)
    assert values(reader_side) == {"one"}
    put(writer_side, "two")
    assert number(reader_side.version()) == 2
    assert values(reader_side) == {"two"}


def test_a_writer_that_read_an_older_generation_starts_from_the_newest(tmp_path):
    """A process writes from the published generation, not from the one it last held open to
    read (the embedded store starts a write from its open snapshot when that is still current)."""
    one = make(tmp_path / "store", (OTHER,))
    put(one, "a")
    two = reopen(one)
    assert values(one) == values(two) == {"a"}, "both hold the first generation open"
    put(two, "b", graph=OTHER)  # private: its own store part, also carried forward
    put(one, "c", graph=f"{GRAPH}/3")
    put(two, "d", graph=f"{GRAPH}/4")
    for side in (one, two):
        assert values(side) == {"a", "c", "d"}
        assert side.named_graphs() == sorted([GRAPH, f"{GRAPH}/3", f"{GRAPH}/4", OTHER])
        assert {t.object.value for t in side.graph_triples(OTHER)} == {"b"}


@pytest.mark.embedded_only
def test_old_generations_are_collected(tmp_path):
    store = Store(tmp_path / "store")
    for i in range(KEEP_GENERATIONS + 3):
        put(store, f"v{i}")
    expected = [f"{n:06d}" for n in range(4, KEEP_GENERATIONS + 4)]
    assert generations(store) == expected
    assert store.version() == expected[-1]
    assert values(store) == {f"v{KEEP_GENERATIONS + 2}"}


@pytest.mark.embedded_only
def test_a_reader_keeps_its_snapshot_and_then_sees_the_new_data(tmp_path):
    store = Store(tmp_path / "store")
    put(store, "old", n=2000)
    reader = Store(tmp_path / "store")
    rows = reader.query("SELECT ?o WHERE { ?s ?p ?o }")
    first = next(rows)
    for i in range(KEEP_GENERATIONS + 1):  # until the reader's generation is collected
        put(store, f"new{i}", n=2000)
    assert "000001" not in generations(store)
    rest = [r["o"].value for r in rows]
    assert first["o"].value == "old"
    assert len(rest) == 1999 and set(rest) == {"old"}, "an open result answers from its snapshot"
    assert values(reader) == {f"new{KEEP_GENERATIONS}"}, "the next query sees the new generation"


def test_a_second_writer_is_refused_or_waits(tmp_path):
    store = make(tmp_path / "store")
    put(store, "old")
    with open(store.path / "write.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StoreBusy, match="being written"):
            put(store, "new")
        assert values(store) == {"old"}
        threading.Timer(0.3, fcntl.flock, (lock, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        with store.write(replace=(GRAPH,), wait=10) as writer:
            writer.load_text(ntriples("waited"), graph=GRAPH)
        assert 0.2 < time.monotonic() - started < 10
    assert values(store) == {"waited"}


CHILD = textwrap.dedent(
    """
    import sys, time
    from kg.store.embedded import Store
    store, data = Store(sys.argv[1]), sys.argv[2]
    with store.write(replace=("http://kg.test/graph/one",)) as writer:
        writer.load(data, graph="http://kg.test/graph/one")
        print("loaded", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.embedded_only  # the remote store's case: tests/test_remote_store.py
def test_a_writer_killed_mid_write_leaves_the_store_serving(tmp_path):
    store = Store(tmp_path / "store")
    put(store, "old")
    data = tmp_path / "big.nt"
    data.write_text(ntriples("half-written", 5000), encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store.path), str(data)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "loaded", child.stderr.read() if child.stderr else ""
        assert "000002.tmp" in generations(store), "the child is inside Store.write()"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    fresh = Store(store.path)
    assert fresh.version() == "000001"
    assert values(fresh) == {"old"}
    put(fresh, "after")
    assert values(fresh) == {"after"}
    assert fresh.version() == "000002"
    assert not [g for g in generations(fresh) if g.endswith(".tmp")]
    assert Path(store.path / "write.lock").read_text() == ""


@pytest.mark.embedded_only
@pytest.mark.parametrize("published", [1, 0])
def test_a_generation_finished_but_never_published_is_removed_by_the_next_write(tmp_path, published):
    """A writer killed between its generation's rename and the publication (``current`` not yet
    switched) leaves a complete generation, numbered as the next write's: that write removes it and
    publishes its own, and nothing reads the one never published."""
    store = Store(tmp_path / "store")
    for value in ("old",)[:published]:
        put(store, value)
    unpublished = store.path / "generations" / f"{published + 1:06d}"
    unpublished.mkdir(parents=True)
    (unpublished / "left-by-a-killed-writer").write_text("", encoding="utf-8")
    assert values(store) == ({"old"} if published else set())
    put(store, "new")
    assert values(Store(store.path)) == {"new"} and store.version() == unpublished.name
    assert not (unpublished / "left-by-a-killed-writer").exists()
