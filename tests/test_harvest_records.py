"""Change detection per record (kg.ingest.memo), on real on-disk stores, harvested over real HTTP on
127.0.0.1 from real portal files (../shared/data/real-portals): only new and changed records are
mapped and validated, records gone from the source are removed, the result is what a full ingest of
the same input gives (its graphs and its search answers), new bytes with the same records write
nothing, a change of the recipe maps everything again, bad input is refused whole, and a harvest
killed half-way with SIGKILL leaves the store and the per-record hashes exactly as they were.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import SHARED, kg_command, make_settings, snapshot
from harvest_portal import Portal, Route
from kill_points import PUBLISHED, WRITE_POINTS, run_killed

import kg.ingest.memo
import kg.ingest.read_ahead
import kg.ingest.run
import kg.ingest.workers
from kg.errors import InputError
from kg.factory import store_for
from kg.harvest.run import Outcome, client_for, harvest_source
from kg.harvest.sources import SourceSpec
from kg.history import changes_between, stamp
from kg.ingest.run import ingest
from kg.ingest.sources import remove_source
from kg.settings import Settings
from kg.store.harvest_state import load_states

PHILA = "real-portals/data-json/phila.gov.data.json"  # 1.3 MB, 402 datasets and their publishers
# the change-detection tests read phila's first datasets only: what they test (which records are
# mapped, validated, removed, and that the store equals a full ingest) is per record, and each
# harvest and full ingest of the whole file cost ~4 CPU-s; the killed harvest too (it is killed at
# named points of its write, not at fractions of a run's time: tests/kill_points.py)
PHILA_DATASETS = 100


QUICK = {"http_retries": 1, "http_backoff": 0.01, "http_host_interval": 0.0, "http_timeout": 5.0}


@pytest.fixture
def quick(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "store", **QUICK)


def phila_first(document: dict) -> dict:
    """phila's catalogue with its first :data:`PHILA_DATASETS` datasets (their publishers with them)."""
    return {**document, "dataset": document["dataset"][:PHILA_DATASETS]}


@pytest.fixture
def phila_whole(shared: Path) -> dict:
    return json.loads((shared / "data" / PHILA).read_bytes())


@pytest.fixture
def phila(phila_whole: dict) -> dict:
    return phila_first(phila_whole)


@dataclass
class Harvested:
    """phila harvested once (no ETag) from the module's portal, as a test's own first harvest leaves
    it: ``quick``'s store (a copy), the route (served again as it was) and the first outcome."""

    settings: Settings
    route: Route
    spec: SourceSpec
    first: Outcome


def harvest_template(portal: Portal, folder: Path, served: bytes) -> tuple[Path, Outcome]:
    """A store in ``folder`` with ``served`` harvested once (no ETag) as source ``phila`` from
    ``portal``'s /data.json, and the outcome: for a module's tests to copy instead of each harvesting
    the same file first (the harvest state holds the portal's URL, so the tests serve from it too)."""
    portal.serve("/data.json", served)
    settings = make_settings(folder / "store", **QUICK)
    first = harvest(SourceSpec("phila", portal.url("/data.json"), "data.json"), settings)
    assert first.outcome == "published" and first.changes["added"] == first.summary.read, first.reason
    return Path(settings.store), first


@pytest.fixture(scope="module")
def first_harvest(
    module_portal: Portal, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Outcome, bytes]:
    """The store of phila's first harvest, once per module (about 4 CPU-s a harvest); tests copy it."""
    if not (SHARED / "data" / PHILA).is_file():
        pytest.skip(f"the shared folder with real portal samples is absent (looked for {SHARED})")
    served = body(phila_first(json.loads((SHARED / "data" / PHILA).read_bytes())))  # as `phila`
    store, first = harvest_template(module_portal, tmp_path_factory.mktemp("phila"), served)
    assert first.summary.read >= PHILA_DATASETS
    return store, first, served


@pytest.fixture
def harvested(
    quick: Settings, module_portal: Portal, first_harvest: tuple[Path, Outcome, bytes]
) -> Harvested:
    template, first, served = first_harvest
    shutil.copytree(template, quick.store, symlinks=True)
    route = module_portal.serve("/data.json", served)
    return Harvested(quick, route, SourceSpec("phila", module_portal.url("/data.json"), "data.json"), first)


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The keys of the records the SHACL engine is given (the real engine runs; KG_WORKERS=1); a
    record whose invalid values are left out is given again without them."""
    keys: list[str] = []
    real = kg.ingest.workers.validate_batch

    def counting(mapped, **kwargs):  # noqa: ANN001, ANN202
        keys.extend(m.key for m in mapped)
        return real(mapped, **kwargs)

    monkeypatch.setattr(kg.ingest.workers, "validate_batch", counting)
    yield keys


def body(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def harvest(spec: SourceSpec, settings: Settings):  # noqa: ANN201 - kg.harvest.run.Outcome
    return harvest_source(spec, settings=settings, client=client_for(settings))


def records_file(settings: Settings, source: str) -> Path:
    return Path(settings.store) / "current" / "records" / f"{source}.sqlite"


def full_ingest(doc: dict, tmp_path: Path, source: str) -> Settings:
    """The same input ingested whole into a fresh store, as ``kg ingest`` does it."""
    path = tmp_path / f"full-{source}.json"
    path.write_bytes(body(doc))
    settings = make_settings(tmp_path / f"full-{source}-store")
    summary = ingest(str(path), settings=settings, source=source)
    assert summary.stored and summary.changes is not None and summary.changes.mapped == summary.read
    return settings


def search_answer(settings: Settings, query: str) -> list:
    from kg.web.app import build_app

    client = build_app(settings).test_client()
    answer = client.get(f"/datasets.json?q={query}&size=50").get_json()
    return [answer["total"], [(d["iri"], d["title"]) for d in answer["results"]], answer["facets"]]


def test_a_source_that_loses_half_its_records(
    quick: Settings, portal: Portal, phila: dict, tmp_path: Path, validated: list[str]
) -> None:
    route = portal.serve("/data.json", body(phila), etag='"v1"')
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    first = harvest(spec, quick)
    assert first.outcome == "published" and first.changes["added"] == first.summary.read >= PHILA_DATASETS
    assert len(set(validated)) == first.summary.read  # every record checked
    validated.clear()

    kept = phila["dataset"][::2]
    route.change(body({**phila, "dataset": kept}), etag='"v2"')
    second = harvest(spec, quick)
    assert second.outcome == "published", second.reason
    changes, summary = second.changes, second.summary
    assert changes["added"] == changes["changed"] == 0
    assert changes["unchanged"] == summary.read and summary.read + changes["removed"] == first.summary.read
    assert changes["removed"] >= len(phila["dataset"]) - len(kept)  # the datasets (and lone publishers)
    assert validated == [] and summary.changes.mapped == 0  # the rest not mapped, not validated again
    state = load_states(quick.store)["phila"]
    assert state.changes == changes and state.run == summary.run

    full = full_ingest({**phila, "dataset": kept}, tmp_path, "phila")
    assert snapshot(quick) == snapshot(full)
    assert search_answer(quick, "water") == search_answer(full, "water")


def test_one_percent_changed_some_removed_and_reordered(
    harvested: Harvested, phila: dict, tmp_path: Path, validated: list[str]
) -> None:
    quick, route, spec = harvested.settings, harvested.route, harvested.spec
    validated.clear()

    datasets = [dict(d) for d in phila["dataset"]]
    changed = datasets[::20]  # 5 of 100, as many as 1 % of the whole file
    for d in changed:
        d["title"] += " (revised)"
    gone = {d["identifier"] for d in datasets[7:10]}
    datasets = [d for d in datasets if d["identifier"] not in gone]
    random.Random(7).shuffle(datasets)  # a portal that lists them in another order
    new = {**phila, "dataset": datasets}
    route.change(body(new))
    second = harvest(spec, quick)
    assert second.outcome == "published", second.reason
    c = second.summary.changes
    assert (c.added, c.changed, c.removed) == (0, len(changed), len(gone))
    assert c.mapped == len(changed) and c.reused == second.summary.read - len(changed)
    assert len(set(validated)) == len(changed)  # only the changed records went to the SHACL engine
    assert all("(revised)" in t for t in _titles(quick, validated))

    from kg.web.app import build_app

    (shown,) = build_app(quick).test_client().get("/quality.json").get_json()["harvests"]
    assert shown["changes"] == second.changes and shown["outcome"] == "published"
    page = build_app(quick).test_client().get("/quality").get_data(as_text=True)
    assert f"<td>0 / {len(changed)} / {len(gone)} / {c.unchanged}</td>" in page

    full = full_ingest(new, tmp_path, "phila")
    assert snapshot(quick) == snapshot(full)  # published, quarantine, quality and report graphs
    assert search_answer(quick, "revised") == search_answer(full, "revised")
    assert search_answer(quick, "crime") == search_answer(full, "crime")


def _titles(settings: Settings, keys: list[str]) -> list[str]:
    values = " ".join(f"<{k}>" for k in keys)
    rows = store_for(settings).query(
        f"SELECT ?t WHERE {{ VALUES ?d {{ {values} }} ?d <http://purl.org/dc/terms/title> ?t }}"
    )
    return [row["t"].value for row in rows]


def test_new_bytes_with_the_same_records_write_nothing(
    quick: Settings, portal: Portal, phila: dict, validated: list[str]
) -> None:
    route = portal.serve("/data.json", body(phila), etag='"v1"')
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    harvest(spec, quick)
    published, before = store_for(quick).version(), snapshot(quick)
    validated.clear()
    route.change(json.dumps(phila, indent=2).encode(), etag='"v2"')  # new bytes, the same records
    again = harvest(spec, quick)
    assert again.outcome == "unchanged" and "as stored" in again.reason, again.reason
    assert again.changes == {"added": 0, "changed": 0, "removed": 0, "unchanged": again.summary.read}
    assert store_for(quick).version() == published and snapshot(quick) == before and validated == []
    state = load_states(quick.store)["phila"]
    assert state.etag == '"v2"' and state.outcome == "unchanged"
    third = harvest(spec, quick)  # the new validators were kept: the server answers 304
    assert third.reason == "not modified (HTTP 304)" and third.changes["unchanged"] == again.summary.read


def test_the_reading_process_started_beside_the_first_pass_stops_with_it(
    quick: Settings, portal: Portal, phila: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records are read ahead by a process of their own (kg.ingest.read_ahead) from before the
    first pass that looks for a change; when that pass finds none, or fails, the process is stopped,
    not left reading (here slowed down, so that it would still be at it)."""
    route = portal.serve("/data.json", body(phila), etag='"v1"')
    spec = SourceSpec("phila", portal.url("/data.json"), "data.json")
    harvest(spec, quick)
    started: list = []
    real, known = kg.ingest.run.read_ahead, kg.ingest.read_ahead._known
    monkeypatch.setattr(kg.ingest.run, "read_ahead", lambda *args: started.append(real(*args)) or started[-1])
    monkeypatch.setattr(kg.ingest.read_ahead, "_known", lambda *args: time.sleep(0.05) or known(*args))
    route.change(json.dumps(phila, indent=2).encode(), etag='"v2"')  # new bytes, the same records
    assert harvest(spec, quick).outcome == "unchanged"
    assert len(started) == 1 and not started[0]._process.is_alive()


def test_a_new_recipe_maps_and_validates_everything(
    harvested: Harvested, phila: dict, monkeypatch: pytest.MonkeyPatch, validated: list[str]
) -> None:
    quick, route, spec, first = harvested.settings, harvested.route, harvested.spec, harvested.first
    before = snapshot(quick)
    validated.clear()
    monkeypatch.setattr(kg.ingest.memo, "MEMO_VERSION", kg.ingest.memo.MEMO_VERSION + 1)
    route.change(body(phila) + b"\n")  # new bytes, same records
    again = harvest(spec, quick)
    assert again.outcome == "published", again.reason  # the same records, but made anew
    assert again.summary.changes.mapped == first.summary.read == len(set(validated))
    assert again.changes == {"added": 0, "changed": 0, "removed": 0, "unchanged": first.summary.read}
    assert snapshot(quick) == before
    # another validator is another recipe too (base IRI and the code's hash likewise)
    assert kg.ingest.memo.recipe(quick.base_uri, "pyshacl") != kg.ingest.memo.recipe(quick.base_uri, "rudof")


def test_bad_input_is_refused_whole_and_the_hashes_stay(harvested: Harvested, phila: dict) -> None:
    quick, route, spec = harvested.settings, harvested.route, harvested.spec
    before, hashes = snapshot(quick), records_file(quick, "phila").read_bytes()
    route.change(body(phila)[:-2000])  # a document cut off in the middle of a record
    failed = harvest(spec, quick)
    assert failed.outcome == "failed" and failed.exit_code == 2 and spec.url in failed.reason
    assert snapshot(quick) == before and records_file(quick, "phila").read_bytes() == hashes
    assert load_states(quick.store)["phila"].changes == {}


def test_a_file_the_reading_process_refuses_leaves_store_and_hashes(
    harvested: Harvested, phila: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-ingest of a local file reads its records in a process of its own (kg.ingest.read_ahead):
    the reader's error there is the ingest's, naming the file and the record, and nothing is written."""
    quick = harvested.settings
    before, hashes = snapshot(quick), records_file(quick, "phila").read_bytes()
    started: list[int] = []
    real = kg.ingest.run.read_ahead
    monkeypatch.setattr(kg.ingest.run, "read_ahead", lambda *args: started.append(1) or real(*args))
    first = dict(phila["dataset"][0], title="retitled")
    doc = {**phila, "dataset": [first, *phila["dataset"][1:], 7]}  # 7: not a dataset object
    path = tmp_path / "phila.json"
    path.write_bytes(body(doc))
    with pytest.raises(InputError, match="a dataset must be a JSON object") as refused:
        ingest(str(path), settings=quick, source="phila")
    assert started and refused.value.file == str(path) and refused.value.record == len(doc["dataset"]) - 1
    assert snapshot(quick) == before and records_file(quick, "phila").read_bytes() == hashes


def test_remove_drops_the_hashes(harvested: Harvested, validated: list[str]) -> None:
    quick, spec, first = harvested.settings, harvested.spec, harvested.first
    assert remove_source("phila", settings=quick) and not records_file(quick, "phila").exists()
    validated.clear()
    again = harvest(spec, quick)
    assert again.outcome == "published" and again.summary.changes.mapped == first.summary.read


def test_harvest_killed_half_way_leaves_store_and_hashes(
    harvested: Harvested, phila: dict, kg_env: dict[str, str], tmp_path: Path
) -> None:
    """A real ``kg harvest`` process SIGKILLs itself at each point of a re-harvest with changes
    (tests/kill_points.py): the store, the per-record hashes and the records' history as before, or
    all as after. (Killed by the clock, the run had to be phila's whole file, ~4 CPU-s a run, for
    the kills to land inside the write; at named points its first 100 datasets do.)"""
    store = Path(harvested.settings.store)
    env = kg_env | {"KG_STORE": str(store), "KG_HTTP_HOST_INTERVAL": "0", "KG_WORKERS": "1"}
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "phila"\nurl = "{harvested.spec.url}"\n', "utf-8")
    pristine = tmp_path / "pristine"
    shutil.copytree(store, pristine, symlinks=True)
    settings = make_settings(store)
    before = (snapshot(settings), _hashes(store), (store / "harvest.json").read_bytes())

    kept = phila["dataset"][:-20]
    datasets = [dict(d, title=d["title"] + " (v2)") if i % 3 else d for i, d in enumerate(kept)]
    harvested.route.change(body({**phila, "dataset": datasets}))
    scratch = tmp_path / "scratch"  # a killed run's scratch folder stays in this test's folder
    scratch.mkdir()
    killed_env = env | {"TMPDIR": str(scratch)}
    for point in WRITE_POINTS:
        shutil.rmtree(store)
        shutil.copytree(pristine, store, symlinks=True)
        run_killed(point, ["harvest", sources], killed_env)
        served = (snapshot(settings), _hashes(store), (store / "harvest.json").read_bytes())
        assert served == before, f"killed {point.name}: not the store, hashes and state it had"
    command = [str(kg_command()), "harvest", str(sources)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)  # on what the last left
    assert done.returncode == 0 and "records added/changed/removed/unchanged 0/" in done.stdout, done.stdout
    after = snapshot(settings)
    assert after != before[0]

    shutil.rmtree(store)
    shutil.copytree(pristine, store, symlinks=True)
    run_killed(PUBLISHED, ["harvest", sources], killed_env)  # the store committed, the state not saved
    # the hashes and the history went with the graphs (their run's own stamps: not the other run's)
    assert snapshot(settings) == after and _hashes(store) != before[1], f"killed {PUBLISHED.name}"
    resumed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0 and snapshot(settings) == after, resumed.stderr
    first = min(c.time for c in changes_between(store / "current", "2000-01-01", "9999"))
    after_first = stamp(datetime.fromisoformat(first) + timedelta(microseconds=1))
    since = changes_between(store / "current", after_first, "9999")
    kinds = Counter(c.kind for c in since if "/dataset/" in c.iri)
    retitled = sum(1 for i in range(len(kept)) if i % 3)
    assert kinds["removed"] == 20 and kinds["changed"] == retitled, kinds  # the killed run's history
    # the counts against what the store held when the resumed run started: every record as stored
    changes = load_states(store)["phila"].changes
    assert changes["added"] == 0 and changes["unchanged"] > 0
    listed = subprocess.run([str(kg_command()), "sources"], env=env, capture_output=True, text=True)
    assert "added/changed/removed/unchanged" in listed.stdout
    counts = "/".join(str(changes[k]) for k in ("added", "changed", "removed", "unchanged"))
    assert f" {counts} " in listed.stdout, listed.stdout


def _hashes(store: Path) -> bytes:
    """The per-record hashes and the records' history (kg.history): both published with the graphs."""
    records = store / "current" / "records"
    return (records / "phila.sqlite").read_bytes() + (records / "phila.history.db").read_bytes()


def test_csv_rows_changed_moved_and_gone_as_a_full_ingest(tmp_path: Path, validated: list[str]) -> None:
    """A CSV folder ingested again (``kg ingest`` of a source in the store reuses too): a dataset's
    row and another's distribution row changed, rows moved, one dataset gone with its files."""
    from conftest import SAMPLE_CSV
    from test_cli import edit_csv, row

    folder = tmp_path / "csv"
    shutil.copytree(SAMPLE_CSV, folder)
    settings = make_settings(tmp_path / "store")
    first = ingest(str(folder), settings=settings, source="csv")
    validated.clear()

    def datasets(rows: list[dict[str, str]]) -> None:
        row(rows, id="vea-air-pm10-daily")["title"] = "Daily PM10 averages (revised)"
        rows.remove(row(rows, id="mei-budget"))
        rows.reverse()

    def distributions(rows: list[dict[str, str]]) -> None:
        row(rows, id="vea-air-no2-hourly-csv")["byte_size"] = "123456"
        rows[:] = [r for r in rows if r["dataset"] != "mei-budget"]  # (their order is the record's)

    edit_csv(folder / "datasets.csv", datasets)
    edit_csv(folder / "distributions.csv", distributions)
    second = ingest(str(folder), settings=settings, source="csv")
    c = second.changes
    assert (c.added, c.changed, c.removed, c.unchanged) == (0, 2, 1, first.read - 3)
    assert sorted(k.rsplit("/", 1)[-1] for k in set(validated)) == [
        "vea-air-no2-hourly",
        "vea-air-pm10-daily",
    ]
    full = make_settings(tmp_path / "full")
    ingest(str(folder), settings=full, source="csv")
    assert snapshot(settings) == snapshot(full)
    assert search_answer(settings, "air") == search_answer(full, "air")
