"""Harvest: each source fetched, ingested when it changed, and its state kept; once, or on schedule.

One source's failure (a portal down, an HTML page, a body cut off, a file that cannot be read, a
busy store) is that source's outcome, with its reason: its records stay as they were, its state
keeps the validators of what the store still holds, and the next source goes on. Sources run one
after another in one process, and each ingest takes the store's write lock, so a harvest is one
writer among the others (``kg ingest``, another harvest).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kg.errors import InputError, KgError, StoreBusy
from kg.harvest.fetch import Fetched, fetch
from kg.harvest.sources import SourceSpec
from kg.ingest.run import Progress, ingest
from kg.ingest.sources import list_sources
from kg.ingest.summary import IngestSummary
from kg.readers.http import HttpClient, client_for
from kg.scratch import scratch_folder
from kg.settings import Settings
from kg.store.harvest_state import SourceState, load_states, save_state

# --loop and a busy store (another writer holds its lock): the source is tried again after this
# many seconds, then twice as long each time, at most BUSY_RETRY_MAX apart, until it gets through
# or its own schedule comes first (a source run once a day would otherwise lose its day).
BUSY_RETRY = 30.0
BUSY_RETRY_MAX = 600.0
# The longest the loop sleeps at once. A SIGTERM may be delivered to any thread (the store's own
# threads among them), and Python runs its handler in the main thread only when that thread wakes:
# one long wait would sleep through it until the next source is due (seen: a test waiting an hour).
WAKE_EVERY = 1.0


class StopRequest:
    """A request to stop harvesting, safe to make from a signal handler.

    ``threading.Event`` is not: its ``set()`` takes a lock that the main thread holds for a moment
    in every ``wait()``, and Python runs a handler in the main thread, so a SIGTERM landing in that
    moment blocks the handler on its own thread's lock for ever (CI saw the handler's message and
    then a loop that never stopped; cpython issue 126434 is the same trap). Setting this one only
    assigns a bool, and waiting sleeps in steps, looking at it between them.
    """

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        self.requested = True

    def is_set(self) -> bool:
        return self.requested

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, at most ``WAKE_EVERY`` at a time; True once stop is requested."""
        end = time.monotonic() + seconds
        while not self.requested and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, WAKE_EVERY))
        return self.requested


@dataclass
class Outcome:
    """What one harvest of one source did; ``exit_code`` is its error's (0 unless it failed)."""

    source: str
    outcome: str  # published | unchanged | failed
    reason: str = ""
    summary: IngestSummary | None = None
    changes: dict[str, int] | None = None  # records added, changed, removed, unchanged; None: not known
    exit_code: int = 0
    seconds: float = 0.0
    next_run: str = ""


def harvest_source(
    spec: SourceSpec,
    *,
    settings: Settings,
    client: HttpClient,
    progress: Progress | None = None,
    busy_retry: float | None = None,
) -> Outcome:
    """Fetch one source; ingest it when it changed; record the attempt in the harvest state.

    ``busy_retry`` (``--loop``): when the store is busy, try again after that many seconds
    (doubling from one busy attempt to the next, see :data:`BUSY_RETRY`) rather than at the next
    scheduled run; None: a busy store is a failure like another.

    :raises StoreError: only when the harvest state itself cannot be read or written.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    state = load_states(settings.store).get(spec.name) or SourceState(spec.name)
    last = state if state.run and state.run == _current_run(spec.name, settings) else None
    state.url, state.attempted = spec.url, _iso(started)
    state.next_run = _iso(started + timedelta(seconds=spec.every)) if spec.every else ""
    waited, state.busy_wait = state.busy_wait, 0.0
    outcome = Outcome(spec.name, "failed")
    try:
        with scratch_folder("kg-harvest-") as scratch:
            found = fetch(spec, last, client, scratch, jsonld_fetch=settings.jsonld_fetch)
            if isinstance(found, Fetched):
                summary = _ingest(spec, found, settings, str(scratch), progress)
                outcome.summary = summary
                outcome.changes = summary.changes.counts() if summary.changes else None
                if summary.unchanged:
                    outcome.outcome, outcome.reason = "unchanged", _same_records(summary)
                    _validators(state, found)
                else:
                    outcome.outcome = "published"
                    _published(state, found, summary, started)
            else:
                outcome.outcome, outcome.reason = "unchanged", found.reason
                outcome.changes = _all_unchanged(last)
    except StoreBusy as exc:
        outcome.reason, outcome.exit_code = str(exc), exc.exit_code
        if busy_retry is not None:
            _retry_soon(state, outcome, started, min(2 * waited, BUSY_RETRY_MAX) if waited else busy_retry)
    except KgError as exc:
        outcome.reason, outcome.exit_code = str(exc), exc.exit_code
    except OSError as exc:  # the temporary folder: the disk full, /tmp read-only
        outcome.reason, outcome.exit_code = f"cannot write a temporary file: {exc}", 4
    state.outcome, state.reason = outcome.outcome, outcome.reason
    state.changes = outcome.changes or {}
    save_state(settings.store, state)
    outcome.seconds, outcome.next_run = time.perf_counter() - t0, state.next_run
    return outcome


def _retry_soon(state: SourceState, outcome: Outcome, started: datetime, wait: float) -> None:
    """A busy store: the next run ``wait`` seconds after this attempt, unless the schedule's is sooner."""
    retry = started + timedelta(seconds=wait)
    scheduled = _parse(state.next_run)
    if scheduled is not None and scheduled <= retry:
        return
    state.busy_wait, state.next_run = wait, retry.isoformat(timespec="milliseconds")
    outcome.reason += f"; the store is busy: tried again in {wait:g} s"


def _ingest(
    spec: SourceSpec, found: Fetched, settings: Settings, scratch: str, progress: Progress | None
) -> IngestSummary:
    """The fetched content ingested under the source's name; an error names the URL, not the copy."""
    try:
        return ingest(
            found.location,
            settings=settings,
            source=spec.name,
            fmt=found.fmt,
            origin=spec.url,
            progress=progress,
            skip_unchanged=True,
        )
    except InputError as exc:
        if exc.file and exc.file.startswith(scratch):
            exc.file = spec.url
        raise


def _published(state: SourceState, found: Fetched, summary: IngestSummary, started: datetime) -> None:
    state.published_at, state.run = _iso(started), summary.run
    state.counts = {"read": summary.read, "published": summary.published, "quarantined": summary.quarantined}
    _validators(state, found)


def _validators(state: SourceState, found: Fetched) -> None:
    """What the next harvest asks the server with (or compares the content to): this content's,
    also when its records were all as stored, so that the next one can be a 304."""
    state.etag, state.last_modified, state.sha256 = found.etag, found.last_modified, found.sha256


def _same_records(summary: IngestSummary) -> str:
    c = summary.changes
    mapped = f", {c.mapped} mapped again" if c and c.mapped else ""
    return f"new content, but every one of its {summary.read} records as stored{mapped}"


def _all_unchanged(last: SourceState | None) -> dict[str, int] | None:
    """A document found unchanged as a whole: each record of the last harvest is unchanged."""
    read = last.counts.get("read") if last else None
    return {"added": 0, "changed": 0, "removed": 0, "unchanged": read} if read is not None else None


def _current_run(name: str, settings: Settings) -> str:
    """The ingest run whose records the store holds for the source ("" when it holds none)."""
    return next((row["run"] for row in list_sources(settings=settings) if row["source"] == name), "")


def harvest_all(
    specs: Iterable[SourceSpec],
    *,
    settings: Settings,
    report: Callable[[Outcome], None],
    client: HttpClient | None = None,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
    busy_retry: float | None = None,
) -> list[Outcome]:
    """Each source once, in the file's order, until ``stop`` is set (checked between sources);
    ``busy_retry`` as :func:`harvest_source` takes it."""
    client = client or client_for(settings)
    outcomes = []
    for spec in specs:
        if stop is not None and stop.is_set():
            break
        outcome = harvest_source(
            spec, settings=settings, client=client, progress=progress, busy_retry=busy_retry
        )
        report(outcome)
        outcomes.append(outcome)
    return outcomes


def due(specs: Iterable[SourceSpec], settings: Settings, now: datetime) -> tuple[list[SourceSpec], datetime]:
    """The sources whose next run has come (or that never ran), and when the next one is due."""
    states = load_states(settings.store)
    ready, upcoming = [], []
    for spec in specs:  # from the last attempt and today's schedule: an edited schedule counts at once
        state = states.get(spec.name)
        last = _parse(state.attempted) if state and state.attempted else None
        when = last + timedelta(seconds=spec.every) if last else None
        if when and state and state.busy_wait and (retry := _parse(state.next_run)):
            when = min(when, retry)  # a busy store: tried again sooner (BUSY_RETRY)
        if when is None or when <= now:
            ready.append(spec)
            when = now + timedelta(seconds=spec.every)
        upcoming.append(when)
    return ready, min(upcoming)


def loop(
    specs: list[SourceSpec],
    *,
    settings: Settings,
    report: Callable[[Outcome], None],
    stop: StopRequest,
    progress: Progress | None = None,
    busy_retry: float = BUSY_RETRY,
) -> None:
    """Harvest each source on its schedule until ``stop`` is set; sleeps until the next is due.
    A source that finds the store busy is due again ``busy_retry`` seconds later (then doubling)."""
    client = client_for(settings)
    while not stop.is_set():
        ready, wake = due(specs, settings, datetime.now(UTC))
        if ready:
            harvest_all(
                ready,
                settings=settings,
                report=report,
                client=client,
                progress=progress,
                stop=stop,
                busy_retry=busy_retry,
            )
        else:
            stop.wait(max(0.0, (wake - datetime.now(UTC)).total_seconds()))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _parse(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
