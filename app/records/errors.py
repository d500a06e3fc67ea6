"""What can go wrong with records, whichever API asked."""


class RecordError(Exception):
    """The base of the errors below; its message is fit to show a client."""


class QueryError(RecordError, ValueError):
    """An encoded query or paging value that cannot be run."""


class InvalidRecord(RecordError, ValueError):
    """Values that break the table's rules; the message names the field."""


class NotFound(RecordError, LookupError):
    """No record with that sys_id."""


class Refused(RecordError, PermissionError):
    """A write the table's rules refuse (ServiceNow's 403 Operation Failed);
    the message is the error's detail."""


class ReadOnlyTable(Refused):
    """A write by a user the table does not let write it."""

    def __init__(self):
        super().__init__("ACL restricts the record operation")


class InvalidDeclaration(RecordError, ValueError):
    """A table declaration that cannot be served; the message says why."""


class DeclarationConflict(RecordError):
    """A declaration at odds with the table as it stands (a field retyped,
    a built-in table declared again)."""
