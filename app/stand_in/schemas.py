"""What the test-support routes accept: fault rules, journal matchers, a
wait, a reset, a seed. Each invalid body is a 400 naming the field."""
import base64
import binascii
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from peewee import BlobField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from ..errors import APIError
from ..oauth.schemas import SeedClientSchema
from ..records import interactions

SYS_ID = re.compile(r"^[0-9a-f]{32}$")

# Below gunicorn's 30 s worker timeout, which would kill a worker waiting longer.
MAX_WAIT_MS = 25_000
EFFECT_TYPES = ("error", "delay", "drop")
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f]")


class Pattern(fields.String):
    """A regular expression, searched in the path."""

    default_error_messages = {"pattern": "Not a valid regular expression: {problem}."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            re.compile(text)
        except re.error as error:
            raise self.make_error("pattern", problem=error) from None
        return text


class Plain(fields.String):
    """Text without control characters: none belongs in a name, a method or
    a column, and PostgreSQL refuses a NUL in a query."""

    default_error_messages = {"control": "Must not contain control characters."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARACTERS.search(text):
            raise self.make_error("control")
        return text


class Method(Plain):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).upper()


class Strict(Schema):
    class Meta:
        unknown = RAISE


class MatchSchema(Strict):
    method = Method(validate=validate.Length(1, 16))
    path = Pattern()
    format = fields.String(validate=validate.OneOf(("json", "xml")))
    user = Plain(validate=validate.Length(1, 40))


class JournalMatchSchema(MatchSchema):
    """A matcher of journal entries: a rule's match, and the status answered."""

    status = fields.Integer(strict=True, validate=validate.Range(100, 599))


# The field makers below run at import, when the schemas are defined, before
# mutmut forks its mutants: none could act; the tests of each field's rules
# (test_stand_in_faults, test_stand_in_seed) stand in for it.
# pragma: no mutate start
def _status():
    return fields.Integer(strict=True, required=True, validate=validate.Range(400, 599))
# pragma: no mutate end


class ErrorEffectSchema(Strict):
    type = fields.Constant("error")
    status = _status()
    message = fields.String()
    detail = fields.String(allow_none=True)
    headers = fields.Dict(keys=fields.String(validate=validate.Length(1, 100)), values=fields.String())


class DropEffectSchema(Strict):
    type = fields.Constant("drop")
    mode = fields.String(load_default="close", validate=validate.OneOf(("close", "reset")))


class Effect(fields.Field):
    """An effect, read by the schema its `type` names."""

    default_error_messages = {
        "invalid": "Must be an object.",
        "type": "type must be one of: {choices}.",
    }

    def __init__(self, types=EFFECT_TYPES, **kwargs):
        super().__init__(**kwargs)
        self.types = types

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        kind = value.get("type")
        if kind not in self.types:
            raise ValidationError({"type": [f"Must be one of: {', '.join(self.types)}."]})
        # Each effect's schema has its type as a Constant: it loads it back.
        return _EFFECT_SCHEMAS[kind]().load(value)


class DelayEffectSchema(Strict):
    type = fields.Constant("delay")
    ms = fields.Integer(strict=True, required=True, validate=validate.Range(0, MAX_WAIT_MS))
    then = Effect(types=("error", "drop"), allow_none=True)


_EFFECT_SCHEMAS = {"error": ErrorEffectSchema, "delay": DelayEffectSchema, "drop": DropEffectSchema}


class RuleSchema(Strict):
    match = fields.Nested(MatchSchema, load_default=dict)
    effect = Effect(required=True)
    probability = fields.Float(load_default=1.0, allow_nan=False, validate=validate.Range(0, 1))
    times = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0))
    skip = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))
    phase = fields.String(load_default="before", validate=validate.OneOf(("before", "after")))


class WaitSchema(Strict):
    match = fields.Nested(JournalMatchSchema, load_default=dict)
    count = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    timeout_ms = fields.Integer(strict=True, load_default=5000, validate=validate.Range(0, MAX_WAIT_MS))


class ResetSchema(Strict):
    scope = fields.String(load_default="interactions", validate=validate.OneOf(("interactions", "all")))


class SeedUserSchema(Strict):
    user_name = fields.String(
        required=True,
        validate=validate.Regexp(r"^[^:\x00-\x1f\x7f]{1,40}$", error="Must be 1 to 40 printable characters, without ':'."),
    )
    password = fields.String(required=True, validate=validate.Length(min=1))
    admin = fields.Boolean(load_default=False)


# Made at import, like _status.
# pragma: no mutate start
def _reference(**kwargs):
    return Plain(validate=validate.Length(max=32), **kwargs)
# pragma: no mutate end


_DATE_TIME = "%Y-%m-%d %H:%M:%S"


class SeedInteractionSchema(Strict):
    """An interaction as the Table API writes it, with its two maps."""

    sys_id = fields.String(validate=validate.Regexp(r"^[0-9a-f]{32}$", error="Must be 32 hex digits."))
    number = Plain(validate=validate.Length(1, 40))
    state = fields.String(validate=validate.OneOf(tuple(interactions.STATE_LABELS)))
    channel = Plain(required=True, validate=validate.Length(1, 32))
    queue = _reference()
    short_description = Plain(validate=validate.Length(max=160))
    opened_by = _reference()
    opened_for = _reference()
    assigned_to = _reference()
    closed_by = _reference()
    opened_at = fields.DateTime(format=_DATE_TIME)
    closed_at = fields.DateTime(format=_DATE_TIME, allow_none=True)
    context = fields.Dict(keys=fields.String())
    channel_metadata = fields.Dict(keys=fields.String())


class SeedSchema(Strict):
    users = fields.List(fields.Nested(SeedUserSchema), load_default=list)
    interactions = fields.List(fields.Nested(SeedInteractionSchema), load_default=list)
    oauth_clients = fields.List(fields.Nested(SeedClientSchema), load_default=list)
    # Records of any table, as the Table API writes them, with their sys_id
    # and number kept (seeding.py checks them against their table).
    records = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))


def _snapshot_field(field):
    """A marshmallow field for a model's column, as snapshot() writes it."""
    options = {"allow_none": field.null}
    if field.default is not None or field.null:
        options["load_default"] = field.default
    else:
        options["required"] = True
    if isinstance(field, DateTimeField):
        return fields.DateTime(format=_DATE_TIME, **options)
    if isinstance(field, BooleanField):
        return fields.Boolean(**options)
    if isinstance(field, IntegerField):
        return fields.Integer(strict=True, **options)
    if isinstance(field, CharField):
        return fields.String(validate=validate.Length(max=field.max_length), **options)
    if isinstance(field, TextField):
        return fields.String(**options)
    if isinstance(field, BlobField):
        return Base64(**options)
    raise TypeError(f"no snapshot field for {field!r}")


class Base64(fields.String):
    default_error_messages = {"base64": "Not valid base64."}

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return base64.b64decode(super()._deserialize(value, attr, data, **kwargs), validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("base64") from None


def row_schema(model):
    return Strict.from_dict(
        {field.name: _snapshot_field(field) for field in model._meta.sorted_fields},
        name=f"{model.__name__}Row",
    )


def load_rows(model, rows):
    """A snapshot's rows of a table, checked against its model's columns."""
    return row_schema(model)(many=True).load(rows)


class _SnapshotTables(fields.Dict):
    """Every table's rows by name; the first three tables always (every
    snapshot since the first holds them), the others as they were taken.
    Their rows are checked against their tables when restored."""

    def _deserialize(self, value, attr, data, **kwargs):
        tables = super()._deserialize(value, attr, data, **kwargs)
        missing = {name: ["Missing data for required field."] for name in _FIRST_TABLES if name not in tables}
        if missing:
            raise ValidationError(missing)
        return tables


_FIRST_TABLES = ("interaction", "interaction_json_blob", "live_group_profile")


class SnapshotSchema(Strict):
    format = fields.Integer(strict=True, required=True, validate=validate.Equal(1))
    # Shown by a snapshot, never restored: users are kept.
    users = fields.List(fields.Dict())
    oauth_clients = fields.List(fields.Dict())
    tables = _SnapshotTables(keys=fields.String(), values=fields.List(fields.Dict()), required=True)
    # The user's tables, declared before their records are restored.
    declarations = fields.List(fields.Dict(), load_default=list)


def describe(messages, prefix=""):
    """marshmallow's messages as one line, each naming its field by its path
    ('effect.status: ...; users.0.user_name: ...')."""
    parts = []
    for key, problems in messages.items():
        name = prefix if key == "_schema" else f"{prefix}{key}"
        if isinstance(problems, dict):
            parts.append(describe(problems, f"{name}."))
        else:
            parts.extend(f"{name.rstrip('.')}: {problem}" if name else problem for problem in problems)
    return "; ".join(parts)


def load(schema, data):
    try:
        return schema.load(data)
    except ValidationError as error:
        raise APIError(400, describe(error.messages)) from None
