"""Query evaluation under ``KG_QUERY_TIMEOUT``: every query of an embedded store evaluates in the
web worker's own process, in a thread, waited for until its deadline; pyoxigraph cannot cancel a
query (oxigraph issue #1926), so a worker whose query runs past it retires (:mod:`kg.web.worker`).

* :mod:`kg.evaluation.deadline`: ``KG_QUERY_TIMEOUT`` enforced in one place: every wait of a
  query (for a thread, for its answer's head and each later chunk, for a remote store) is bounded
  by its :class:`~kg.evaluation.deadline.Deadline`, and every time-out is its error.
* :mod:`kg.evaluation.thread_evaluator`: the one mechanism: an evaluation (and its serialization)
  in a daemon thread, awaited from the event loop or waited for from a thread; a runaway handed
  to the retirement hook; its threads and their queue in :mod:`kg.evaluation.daemon_threads`.
* :mod:`kg.evaluation.page_store`: the store as the app's own pages read it
  (:class:`~kg.evaluation.page_store.TimedStore`: every query in a thread, one budget per page).
* :mod:`kg.evaluation.passthrough`: with a remote store, ``/sparql`` answers passed through
  as the store wrote them (the store evaluates; the limit is the request's timeout).
"""
