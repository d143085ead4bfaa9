"""(being written)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("search_views", __name__)
