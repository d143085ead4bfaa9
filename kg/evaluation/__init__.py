"""Query evaluation under ``KG_QUERY_TIMEOUT``: queries run in evaluator processes that are killed
at the deadline, since pyoxigraph cannot cancel a query (oxigraph issue #1926).

* :mod:`kg.evaluation.deadline`: ``KG_QUERY_TIMEOUT`` enforced in one place: every wait of a
  query (in a pool's queue, for each message of its answer, for a remote store) is bounded by its
  :class:`~kg.evaluation.deadline.Deadline`, and every time-out is its error.
* :mod:`kg.evaluation.protocol`: one request in, tagged byte messages out; what every
  evaluator process runs, so that every pool answers byte for byte alike; and
  :class:`~kg.evaluation.protocol.Reader`, the client's reading of an answer, without I/O, fed by
  the sync driver (:class:`~kg.evaluation.local_pool.EvaluatorClient`) and the async one
  (:mod:`kg.web.pooled`).
* :mod:`kg.evaluation.local_pool`: a web worker's own evaluator processes
  (:class:`~kg.evaluation.local_pool.Evaluator`), and the client side of the protocol.
* :mod:`kg.evaluation.shared_pool`: one pool for every gunicorn worker of ``kg serve``
  (first come, first served), kept by :mod:`kg.evaluation.pool_keeper`.
* :mod:`kg.evaluation.page_store`: the store as the app's own pages read it
  (:class:`~kg.evaluation.page_store.TimedStore`: every query through an evaluator, one
  budget per page).
* :mod:`kg.evaluation.passthrough`: with a remote store, ``/sparql`` answers passed through
  as the store wrote them (the store evaluates; the limit is the request's timeout).
"""
