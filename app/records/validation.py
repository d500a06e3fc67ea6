"""The values a write may carry, checked with marshmallow against the
table's fields: what any API (Table, SOAP) writes passes through here."""
import re
from datetime import datetime
from functools import lru_cache

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from . import catalog as C
from .errors import InvalidRecord

_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Tables' names as the Interaction API accepts them; empty clears the pair.
_TABLE_NAME = re.compile(r"^[a-z0-9_]{0,80}$")


class Text(fields.String):
    """A string trimmed of surrounding blanks, with no control characters."""

    default_error_messages = {"control": "Must not contain control characters."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if _CONTROL_CHARACTERS.search(text):
            raise self.make_error("control")
        return text


class Scalar(Text):
    """A column value: a string, or a number or boolean as ServiceNow takes
    them (JSON clients send `"active": true`); null clears it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Document(fields.Field):
    """A document's value: its JSON text, or (in a JSON body) the object itself."""

    default_error_messages = {"invalid": "Must be a string holding JSON, or an object."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (dict, list)):
            return orjson.dumps(value).decode()
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class Integer(Scalar):
    """An integer, in decimal; empty (or null) clears it."""

    default_error_messages = {"integer": "Not a valid integer."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("integer")
        text = super()._deserialize(int(value) if isinstance(value, float) else value, attr, data, **kwargs)
        if text == "":
            return None
        try:
            number = int(text)
        except ValueError:
            raise self.make_error("integer") from None
        if not -(2**63) <= number < 2**63:
            raise self.make_error("integer")
        return number


class Boolean(Scalar):
    """true/false, 1/0, as ServiceNow takes them; empty is false."""

    default_error_messages = {"boolean": "Not a valid boolean: true or false."}
    _VALUES = {"true": True, "1": True, "false": False, "0": False, "": False}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).lower()
        if text not in self._VALUES:
            raise self.make_error("boolean")
        return self._VALUES[text]


class DateTime(Scalar):
    """YYYY-MM-DD HH:MM:SS in UTC, or a date; empty clears it."""

    default_error_messages = {"datetime": "Not a valid date-time: YYYY-MM-DD HH:MM:SS."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            return None
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
        raise self.make_error("datetime")


_TABLE_NAME_CHECK = validate.Regexp(_TABLE_NAME, error="Must be a table name: up to 80 of a-z, 0-9 and _.")


def _field(field):
    kind = field.kind
    if kind == C.JSON:
        return Document(allow_none=True)
    if kind == C.INTEGER:
        return Integer(allow_none=True)
    if kind == C.BOOLEAN:
        return Boolean(allow_none=True)
    if kind == C.DATETIME:
        return DateTime(allow_none=True)
    if kind == C.TABLE_NAME:
        return Scalar(allow_none=True, validate=[_TABLE_NAME_CHECK])
    if kind == C.REFERENCE:
        # A display value may stand for the sys_id (store.py looks it up).
        return Scalar(allow_none=True, validate=[validate.Length(max=C.DEFAULT_MAX_LENGTH)])
    return Scalar(allow_none=True, validate=[validate.Length(max=field.max_length)] if field.max_length else [])


@lru_cache(maxsize=256)
def write_schema(table):
    declared = {field.name: _field(field) for field in table.writable_fields}
    schema_class = Schema.from_dict(declared, name=f"{table.name}_write")
    # Read-only and unknown fields are ignored, as ServiceNow ignores them.
    return schema_class(unknown=EXCLUDE)


C.on_change(write_schema.cache_clear)


def load(table, data):
    """The writable values of `data` for `table`, checked; InvalidRecord
    names the fields that break the rules. The body readers have made
    sure `data` is an object."""
    try:
        values = write_schema(table).load(data)
    except ValidationError as error:
        raise InvalidRecord(describe(error.messages)) from None
    # null clears a field, as an empty string does (to null where the
    # column keeps no text: an integer, a date-time).
    return {name: _cleared(table, name) if value is None else value for name, value in values.items()}


def _cleared(table, name):
    kind = table.field(name).kind
    return "" if kind in C.TEXTUAL else (False if kind == C.BOOLEAN else None)


def describe(messages):
    """marshmallow's messages as one line: 'field: problem; field: problem'.
    Each is a list under a field's name: the data is an object (checked
    before loading), no field nests a schema, and the Interaction API's
    pair check names its fields."""
    return "; ".join(f"{field}: {problem}" for field, problems in messages.items() for problem in problems)
