"""Shared fixtures: a fresh store per test, the ``kg`` command in a subprocess, store snapshots.

* ``settings``: :class:`kg.settings.Settings` with a fresh (not yet created)
  store under ``tmp_path``, base ``http://kg.test/``, one worker, small batches.
* ``seeded``: the same settings, with the bundled CSV sample already ingested
  as source ``sample`` (copied from one ingest per session: fast).
* ``seeded_shared``: one such store per test module, for tests that only read it; the
  module's end fails if a test wrote to it.
* ``kg_env``: the environment to run ``.venv/bin/kg`` on that store.
* ``run_kg(*args, env=…)``: run the ``kg`` command, text output.
* ``snapshot(store)``: what a store serves, comparable with ``==``.
* ``shared``: ``../shared`` (real records from real portals), or a skip.
* ``portal`` / ``module_portal``: a loopback portal (tests/harvest_portal.py) for a test / a module.

With ``KG_TEST_STORE=oxigraph`` (or ``virtuoso``; see :mod:`backend`) every store that
:func:`make_settings` makes is backed by a fresh real server of that kind, stopped after
the test, and only the store, endpoint and UI tests are collected.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import backend
import file_order
import pytest
from harvest_portal import Portal

from kg.iris import Minter
from kg.settings import Settings, load_settings
from kg.store.embedded import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "kg" / "sample"
SAMPLE_CSV = SAMPLE / "csv"
SAMPLE_DATA_JSON = SAMPLE / "data.json"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_SAMPLES = SHARED / "data" / "samples"
BASE = "http://kg.test/"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def kg_command() -> Path:
    """``.venv/bin/kg`` next to the running interpreter (the product as installed), else the repo's venv."""
    beside = Path(sys.executable).with_name("kg")
    return beside if beside.exists() else ROOT / ".venv" / "bin" / "kg"


def wait_for(check, limit: float = 30.0):  # noqa: ANN001, ANN201
    """Poll ``check`` until it returns something true, at most ``limit`` seconds (a bound, not a
    pause): what it returned last."""
    ends = time.monotonic() + limit
    while not (found := check()):
        if time.monotonic() > ends:
            return found
        time.sleep(0.02)
    return found


def make_settings(store: Path | str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "store": store,
        "base_uri": BASE,
        "workers": 1,
        "validation_batch": 50,
    }
    if "store_query_url" not in overrides:
        values.update(backend.settings_for(store))
    values.update(overrides)
    return load_settings({}, **values)


EMBEDDED = {"store_query_url": "", "store_update_url": "", "store_gsp_url": ""}


def module_of(item: pytest.Item) -> str:
    """The test module's name, e.g. ``test_store`` ("" for a doctest of kg/, which has none)."""
    owner = getattr(item, "module", None)
    return owner.__name__.rsplit(".", 1)[-1] if owner else ""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """On a remote store, a file with no store, endpoint or UI test is not even imported (its
    tests would all be deselected below; importing and collecting them cost each worker seconds)."""
    if backend.REMOTE and collection_path.suffix == ".py":
        return collection_path.stem not in backend.REMOTE_MODULES or None
    return None


# The fixtures through which a test reaches a store: every store lives in a temporary folder
# (make_settings takes its path), so a test that asks for none of them has no store to run on.
STORE_FIXTURES = frozenset({"settings", "seeded", "seeded_shared", "kg_env", "tmp_path", "tmp_path_factory"})


def reaches_a_store(item: pytest.Item) -> bool:
    """Whether a test can make or open a store (directly or through its fixtures)."""
    return bool(STORE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a remote store, run the store, endpoint and UI tests only, and not the embedded store's own
    nor those that reach no store (they ran in the first half, on the same code); on both, the
    longest files first (:mod:`file_order`), each file's tests in their own order."""
    if backend.REMOTE:
        keep, drop = [], []
        for item in items:
            wanted = module_of(item) in backend.REMOTE_MODULES and reaches_a_store(item)
            (keep if wanted and item.get_closest_marker("embedded_only") is None else drop).append(item)
        items[:] = keep
        config.hook.pytest_deselected(items=drop)
    items.sort(key=lambda item: -file_order.file_cost(module_of(item), backend.REMOTE))  # stable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded_only: tests the embedded store's own machinery")
    # pytest-xdist would hand out files by their number of tests; the order of the collection
    # (longest first) balances the two workers (file_order.py)
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# Sections a test leaves for the end of the run, title -> lines (tests/test_official_agreement.py:
# its per-file table against the official shapes), printed by pytest_terminal_summary.
SUMMARY_SECTIONS = pytest.StashKey[dict[str, list[str]]]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands its sections to the controller, which prints the summary."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["summary_sections"] = session.config.stash.get(SUMMARY_SECTIONS, {})


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    sections = getattr(node, "workeroutput", {}).get("summary_sections", {})
    node.config.stash.setdefault(SUMMARY_SECTIONS, {}).update(sections)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    for title, lines in config.stash.get(SUMMARY_SECTIONS, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _stop_remote_servers() -> Iterator[None]:
    """Stop the remote servers a test started for its stores (none on the embedded store)."""
    mark = backend.started()
    yield
    backend.stop_from(mark)


@pytest.fixture(scope="session", autouse=True)
def _stop_every_remote_server() -> Iterator[None]:
    yield
    backend.stop_from(0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh store folder (not created until the first write)."""
    return make_settings(tmp_path / "store")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store with the bundled CSV sample ingested as ``sample``; tests get copies."""
    from kg.ingest.run import ingest

    store = tmp_path_factory.mktemp("seeded") / "store"
    summary = ingest(str(SAMPLE_CSV), settings=make_settings(store, **EMBEDDED), source="sample")
    assert summary.stored and summary.published == 55 and summary.quarantined == 0
    if backend.REMOTE:  # a backup, which the remote store restores into each test's server
        Store(store).backup(store.parent / "backup")
    return store


def seed(settings: Settings, template: Path) -> Settings:
    """Put the seeded template's graphs in the store of ``settings`` (a copy, or a restore into
    the remote server) and return the settings."""
    if settings.remote:
        from kg.factory import store_for

        store_for(settings).restore(template.parent / "backup")
    else:
        shutil.copytree(template, settings.store, symlinks=True)
    return settings


@pytest.fixture
def seeded(settings: Settings, seeded_template: Path) -> Settings:
    """``settings`` whose store already holds the bundled sample (source ``sample``)."""
    return seed(settings, seeded_template)


@pytest.fixture(scope="module")
def seeded_shared(tmp_path_factory: pytest.TempPathFactory, seeded_template: Path) -> Iterator[Settings]:
    """One seeded store for the tests of a module that only read it.

    On a remote store, seeding is a server and a restore per test (most of what a reading test
    costs); these tests share one. Its graphs are compared at the module's end: a test that wrote
    to it fails the run there (such a test takes ``seeded``, a store of its own).
    """
    mark = backend.started()
    shared_settings = seed(make_settings(tmp_path_factory.mktemp("shared") / "store"), seeded_template)
    before = snapshot(shared_settings)
    yield shared_settings
    after = snapshot(shared_settings)
    backend.stop_from(mark)
    assert after == before, "a test wrote to the read-only store `seeded_shared`: give it `seeded`"


@pytest.fixture
def kg_env(settings: Settings) -> dict[str, str]:
    """Environment for running ``kg`` on the ``settings`` store (no proxies, no debug)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KG_") and k.lower() not in PROXY_VARIABLES
    }
    env.update(
        KG_STORE=str(settings.store),
        KG_BASE_URI=settings.base_uri,
        KG_WORKERS="1",
        KG_VALIDATION_BATCH=str(settings.validation_batch),
        NO_PROXY="127.0.0.1,localhost",
        **backend.env_of(settings),
    )
    return env


def run_kg(
    *args: str, env: Mapping[str, str], cwd: Path | str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``kg`` command; stdout and stderr as text."""
    return subprocess.run(
        [str(kg_command()), *map(str, args)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def open_store(where: Settings | Store | Path | str) -> Store:
    if isinstance(where, Store):
        return where
    if isinstance(where, Settings):
        from kg.factory import store_for

        return store_for(where)
    return Store(where)


def snapshot(where: Settings | Store | Path | str, *, base: str = BASE) -> tuple[str, ...]:
    """What the store serves: the sorted N-Quads of every graph but the provenance graph.

    Two snapshots are equal when every query (but ones on ingest history) answers the same.
    """
    store = open_store(where)
    out = io.BytesIO()
    store.dump(out, fmt="nq")
    provenance = f"<{Minter(base).provenance_graph()}> .\n"
    lines = out.getvalue().decode("utf-8").splitlines(keepends=True)
    return tuple(sorted(line for line in lines if not line.endswith(provenance)))


@pytest.fixture
def shared() -> Path:
    """``/work/shared`` (next to the project folder): real sample records, data for tests only."""
    if not SHARED_SAMPLES.is_dir():
        pytest.skip(f"the shared folder with real portal samples is absent (looked for {SHARED_SAMPLES})")
    return SHARED


@pytest.fixture
def portal() -> Iterator[Portal]:
    """A loopback portal (tests/harvest_portal.py) for one test: the harvester's and HTTP client's."""
    with Portal() as portal:
        yield portal


@pytest.fixture(scope="module")
def module_portal() -> Iterator[Portal]:
    """One loopback portal for a module's tests (its routes replaced as they go): for a store made
    once per module by a harvest from it, whose harvest state holds the portal's URL."""
    with Portal() as portal:
        yield portal


class Counting:
    """The app's page store with every query it is asked recorded (the real store answers)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.queries: list[str] = []

    def query(self, sparql: str, **kwargs):
        self.queries.append(sparql)
        return self.inner.query(sparql, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)
