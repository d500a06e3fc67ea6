"""The fields a create or update request may carry, and their rules (§4.1)."""
import orjson
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from ..errors import APIError
from ..records.validation import Text, describe

# Nothing real nests deeper, and the JSON writer stops at 254 levels.
MAX_MAP_DEPTH = 64


class Map(fields.Field):
    """A map: an object, or a string holding a JSON object; blank means none."""

    default_error_messages = {
        "invalid": "Must be an object, or a string holding a JSON object.",
        "too_deep": f"Must not nest deeper than {MAX_MAP_DEPTH} levels.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise self.make_error("invalid") from None
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        if _depth(value) > MAX_MAP_DEPTH:
            raise self.make_error("too_deep")
        return value


def _depth(value):
    """How deep maps and lists nest (a flat map is 1), counted without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        deepest = max(deepest, depth)
        children = container.values() if isinstance(container, dict) else container
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _table_name(**kwargs):
    return Text(
        allow_none=True,
        # `$` lets a final newline through, but Text has trimmed it; unlike
        # `\Z` it is also a pattern OpenAPI (ECMA-262) understands.
        validate=validate.Regexp(r"^[a-z0-9_]{1,80}$", error="Must be a table name: 1 to 80 of a-z, 0-9 and _."),
        **kwargs,
    )


def _document_id(**kwargs):
    return Text(allow_none=True, validate=validate.Length(max=32), **kwargs)


# Each map may instead be given as a table/sys_id pair pointing at a document.
DOCUMENT_FIELDS = (
    ("context", "context_table", "context_id"),
    ("channel_metadata", "channel_metadata_table", "channel_metadata_id"),
)


class CreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    channel = Text(required=True, validate=validate.Length(1, 32))
    queue = Text(allow_none=True, validate=validate.Length(max=32))
    context = Map(allow_none=True)
    context_table = _table_name()
    context_id = _document_id()
    channel_metadata = Map(allow_none=True)
    channel_metadata_table = _table_name()
    channel_metadata_id = _document_id()

    @validates_schema
    def check_document_pairs(self, data, **kwargs):
        problems = {}
        for name, table, document in DOCUMENT_FIELDS:
            has_table, has_document = bool(data.get(table)), bool(data.get(document))
            if has_table != has_document:
                missing = document if has_table else table
                problems[missing] = [f"Required together with {table if has_table else document}."]
            elif has_table and data.get(name) is not None:
                problems[name] = [f"Give either {name} or {table} and {document}, not both."]
        if problems:
            raise ValidationError(problems)


class UpdateSchema(CreateSchema):
    """An update names its interaction; every other field is optional."""

    # Any string: one that names no interaction is a 404 (§4.4), whatever its length.
    sys_id = Text(required=True)
    channel = Text(validate=validate.Length(1, 32))


class PresentSchema(Schema):
    present = fields.Boolean(required=True)


def _reference(**kwargs):
    """A sys_id the record points at; "" when not set."""
    return fields.String(required=True, validate=validate.Length(max=32), **kwargs)


class ResultSchema(Schema):
    """The record as create, update and close answer it (§4.3). It only
    documents the answer (see openapi.py); service.to_result makes it."""

    channel = fields.String(required=True)
    context = fields.Nested(PresentSchema, required=True)
    queue = fields.String(required=True)
    state = fields.String(required=True)
    number = fields.String(required=True, validate=validate.Regexp(r"^IMS[0-9]{7,}$"))
    contextDocument = _reference()
    contextTable = fields.String(required=True)
    channelMetadataDocument = _reference()
    channelMetadataTable = fields.String(required=True)
    channel_metadata = fields.Nested(PresentSchema, required=True)
    sys_id = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    assigned_to = _reference()
    closed_by = _reference()
    opened_for = _reference()


class ResultEnvelopeSchema(Schema):
    result = fields.Nested(ResultSchema, required=True)


class ErrorSchema(Schema):
    message = fields.String(required=True)
    detail = fields.String(required=True, allow_none=True)


class ErrorEnvelopeSchema(Schema):
    error = fields.Nested(ErrorSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(["failure"]))


create_schema = CreateSchema()
update_schema = UpdateSchema()


def load(data):
    """The fields of a create, or of an update when the body names a sys_id."""
    # A sys_id of the wrong type ({}, 0, false) is refused by the update
    # schema, not taken for no sys_id.
    schema = create_schema if data.get("sys_id") in (None, "") else update_schema
    try:
        return schema.load(data)
    except ValidationError as error:
        raise APIError(400, describe(error.messages)) from None
