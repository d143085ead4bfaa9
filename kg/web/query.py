"""(being written)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("query", __name__)
