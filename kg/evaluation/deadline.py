"""``KG_QUERY_TIMEOUT``, enforced in one place: a query's :class:`Deadline`.

Every wait of a query is bounded by its deadline and every time-out says the same thing, whichever
way the query goes: the waits for its evaluation thread (:mod:`kg.evaluation.thread_evaluator`:
for a free thread, then for the answer's head and each later chunk, from a thread or the event
loop), the pages' shared budget (one deadline for all the
queries of one page, :mod:`kg.evaluation.page_store`) and a remote store's request timeout
(:mod:`kg.evaluation.passthrough`). Before, each of them kept its own clock and its own messages.
"""

from __future__ import annotations

import time

from kg.errors import QueryTimeout


class Deadline:
    """The moment a query (or a page's queries) must be answered by.

    :param limit: seconds from ``started`` (default: now), i.e. ``KG_QUERY_TIMEOUT``.
    """

    def __init__(self, limit: float, *, started: float | None = None) -> None:
        self.limit = limit
        self.at = (time.monotonic() if started is None else started) + limit

    def left(self) -> float:
        """Seconds still to wait (0 once passed): the bound of every wait of the query."""
        return max(0.0, self.at - time.monotonic())

    def check(self) -> None:
        """:raises QueryTimeout: the time is already spent, so no query is started (and no
        thread taken for nothing)."""
        if self.left() <= 0:
            raise QueryTimeout(f"the query ran out of time ({self.limit:g} s limit) before it began")

    def ran_out(self) -> QueryTimeout:
        """The error of a query given up at the deadline (a runaway retires its worker)."""
        return QueryTimeout(f"the query ran out of time ({self.limit:g} s limit) and was stopped")

    def busy(self) -> QueryTimeout:
        """The error of a query that waited for a free evaluation thread until the deadline."""
        return QueryTimeout("the service is busy: no evaluation thread was free before the time limit")
