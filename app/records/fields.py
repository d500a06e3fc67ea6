"""The tables as ServiceNow shows them: each table's fields in order, their
kinds, the table a reference points at, and the labels of choices."""
from dataclasses import dataclass, field

from ..models import (
    CHANNEL_METADATA_TABLE,
    CONTEXT_TABLE,
    Interaction,
    InteractionJsonBlob,
    LiveGroupProfile,
    SysUser,
)

STRING = "string"
DATETIME = "datetime"
INTEGER = "integer"
BOOLEAN = "boolean"
REFERENCE = "reference"
CHOICE = "choice"

USER_TABLE = "sys_user"

STATE_LABELS = {
    "new": "New",
    "queued": "Queued",
    "work_in_progress": "Work in Progress",
    "on_hold": "On Hold",
    "wrap_up": "Wrap Up",
    "closed_complete": "Closed Complete",
    "closed_abandoned": "Closed Abandoned",
}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = STRING
    # Writable through the Table API (and SOAP); the rest the service sets.
    writable: bool = False
    max_length: int | None = None
    # The table a reference points at.
    reference: str | None = None
    choices: dict = field(default_factory=dict, compare=False, hash=False)

    def column(self, model):
        return getattr(model, self.name)


@dataclass(frozen=True)
class Table:
    name: str
    model: type
    fields: tuple
    writable: bool = True
    # The field a reference to this table shows as its display value.
    display_field: str = "sys_id"

    def __post_init__(self):
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def field(self, name):
        """The field called `name`, or None: ServiceNow ignores unknown names."""
        return self.by_name.get(name)

    @property
    def writable_fields(self):
        return tuple(f for f in self.fields if f.writable)


# The tables are made at import, before mutmut forks its mutants, so no
# mutant of them could act; the tests of every field's name, order, kind and
# rule (test_table_read, test_table_write, test_soap_wsdl) stand in for it.
# pragma: no mutate start
def _system_fields():
    return (
        Field("sys_created_on", DATETIME),
        Field("sys_created_by"),
        Field("sys_updated_on", DATETIME),
        Field("sys_updated_by"),
        Field("sys_mod_count", INTEGER),
    )


def _user_reference(name, writable=False):
    return Field(name, REFERENCE, writable=writable, max_length=32, reference=USER_TABLE)


INTERACTION = Table(
    "interaction",
    Interaction,
    (
        Field("sys_id"),
        Field("number"),
        Field("state", CHOICE, writable=True, max_length=40, choices=STATE_LABELS),
        Field("channel", writable=True, max_length=32),
        Field("queue", writable=True, max_length=32),
        Field("short_description", writable=True, max_length=160),
        _user_reference("opened_by"),
        _user_reference("opened_for", writable=True),
        _user_reference("assigned_to", writable=True),
        _user_reference("closed_by"),
        Field("opened_at", DATETIME),
        Field("closed_at", DATETIME),
        Field("context_table", writable=True, max_length=80),
        Field("context_document", writable=True, max_length=32),
        Field("channel_metadata_table", writable=True, max_length=80),
        Field("channel_metadata_document", writable=True, max_length=32),
        *_system_fields(),
    ),
    display_field="number",
)


def _document_table(name, model):
    return Table(name, model, (Field("sys_id"), Field("value", writable=True), *_system_fields()))


SYS_USER = Table(
    USER_TABLE,
    SysUser,
    (Field("sys_id"), Field("user_name"), Field("active", BOOLEAN), *_system_fields()),
    writable=False,
    display_field="user_name",
)

TABLES = {
    table.name: table
    for table in (
        INTERACTION,
        _document_table(CONTEXT_TABLE, InteractionJsonBlob),
        _document_table(CHANNEL_METADATA_TABLE, LiveGroupProfile),
        SYS_USER,
    )
}
# pragma: no mutate end


class UnknownTable(LookupError):
    def __init__(self, name):
        super().__init__(f"Invalid table {name}")


def lookup(name):
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTable(name) from None
