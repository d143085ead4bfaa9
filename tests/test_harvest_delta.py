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

import numpy as np
import pyoxigraph as ox
import pytest
from conftest import BASE, SHARED, make_settings, open_store, snapshot
from harvest_portal import Portal
from rdflib import Graph
from rdflib.compare import isomorphic
from test_harvest_records import PHILA, body, harvest, harvest_template, phila_first, records_file

import kg.derived.void_lines
import kg.ingest.delta
import kg.ingest.memo
from kg.derived.descriptions import decompress
from kg.harvest.sources import SourceSpec
from kg.ingest.records_file import results_of
from kg.ingest.run import ingest
from kg.iris import Minter
from kg.settings import Settings
from kg.vocab import KGO

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "/datasets.json?q=water&size=50",
    "/datasets.json?q=revised&size=50",
    "/datasets.json?q=crime&size=50",
    "/datasets.json?q=hospices&size=50",
    "/datasets.json?q=food&size=50",
    "/datasets.json?size=50&sort=title&page=2",
    "/datasets?q=septa",
    "/agencies",
    "/index.json",
    "/quality.json",
    "/.well-known/void",
    # every page of the catalogue (page size 100: 400 datasets and their services) in every syntax
    *(
        f"/catalog{suffix}?page={n}"
        for n in range(1, 7)
        for suffix in ("", ".json", ".ttl", ".nt", ".rdf", ".jsonld")
    ),
)


def dataset_pages(doc: dict) -> tuple[str, ...]:
    """The pages of every 20th dataset of ``doc`` and of those the edit touched, HTML and JSON."""
    some = [d["identifier"] for d in doc["dataset"][::20]] + [QUARANTINED, NEWLY_QUARANTINED]
    some += [
        d["identifier"] for d in doc["dataset"] if "(revised)" in d["title"] or "copy" in d["identifier"]
    ]
    some += [d["identifier"] for d in doc["dataset"] if d["publisher"].get("name") == "SEPTA"][:3]
    paths = [Minter(BASE).dataset(i).removeprefix(BASE.rstrip("/")) for i in dict.fromkeys(some)]
    return tuple(f"{path}{suffix}" for path in paths for suffix in ("", ".json"))


@pytest.fixture
def quick(tmp_path: Path) -> Settings:
    """A store in ``tmp_path`` and a harvester that does not wait between requests to 127.0.0.1."""
    return make_settings(tmp_path / "store", http_retries=1, http_host_interval=0.0, http_timeout=5.0)


@pytest.fixture
def phila(shared: Path) -> dict:
    return json.loads((shared / "data" / PHILA).read_bytes())


QUARANTINED = "archived-philadelphia-food-access"  # phila's one quarantined dataset: a file without a URL
NEWLY_QUARANTINED = "pa-hospices"  # made to lose the URLs of its first file


def edited(phila: dict) -> dict:
    """phila.gov's data.json with 1 % of its datasets retitled, three removed, two added, one
    quarantined (its first file's URLs gone) and the quarantined one published (its files given a
    URL each), and the agency SEPTA (which 15 datasets point to) given a parent organisation: its
    datasets' own fields stay as they were, they change only through their agency's record."""
    datasets = [dict(d) for d in phila["dataset"]]
    for d in datasets[::100]:
        d["title"] += " (revised)"
    for d in datasets:
        files = [dict(f) for f in d.get("distribution", [])]
        if d["identifier"] == QUARANTINED:
            d["distribution"] = [
                {**f, "accessURL": f"https://example.org/{i}.csv"} for i, f in enumerate(files)
            ]
        elif d["identifier"] == NEWLY_QUARANTINED:
            files[0] = {k: v for k, v in files[0].items() if k not in ("downloadURL", "accessURL")}
            d["distribution"] = files
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


@pytest.fixture(scope="module")
def first(module_portal: Portal, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """phila's first harvest (the whole file), once per module: each test copies its store."""
    if not (SHARED / "data" / PHILA).is_file():
        pytest.skip(f"the shared folder with real portal samples is absent (looked for {SHARED})")
    served = body(json.loads((SHARED / "data" / PHILA).read_bytes()))
    return harvest_template(module_portal, tmp_path_factory.mktemp("phila"), served)


@pytest.fixture
def harvested(quick: Settings, module_portal: Portal, phila: dict, first):  # noqa: ANN001, ANN201
    """``quick``'s store as phila's first harvest left it, the route serving phila again, the spec
    and the first outcome."""
    shutil.copytree(first[0], quick.store, symlinks=True)
    route = module_portal.serve("/data.json", body(phila))
    return route, SourceSpec("phila", module_portal.url("/data.json"), "data.json"), first[1]


@pytest.fixture
def harvested_first(quick: Settings, module_portal: Portal, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """As ``harvested``, of phila's first 100 datasets (test_harvest_records' ``phila_first``; its
    quarantined one among them), for the tests of a rule that 100 records show as 402 do (which
    write is chosen: shares of the records; which triples a removal takes out): each harvest and
    full ingest of the whole file costs ~3 CPU-s."""
    if not (SHARED / "data" / PHILA).is_file():
        pytest.skip(f"the shared folder with real portal samples is absent (looked for {SHARED})")
    doc = phila_first(json.loads((SHARED / "data" / PHILA).read_bytes()))
    template, first = harvest_template(module_portal, tmp_path_factory.mktemp("phila-first"), body(doc))
    shutil.copytree(template, quick.store, symlinks=True)
    route = module_portal.serve("/data.json", body(doc))
    return route, SourceSpec("phila", module_portal.url("/data.json"), "data.json"), doc


@pytest.fixture(scope="module")
def full_edited(module_portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A full ingest of ``edited(phila)``, once per module: the tests only read it."""
    doc = json.loads((SHARED / "data" / PHILA).read_bytes())
    return full_ingest(edited(doc), tmp_path_factory.mktemp("full"), module_portal.url("/data.json"))


def private_graphs(settings: Settings) -> dict[str, Graph]:
    """The quarantine and report graphs by name (not the provenance graph: it holds the runs). Each
    dumped alone: rdflib parsing the whole store's N-Quads for them cost ~4 CPU-s a call."""
    store, private = open_store(settings), (f"{BASE}graph/quarantine/", f"{BASE}graph/report/")
    found = {}
    for name in (g for g in store.graph_sizes() if g.startswith(private)):
        out = io.BytesIO()
        store.dump(out, fmt="nt", graph=name)
        found[name] = Graph().parse(data=out.getvalue().decode(), format="nt")
    assert len(found) == 2, sorted(found)
    return found


SEARCH = ("datasets", "sources", "terms", "facets", "postings", "lengths", "orders")


def derived_rows(settings: Settings) -> dict[str, object]:
    """Every table of the published generation's search.sqlite but the runs' and the text index's
    own (its rows are ``datasets``' and ``postings``' here), row for row; the search index's with its
    dataset and term ids replaced by what they stand for (an index updated from the last generation
    numbers its new rows after the old ones), the members' descriptions as what they expand to."""
    db = sqlite3.connect(Path(settings.store) / "current" / "search.sqlite")
    tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    # runs: when each run was; sqlite_sequence: the search index's last row ids
    skip = ("runs", "meta", "sqlite_sequence", "member_descriptions", "shared_nodes", *SEARCH)
    found: dict[str, object] = {
        t: sorted(map(repr, db.execute(f"SELECT * FROM {t}")))
        for t in tables
        if not t.startswith(skip) and "fts" not in t and not t.startswith("text")
    }
    found["derived"] = {key: _timeless(key, json.loads(v)) for key, v in db.execute("SELECT * FROM derived")}
    found |= _search_rows(db) | {"member_descriptions": _members(db)}
    assert len(found["member_descriptions"]) > 300 and len(found["datasets"]) > 300, "nothing compared"
    return found


def _timeless(key: str, value: object) -> object:
    """A value of the ``derived`` table without when the generation was made (VoID's dct:modified)."""
    return {k: v for k, v in value.items() if k != "modified"} if key == "void" else value


def _search_rows(db: sqlite3.Connection) -> dict[str, list]:
    ids = dict(db.execute("SELECT id, iri FROM datasets"))
    terms = {i: (f, v) for i, f, v in db.execute("SELECT id, facet, value FROM terms")}

    def iris(blob: bytes | None) -> list[str]:  # a facet value's bitset, or a posting's ids
        bits = int.from_bytes(blob or b"", "little")
        return sorted(ids[i] for i in ids if bits >> i & 1)

    lengths = np.frombuffer(db.execute("SELECT lengths FROM lengths").fetchone()[0], dtype="<u4")
    postings = []
    for token, docs, weights in db.execute("SELECT * FROM postings"):
        pairs = zip(np.frombuffer(docs, "<u4"), np.frombuffer(weights, "<u4"), strict=True)
        postings.append((token, sorted((ids[int(d)], int(w)) for d, w in pairs)))
    return {
        "datasets": sorted(db.execute("SELECT iri, title, description, modified, sort_title FROM datasets")),
        "sources": sorted((g, ids[d]) for g, d in db.execute("SELECT * FROM sources")),
        "terms": sorted(
            (f, v, label, iri, n, iris(bits) if bits else None)
            for f, v, label, iri, n, bits in db.execute(
                "SELECT facet, value, label, iri, count, bits FROM terms"
            )
        ),
        "facets": sorted((terms[t], ids[d]) for t, d in db.execute("SELECT * FROM facets")),
        "postings": sorted(postings),
        "lengths": [
            db.execute("SELECT rows, tokens FROM lengths").fetchone(),
            sorted((iri, int(lengths[i])) for i, iri in ids.items()),
        ],
        "orders": {sort: _ties(db, ids, blob) for sort, blob in db.execute("SELECT sort, ids FROM orders")},
    }


def _ties(db: sqlite3.Connection, ids: dict[int, str], blob: bytes) -> list[tuple]:
    """A sort order as runs of datasets that tie on (modified, title), each run a set: the index
    breaks ties by its row ids, which a full build and an update number differently."""
    keys = {i: (m, t) for i, m, t in db.execute("SELECT id, modified, sort_title FROM datasets")}
    runs: list[tuple] = []
    for i in map(int, np.frombuffer(blob, "<u4")):
        if runs and runs[-1][0] == keys[i]:
            runs[-1][1].append(ids[i])
        else:
            runs.append((keys[i], [ids[i]]))
    return [(key, sorted(iris)) for key, iris in runs]


def _members(db: sqlite3.Connection) -> list[tuple]:
    """Each member's description as a page joins it: its own lines and those of the shared nodes it
    names, with the IRIs and blank nodes it reaches. (Which nodes a row names as shared instead of
    holding depends on the members walked with it, and pages join both alike.)"""
    shared = dict(db.execute("SELECT iri, ntriples FROM shared_nodes"))
    found = []
    rows = db.execute(
        "SELECT m.iri, d.data FROM member_order m JOIN member_descriptions d ON d.position = m.position"
    )
    for iri, data in rows:
        text, used, blanks, named = decompress(data).split("\x00")
        lines = set(text.splitlines()).union(*(shared[n].splitlines() for n in named.split("\n") if n))
        found.append((iri, sorted(lines), used, blanks))
    return sorted(found)


# a page's answer by store folder, generation and path: a published generation is never written
# again, so a store compared twice (the delta's with the whole write's and with the full ingest's,
# the module's full ingest in two tests) is asked once (~1.5 CPU-s a store)
_ANSWERS: dict[tuple[str, str, str], bytes] = {}


def pages(settings: Settings, more: tuple[str, ...] = ()) -> dict[str, bytes]:
    from kg.web.app import build_app

    generation = (str(settings.store), open_store(settings).version())
    client = None
    for path in (*PAGES, *more):
        if (*generation, path) not in _ANSWERS:
            client = client or build_app(settings).test_client()
            _ANSWERS[*generation, path] = _timeless_page(path, client.get(path).get_data())
    return {path: _ANSWERS[*generation, path] for path in (*PAGES, *more)}


def _timeless_page(path: str, body: bytes) -> bytes:
    if path == "/.well-known/void":  # the VoID description's dct:modified: when the generation was made
        body = re.sub(rb'dct:modified "[0-9T:.+-]+"', b"", body)
    # our catalogue records' first seen and last changed (kg.history's stamps): each store's own runs
    # and their runs' IRIs and harvests' times (quality.json, the records' history in the JSON twins,
    # and percent-encoded in the link to the change feed from a record's latest change)
    ours = rb"\d{4}-\d\d-\d\dT\d\d(:|%3A)\d\d(:|%3A)\d\d(\.\d+)?(Z|\+00:00|%2B00%3A00)|\d{8}T\d{12}Z"
    return re.sub(ours, b"(our time)", body)


def assert_same_store(delta: Settings, whole: Settings, more: tuple[str, ...] = ()) -> None:
    """Every graph, derived table and page alike (but the runs' own times); ``more``: pages to
    compare beside :data:`PAGES`."""
    assert snapshot(delta) == snapshot(whole)  # the public graphs, blank-node labels included
    mine, theirs = private_graphs(delta), private_graphs(whole)
    assert mine.keys() == theirs.keys()
    assert all(isomorphic(mine[name], theirs[name]) for name in mine)
    assert_same_tables(derived_rows(delta), derived_rows(whole))
    assert_same_pages(pages(delta, more), pages(whole, more))


def assert_same_tables(mine: dict, theirs: dict) -> None:
    assert mine.keys() == theirs.keys()
    assert [t for t in mine if mine[t] != theirs[t]] == []


def assert_same_pages(mine: dict, theirs: dict) -> None:
    assert [p for p in mine if mine[p] != theirs[p]] == []


def assert_same_as_full(delta: Settings, full: Settings) -> None:
    """What a full ingest of the same input serves: the public graphs and the pages. (Not the derived
    tables row for row: an index updated from the last generation numbers its rows otherwise. Nor
    the report graph: a record's findings about a node other records share, such as a licence, come
    from the batch it was validated in, so a reused record's may differ from a full run's; the
    whole write from the same results has them too, see assert_same_store.)"""
    assert snapshot(delta) == snapshot(full)  # the public graphs, blank-node labels included
    mine, theirs = pages(delta), pages(full)
    del mine["/quality.json"], theirs["/quality.json"]  # the last harvest's counts: a full ingest has none
    assert_same_pages(mine, theirs)


def test_a_delta_harvest_publishes_what_the_whole_write_and_a_full_ingest_do(
    quick: Settings,
    harvested,  # noqa: ANN001
    phila: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    full_edited: Settings,
) -> None:
    route, spec, first = harvested
    assert first.summary.write.startswith("whole: a first ingest")
    assert [r.key for r in first.summary.quarantined_reports] == [Minter(BASE).dataset(QUARANTINED)]
    whole = make_settings(tmp_path / "whole", http_retries=1, http_host_interval=0.0)
    shutil.copytree(quick.store, whole.store, symlinks=True)
    before = _dataset_ids(quick)

    new = edited(phila)
    route.change(body(new))
    # the VoID counts by the touched lines' terms although the graphs written whole (the vocabularies)
    # are more than 5 % of this small store, as they are not of a big one
    monkeypatch.setattr(kg.derived.void_lines, "WHOLE_SHARE", 1.0)
    monkeypatch.setattr(kg.ingest.memo, "READ_AHEAD", 7)  # results read back in many batches
    second = harvest(spec, quick)
    c = second.summary.changes
    assert second.outcome == "published" and c.added == 3 and c.removed == 3  # + the new parent agency
    # retitled, SEPTA's datasets, SEPTA, one quarantined and one published
    assert c.changed == len(phila["dataset"][::100]) + 15 + 1 + 2
    assert [r.key for r in second.summary.quarantined_reports] == [Minter(BASE).dataset(NEWLY_QUARANTINED)]
    assert second.summary.write.startswith("delta: "), second.summary.write
    after = _dataset_ids(quick)  # the index kept the rows of the datasets no touched line is about
    kept = {iri for iri in after if after[iri] == before.get(iri)}
    assert len(kept) > 300 and not {Minter(BASE).dataset(i) for i in (QUARANTINED, NEWLY_QUARANTINED)} & kept
    monkeypatch.setattr(kg.ingest.delta, "MAX_SHARE", -1.0)  # the same harvest, written whole
    assert harvest(spec, whole).summary.write.startswith("whole: ")
    more = dataset_pages(new)
    assert_same_store(quick, whole, more)
    full = full_edited  # of ``new``: the same edit of the same file
    assert_same_as_full(quick, full)  # (the records' pages show their history, which differs)
    # the results kept for the next run, reused ones read back in batches, are each record's own
    kept, made = (dict(results_of(records_file(s, "phila"), _idents(s))) for s in (quick, full))
    assert {i: r[2] for i, r in kept.items()} == {i: r[2] for i, r in made.items()}
    mine, theirs = derived_rows(quick), derived_rows(full)
    for rows in (mine, theirs):  # a keyword's label is the spelling the index met first (any update's)
        rows["terms"] = sorted(
            (f, v, label.casefold() if f == "keyword" else label, *rest)
            for f, v, label, *rest in rows["terms"]
        )
    assert_same_tables(mine, theirs)


def _dataset_ids(settings: Settings) -> dict[str, int]:
    db = sqlite3.connect(Path(settings.store) / "current" / "search.sqlite")
    return {iri: i for i, iri in db.execute("SELECT id, iri FROM datasets")}


def test_a_triple_that_a_kept_record_asserts_stays(
    quick: Settings,
    harvested_first,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    """A removed dataset shares triples with datasets that stay (its licence's, its formats'): the
    delta takes out only what no record left asserts."""
    route, spec, phila = harvested_first
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
    full = full_ingest(new, tmp_path, spec.url)
    assert_same_as_full(quick, full)
    # the quarantined dataset, reused (read and hashed by another process) and moved up by one in
    # the file: its report says where it stands now, as a full ingest's does
    where = _quarantine_locations(quick)
    assert where == _quarantine_locations(full) and Minter(BASE).dataset(QUARANTINED) in where


def _quarantine_locations(settings: Settings) -> dict[str, str]:
    """Each quarantined record's key, and where its report says it is in the source."""
    query = f"""SELECT ?k ?where WHERE {{ GRAPH ?g {{ ?r <{KGO.recordKey}> ?k ;
        <{KGO.sourceLocation}> ?where }} }}"""
    return {row["k"].value: row["where"].value for row in open_store(settings).query(query, private=True)}


def _idents(settings: Settings) -> list[str]:
    db = sqlite3.connect(records_file(settings, "phila"))
    return [i for (i,) in db.execute("SELECT ident FROM records")]


def test_the_whole_write_when_the_delta_would_not_pay_or_is_not_safe(
    quick: Settings,
    harvested_first,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route, spec, phila = harvested_first
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
    tmp_path: Path,
    module_portal: Portal,
    first,  # noqa: ANN001
    phila: dict,
    kg_env: dict[str, str],
    full_edited: Settings,
) -> None:
    store = tmp_path / "store"
    env = kg_env | {"KG_STORE": str(store), "KG_HTTP_HOST_INTERVAL": "0", "KG_WORKERS": "1"}
    shutil.copytree(first[0], store, symlinks=True)  # phila's first harvest, from this portal
    route = module_portal.serve("/data.json", body(phila))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "phila"\nurl = "{module_portal.url("/data.json")}"\n', "utf-8")
    command = [sys.executable, "-c", KILLED, str(sources)]
    plain = [sys.executable, "-m", "kg.cli", "harvest", str(sources)]
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
    assert_same_as_full(settings, full_edited)


def test_patch_keeps_labels_and_says_what_it_did() -> None:
    """Only lines that were there count as removed and only lines that were not as added: VoID
    counts terms by those alone (Generation.moved)."""
    from kg.store.delta import Patched, names_blank_nodes_as, patch

    store, graph = ox.Store(), "http://example.org/g"
    lines = [b"<http://e.org/a> <http://e.org/p> _:ab12 .\n", b'_:ab12 <http://e.org/q> "x" .\n']
    absent = b"<http://e.org/a> <http://e.org/p> <http://e.org/b> .\n"
    assert patch(store, graph, [absent], lines) == Patched(frozenset(), frozenset(lines))
    assert names_blank_nodes_as(store, graph, lines)
    assert not names_blank_nodes_as(store, graph, [b'_:ab13 <http://e.org/q> "x" .\n'])
    assert patch(store, graph, lines[1:], lines[:1]) == Patched(frozenset(lines[1:]), frozenset())
    assert len(store) == 1


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
