"""The delta write (kg.ingest.delta): a re-harvest with few records changed patches the source's
catalogue and quality graphs in a checkpoint of the published generation instead of loading them
whole, and the store it publishes is the one a full ``kg ingest`` of the same input makes: every
graph, the derived tables, the search answers and the catalogue pages. Real on-disk stores, the real
phila.gov data.json (../shared/data/real-portals) served on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import BASE, make_settings, open_store, snapshot
from harvest_portal import Portal
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic
from test_harvest_records import PHILA, body, harvest, records_file

import kg.ingest.delta
import kg.ingest.memo
from kg.harvest.sources import SourceSpec
from kg.ingest.memo import results_of
from kg.ingest.run import ingest
from kg.iris import Minter
from kg.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "/datasets.json?q=water&size=50",
    "/datasets.json?q=revised&size=50",
    "/datasets.json?q=crime&size=50",
    "/catalog.ttl?page=1",
    "/catalog.ttl?page=2",
    "/catalog.jsonld?page=3",
    "/agencies",
    "/index.json",
    "/.well-known/void",
)


@pytest.fixture
def quick(tmp_path: Path) -> Settings:
    """A store in ``tmp_path`` and a harvester that does not wait between requests to 127.0.0.1."""
    return make_settings(tmp_path / "store", http_retries=1, http_host_interval=0.0, http_timeout=5.0)


@pytest.fixture
def phila(shared: Path) -> dict:
    return json.loads((shared / "data" / PHILA).read_bytes())


def edited(phila: dict) -> dict:
    """phila.gov's data.json with 1 % of its datasets retitled, three removed, two added, and the
    agency SEPTA (which 15 datasets point to) given a parent organisation: its datasets' own fields
    stay as they were, they change only through their agency's record."""
    datasets = [dict(d) for d in phila["dataset"]]
    for d in datasets[::100]:
        d["title"] += " (revised)"
    parent = {"name": "Commonwealth of Pennsylvania"}
    for d in datasets:
        if d["publisher"].get("name") == "SEPTA":
            d["publisher"] = {**d["publisher"], "subOrganizationOf": parent}
    gone = {d["identifier"] for d in datasets[7:10]}
    datasets = [d for d in datasets if d["identifier"] not in gone]
    for i, d in enumerate(datasets[20:22]):
        datasets.append(dict(d, identifier=f"{d['identifier']}-copy{i}", title=f"{d['title']} (copy {i})"))
    random.Random(3).shuffle(datasets)
    return {**phila, "dataset": datasets}


def full_ingest(doc: dict, tmp_path: Path, origin: str) -> Settings:
    """The same input ingested whole into a fresh store, as ``kg ingest`` does it, from where the
    harvest got it (a quarantined record's report says where it is)."""
    path = tmp_path / "full.json"
    path.write_bytes(body(doc))
    settings = make_settings(tmp_path / "full-store")
    summary = ingest(str(path), settings=settings, source="phila", origin=origin)
    assert summary.stored and summary.write.startswith("whole: a first ingest")
    return settings


def private_graphs(settings: Settings) -> dict[str, Graph]:
    """The quarantine and report graphs by name (not the provenance graph: it holds the runs)."""
    out = io.BytesIO()
    open_store(settings).dump(out, fmt="nq", private=True)
    dataset = Dataset()
    dataset.parse(data=out.getvalue().decode(), format="nquads")
    private = f"{BASE}graph/quarantine/", f"{BASE}graph/report/"
    found = {str(g.identifier): g for g in dataset.graphs() if str(g.identifier).startswith(private)}
    assert len(found) == 2, sorted(found)
    return {name: Graph().__iadd__(graph) for name, graph in found.items()}


def derived_rows(settings: Settings) -> dict[str, list]:
    """Every table of the published generation's search.sqlite but the runs' (times differ)."""
    db = sqlite3.connect(Path(settings.store) / "current" / "search.sqlite")
    tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    skip = ("runs", "derived", "meta")  # when each run was, the store's versions
    return {
        t: sorted(map(repr, db.execute(f"SELECT * FROM {t}")))
        for t in tables
        if not t.startswith(skip) and "fts" not in t and not t.startswith("text")
    }


def pages(settings: Settings) -> dict[str, bytes]:
    from kg.web.app import build_app

    client = build_app(settings).test_client()
    answers = {path: client.get(path).get_data() for path in PAGES}
    written = rb'dct:modified "[0-9T:.+-]+"'  # the VoID description's: when the generation was made
    answers["/.well-known/void"] = re.sub(written, b"", answers["/.well-known/void"])
    # our catalogue records' first seen and last changed (kg.history's stamps): each store's own runs
    ours = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    return {path: re.sub(ours, b"(our time)", body) for path, body in answers.items()}


def assert_same_store(delta: Settings, whole: Settings) -> None:
    """Every graph, derived table and page alike (but the runs' own times)."""
    assert snapshot(delta) == snapshot(whole)  # the public graphs, blank-node labels included
    mine, theirs = private_graphs(delta), private_graphs(whole)
    assert mine.keys() == theirs.keys()
    assert all(isomorphic(mine[name], theirs[name]) for name in mine)
    assert derived_rows(delta) == derived_rows(whole)
    assert pages(delta) == pages(whole)


def assert_same_as_full(delta: Settings, full: Settings) -> None:
    """What a full ingest of the same input serves: the public graphs and the pages. (Not the derived
    tables row for row: an index updated from the last generation numbers its rows otherwise. Nor
    the report graph: a record's findings about a node other records share, such as a licence, come
    from the batch it was validated in, so a reused record's may differ from a full run's; the
    whole write from the same results has them too, see assert_same_store.)"""
    assert snapshot(delta) == snapshot(full)  # the public graphs, blank-node labels included
    assert pages(delta) == pages(full)


def test_a_delta_harvest_publishes_what_the_whole_write_and_a_full_ingest_do(
    quick: Settings, portal: Portal, phila: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = portal.serve("/data.json", body(phila))
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    first = harvest(spec, quick)
    assert first.summary.write.startswith("whole: a first ingest")
    whole = make_settings(tmp_path / "whole", http_retries=1, http_host_interval=0.0)
    shutil.copytree(quick.store, whole.store, symlinks=True)

    new = edited(phila)
    route.change(body(new))
    second = harvest(spec, quick)
    c = second.summary.changes
    assert second.outcome == "published" and c.added == 3 and c.removed == 3  # + the new parent agency
    assert c.changed == len(phila["dataset"][::100]) + 15 + 1  # retitled, SEPTA's datasets, SEPTA
    assert second.summary.write.startswith("delta: "), second.summary.write
    monkeypatch.setattr(kg.ingest.delta, "MAX_SHARE", -1.0)  # the same harvest, written whole
    assert harvest(spec, whole).summary.write.startswith("whole: ")
    assert_same_store(quick, whole)
    assert_same_as_full(quick, full_ingest(new, tmp_path, spec.url))


def test_a_triple_that_a_kept_record_asserts_stays(
    quick: Settings, portal: Portal, phila: dict, tmp_path: Path
) -> None:
    """A removed dataset shares triples with datasets that stay (its licence's, its formats'): the
    delta takes out only what no record left asserts."""
    route = portal.serve("/data.json", body(phila))
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    harvest(spec, quick)
    removed, kept = phila["dataset"][5], phila["dataset"][6:]
    stored = {i: r for i, r in results_of(records_file(quick, "phila"), _idents(quick))}
    lines = {i: set(r[2][0].splitlines()) for i, r in stored.items()}
    mine = next(i for i in lines if i.endswith(removed["identifier"]))
    shared = lines[mine] & set().union(*(v for i, v in lines.items() if i != mine))
    assert shared, "the removed dataset shares no triple with another record: nothing tested"

    new = {**phila, "dataset": [*phila["dataset"][:5], *kept]}
    route.change(body(new))
    second = harvest(spec, quick)
    assert second.summary.write.startswith("delta: ") and second.summary.changes.removed == 1
    held = {line for line in snapshot(quick)}
    for line in shared:
        assert line.removesuffix(" .") + f" <{Minter(BASE).source_graph('phila')}> .\n" in held
    assert_same_as_full(quick, full_ingest(new, tmp_path, spec.url))


def _idents(settings: Settings) -> list[str]:
    db = sqlite3.connect(records_file(settings, "phila"))
    return [i for (i,) in db.execute("SELECT ident FROM records")]


def test_the_whole_write_when_the_delta_would_not_pay_or_is_not_safe(
    quick: Settings, portal: Portal, phila: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = portal.serve("/data.json", body(phila))
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    harvest(spec, quick)
    route.change(body({**phila, "dataset": phila["dataset"][::2]}))
    halved = harvest(spec, quick).summary.write  # half the records removed
    assert halved.startswith("whole: ") and "of the records touched (more than 10%)" in halved, halved
    route.change(body(phila))
    assert harvest(spec, quick).summary.write.startswith("whole: ")  # and back

    monkeypatch.setattr(kg.ingest.memo, "MEMO_VERSION", kg.ingest.memo.MEMO_VERSION + 1)  # a new recipe
    route.change(body(edited(phila)))
    assert harvest(spec, quick).summary.write.startswith("whole: no usable results")


KILLED = """
import os, signal, sys
import kg.store.delta
real = kg.store.delta.patch
def patch_then_die(store, graph, remove, add):
    real(store, graph, remove, add)
    os.kill(os.getpid(), signal.SIGKILL)  # the catalogue graph patched, the quality graph not yet
kg.store.delta.patch = patch_then_die
from kg.cli import main
sys.exit(main(["harvest", sys.argv[1]]))
"""


def test_a_harvest_killed_inside_the_delta_write_leaves_the_store_as_it_was(
    tmp_path: Path, portal: Portal, phila: dict, kg_env: dict[str, str]
) -> None:
    store = tmp_path / "store"
    env = kg_env | {"KG_STORE": str(store), "KG_HTTP_HOST_INTERVAL": "0", "KG_WORKERS": "1"}
    route = portal.serve("/data.json", body(phila))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "phila"\nurl = "{portal.url("/data.json")}"\n', "utf-8")
    command = [sys.executable, "-c", KILLED, str(sources)]
    plain = [sys.executable, "-m", "kg.cli", "harvest", str(sources)]
    assert subprocess.run(plain, env=env, capture_output=True, cwd=ROOT).returncode == 0
    settings = make_settings(store)
    hashes = store / "current" / "records" / "phila.sqlite"
    before = (snapshot(settings), hashes.read_bytes(), (store / "harvest.json").read_bytes())

    route.change(body(edited(phila)))
    killed = subprocess.run(command, env=env, capture_output=True, cwd=ROOT)
    assert killed.returncode == -9, killed.stderr
    assert [p.name for p in (store / "generations").iterdir() if p.name.endswith(".tmp")]  # it was writing
    assert (snapshot(settings), hashes.read_bytes(), (store / "harvest.json").read_bytes()) == before
    done = subprocess.run(plain, env=env, capture_output=True, cwd=ROOT, text=True)
    assert done.returncode == 0 and "delta" in done.stdout, done.stdout + done.stderr
    assert not [p for p in os.listdir(store / "generations") if p.endswith(".tmp")]
    assert_same_as_full(settings, full_ingest(edited(phila), tmp_path, portal.url("/data.json")))


def test_patch_keeps_labels_and_says_what_it_did() -> None:
    from kg.store.delta import names_blank_nodes_as, patch

    store, graph = ox.Store(), "http://example.org/g"
    lines = [b"<http://e.org/a> <http://e.org/p> _:ab12 .\n", b'_:ab12 <http://e.org/q> "x" .\n']
    absent = b"<http://e.org/a> <http://e.org/p> <http://e.org/b> .\n"
    assert patch(store, graph, [absent], lines) == (1, 2)
    assert names_blank_nodes_as(store, graph, lines)
    assert not names_blank_nodes_as(store, graph, [b'_:ab13 <http://e.org/q> "x" .\n'])
    assert patch(store, graph, lines[1:], []) == (1, 0) and len(store) == 1


def test_a_graph_copied_by_another_write_is_seen_to_have_its_blank_nodes_named_anew(tmp_path: Path) -> None:
    """The delta writer's check before it patches a graph loaded with its labels kept: a write that
    copies most of the store by a dump and a load (kg.store.next_generation) names them anew."""
    from kg.store.embedded import Store

    store, graph = Store(tmp_path / "store"), "http://e.org/g"
    lines = [b"<http://e.org/a> <http://e.org/p> _:ab12 .\n", b'_:ab12 <http://e.org/q> "x" .\n']
    (tmp_path / "g.nt").write_bytes(b"".join(lines))
    with store.write(replace=(graph,)) as writer:
        writer.load(tmp_path / "g.nt", graph=graph, keep_labels=True)
    with store.write() as writer:
        assert writer.names_blank_nodes_as(graph, lines)  # a checkpoint keeps them
    big = "".join(f'<urn:x:{i}> <urn:x:p> "{i}" .\n' for i in range(100))
    store.put_graph("urn:x:big", big.encode(), "nt")
    store.delete_graph("urn:x:big")  # most of the store dropped: the rest copied
    with store.write() as writer:
        assert not writer.names_blank_nodes_as(graph, lines)
