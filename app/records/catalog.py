"""The tables: one declaration each (its fields, their kinds, references and
choices, its display field, its number), the built-in ones and the user's
own, and the peewee models they are served from.

Nothing else in the records layer names a table: it serves whatever is
declared here (TABLES.md §1). The user's tables are declared by a file at
start or at run time (declarations.py checks and stores them); every worker
and host reads them back from the database (see refresh).
"""
from dataclasses import dataclass, field
from functools import cached_property
from peewee import (
    SQL,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    TextField,
)

from ..models import (
    CHANNEL_METADATA_TABLE,
    CONTEXT_TABLE,
    Interaction,
    InteractionJsonBlob,
    LiveGroupProfile,
    SysRecord,
    SysUser,
)
from . import incidents, interactions, users
from .numbers import Number
from .rules import GENERIC, Rules

# The kinds a declaration may give a field (TABLES.md §1).
STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
DATETIME = "glide_date_time"
CHOICE = "choice"
REFERENCE = "reference"
TABLE_NAME = "table_name"
DOCUMENT_ID = "document_id"
KINDS = (STRING, INTEGER, BOOLEAN, DATETIME, CHOICE, REFERENCE, TABLE_NAME, DOCUMENT_ID)
# The built-in documents' own: a JSON object as text.
JSON = "json"
# The kinds stored as text, compared as text in queries.
TEXTUAL = frozenset((STRING, CHOICE, REFERENCE, TABLE_NAME, DOCUMENT_ID, JSON))

DEFAULT_MAX_LENGTH = 255
CHOICE_MAX_LENGTH = 40
SYS_ID_LENGTH = 32
TABLE_NAME_LENGTH = 80
# Longer strings are TEXT columns; shorter ones VARCHAR, as ServiceNow's own.
LONGEST_VARCHAR = 4000
SYSTEM_FIELDS = ("sys_id", "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = STRING
    label: str = ""
    # Written by the Table API and SOAP; the rest the service sets.
    writable: bool = False
    max_length: int | None = None
    # reference: the table it points at; what deleting that record does
    # to this field ("clear" or "delete" this record, ServiceNow's cascade rules).
    reference: str | None = None
    on_delete: str = "clear"
    # choice: stored value -> label, in order.
    choices: dict = field(default_factory=dict, compare=False, hash=False)
    # The value an unset field reads (and the column's default).
    default: object = None
    index: bool = False
    # document_id: the table_name field of the same record naming its table.
    table_field: str | None = None
    # Taken in writes, never stored as such nor shown (user_password).
    write_only: bool = False

    def column(self, model):
        return getattr(model, self.name)


@dataclass(frozen=True, eq=False)
class Table:
    """A table as the APIs serve it. Compared and hashed by identity: a
    table declared again is a new Table, and what was built for the old
    one (projections, statements, schemas) is not reused for it."""

    name: str
    model: type
    fields: tuple
    label: str = ""
    display_field: str = "sys_id"
    number: Number | None = None
    # What its records follow beyond the generic (interactions.py, incidents.py, users.py).
    rules: Rules = GENERIC
    # Only admins may write it (sys_user).
    admin_writes: bool = False
    builtin: bool = True
    # A declared table's declaration, as stored (declarations.py).
    declaration: dict | None = None

    def __post_init__(self):
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    def field(self, name):
        """The field called `name`, or None: ServiceNow ignores unknown names."""
        return self.by_name.get(name)

    @cached_property
    def writable_fields(self):
        return tuple(f for f in self.fields if f.writable)

    @cached_property
    def shown_fields(self):
        """Every field a record shows: not the write-only ones."""
        return tuple(f for f in self.fields if not f.write_only)

    @cached_property
    def references(self):
        return tuple(f for f in self.fields if f.kind == REFERENCE)

    @cached_property
    def blank_row(self):
        """Every column of a new record before its values: the models' defaults."""
        row = {}
        for column in self.model._meta.sorted_fields:
            row[column.name] = None if callable(column.default) else column.default
        return row


class UnknownTable(LookupError):
    def __init__(self, name):
        super().__init__(f"Invalid table {name}")


# --- building a table --------------------------------------------------------


def _quoted(value):
    return "'" + str(value).replace("'", "''") + "'"


def column_for(field):
    """The peewee field storing a declared field; defaults in SQL too, so
    that a column added to a table with rows fills them (see db.py)."""
    kind = field.kind
    if kind == INTEGER:
        if field.default is None:
            return BigIntegerField(null=True, index=field.index)
        return BigIntegerField(null=True, default=field.default, index=field.index, constraints=[SQL(f"DEFAULT {int(field.default)}")])
    if kind == BOOLEAN:
        default = bool(field.default)
        return BooleanField(default=default, index=field.index, constraints=[SQL(f"DEFAULT {'TRUE' if default else 'FALSE'}")])
    if kind == DATETIME:
        return DateTimeField(null=True, index=field.index)
    default = "" if field.default is None else str(field.default)
    options = {"default": default, "index": field.index or kind == REFERENCE, "constraints": [SQL(f"DEFAULT {_quoted(default)}")]}
    if kind == JSON or (field.max_length or 0) > LONGEST_VARCHAR:
        return TextField(**options)
    return CharField(max_length=field.max_length or DEFAULT_MAX_LENGTH, **options)


def build_model(name, fields, number=None):
    """A peewee model of the table: the system fields, and a column per field."""
    attributes = {"Meta": type("Meta", (), {"table_name": name})}
    attributes["__module__"] = __name__
    for declared in fields:
        if declared.write_only or declared.name in SYSTEM_FIELDS:
            continue
        if number is not None and declared.name == number.field:
            # Unique, and null on rows made before the table had a number.
            attributes[declared.name] = CharField(max_length=40, null=True, unique=True)
        else:
            attributes[declared.name] = column_for(declared)
    return type(f"Table_{name}", (SysRecord,), attributes)


def system_fields():
    return (
        Field("sys_id", max_length=SYS_ID_LENGTH),
        Field("sys_created_on", DATETIME),
        Field("sys_created_by", max_length=40),
        Field("sys_updated_on", DATETIME),
        Field("sys_updated_by", max_length=40),
        Field("sys_mod_count", INTEGER),
    )


def make_table(name, fields, model=None, **options):
    """A Table of `fields` (sys_id first, the system fields last), on
    `model`, or on a model built from them."""
    own = tuple(f for f in fields if f.name not in SYSTEM_FIELDS)
    system = system_fields()
    all_fields = (system[0], *own, *system[1:])
    if model is None:
        model = build_model(name, own, options.get("number"))
    return Table(name, model, all_fields, **options)


# --- the built-in tables (TABLES.md §2) ---------------------------------------

# Made at import, before mutmut forks its mutants, so no mutant of them could
# act; the tests of every field's name, order, kind and rule stand in for it.
# pragma: no mutate start
USER_TABLE = "sys_user"


def _user_reference(name, writable=False):
    return Field(name, REFERENCE, writable=writable, max_length=SYS_ID_LENGTH, reference=USER_TABLE)


INTERACTION = make_table(
    "interaction",
    (
        Field("number", max_length=40),
        Field("state", CHOICE, writable=True, max_length=40, choices=interactions.STATE_LABELS),
        Field("channel", writable=True, max_length=32),
        Field("queue", writable=True, max_length=32),
        Field("short_description", writable=True, max_length=160),
        _user_reference("opened_by"),
        _user_reference("opened_for", writable=True),
        _user_reference("assigned_to", writable=True),
        _user_reference("closed_by"),
        Field("opened_at", DATETIME),
        Field("closed_at", DATETIME),
        Field("context_table", TABLE_NAME, writable=True, max_length=TABLE_NAME_LENGTH),
        Field("context_document", writable=True, max_length=32),
        Field("channel_metadata_table", TABLE_NAME, writable=True, max_length=TABLE_NAME_LENGTH),
        Field("channel_metadata_document", writable=True, max_length=32),
    ),
    Interaction,
    label="Interaction",
    display_field="number",
    number=interactions.NUMBER,
    rules=interactions.RULES,
)


def _document_table(name, model, label):
    return make_table(name, (Field("value", JSON, writable=True),), model, label=label)


_PERSON = (
    Field("first_name", writable=True, max_length=50),
    Field("last_name", writable=True, max_length=50),
    Field("name", max_length=151),
    Field("email", writable=True, max_length=100),
    Field("phone", writable=True, max_length=40, index=True),
    Field("mobile_phone", writable=True, max_length=40, index=True),
    Field("title", writable=True, max_length=60),
    Field("active", BOOLEAN, writable=True, default=True),
)

SYS_USER = make_table(
    USER_TABLE,
    (
        Field("user_name", writable=True, max_length=40),
        *_PERSON,
        Field("user_password", writable=True, max_length=255, write_only=True),
    ),
    SysUser,
    label="User",
    display_field="user_name",
    rules=users.RULES,
    admin_writes=True,
)

CUSTOMER_CONTACT = make_table(
    "customer_contact",
    (Field("user_name", writable=True, max_length=40), *_PERSON, Field("account", writable=True, max_length=100)),
    label="Contact",
    display_field="name",
    rules=users.CONTACT_RULES,
)

INCIDENT = make_table(
    "incident",
    (
        Field("number", max_length=40),
        Field("short_description", writable=True, max_length=160),
        Field("description", writable=True, max_length=4000),
        _user_reference("caller_id", writable=True),
        _user_reference("opened_by", writable=True),
        _user_reference("assigned_to", writable=True),
        Field("state", CHOICE, writable=True, max_length=CHOICE_MAX_LENGTH, choices=incidents.STATES, default="1"),
        Field("impact", CHOICE, writable=True, max_length=CHOICE_MAX_LENGTH, choices=incidents.LEVELS, default="3"),
        Field("urgency", CHOICE, writable=True, max_length=CHOICE_MAX_LENGTH, choices=incidents.LEVELS, default="3"),
        Field("priority", CHOICE, max_length=CHOICE_MAX_LENGTH, choices=incidents.PRIORITIES, default="5"),
        Field("contact_type", CHOICE, writable=True, max_length=CHOICE_MAX_LENGTH, choices=incidents.CONTACT_TYPES),
        Field("active", BOOLEAN, default=True),
        Field("opened_at", DATETIME),
        Field("resolved_at", DATETIME),
        Field("closed_at", DATETIME),
        Field("close_code", writable=True, max_length=40),
        Field("close_notes", writable=True, max_length=4000),
    ),
    label="Incident",
    display_field="number",
    number=Number("number", "INC", 7, 10001),
    rules=incidents.RULES,
)

RELATED_RECORD = make_table(
    "interaction_related_record",
    (
        Field("interaction", REFERENCE, writable=True, max_length=SYS_ID_LENGTH, reference=INTERACTION.name, on_delete="delete"),
        Field("document_table", TABLE_NAME, writable=True, max_length=TABLE_NAME_LENGTH),
        Field("document_id", DOCUMENT_ID, writable=True, max_length=SYS_ID_LENGTH, table_field="document_table"),
    ),
    label="Interaction Related Record",
)

BUILTIN = {
    table.name: table
    for table in (
        INTERACTION,
        _document_table(CONTEXT_TABLE, InteractionJsonBlob, "JSON Blob"),
        _document_table(CHANNEL_METADATA_TABLE, LiveGroupProfile, "Live Group Profile"),
        SYS_USER,
        CUSTOMER_CONTACT,
        INCIDENT,
        RELATED_RECORD,
    )
}
# The models the catalog built itself; the hand-written ones are in models.MODELS.
BUILT_MODELS = (CUSTOMER_CONTACT.model, INCIDENT.model, RELATED_RECORD.model)
# pragma: no mutate end


# --- the tables in service ------------------------------------------------------


class _Catalog:
    """The tables this process serves: the built-in ones and those declared
    as of `generation` (declarations.py keeps the stored ones)."""

    def __init__(self):
        self.tables = dict(BUILTIN)
        self.generation = None


_current = _Catalog()
# Called with no arguments whenever the declared tables change in this
# process: what was built from the old ones is dropped.
_listeners = []


def on_change(listener):
    _listeners.append(listener)
    return listener


def install(tables, generation):
    """Serve the built-in tables and `tables` (declared), as of `generation`."""
    current = _Catalog()
    current.tables.update((table.name, table) for table in tables)
    current.generation = generation
    global _current
    _current = current
    for listener in _listeners:
        listener()


def forget():
    """Serve the built-in tables only, until the next refresh (a new app)."""
    install((), None)


def generation():
    return _current.generation


def table(name):
    """The table `name` as this process knows it, without looking for news;
    for the targets of references, which exist since their table does."""
    return _current.tables[name]


def known(name):
    """The table `name` as this process knows it, or None."""
    return _current.tables.get(name)


def tables():
    """Every table served, built-in first, as of the last refresh."""
    return tuple(_current.tables.values())


# Set by declarations.py: reads the declared tables back when they changed.
_refresh = None


def set_refresh(function):
    global _refresh
    _refresh = function


def refresh():
    if _refresh is not None:
        _refresh()


def lookup(name):
    """The table `name`: built-in at once; another after a look at whether
    the declared tables changed, on any worker or host."""
    found = _current.tables.get(name)
    if found is not None and found.builtin:
        return found
    refresh()
    try:
        return _current.tables[name]
    except KeyError:
        raise UnknownTable(name) from None


def describe(table):
    """A table as GET /__stand_in/tables shows it: a declaration's form."""
    described = {}
    for each in table.fields:
        spec = {"type": each.kind, "label": each.label}
        if each.max_length is not None and each.kind in (STRING, CHOICE):
            spec["max_length"] = each.max_length
        if each.reference:
            spec["reference"] = each.reference
        if each.choices:
            spec["choices"] = [{"value": value, "label": label} for value, label in each.choices.items()]
        if each.default is not None:
            spec["default"] = each.default
        if each.table_field:
            spec["table"] = each.table_field
        spec["read_only"] = not each.writable
        if each.write_only:
            spec["write_only"] = True
        described[each.name] = spec
    number = table.number
    return {
        "name": table.name,
        "label": table.label,
        "builtin": table.builtin,
        "display": table.display_field,
        "number": None if number is None else {"field": number.field, "prefix": number.prefix, "digits": number.digits, "first": number.first},
        "fields": described,
    }


def referencing(name):
    """(table, field) of every reference to the table `name`."""
    return tuple((t, f) for t in _current.tables.values() for f in t.references if f.reference == name)
