"""The text index and facets of the datasets: SQLite FTS5 beside each store generation.

Why SQLite FTS5: it ships with Python (no service to run, no dependency to
add) and it is one file, so the index lives in the generation folder
(``generations/N/search.sqlite``) and is published, copied and dropped with
the RDF it was built from; once published it is opened read-only and
``immutable``. Its ``unicode61 remove_diacritics 2`` tokenizer folds case and
accents in every language (``qualite`` finds "Qualité"), and bm25 ranks with
per-column weights: title 10, keywords 5, description 1.

Tables: ``datasets`` (one row per dataset IRI, however many graphs describe
it), ``sources`` (the graphs it came from), ``terms`` (one row per facet
value: facet, value, label, count and, for the :data:`~kg.search.build.BITSET_TERMS` most
frequent, a bitset of its datasets), ``facets`` (term, dataset) and the FTS5
table ``text``, whose ``tags`` column holds the dataset's terms as tokens
(``f12``) so that a ranked page is one MATCH over the filtered set only;
``postings`` and ``lengths``: the common tokens' datasets and weighted counts, and
every row's length, so that a search for common words is matched and ranked by bm25
without FTS5 scoring every matching row (:mod:`kg.search.postings`).

Facet counts are an AND and a popcount of two bitsets per value
(microseconds at 100,000 datasets). Values without a bitset are counted in
SQL when the set is small (:data:`~kg.search.query.SMALL_SET`); in a larger set they cannot
reach the top values shown and are left out.

:func:`kg.search.build.build_index` is a :meth:`kg.store.embedded.Store.add_builder` builder:
it copies the previous generation's index and re-indexes the datasets that the changed
graphs held or hold, or rebuilds everything when the change is unknown (a
SPARQL update) or the previous index cannot be reused.

Five modules: :mod:`kg.search.tables` (the file's tables and what both sides share),
:mod:`kg.search.summaries` (what an ingest's workers write of their datasets for the index),
:mod:`kg.search.build` (the builder),
:mod:`kg.search.postings` (the ranking of common words, both sides) and
:mod:`kg.search.query` (a request validated, and the published index searched).
"""
