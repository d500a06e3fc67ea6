"""The SOAP direct web service of the interaction table (SOAP.md)."""
from .views import bp

__all__ = ["bp"]
