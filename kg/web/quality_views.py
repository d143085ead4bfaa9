"""(being written)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("quality_views", __name__)
