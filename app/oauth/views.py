"""POST /oauth_token.do and /oauth_revoke_token.do (OAUTH.md §2, §3): a
form in, JSON out, and every failure in OAuth's error body, never the
APIs' envelope (a client's OAuth library reads `error`).

A view reads: parse the form, check the grant's parameters, authenticate
the client (and the user), act, answer.
"""
import orjson
from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .. import negotiation
from ..auth import spend_a_hash_check, verify_password
from . import admin, cli, clients, protocol, tokens
from .protocol import FORM, GRANTS, PARAMETERS, REVOKE_PATH, TOKEN_PATH

bp = Blueprint("oauth", __name__)


class OAuthError(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status = status
        self.body = body


def invalid_request(description):
    return OAuthError(400, {"error": "invalid_request", "error_description": description})


ACCESS_DENIED = OAuthError(401, protocol.ACCESS_DENIED)


def _answer(body, status=200):
    return Response(orjson.dumps(body), status=status, content_type="application/json;charset=UTF-8")


def _form():
    # Read whole first: kept with the request for the journal, and parsed from that copy.
    negotiation.request_body(request)
    if request.mimetype != FORM:
        raise invalid_request(f"The body must be {FORM}")
    form = request.form
    for name in PARAMETERS:
        if len(form.getlist(name)) > 1:
            raise invalid_request(f"{name} is given more than once")
    return form


def _required(form, name):
    value = form.get(name)
    if not value:
        raise invalid_request(f"{name} is missing")
    return value


def _client_credentials(form):
    """(client_id, client_secret) from HTTP Basic or else the form. Where
    both name a client, they must agree."""
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        for name, value in (("client_id", basic.username), ("client_secret", basic.password)):
            if form.get(name, value) != value:
                raise ACCESS_DENIED
        return basic.username, basic.password
    return _required(form, "client_id"), _required(form, "client_secret")


@bp.post(TOKEN_PATH, provide_automatic_options=False)
def token():
    form = _form()
    grant = _required(form, "grant_type")
    if grant not in GRANTS:
        raise OAuthError(
            400, {"error": "unsupported_grant_type", "error_description": f"grant_type must be one of {', '.join(GRANTS)}"}
        )
    client_id, client_secret = _client_credentials(form)
    if grant == "password":
        user_name, password = _required(form, "username"), _required(form, "password")
        client = clients.authenticate(client_id, client_secret)
        # A wrong client costs the user's hash check too: every wrong guess takes as long.
        if client is None:
            spend_a_hash_check(password)
            raise ACCESS_DENIED
        user = verify_password(user_name, password)
        if user is None:
            raise ACCESS_DENIED
        return _answer(tokens.password_grant(client, user))
    if grant == "refresh_token":
        refresh_token = _required(form, "refresh_token")
        client = clients.authenticate(client_id, client_secret)
        answer = tokens.refresh_grant(client, refresh_token) if client is not None else None
        if answer is None:
            raise ACCESS_DENIED
        return _answer(answer)
    client = clients.authenticate(client_id, client_secret)
    if client is None:
        raise ACCESS_DENIED
    if not client.user:
        raise OAuthError(
            400, {"error": "unauthorized_client", "error_description": "This client has no user to act as"}
        )
    answer = tokens.client_credentials_grant(client)
    if answer is None:
        raise ACCESS_DENIED
    return _answer(answer)


@bp.post(REVOKE_PATH, provide_automatic_options=False)
def revoke():
    form = _form()
    token_ = _required(form, "token")
    client = clients.authenticate(*_client_credentials(form))
    if client is None:
        raise ACCESS_DENIED
    tokens.revoke(client, token_)
    return _answer({})


@bp.get(TOKEN_PATH, provide_automatic_options=False)
@bp.get(REVOKE_PATH, provide_automatic_options=False)
def not_a_post():
    """A GET would otherwise fall to SOAP's /{table}.do, which asks for
    credentials first: the endpoints' own 405 instead, in OAuth's body."""
    raise MethodNotAllowed(valid_methods=["POST"])


@bp.errorhandler(OAuthError)
def oauth_error(error):
    return _answer(error.body, error.status)


@bp.errorhandler(HTTPException)
def http_error(error):
    """A body over the limits (413), or one werkzeug cannot read: still
    OAuth's error body, which a client's library understands."""
    response = _answer({"error": "invalid_request", "error_description": error.description}, error.code)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def init_app(app):
    app.register_blueprint(bp)
    cli.init_app(app)
    if app.config["TEST_SUPPORT"]:
        app.register_blueprint(admin.bp)
