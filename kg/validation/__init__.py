"""Validation: SHACL per record against the official DCAT-AP / CPOV shapes and ours; the verdict
publishes a record or quarantines it with its report.

A report is data: :class:`~kg.validation.report.RecordReport` with its findings
(:mod:`kg.validation.report`). Only a broken validator raises
(:class:`kg.errors.ValidatorError`).

* :mod:`kg.validation.batch`: records validated in batches (``KG_VALIDATION_BATCH``),
  each finding traced back to its record;
* two engines (``KG_VALIDATOR``): rudof (:mod:`kg.validation.rudof_engine`), the
  ingest's default since it takes about half pyshacl's CPU (a 100,000-dataset
  ingest fits in 5 minutes on 2 cores with it, not with pyshacl), and pyshacl
  (:mod:`kg.validation.pyshacl_engine`), the reference: :func:`~kg.validation.batch.validate_batch`'s
  default, the engine of the tests against the official shapes and of a batch rudof cannot read;
* :mod:`kg.validation.shapes`: the shapes of ``shapes/*.ttl`` as people read them and as the
  engines get them; :mod:`kg.validation.split`: a record with a long list of links (a
  catalogue) validated in parts.
"""
