"""The Attachment API (/api/now/attachment): files on records of any table."""
from .views import bp

__all__ = ["bp"]
