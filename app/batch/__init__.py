"""The Batch API (/api/now/v1/batch): many REST requests in one, each run
through the service itself as the caller."""
from .views import bp

__all__ = ["bp"]
