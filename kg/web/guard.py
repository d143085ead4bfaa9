"""What a public endpoint refuses before any work is done.

* ``SERVICE`` in a query and ``LOAD`` in an update make pyoxigraph's engine
  open HTTP connections itself, and it has no switch to turn that off. Every
  such target is checked on the query's tokens (not by searching its text)
  against ``KG_SERVICE_ALLOW``, empty by default, and refused with 400 before
  the query reaches the engine: no connection is ever made to an address
  the operator did not allow. A target that is not a constant IRI
  (``SERVICE ?x``) can never be allowed.
* Queries longer than ``KG_MAX_QUERY`` characters are refused with 413, and
  groups nested deeper than ``MAX_DEPTH`` with 400 (the parser is recursive).
"""

from __future__ import annotations

from flask import abort, current_app

from kg.settings import Settings
from kg.sparql_text import nests_deeper_than, remote_targets

MAX_DEPTH = 64


def check(text: str) -> None:
    """Abort the request if this query or update must not be run here."""
    found = problem(text, current_app.config["KG_SETTINGS"])
    if found is not None:
        abort(*found)


def problem(text: str, settings: Settings) -> tuple[int, str] | None:
    """(status, reason) when ``text`` must not be run here, else None. Framework-free: the protocol
    core of ``/sparql`` queries (:mod:`kg.web.sparql_core`) asks it for every query."""
    if len(text) > settings.max_query:
        return 413, f"the query is {len(text):,} characters long; the limit is {settings.max_query:,}"
    if nests_deeper_than(text, MAX_DEPTH):
        return 400, f"the query nests groups more than {MAX_DEPTH} deep"
    allowed = settings.service_allow
    for target in remote_targets(text):
        if target is None:
            return 400, "SERVICE or LOAD with a variable target is not allowed on this endpoint"
        if not any(target.startswith(prefix) for prefix in allowed):
            return (
                400,
                f"SERVICE or LOAD to {target} is not allowed on this endpoint "
                "(the operator lists allowed endpoints in KG_SERVICE_ALLOW)",
            )
    return None
