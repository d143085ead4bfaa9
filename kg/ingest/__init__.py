"""The ingest: a source read, mapped, validated and stored as one new store generation.

* :mod:`kg.ingest.run`: one source, all or nothing (:func:`kg.ingest.run.ingest`); a source
  removed, the sources listed.
* :mod:`kg.ingest.workers`: mapping and validation in batches on worker processes.
* :mod:`kg.ingest.summary`: what an ingest tells of a source.
* :mod:`kg.ingest.provenance`: findings, quarantine reports and the run, as RDF.
"""
