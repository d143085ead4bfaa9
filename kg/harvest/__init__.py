"""Harvest: the sources of a sources file fetched politely, and ingested when they changed.

It sits above the readers and the ingest and uses both; neither knows of it.

* :mod:`kg.harvest.sources`: the sources file (TOML, one ``[[source]]`` per source), checked whole.
* :mod:`kg.harvest.fetch`: a source's content into a temporary file (or its own local path), or the
  news that it did not change (HTTP 304, the same SHA-256 as the last harvest).
* :mod:`kg.harvest.run`: one source fetched, ingested and its state kept; all of them once; the loop.

What is kept between harvests is :mod:`kg.store.harvest_state` (beside the store it describes).
"""
