"""The protocol core of ``/sparql`` queries: what each request is answered, framework-free.

One core, two drivers (:mod:`kg.web.front`): the event loop runs it directly on the embedded store
and awaits the evaluation in one of the worker's threads (:mod:`kg.web.loop_answers`, the async
driver); with a remote store, whose version and answers are requests over the network, a thread
runs it and the store's synchronous client (the sync driver). Either way the
same functions decide the answer: the guard (:mod:`kg.web.guard`), the access policy
(:func:`private_dataset`), the negotiated format, the cache key and ETag, 304s, the cached and the
evaluated answers' headers, and every error's status and body (:mod:`kg.web.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from werkzeug.exceptions import BadRequest, abort

from kg.sparql_text import (
    dataset_clauses,
    declares_dataset,
    described_terms,
    selects_one_subject,
    with_base,
)
from kg.web import answers, formats, guard
from kg.web.auth import readable, token_reads_private
from kg.web.errors import error_body, error_of, wants_json_for
from kg.web.service_description import service_description
from kg.web.sparql_request import Ask

Headers = list[tuple[str, str]]
CORS = answers.cors_headers("/sparql", "GET")
PREFLIGHT = answers.cors_headers("/sparql", "OPTIONS")
# the triples the IRIs a DESCRIBE names may have for it to be evaluated on the loop (a dataset: ~30-70)
DESCRIBED_ON_LOOP = 1000
SD_FORMATS = {k: v for k, v in formats.GRAPHS.items() if k not in ("nq", "trig")}


@dataclass(frozen=True)
class Reply:
    """A whole answer: status, headers (CORS included) and body."""

    status: int
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True)
class Planned:
    """A query to evaluate: what it is evaluated on, and where its answer goes in the cache."""

    text: str
    default: list[str] | None
    named: list[str] | None
    accept: answers.Accept
    key: tuple
    etag: str
    private: bool


@dataclass(frozen=True)
class Started:
    """A long answer begun by the sync driver: its format and the rest of its chunks."""

    planned: Planned
    fmt: str
    chunks: Iterator[bytes]


def private_dataset(
    store, text: str, default: list[str] | None, named: list[str] | None, reads: bool
) -> bool:
    """Whether a query runs on the private graphs rather than the public ones (``reads``: the
    request carries a token that reads them, :func:`kg.web.auth.token_reads_private`).

    The dataset a query names (``default-graph-uri`` / ``named-graph-uri``, else its own ``FROM`` /
    ``FROM NAMED``) decides, through the one access policy (:func:`kg.web.auth.readable`): private
    graphs that this request may read, and nothing else (the two sides live apart: one query
    cannot join them, so naming both is a 400). A private graph named by a request without a token
    is absent: the query runs on the public graphs, where no such graph is. ``GRAPH`` patterns
    range over the dataset's named graphs, so they reach private graphs only when it names them.
    """
    if default is None and named is None:
        if not declares_dataset(text):
            return False
        default, named = dataset_clauses(text)
    graphs = [*(default or ()), *(named or ())]
    private = [g for g in graphs if store.is_private(g)]
    if not private or not all(readable(store, g, reads) for g in private):
        return False
    if len(private) < len(graphs):
        raise BadRequest(
            "a query's dataset names private graphs or public ones, not both: they are stored apart "
            "(send one query per side)"
        )
    return True


class QueryCore:
    """The answers of one app's ``/sparql`` (its settings, store, result cache and evaluator)."""

    def __init__(self, settings, store, cache, evaluator) -> None:
        self.settings, self.store, self.cache, self.evaluator = settings, store, cache, evaluator
        self.max_rows = settings.max_results

    def plan(self, ask: Ask) -> Reply | Planned:
        """A query's answer when it is known without evaluating it (the Service Description, a 304,
        the cache's), else what to evaluate.

        :raises HTTPException: the guard refused it (400, 413), its dataset mixes sides (400).
        """
        found = guard.problem(ask.text, self.settings)
        if found is not None:
            abort(*found)
        if not ask.text.strip():
            return self.service_description(ask)
        text = with_base(ask.text, ask.base_url)  # relative IRIs: against the endpoint (the key has it)
        default, named = list(ask.default) or None, list(ask.named) or None
        reads = token_reads_private(self.settings, ask.authorization) if ask.authorization else False
        private = reads and private_dataset(self.store, text, default, named, reads)
        accept = answers.negotiate(ask.fmt, ask.accept)
        key = answers.cache_key(text, ask.default, ask.named, accept, self.store.version(), private=private)
        etag = answers.key_etag(key)
        if answers.matches(etag, ask.if_none_match):
            return not_modified(etag)
        hit = self.cache.get(key)
        if hit is not None:
            data, (ctype, cut) = hit
            return Reply(200, self.headers(ctype, etag, cut, private, len(data)), data)
        return Planned(text, default, named, accept, key, etag, private)

    def bounded(self, planned: Planned) -> bool:
        """Whether a query's work is bounded by the resources it names, so that it is evaluated where
        it is asked, on the loop, rather than handed to a thread and back (0.2-0.3 ms of CPU for a
        0.2-0.3 ms lookup, which is no runaway): a ``SELECT`` of one constant subject's triples (cut
        at the row cap), and a ``DESCRIBE`` of IRIs that have at most :data:`DESCRIBED_ON_LOOP`
        triples. Never with a remote store, whose answers are passed through."""
        if self.settings.remote:
            return False
        return selects_one_subject(planned.text) or self._describes_few(planned)

    def _describes_few(self, planned: Planned) -> bool:
        """A ``DESCRIBE`` of IRIs whose own triples are few, counted first (at most
        :data:`DESCRIBED_ON_LOOP` + 1 read, ~0.05 ms). Why: a DESCRIBE has no row cap, and on the
        loop it holds every request of the worker; the catalogue's node at 100,000 datasets has
        100,210 triples, 1.5 s to describe, which no deadline could stop there. Such a one goes to a
        thread, within the query's time limit, as every other query does."""
        described = described_terms(planned.text)
        if described is None:
            return False
        prologue, terms = described
        count = (
            f"{prologue}SELECT (COUNT(*) AS ?n) WHERE {{ {{ SELECT ?o WHERE {{ VALUES ?s {{ {terms} }} "
            f"?s ?p ?o }} LIMIT {DESCRIBED_ON_LOOP + 1} }} }}"
        )
        try:
            row = next(iter(self.store.query(count, private=planned.private)))
        except Exception:  # noqa: BLE001 - the DESCRIBE itself, in its thread, says what is wrong
            return False
        return int(row["n"].value) <= DESCRIBED_ON_LOOP

    def now(self, planned: Planned) -> Reply:
        """Evaluate a bounded query here, and answer it whole."""
        buffer = answers.Buffer()
        answers.evaluate(
            buffer, self.store, planned.text, planned.default, planned.named, planned.accept,
            self.max_rows, private=planned.private,
        )  # fmt: skip
        return self.whole(planned, buffer.fmt, buffer.parts)

    def start(self, ask: Ask) -> Reply | Started:
        """The sync driver's whole work before the body streams: plan, then evaluate with the
        ``kg_evaluator``'s synchronous client (the remote store's, bounded by its request timeout,
        or the worker's threads). Run off the event loop: it blocks."""
        if self.settings.remote:
            self.store.new_request()  # every commit made before this request is seen (kg.store.remote)
        planned = self.plan(ask)
        if isinstance(planned, Reply):
            return planned
        if self.bounded(planned):
            return self.now(planned)
        fmt, chunks = self.evaluator.evaluate(
            planned.text, planned.default, planned.named, planned.accept,
            max_rows=self.max_rows, private=planned.private,
        )  # fmt: skip
        if isinstance(chunks, list):
            return self.whole(planned, fmt, chunks)
        return Started(planned, fmt, chunks)

    def whole(self, planned: Planned, fmt: str, parts: list[bytes]) -> Reply:
        """A complete answer: one body with its length, kept in the cache when it is small enough."""
        data = b"".join(parts)
        fmt, _, cut = fmt.partition("|")
        ctype = formats.content_type(fmt)
        if len(data) <= self.cache.max_entry:
            self.cache.put(planned.key, data, (ctype, cut))
        return Reply(200, self.headers(ctype, planned.etag, cut, planned.private, len(data)), data)

    def streamed(self, planned: Planned, fmt: str) -> tuple[Headers, str, str]:
        """(headers, Content-Type, cut) of an answer that streams (no length: chunked)."""
        fmt, _, cut = fmt.partition("|")
        ctype = formats.content_type(fmt)
        return self.headers(ctype, planned.etag, cut, planned.private, None), ctype, cut

    def keep(self, planned: Planned, data: bytes, ctype: str, cut: str) -> None:
        """Cache a streamed answer that ended up small enough."""
        self.cache.put(planned.key, data, (ctype, cut))

    def headers(self, ctype: str, etag: str, cut: str, private: bool, length: int | None) -> Headers:
        out = [("Content-Type", ctype)] + ([("Content-Length", str(length))] if length is not None else [])
        return out + answers.answer_headers(etag, cut, self.max_rows, private=private) + CORS

    def service_description(self, ask: Ask) -> Reply:
        """The Service Description, in the negotiated RDF syntax (blocks: it counts every graph)."""
        fmt = formats.choose(SD_FORMATS, ask.fmt, ask.accept)
        etag = answers.etag_for(self.store.version(), "service-description", fmt, ask.base_url)
        if answers.matches(etag, ask.if_none_match):
            return not_modified(etag)
        writable = bool(self.settings.update_token)
        body = service_description(ask.base_url, self.store, fmt, writable=writable)
        return Reply(200, self.headers(formats.content_type(fmt), etag, "", False, len(body)), body)


def not_modified(etag: str) -> Reply:
    """304: the ETag and CORS headers (a 304 has no entity headers)."""
    return Reply(304, [("ETag", etag), *CORS])


def preflight() -> Reply:
    """``OPTIONS``: 204 with what a browser may send."""
    return Reply(204, list(PREFLIGHT))


def error_reply(exc: BaseException, accept: str, method: str) -> Reply:
    """A failure's answer, with the app's one error body (:mod:`kg.web.errors`)."""
    status, title, detail, extra = error_of(exc)
    ctype, body = error_body(status, title, detail, as_json=wants_json_for(accept, "/sparql"))
    headers = [("Content-Type", ctype), ("Content-Length", str(len(body))), *extra]
    return Reply(status, headers + answers.cors_headers("/sparql", method), body)
