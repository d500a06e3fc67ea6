"""Which requests test support sees: every request to the emulated APIs
(Interaction, Table, SOAP, unknown paths), none of its own or the service's
housekeeping."""
from ..openapi import PATH as OPENAPI_PATH

PREFIX = "/__stand_in"
# "/" only redirects to the console.
_UNOBSERVED = frozenset(("/", "/health", OPENAPI_PATH))


def observed(path):
    """True for a request the journal records and fault rules may match."""
    return path not in _UNOBSERVED and not path.startswith(PREFIX + "/") and path != PREFIX
