"""The Aggregate API (/api/now/stats/{table}): counts and aggregates of a
table's records, grouped, computed in the database."""
from .views import bp

__all__ = ["bp"]
