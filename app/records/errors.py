"""What can go wrong with records, whichever API asked."""


class RecordError(Exception):
    """The base of the errors below; its message is fit to show a client."""


class QueryError(RecordError, ValueError):
    """An encoded query or paging value that cannot be run."""


class InvalidRecord(RecordError, ValueError):
    """Values that break the table's rules; the message names the field."""


class NotFound(RecordError, LookupError):
    """No record with that sys_id."""


class ReadOnlyTable(RecordError, PermissionError):
    """A write to a table that is only read (sys_user)."""
