"""What a batch request holds (MORE_APIS.md §2). Anything else is a 400
for the whole batch, before any inner request runs."""
import base64
import binascii

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

# Ours: ServiceNow names no count, but a batch that reaches one of its
# limits serves what it can and answers the rest's ids as unserviced, which
# PySNC sends again in a batch of their own.
MAX_REQUESTS = 1000


class Text(fields.String):
    """A string, or a number given where clients send one (PySNC's
    batch_request_id is an int): read as its text."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Base64(fields.String):
    default_error_messages = {"base64": "Not valid base64."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        # binascii takes padding past a whole quantum ("QUJD=").
        if len(text) % 4:
            raise self.make_error("base64")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("base64") from None


class Flag(fields.Boolean):
    """true/false as JSON booleans, or as text (an XML body has no other)."""

    truthy = {True, "true", "True", "TRUE"}
    falsy = {False, "false", "False", "FALSE", ""}


class HeaderSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(1, 256))
    value = Text(required=True)


class RestRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = Text(required=True, validate=validate.Length(1, 256))
    method = fields.String(required=True, validate=validate.Length(1, 16))
    url = fields.String(required=True, validate=validate.Length(1))
    headers = fields.List(fields.Nested(HeaderSchema), load_default=list)
    body = Base64(load_default=b"")
    exclude_response_headers = Flag(load_default=False)

class BatchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    batch_request_id = Text(load_default="")
    enforce_order = Flag(load_default=False)
    rest_requests = fields.List(fields.Nested(RestRequestSchema), required=True)

def _as_list(value):
    return [value] if isinstance(value, dict) else value


def from_xml(data):
    """An XML body read as JSON would be: there a list of one is a lone
    element, read as an object."""
    requests = _as_list(data.get("rest_requests"))
    # Text (or nothing) is left to the schema, which refuses it as it does
    # in JSON; iterated, a text would be read as a list of its characters.
    if not isinstance(requests, list):
        return data
    requests = [
        {**request, "headers": _as_list(request["headers"])} if isinstance(request, dict) and "headers" in request else request
        for request in requests
    ]
    return {**data, "rest_requests": requests}


def load(data):
    """The batch, or ValidationError naming what is wrong."""
    return BatchSchema().load(data)


__all__ = ["ValidationError", "from_xml", "load", "MAX_REQUESTS"]
