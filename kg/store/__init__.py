"""The store: where the graphs live, and the only package that opens a pyoxigraph ``Store``.

* :mod:`kg.store.embedded`: the embedded Oxigraph store (the default), immutable generations
  swapped in atomically; :mod:`kg.store.next_generation`: the stores a write starts from
  (a checkpoint, or the kept graphs copied); :mod:`kg.store.publication`: the atomic swap and
  the tidying of old generations; :mod:`kg.store.generation`: a generation being built, as a
  write and the builders of derived data see it; :mod:`kg.store.bulk_load`: N-Triples cut into pieces
  for the bulk loader; :mod:`kg.store.lock`: one writer at a time.
* :mod:`kg.store.remote`: any SPARQL 1.1 store instead, over the standard protocols
  (:mod:`kg.store.remote_read` its reads and the dataset each query sees,
  :mod:`kg.store.remote_http` the wire, :mod:`kg.store.remote_write` a staged write,
  :mod:`kg.store.remote_derived` its derived files per version).
* :mod:`kg.store.harvest_state`: what ``kg harvest`` keeps per source beside the store (both
  kinds), in one JSON file.
* :mod:`kg.store.interface`: what both offer to the app, the ingest and the commands;
  :mod:`kg.store.results`: answers and RDF in pyoxigraph's syntaxes.

Nothing here knows DCAT-AP: the packages above hand it graphs and queries.
"""
