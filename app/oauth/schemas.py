"""An OAuth client as the admin route and seed files give it."""
from marshmallow import RAISE, Schema, fields, validate

from . import clients


# The field maker runs at import, when the schemas are defined, before
# mutmut forks its mutants: none could act; the tests of its rules
# (test_oauth_clients: bounds, strict integers, defaults) stand in for it.
# pragma: no mutate start
def _lifespan(default):
    return fields.Integer(strict=True, load_default=default, validate=validate.Range(1, clients.MAX_LIFESPAN))
# pragma: no mutate end


class ClientSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(1, 100))
    user = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 40))
    client_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    client_secret = fields.String(load_default=None, validate=validate.Length(20, 255))
    access_token_lifespan = _lifespan(clients.ACCESS_TOKEN_LIFESPAN)
    refresh_token_lifespan = _lifespan(clients.REFRESH_TOKEN_LIFESPAN)


class SeedClientSchema(ClientSchema):
    """In a seed, the credentials are the team's own, kept with its tests."""

    client_id = fields.String(required=True, validate=validate.Length(1, 64))
    client_secret = fields.String(required=True, validate=validate.Length(20, 255))
