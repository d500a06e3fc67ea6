"""The values a write may carry, checked with marshmallow against the
table's fields: what any API (Table, SOAP) writes passes through here."""
import re
from functools import lru_cache

import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from . import fields as F
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


def _field(field):
    if field.name == "value":
        return Document(allow_none=True)
    checks = []
    if field.name.endswith("_table"):
        checks.append(validate.Regexp(_TABLE_NAME, error="Must be a table name: up to 80 of a-z, 0-9 and _."))
    elif field.max_length:
        checks.append(validate.Length(max=field.max_length))
    return Scalar(allow_none=True, validate=checks)


@lru_cache(maxsize=None)
def write_schema(table_name):
    table = F.TABLES[table_name]
    declared = {field.name: _field(field) for field in table.writable_fields}
    schema_class = Schema.from_dict(declared, name=f"{table_name}_write")
    # Read-only and unknown fields are ignored, as ServiceNow ignores them.
    return schema_class(unknown=EXCLUDE)


def load(table, data):
    """The writable values of `data` for `table`, checked; InvalidRecord
    names the fields that break the rules. The body readers have made
    sure `data` is an object."""
    try:
        values = write_schema(table.name).load(data)
    except ValidationError as error:
        raise InvalidRecord(describe(error.messages)) from None
    # null clears a field, as an empty string does.
    return {name: "" if value is None else value for name, value in values.items()}


def describe(messages):
    """marshmallow's messages as one line: 'field: problem; field: problem'.
    Each is a list under a field's name: the data is an object (checked
    before loading), no field nests a schema, and the Interaction API's
    pair check names its fields."""
    return "; ".join(f"{field}: {problem}" for field, problems in messages.items() for problem in problems)
