"""The SOAP direct web service of every table (SOAP.md)."""
from .views import bp

__all__ = ["bp"]
