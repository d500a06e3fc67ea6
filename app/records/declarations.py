"""Tables of the user's own (TABLES.md §3): a declaration checked, stored,
and made a real table with real columns and indexes; read back by every
worker and host when the stored ones change.

A declaration is kept as it was accepted, with its defaults filled in, in
stand_in_table; a generation in stand_in_state, bumped with every change,
tells a worker that its tables are out of date (see refresh).
"""
import re

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from peewee import SQL, Model, PostgresqlDatabase

from .. import db
from ..db import compiled, database
from ..models import StandInState, SysDeclaredTable, SysTableCount
from . import catalog, counts, numbers
from .catalog import CHOICE, DOCUMENT_ID, REFERENCE, STRING, TABLE_NAME, Field
from .errors import DeclarationConflict, InvalidDeclaration

TABLE_NAME_PATTERN = re.compile(r"^(u_[a-z0-9_]+|x_[a-z0-9]+_[a-z0-9_]+)$")
FIELD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# ServiceNow takes names of 80 characters; PostgreSQL's identifiers are at
# most 63 bytes, and two longer names could end up one table or column.
MAX_NAME = 63
MAX_FIELDS = 200
MAX_CHOICES = 500
MAX_STRING = 65536
# The lengths a kind takes when the declaration gives none.
_LENGTHS = {STRING: catalog.DEFAULT_MAX_LENGTH, CHOICE: catalog.CHOICE_MAX_LENGTH, REFERENCE: 32, DOCUMENT_ID: 32, TABLE_NAME: 80}
_DEFAULT_KINDS = {
    STRING: str,
    CHOICE: str,
    catalog.INTEGER: int,
    catalog.BOOLEAN: bool,
}
_WHAT = {str: "a string", int: "an integer", bool: "true or false"}
_LABEL = validate.Length(max=80)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Text(fields.String):
    """A string with no control characters."""

    default_error_messages = {"control": "Must not contain control characters."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.isprintable():
            raise self.make_error("control")
        return text


class _Choice(fields.Field):
    """A choice: its value, or {"value": …, "label": …}."""

    default_error_messages = {"invalid": "Must be a value or an object with a value and a label."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = {"value": value}
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        loaded = _ChoiceSchema().load(value)
        return {"value": loaded["value"], "label": loaded.get("label", loaded["value"])}


class _ChoiceSchema(_Strict):
    value = _Text(required=True, validate=validate.Length(1, catalog.CHOICE_MAX_LENGTH))
    label = _Text(validate=validate.Length(max=100))


class FieldSchema(_Strict):
    type = fields.String(required=True, validate=validate.OneOf(catalog.KINDS))
    label = _Text(validate=_LABEL)
    max_length = fields.Integer(strict=True, validate=validate.Range(1, MAX_STRING))
    reference = _Text(validate=validate.Length(1, MAX_NAME))
    choices = fields.List(_Choice(), validate=validate.Length(1, MAX_CHOICES))
    default = fields.Raw(allow_none=False)
    index = fields.Boolean(truthy={True}, falsy={False})
    table = _Text(validate=validate.Length(1, MAX_NAME))

    @validates_schema
    def _fits_its_kind(self, data, **kwargs):
        kind = data["type"]
        for option, kinds in (("max_length", (STRING, CHOICE)), ("reference", (REFERENCE,)), ("choices", (CHOICE,)), ("table", (DOCUMENT_ID,))):
            if option in data and kind not in kinds:
                raise ValidationError(f"Only a field of type {' or '.join(kinds)} takes one.", option)
        for option, kind_of in (("reference", REFERENCE), ("choices", CHOICE)):
            if kind == kind_of and option not in data:
                raise ValidationError("Missing data for required field.", option)
        if "default" in data:
            _check_default(kind, data)


def _check_default(kind, data):
    default = data["default"]
    expected = _DEFAULT_KINDS.get(kind)
    if expected is None:
        raise ValidationError(f"A field of type {kind} takes no default.", "default")
    if type(default) is not expected:
        raise ValidationError(f"Must be {_WHAT[expected]}, as the field's type.", "default")
    if expected is str:
        if not default.isprintable() or len(default) > data.get("max_length", _LENGTHS[kind]):
            raise ValidationError("Must be printable and no longer than the field.", "default")
        if kind == CHOICE and default not in {choice["value"] for choice in data["choices"]}:
            raise ValidationError("Must be one of the choices.", "default")
    if expected is int and not -(2**63) <= default < 2**63:
        raise ValidationError("Out of range.", "default")


class NumberSchema(_Strict):
    field = _Text(required=True, validate=validate.Length(1, MAX_NAME))
    prefix = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{1,10}$", error="Must be 1 to 10 capital letters."))
    digits = fields.Integer(strict=True, load_default=7, validate=validate.Range(1, 12))
    first = fields.Integer(strict=True, load_default=1, validate=validate.Range(0, 10**11))


class DeclarationSchema(_Strict):
    name = _Text(required=True, validate=validate.Length(1, MAX_NAME))
    label = _Text(validate=_LABEL)
    display = _Text(validate=validate.Length(1, MAX_NAME))
    number = fields.Nested(NumberSchema)
    # Schema.fields is marshmallow's own: the key is read under another name.
    declared = fields.Dict(required=True, data_key="fields", attribute="fields")


_schema = DeclarationSchema()
_field_schema = FieldSchema()


def _describe(messages, prefix=""):
    parts = []
    for key, problems in messages.items():
        name = prefix if key == "_schema" else f"{prefix}{key}"
        if isinstance(problems, dict):
            parts.append(_describe(problems, f"{name}."))
        else:
            parts.extend(f"{name.rstrip('.')}: {problem}" if name else problem for problem in problems)
    return "; ".join(parts)


def _invalid(where, problem):
    return InvalidDeclaration(f"{where}: {problem}")


def _field_name(name, where):
    if not isinstance(name, str) or not FIELD_NAME_PATTERN.match(name) or len(name) > MAX_NAME:
        raise _invalid(where, f"{name!r} is no field name: up to {MAX_NAME} of a-z, 0-9 and _, starting with a letter.")
    if name.startswith("sys_"):
        raise _invalid(where, f"{name!r}: a field's name never starts with sys_.")
    if hasattr(Model, name):
        raise _invalid(where, f"{name!r} is a reserved name.")
    return name


def check(data):
    """The declaration `data` checked and its defaults filled in;
    InvalidDeclaration saying what is wrong, DeclarationConflict for a
    built-in table. References are checked against the tables when stored."""
    if not isinstance(data, dict):
        raise InvalidDeclaration("A declaration is a JSON object.")
    if isinstance(data.get("name"), str) and data["name"] in catalog.BUILTIN:
        raise DeclarationConflict(f"Table {data['name']} is built in: it cannot be declared.")
    try:
        declaration = _schema.load(data)
    except ValidationError as error:
        raise InvalidDeclaration(_describe(error.messages)) from None
    name = declaration["name"]
    if not TABLE_NAME_PATTERN.match(name):
        raise _invalid("name", f"{name!r} is no table name of the user's own: u_… or x_<scope>_…, up to {MAX_NAME} of a-z, 0-9 and _.")
    given = declaration["fields"]
    if len(given) > MAX_FIELDS:
        raise _invalid("fields", f"At most {MAX_FIELDS} fields, not {len(given)}.")
    declared = {}
    for field_name, spec in given.items():
        _field_name(field_name, "fields")
        if not isinstance(spec, dict):
            raise _invalid(f"fields.{field_name}", "Must be an object.")
        try:
            loaded = _field_schema.load(spec)
        except ValidationError as error:
            raise InvalidDeclaration(_describe(error.messages, f"fields.{field_name}.")) from None
        declared[field_name] = _filled(loaded)
    declaration["fields"] = declared
    number = declaration.get("number")
    if number is not None:
        _field_name(number["field"], "number.field")
        if number["field"] in declared and declared[number["field"]]["type"] != STRING:
            raise _invalid("number.field", f"{number['field']} is of type {declared[number['field']]['type']}, not string.")
    _check_document_ids(declared)
    _check_display(declaration)
    return declaration


def _filled(spec):
    kind = spec["type"]
    if kind in (STRING, CHOICE):
        spec.setdefault("max_length", _LENGTHS[kind])
    spec.setdefault("label", "")
    spec.setdefault("index", False)
    return spec


def _check_document_ids(declared):
    table_names = [name for name, spec in declared.items() if spec["type"] == TABLE_NAME]
    for name, spec in declared.items():
        if spec["type"] != DOCUMENT_ID:
            continue
        if "table" not in spec:
            if len(table_names) != 1:
                raise _invalid(f"fields.{name}.table", "Must name the table_name field that names the record's table.")
            spec["table"] = table_names[0]
        elif spec["table"] not in table_names:
            raise _invalid(f"fields.{name}.table", f"{spec['table']!r} is no table_name field of this table.")


def _check_display(declaration):
    number = declaration.get("number")
    names = {"sys_id", *declaration["fields"], *((number["field"],) if number else ())}
    display = declaration.setdefault("display", number["field"] if number else "sys_id")
    if display not in names:
        raise _invalid("display", f"{display!r} is no field of this table.")


# --- from a declaration to a table ------------------------------------------------


def to_table(declaration):
    number = declaration.get("number")
    number = numbers.Number(number["field"], number["prefix"], number["digits"], number["first"]) if number else None
    table_fields = []
    for name, spec in declaration["fields"].items():
        table_fields.append(
            Field(
                name,
                spec["type"],
                label=spec["label"],
                writable=number is None or name != number.field,
                max_length=spec.get("max_length", _LENGTHS.get(spec["type"])),
                reference=spec.get("reference"),
                choices={choice["value"]: choice["label"] for choice in spec.get("choices", ())},
                default=spec.get("default"),
                index=spec["index"],
                table_field=spec.get("table"),
            )
        )
    if number is not None and number.field not in declaration["fields"]:
        table_fields.insert(0, Field(number.field, max_length=40))
    return catalog.make_table(
        declaration["name"],
        tuple(table_fields),
        label=declaration.get("label", ""),
        display_field=declaration["display"],
        number=number,
        builtin=False,
        declaration=declaration,
    )


def _merged(stored, declaration):
    """The stored declaration with the new one's fields added; its label
    and display field the new one's when given."""
    name = declaration["name"]
    merged = {**stored, "fields": dict(stored["fields"])}
    if declaration.get("number") is not None and declaration["number"] != stored.get("number"):
        raise DeclarationConflict(f"Table {name} is numbered as first declared: its number cannot change.")
    for field_name, spec in declaration["fields"].items():
        before = stored["fields"].get(field_name)
        if before is None:
            merged["fields"][field_name] = spec
        elif before["type"] != spec["type"]:
            raise DeclarationConflict(f"Field {field_name} of {name} is of type {before['type']}: it cannot become {spec['type']}.")
    if len(merged["fields"]) > MAX_FIELDS:
        raise _invalid("fields", f"At most {MAX_FIELDS} fields in a table, not {len(merged['fields'])}.")
    for option in ("label", "display"):
        if option in declaration:
            merged[option] = declaration[option]
    _check_display(merged)
    return merged


def _check_references(declaration, known):
    for field_name, spec in declaration["fields"].items():
        target = spec.get("reference")
        if target is not None and target not in known and target != declaration["name"]:
            raise _invalid(f"fields.{field_name}.reference", f"There is no table {target}.")


# --- storing ------------------------------------------------------------------------


def declare(data):
    """Declare a table, or add fields to one declared before: (table,
    created). Nothing is created when the declaration is refused."""
    declaration = check(data)
    try:
        with database.atomic():
            if isinstance(database.obj, PostgresqlDatabase):
                database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (db.SCHEMA_LOCK,))
            refresh()
            stored = SysDeclaredTable.get_or_none(SysDeclaredTable.name == declaration["name"])
            if stored is not None:
                declaration = _merged(orjson.loads(stored.declaration), declaration)
            _check_references(declaration, {table.name for table in catalog.tables()})
            table = to_table(declaration)
            _make(table)
            text = orjson.dumps(declaration).decode()
            SysDeclaredTable.insert(name=table.name, declaration=text).on_conflict(
                conflict_target=[SysDeclaredTable.name], update={SysDeclaredTable.declaration: text}
            ).execute()
            StandInState.update(tables=StandInState.tables + 1).where(StandInState.id == 1).execute()
            refresh()
    except BaseException:
        forget_uncommitted()
        raise
    return catalog.lookup(table.name), stored is None


def forget_uncommitted():
    """After a transaction that declared tables was rolled back: this
    process may serve what it read inside it, under a generation another
    process could commit next; it reads the tables again instead."""
    catalog.forget()


def _make(table):
    """The table's columns and indexes, created or added to."""
    model = table.model
    if model.table_exists():
        db.add_missing_columns(model)
    else:
        database.create_tables([model])
        counts.install((model,))
    if table.number is not None:
        numbers.ensure_counter(table.name, table.number)


def drop_all():
    """Drop every declared table (a reset of scope all); how many there were."""
    dropped = 0
    for row in SysDeclaredTable.select():
        database.execute_sql(f'DROP TABLE IF EXISTS "{row.name}"')
        SysTableCount.delete().where(SysTableCount.name == row.name).execute()
        numbers.forget_counter(row.name)
        dropped += 1
    SysDeclaredTable.delete().execute()
    StandInState.update(tables=StandInState.tables + 1).where(StandInState.id == 1).execute()
    return dropped


def declare_file(path):
    """TABLES_FILE: a declaration, a list of them, or {"tables": [...]};
    a file that cannot be read or declared stops the start, saying why."""
    try:
        with open(path, "rb") as file:
            loaded = orjson.loads(file.read())
        for declaration in _declarations(loaded):
            declare(declaration)
    except (OSError, orjson.JSONDecodeError) as error:
        raise RuntimeError(f"TABLES_FILE {path}: {error}") from None
    except (InvalidDeclaration, DeclarationConflict) as error:
        raise RuntimeError(f"TABLES_FILE {path}: {error}") from None


def _declarations(loaded):
    if isinstance(loaded, dict) and "tables" in loaded and "fields" not in loaded:
        loaded = loaded["tables"]
    return loaded if isinstance(loaded, list) else [loaded]


# --- reading back -----------------------------------------------------------------


@compiled
def _generation():
    return StandInState.select(StandInState.tables).where(StandInState.id == SQL("1"))


def refresh():
    """Serve the stored declarations when they changed since this process
    last read them (on any worker or host): one small query when they did not."""
    row = _generation().execute().fetchone()
    generation = row[0] if row else 0
    if generation == catalog.generation():
        return
    declarations = [orjson.loads(row.declaration) for row in SysDeclaredTable.select().order_by(SysDeclaredTable.name)]
    catalog.install([to_table(declaration) for declaration in declarations], generation)


catalog.set_refresh(refresh)
