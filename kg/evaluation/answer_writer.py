"""A query evaluated and its answer written, into a sink: what every evaluation thread runs
(:mod:`kg.evaluation.thread_evaluator`) and what the event loop runs for a bounded ``DESCRIBE
<iri>`` (:mod:`kg.web.answers`), so that their answers cannot differ.
"""

from __future__ import annotations

from kg.sparql_text import final_limit


def evaluate(
    sink,
    store,
    text: str,
    default: list[str] | None,
    named: list[str] | None,
    accept: tuple[str, str],
    max_rows: int,
    *,
    private: bool = False,
) -> None:
    """Evaluate a query and serialize its answer into ``sink`` (``started(fmt)``, then ``write``):
    ``accept`` is the (SELECT/ASK format, CONSTRUCT/DESCRIBE format); the format is announced
    first, with ``|cut`` appended when a SELECT was cut at ``max_rows`` rows (0: no cap).

    Run on the thread that reads the results: pyoxigraph's results must stay on the thread that
    made them. Also used for bounded queries evaluated where they are asked (:mod:`kg.web.answers`).
    """
    from kg.store.results import (
        as_quads,
        cap_rows,
        is_boolean,
        is_graph,
        serialize_results,
        serialize_triples,
    )

    result = store.query(text, default_graphs=default, named_graphs=named, private=private)
    if is_graph(result):
        fmt = accept[1]
        sink.started(fmt)
        triples = as_quads(result) if fmt in ("nq", "trig") else result
        serialize_triples(triples, sink, fmt)  # no prefix table: see kg.store.results.serialize_triples
        return
    fmt = "json" if is_boolean(result) and accept[0] in ("csv", "tsv") else accept[0]  # no boolean CSV
    truncated = False
    if not is_boolean(result) and max_rows and not _within(text, max_rows):
        result, truncated = cap_rows(result, max_rows)
    sink.started(fmt + ("|cut" if truncated else ""))
    serialize_results(result, sink, fmt)


def _within(text: str, max_rows: int) -> bool:
    """Whether a SELECT's own final ``LIMIT`` keeps it within ``max_rows``: then it needs no cap."""
    limit = final_limit(text)
    return limit is not None and limit <= max_rows
