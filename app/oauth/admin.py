"""/__stand_in/oauth/clients: OAuth clients registered, listed and removed
at run time by an admin (OAUTH.md §1), beside test support's other routes."""
from flask import Blueprint, Response, request
from .. import serialization
from ..errors import APIError
from ..serialization import JSON
from ..stand_in import access, scope
from ..stand_in.schemas import load
from . import clients
from .schemas import ClientSchema

bp = Blueprint("oauth_admin", __name__, url_prefix=scope.PREFIX + "/oauth")
bp.before_request(access.require_admin)


_client_schema = ClientSchema()


def add_client(given):
    """A client from a checked body (ClientSchema): its description with the
    secret, shown this once."""
    try:
        row, secret = clients.add(**given)
    except clients.ClientExists as error:
        raise APIError(409, "Conflict", str(error)) from None
    except clients.ClientError as error:
        raise APIError(400, str(error)) from None
    return clients.describe(row, secret)


@bp.post("/clients")
def create():
    try:
        body = serialization.read(request.get_data(cache=False), JSON)
    except serialization.UnreadableBody as error:
        raise APIError(400, "Exception while reading request", str(error)) from None
    return serialization.result(add_client(load(_client_schema, body)), 201, JSON)


@bp.get("/clients")
def listing():
    return serialization.result([clients.describe(row) for row in clients.listing()], 200, JSON)


@bp.delete("/clients/<client_id>")
def remove(client_id):
    if not clients.remove(client_id):
        raise APIError(404, "No Record found", "No OAuth client with this client_id")
    return Response(status=204)
