"""The order test files run in: the longest first, so that two pytest-xdist workers end together.

``--dist loadfile`` hands a whole file to a worker, in the order of the collection (pytest-xdist's
own reordering, by number of tests, is turned off in conftest.py). A long file handed out last
leaves the other worker idle until it ends; handed out first, the short files fill in around it
(longest processing time first). The seconds below are each file's test time, setup included,
summed per test (setup, call and teardown) from ``make test`` at commit 57f43e7 (2026-12-07, both
halves, on 2 workers of a machine loaded by other work); test_cli and test_harvest_records estimated
after their cuts of 3472c90 (test_harvest_records, new at 57f43e7, was not listed: the longest file
of the first half now, it went out among the unlisted ones). A file not listed counts as 0 and
runs after them in the usual order. The figures only order the run: a stale one costs some
balance, never a test.
"""

from __future__ import annotations

# seconds on the embedded store (the first half of `make test`)
EMBEDDED_SECONDS = {
    "test_harvest_records": 100,
    "test_harvest_delta": 61,  # new after 57f43e7: its test time in the first half at 9fd91ca
    "test_remote_store": 77,
    "test_official_agreement": 43,
    "test_derived": 30,
    "test_history": 14,  # new after 57f43e7, as test_harvest_delta
    "test_cli": 30,
    "test_ingest_url": 29,
    "test_ingest": 27,
    "test_fuzz": 25,
    "test_shapes": 24,
    "test_sparql_protocol": 23,
    "test_harvest_pages": 22,
    "test_harvest": 22,
    "test_catalog_views": 22,
    "test_readers_ckan": 22,
    "test_browser": 21,
    "test_w3c_protocol": 21,
    "test_faults": 20,
    "test_ingest_real_catalogues": 20,
    "test_resource_pages": 19,
    "test_shared_pool": 19,
    "test_resources": 18,
    "test_limits": 18,
    "test_ui_limits": 17,
    "test_search": 17,
    "test_conformance": 17,
    "test_browser_agencies": 17,
    "test_bench_ui": 15,
    "test_validation_split": 15,
    "test_private_graphs": 15,
    "test_search_postings": 15,
    "test_readers_rdf_split": 14,
    "test_catalog_descriptions": 14,
    "test_validation_engines": 12,
    "test_page_queries": 11,
    "test_query_page": 11,
    "test_servers": 11,
    "test_web": 10,
    "test_front": 10,
    "test_shapes_layout": 9,
    "test_quality": 9,
    "test_prepare": 9,
    "test_catalog_member_descriptions": 8,
}

# seconds on `oxigraph serve` (KG_TEST_STORE=oxigraph, the second half)
REMOTE_SECONDS = {
    "test_ingest": 50,
    "test_sparql_protocol": 46,
    "test_catalog_views": 37,
    "test_browser": 37,
    "test_search": 34,
    "test_resources": 30,
    "test_browser_agencies": 30,
    "test_catalog_descriptions": 29,
    "test_private_graphs": 22,
    "test_w3c_protocol": 13,
    "test_web": 11,
    "test_query_page": 8,
    "test_quality": 7,
}


def file_cost(module: str, remote: bool) -> int:
    """The seconds a test module took (0 when not listed): the key that orders the run."""
    return (REMOTE_SECONDS if remote else EMBEDDED_SECONDS).get(module, 0)
