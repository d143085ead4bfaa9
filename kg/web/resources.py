"""(being written)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("resources", __name__)
