"""GET /health: for load balancers and operators, without authentication."""
from flask import Blueprint
from peewee import InterfaceError, OperationalError

from .db import database
from .serialization import JSON, render

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    try:
        database.execute_sql("SELECT 1")
    except (OperationalError, InterfaceError):
        return render({"status": "unavailable", "database": "unreachable"}, 503, JSON)
    return render({"status": "ok", "database": "reachable"}, 200, JSON)
