"""The order test files run in: the longest first, so that two pytest-xdist workers end together.

``--dist loadfile`` hands a whole file to a worker, in the order of the collection (pytest-xdist's
own reordering, by number of tests, is turned off in conftest.py). A long file handed out last
leaves the other worker idle until it ends; handed out first, the short files fill in around it
(longest processing time first). The seconds below are each file's test time, setup included,
summed per test (setup, call and teardown) from ``make test`` at commit d1cc941 (2026-12-07
14:59-15:11 UTC, both halves, on 2 workers of a machine loaded by another branch's 100,000-dataset
benchmark: every figure is inflated, their order is what counts), files of 8 s or more. A file not
listed counts as 0 and runs after them in the usual order. The figures only order the run: a stale
one costs some balance, never a test.
"""

from __future__ import annotations

# seconds on the embedded store (the first half of `make test`)
EMBEDDED_SECONDS = {
    "test_harvest_delta": 145,
    "test_remote_store": 138,
    "test_official_agreement": 90,
    "test_harvest_records": 89,  # the change-detection tests on phila's first 100 datasets since 148231d
    "test_shapes": 46,
    "test_fuzz": 41,
    "test_w3c_protocol": 38,
    "test_cli": 35,
    "test_sparql_protocol": 29,
    "test_browser": 29,
    "test_ingest": 26,
    "test_faults": 25,
    "test_derived": 23,
    "test_harvest": 23,
    "test_serving_workers": 21,  # test_shared_pool until the evaluator processes went (branch inthread)
    "test_conformance": 18,
    "test_limits": 17,
    "test_browser_agencies": 17,
    "test_harvest_pages": 17,
    "test_resources": 17,
    "test_ui_limits": 17,
    "test_resource_pages": 16,
    "test_front": 15,
    "test_private_graphs": 14,
    "test_catalog_views": 12,
    "test_batch_independence": 10,
    "test_history_rdf": 26,  # new with the recpages merge: ~13 s alone at load ~7, doubled as the rest
    "test_record_pages": 12,  # likewise, ~6 s alone
    "test_history": 9,  # likewise since d1cc941
    "test_search": 9,
    "test_ingest_url": 8,
    "test_validation_engines": 8,
    "test_harvest_cli": 8,
    "test_catalog_descriptions": 8,
    "test_page_queries": 8,
    "test_derived_agents": 8,
}

# seconds on `oxigraph serve` (KG_TEST_STORE=oxigraph, the second half)
REMOTE_SECONDS = {
    "test_ingest": 38,
    "test_catalog_views": 22,
    "test_search": 22,
    "test_sparql_protocol": 21,
    "test_resources": 18,
    "test_private_graphs": 15,
    "test_catalog_descriptions": 12,
}


def file_cost(module: str, remote: bool) -> int:
    """The seconds a test module took (0 when not listed): the key that orders the run."""
    return (REMOTE_SECONDS if remote else EMBEDDED_SECONDS).get(module, 0)
