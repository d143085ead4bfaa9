"""What the aggregate pages need that costs a scan, derived once per store generation.

Counts, per-theme and per-agency totals, the agency hierarchy, the catalogue's member
list in page order, the VoID statistics and the quality summaries each need a pass over
the catalogue; asked per request they took seconds at 100,000 datasets (``/``, ``/quality``
and ``/.well-known/void`` ran out of the 10 s page budget every time). So they are worked
out here while a write builds its generation, like the search index (:mod:`kg.search`),
and the pages read them back with bounded lookups: a row by key, a slice of a list by
position, a few rows by an indexed column. No page query grows with the catalogue.

*Where they live*: in the generation's ``search.sqlite``, beside the search index's own
tables, not in a file of their own. One file per generation keeps one mechanism (SQLite,
built by a store builder, published, backed up and dropped with the RDF, opened read-only
and immutable by every worker), and several answers are already there: the datasets per
theme and per publisher are the search index's facet counts, the titles and modification
dates its ``datasets`` table. So this builder runs after :func:`kg.search.build.build_index`
(:func:`kg.factory.store_for` registers it second) and adds its tables to the file:
:mod:`kg.derived.agencies` (the agency directory), :mod:`kg.derived.catalog` (counts, home,
catalogue members, vocabulary descriptions), :mod:`kg.derived.descriptions` (each node's
triples, for the catalogue pages), :mod:`kg.derived.void` (VoID statistics),
:mod:`kg.derived.quarantine` (quarantined records, ingest runs) and :mod:`kg.derived.quality`
(scores, quality totals), in that order by :func:`kg.derived.build.build_derived`;
:mod:`kg.derived.tables` holds what they share (a build, the graphs' layout, the version) and the
pages' way back in (:func:`kg.derived.tables.open_derived`).

*How it is kept up to date*: what belongs to one graph (a source's catalogue members, a
quality graph's scores, a quarantine graph's records, a graph's size) is stored per graph;
a write copies the rows of the graphs it did not touch from the previous generation's file
and reads only the changed graphs again, from the ingest's own summaries where it has them
(the workers' points per indicator, :class:`kg.derived.tables.Scores`) or else from the store, once, here.
What spans graphs (totals, ranks, the agency tree, the VoID distinct counts) is computed
again from those rows, or read from the store in one pass, on every write. When the change
is unknown (a SPARQL update) or the previous file has no usable tables, everything is
derived from the store.
"""
