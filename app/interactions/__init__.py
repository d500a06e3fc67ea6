"""The Interaction Management API: create or update, and close."""
from .views import bp

__all__ = ["bp"]
