"""Agency knowledge graph: public bodies' metadata as a validated DCAT-AP 3 + CPOV graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(settings: Any = None, **overrides: Any) -> Flask:
    """Build the web app. Wiring only: see :mod:`kg.web.app`."""
    from kg.web.app import build_app

    return build_app(settings, **overrides)
