"""The published generation's derived data (:mod:`kg.derived`), as the views read it.

The aggregate pages (home, ``/quality``, ``/catalog``, VoID, ``/agencies``) read what a scan
would cost from these tables, in the web worker itself: every read is a row by key, a range
of positions or a few rows by an indexed column, bounded whatever the catalogue's size. The
file of a generation never changes once published, so it is opened read-only and immutable.
"""

from __future__ import annotations

from flask import abort, current_app

from kg.derived.tables import Derived, open_derived
from kg.errors import StoreError


def derived() -> Derived | None:
    """The derived tables of the published generation; None when nothing was ever written.

    A generation written without them (by an older version, or a builder missing) is a 503 that
    says so: the next write derives them.
    """
    try:
        return open_derived(current_app.extensions["kg_store"])
    except StoreError as exc:
        abort(503, description=str(exc))
