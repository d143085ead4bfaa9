"""``kg harvest`` on real on-disk stores, against a real HTTP server on 127.0.0.1 serving real portal
files (../shared/data/real-portals): the validators of the last harvest sent and a 304 left alone,
the same bytes found unchanged, a changed document published, a portal that fails (500 until the
retries run out, an HTML page, a body cut off, no answer in time) leaving its source exactly as it
was while the next source goes on, a CKAN portal paged through the same client, a local file.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import threading
import time
from pathlib import Path

import pytest
from conftest import make_settings, snapshot
from harvest_portal import FLORIDA, VANVES, Portal, http_date

from kg.factory import store_for
from kg.harvest.run import StopRequest, client_for, due, harvest_all, harvest_source, loop
from kg.harvest.sources import SourceSpec
from kg.ingest.sources import remove_source
from kg.settings import Settings
from kg.store.harvest_state import SourceState, load_states, save_state

FAMILY_PASS = "real-portals/ckan-json/dati.trentino.it-euregio-family-pass.package_show.json"


@pytest.fixture
def quick(tmp_path: Path) -> Settings:
    """A fresh store; one retry after 10 ms, no pause per host, 1 s to answer."""
    return make_settings(
        tmp_path / "store", http_retries=1, http_backoff=0.01, http_host_interval=0.0, http_timeout=1.0
    )


def real(shared: Path, name: str) -> bytes:
    return (shared / "data" / name).read_bytes()


def retitled(body: bytes, title: str) -> bytes:
    """The data.json with its first dataset's title changed, as a portal's next version of it."""
    doc = json.loads(body)
    doc["dataset"][0]["title"] = title
    return json.dumps(doc).encode("utf-8")


def harvest(spec: SourceSpec, settings: Settings):  # noqa: ANN201 - kg.harvest.run.Outcome
    return harvest_source(spec, settings=settings, client=client_for(settings))


def version(settings: Settings) -> str:
    return store_for(settings).version()


def test_etag_kept_sent_and_a_304_leaves_the_store_alone(
    quick: Settings, portal: Portal, shared: Path
) -> None:
    route = portal.serve("/data.json", real(shared, FLORIDA), etag='"r1"', last_modified=http_date(3600))
    spec = SourceSpec("florida", portal.url("/data.json"), "data.json", "6h", 21600.0)
    first = harvest(spec, quick)
    assert first.outcome == "published" and first.summary.published == first.summary.read > 0
    assert first.summary.reports and all(r.origin.startswith(spec.url + ", ") for r in first.summary.reports)
    published = version(quick)
    state = load_states(quick.store)["florida"]
    assert (state.etag, state.outcome, state.counts["read"]) == ('"r1"', "published", first.summary.read)
    assert state.run == first.summary.run and state.next_run > state.attempted

    again = harvest(spec, quick)
    assert (again.outcome, again.reason) == ("unchanged", "not modified (HTTP 304)")
    sent = portal.requests[-1].headers
    assert sent["if-none-match"] == '"r1"' and sent["if-modified-since"] == route.last_modified
    assert version(quick) == published  # no new generation
    after = load_states(quick.store)["florida"]
    assert after.outcome == "unchanged" and after.attempted >= state.attempted
    assert (after.published_at, after.run, after.etag) == (state.published_at, state.run, state.etag)

    route.change(retitled(route.body, "Borrow Areas (2026 survey)"), etag='"r2"')
    changed = harvest(spec, quick)
    assert changed.outcome == "published" and version(quick) != published
    titles = store_for(quick).query(
        'SELECT ?t WHERE { ?d <http://purl.org/dc/terms/title> ?t FILTER(CONTAINS(STR(?t), "2026 survey")) }'
    )
    assert len(list(titles)) == 1
    assert load_states(quick.store)["florida"].etag == '"r2"'


def test_last_modified_alone_and_rdf_named_by_its_media_type(
    quick: Settings, portal: Portal, shared: Path
) -> None:
    route = portal.serve("/catalog", real(shared, VANVES), content_type="application/rdf+xml",
                         last_modified=http_date(86400))  # fmt: skip
    spec = SourceSpec("vanves", portal.url("/catalog"), "rdf")
    assert harvest(spec, quick).outcome == "published"
    published = version(quick)
    again = harvest(spec, quick)
    assert again.outcome == "unchanged" and version(quick) == published
    assert portal.requests[-1].headers["if-modified-since"] == route.last_modified
    assert "if-none-match" not in portal.requests[-1].headers


def test_the_same_bytes_without_validators_are_unchanged(
    quick: Settings, portal: Portal, shared: Path
) -> None:
    portal.serve("/data.json", real(shared, FLORIDA))
    spec = SourceSpec("florida", portal.url("/data.json"), None)  # the format detected
    assert harvest(spec, quick).outcome == "published"
    published = version(quick)
    again = harvest(spec, quick)
    assert (again.outcome, again.reason) == ("unchanged", "the same content (SHA-256) as the last harvest")
    assert version(quick) == published


def test_a_failing_portal_leaves_its_source_as_it_was(quick: Settings, portal: Portal, shared: Path) -> None:
    body = real(shared, FLORIDA)
    route = portal.serve("/data.json", body, etag='"r1"')
    spec = SourceSpec("florida", portal.url("/data.json"), "data.json")
    assert harvest(spec, quick).outcome == "published"
    before, kept = snapshot(quick), load_states(quick.store)["florida"]
    route.change(retitled(body, "Never published"), etag='"r2"')
    route.delay = 2.0
    for step, words in [
        ("500", "HTTP 500 Internal Server Error (2 attempts)"),
        ("html", "HTML page (text/html)"),
        ("truncated", "truncated body"),
        ("broken-gzip", "truncated body"),
        ("slow", "no answer within 1 s (2 attempts)"),
    ]:
        route.plan = [step]
        outcome = harvest(spec, quick)
        assert outcome.outcome == "failed" and words in outcome.reason and outcome.exit_code == 2, step
        assert portal.url("/data.json") in outcome.reason
        assert snapshot(quick) == before, step
        state = load_states(quick.store)["florida"]
        assert (state.outcome, state.etag, state.sha256, state.run) == (
            "failed",
            kept.etag,
            kept.sha256,
            kept.run,
        )
    route.plan = ["500", "ok"]  # the retry finds the portal back
    assert harvest(spec, quick).outcome == "published" and snapshot(quick) != before


def test_one_source_failing_does_not_stop_the_next(quick: Settings, portal: Portal, shared: Path) -> None:
    portal.serve("/down.json", b"", plan=["500"])
    portal.serve("/vanves.rdf", real(shared, VANVES), content_type="application/rdf+xml")
    specs = [
        SourceSpec("down", portal.url("/down.json"), "data.json"),
        SourceSpec("vanves", portal.url("/vanves.rdf")),
    ]
    seen: list[str] = []
    outcomes = harvest_all(specs, settings=quick, report=lambda o: seen.append(o.source))
    assert seen == ["down", "vanves"] and [o.outcome for o in outcomes] == ["failed", "published"]
    assert len(portal.asked("/down.json")) == 2  # the first try and one retry
    assert "vanves" in {g.rsplit("/", 1)[-1] for g in store_for(quick).data_graphs()}


def test_a_ckan_portal_through_the_same_client(quick: Settings, portal: Portal, shared: Path) -> None:
    path = "/api/3/action/package_show?id=euregio-family-pass"
    portal.serve(path, real(shared, FAMILY_PASS))
    spec = SourceSpec("trentino", portal.url(path), "ckan", headers={"X-Api-Client": "kg"})
    first = harvest(spec, quick)
    assert first.outcome == "published" and first.summary.read >= 1
    assert load_states(quick.store)["trentino"].counts["read"] == first.summary.read
    again = harvest(spec, quick)
    assert (again.outcome, again.reason) == ("unchanged", "the same packages (SHA-256) as the last harvest")
    assert all(r.headers["x-api-client"] == "kg" for r in portal.asked(path))


def test_a_local_file_and_validators_gone_stale(quick: Settings, tmp_path: Path, shared: Path) -> None:
    local = tmp_path / "florida.data.json"
    local.write_bytes(real(shared, FLORIDA))
    spec = SourceSpec("florida", str(local))
    assert harvest(spec, quick).outcome == "published"
    assert harvest(spec, quick).outcome == "unchanged"
    assert remove_source("florida", settings=quick)  # the store no longer holds what the state describes
    assert harvest(spec, quick).outcome == "published"
    local.unlink()
    gone = harvest(spec, quick)
    assert gone.outcome == "failed" and f"{local}: no such file or folder" in gone.reason


def test_due_sources_and_the_next_wake(settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    save_state(settings.store, SourceState("waits", attempted=(now - timedelta(minutes=40)).isoformat()))
    save_state(settings.store, SourceState("late", attempted=(now - timedelta(hours=2)).isoformat()))
    specs = [SourceSpec(n, f"/x/{n}", every=3600.0) for n in ("waits", "late", "new")]
    ready, wake = due(specs, settings, now)
    assert [s.name for s in ready] == ["late", "new"] and wake == now + timedelta(minutes=20)


def test_quality_page_shows_each_harvest(settings: Settings) -> None:
    """A first harvest that failed: the source is in no store generation, only in the state."""
    from kg.web.app import build_app

    url = "http://127.0.0.1:9/data.json"
    reason = f"{url}: the server answered HTTP 500 Internal Server Error (4 attempts)"
    attempted, next_run = "2026-12-07T06:00:00+00:00", "2026-12-07T12:00:00+00:00"
    save_state(settings.store, SourceState("sample", url, attempted, "failed", reason, next_run))
    client = build_app(settings).test_client()
    data = client.get("/quality.json").get_json()
    (shown,) = data["harvests"]
    assert (shown["source"], shown["outcome"], shown["reason"]) == ("sample", "failed", reason)
    assert shown["next_run"] == "2026-12-07T12:00:00+00:00" and shown["published_at"] is None
    page = client.get("/quality")
    html = page.get_data(as_text=True)
    assert "Harvests" in html and "2026-12-07 12:00:00" in html and "HTTP 500 Internal Server Error" in html
    save_state(
        settings.store, SourceState("sample", attempted="2026-12-07T12:00:01+00:00", outcome="unchanged")
    )
    fresh = client.get("/quality", headers={"If-None-Match": page.headers["ETag"]})
    assert fresh.status_code == 200 and "unchanged" in fresh.get_data(as_text=True)  # no stale 304


@pytest.mark.parametrize("step", ["slow", "trickle"])
def test_a_slow_portal_fails_after_its_retries_and_the_next_source_goes_on(
    quick: Settings, portal: Portal, shared: Path, step: str
) -> None:
    """KG_HTTP_TIMEOUT is 1 s: a portal that answers after 3 s, or sends its body 16 bytes every
    0.2 s (a 4 KB body in 50 s, each piece well within the timeout), fails with the reason after
    its retry; the store and the source's state stay as they were; the next source is published."""
    body = real(shared, FLORIDA)
    route = portal.serve("/slow.json", body, etag='"s1"')
    slow = SourceSpec("slow", portal.url("/slow.json"), "data.json")
    assert harvest(slow, quick).outcome == "published"
    before, kept = snapshot(quick), load_states(quick.store)["slow"]
    route.change(retitled(body, "Never published"), etag='"s2"')
    route.plan, route.delay = [step], (3.0 if step == "slow" else 0.2)
    portal.serve("/vanves.rdf", real(shared, VANVES), content_type="application/rdf+xml")
    vanves = SourceSpec("vanves", portal.url("/vanves.rdf"))
    failed, published = harvest_all([slow, vanves], settings=quick, report=lambda o: None)
    reason = {
        "slow": "no answer within 1 s (2 attempts)",
        "trickle": "the answer came too slowly: fewer than 1024 bytes a second over 1 s (2 attempts)",
    }[step]
    assert (failed.outcome, failed.reason, failed.exit_code) == ("failed", f"{slow.url}: {reason}", 2)
    assert len(portal.asked("/slow.json")) == 3  # the first harvest, then a try and its retry
    assert published.outcome == "published"
    assert [line for line in snapshot(quick) if not line.endswith("/vanves> .\n")] == list(before)
    state = load_states(quick.store)["slow"]
    assert (state.outcome, state.sha256, state.run) == (
        "failed",
        kept.sha256,
        kept.run,
    ) and state.etag == '"s1"'


def test_loop_tries_a_busy_store_again_soon_and_leaves_the_others_alone(
    quick: Settings, portal: Portal, shared: Path
) -> None:
    """Another writer holds the store's lock (as tests/test_cli.py holds it): --loop's source is
    tried again after 0.2 s, then 0.4, then 0.8 (not at its next daily run, and not at once), each
    reported busy; once the lock is free it is published and the loop stops. A source already
    published and not due is not touched meanwhile."""
    portal.serve("/data.json", real(shared, FLORIDA))
    portal.serve("/vanves.rdf", real(shared, VANVES), content_type="application/rdf+xml")
    florida = SourceSpec("florida", portal.url("/data.json"), "data.json", "1d", 86400.0)
    vanves = SourceSpec("vanves", portal.url("/vanves.rdf"), None, "1d", 86400.0)
    assert harvest(vanves, quick).outcome == "published"
    stop, seen, when = StopRequest(), [], []
    with open(quick.store / "write.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(f"process {os.getpid()}")
        lock.flush()

        def report(outcome) -> None:  # noqa: ANN001 - kg.harvest.run.Outcome
            seen.append(outcome)
            when.append(time.monotonic() - outcome.seconds)  # when the attempt began
            if len(seen) == 3:
                lock.truncate(0)
                fcntl.flock(lock, fcntl.LOCK_UN)
            if outcome.outcome != "failed" or len(seen) > 6:
                stop.set()

        watchdog = threading.Timer(60.0, stop.set)  # a loop that waits for the daily run: fail, not hang
        watchdog.start()
        try:
            loop([florida, vanves], settings=quick, report=report, stop=stop, busy_retry=0.2)
        finally:
            watchdog.cancel()
    assert [(o.source, o.outcome) for o in seen] == [("florida", "failed")] * 3 + [("florida", "published")]
    for outcome, wait in zip(seen, ("0.2", "0.4", "0.8"), strict=False):
        assert f"being written by process {os.getpid()}" in outcome.reason
        assert outcome.reason.endswith(f"; the store is busy: tried again in {wait} s"), outcome.reason
        assert outcome.exit_code == 4
    gaps = [b - a for a, b in itertools.pairwise(when)]
    assert gaps[0] > 0.19 and gaps[1] > 0.39 and gaps[2] > 0.79  # waited (to the ms), not spun
    states = load_states(quick.store)
    assert states["florida"].busy_wait == 0 and states["florida"].next_run > states["florida"].attempted
    assert states["vanves"].outcome == "published" and len(portal.asked("/vanves.rdf")) == 1
