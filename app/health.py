"""GET /health: for load balancers and operators, without authentication."""
from flask import Blueprint, jsonify
from peewee import InterfaceError, OperationalError

from .db import database

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    try:
        database.execute_sql("SELECT 1")
    except (OperationalError, InterfaceError):
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="reachable")
