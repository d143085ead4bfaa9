"""The order test files run in: the longest first, so that two pytest-xdist workers end together.

``--dist loadfile`` hands a whole file to a worker, in the order of the collection (pytest-xdist's
own reordering, by number of tests, is turned off in conftest.py). A long file handed out last
leaves the other worker idle until it ends; handed out first, the short files fill in around it
(longest processing time first). The seconds below are each file's test time, setup included,
summed from ``--junitxml`` of the suite on 2 workers (commit b92ff81, 2026-12-06, both halves of
``make test``); a file not listed counts as 0 and runs after them in the usual order. The figures
only order the run: a stale one costs some balance, never a test.
"""

from __future__ import annotations

# seconds on the embedded store (the first half of `make test`)
EMBEDDED_SECONDS = {
    "test_remote_store": 96,
    "test_official_agreement": 52,
    "test_w3c_protocol": 51,
    "test_shapes": 46,
    "test_cli": 39,
    "test_conformance": 37,
    "test_fuzz": 31,
    "test_faults": 28,
    "test_browser": 21,
    "test_limits": 20,
    "test_private_graphs": 20,
    "test_front": 20,
    "test_sparql_protocol": 19,
    "test_shared_pool": 19,
    "test_ui_limits": 18,
    "test_browser_agencies": 17,
    "test_ingest": 16,
    "test_derived": 14,
    "test_resources": 13,
    "test_search": 12,
    "test_resource_pages": 11,
    "test_validation_engines": 10,
    "test_catalog_descriptions": 10,
    "test_catalog_views": 9,
    "test_bench_ui": 9,
}

# seconds on `oxigraph serve` (KG_TEST_STORE=oxigraph, the second half)
REMOTE_SECONDS = {
    "test_search": 76,
    "test_ingest": 44,
    "test_browser": 31,
    "test_browser_agencies": 19,
    "test_catalog_views": 18,
    "test_sparql_protocol": 18,
    "test_resources": 18,
    "test_catalog_descriptions": 17,
    "test_private_graphs": 14,
    "test_w3c_protocol": 13,
    "test_query_page": 8,
    "test_web": 6,
    "test_quality": 5,
}


def file_cost(module: str, remote: bool) -> int:
    """The seconds a test module took (0 when not listed): the key that orders the run."""
    return (REMOTE_SECONDS if remote else EMBEDDED_SECONDS).get(module, 0)
