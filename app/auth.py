"""HTTP Basic authentication against sys_user.

A password hash costs about 100 ms by design, far too much to pay on every
request, so a worker remembers the credentials it has verified: a keyed
digest of the password under the stored hash it was checked against. The
user's row is read on every request, so a new password (a new stored hash)
or a deactivation holds at once, on every worker and host.

A bearer token (app/oauth) is read with its user in one statement, as many
as Basic costs; nothing of it is remembered between requests.
"""
import hashlib
import hmac
import os
import time
from typing import NamedTuple

from flask import current_app, g, request
from flask_httpauth import HTTPBasicAuth
from peewee import SQL
from werkzeug.security import check_password_hash

from .db import compiled, param
from .errors import APIError, render_error
from .models import StandInState, SysUser
from .oauth import bearer, protocol
from .users import hash_password


class StrictBasicAuth(HTTPBasicAuth):
    """Basic credentials as werkzeug reads them: the Basic scheme only,
    strict base64, UTF-8. flask-httpauth's own reader takes credentials
    under any scheme (`Bearer <base64 of user:password>` logged in) and
    skips characters that are not base64. Beside them, an OAuth bearer
    token, challenged as RFC 6750 says when it is refused."""

    def get_auth(self):
        credentials = request._get_current_object().authorization
        return credentials if credentials is not None and credentials.type in ("basic", "bearer") else None

    def authenticate(self, credentials, stored_password):
        if credentials is not None and credentials.type == "bearer":
            return verify_bearer(credentials.token)
        return super().authenticate(credentials, stored_password)

    def ensure_sync(self, f):
        # flask-httpauth's reads current_app through its proxy, three times a request.
        return current_app._get_current_object().ensure_sync(f)

    def authenticate_header(self):
        credentials = request.authorization
        if credentials is not None and credentials.type == "bearer":
            return f'Bearer realm="{self.realm}", error="invalid_token"'
        return super().authenticate_header()


auth = StrictBasicAuth(scheme="BASIC", realm="Service-now")


class User(NamedTuple):
    sys_id: str
    user_name: str
    admin: bool = False


# The key of this worker's digests: they never leave the process.
_DIGEST_KEY = os.urandom(32)
# user_name -> (stored password hash, digest of the password verified against it)
_verified = {}


def _state(column):
    return StandInState.select(column).where(StandInState.id == SQL("1"))


@compiled
def _find_user():
    return SysUser.select(
        SysUser.sys_id,
        SysUser.password_hash,
        SysUser.active,
        SysUser.admin,
        _state(StandInState.fault_rules),
        _state(StandInState.generation),
    ).where(SysUser.user_name == param("user_name"))


def _digest(password):
    # werkzeug decodes credentials as strict UTF-8: no surrogate gets here.
    return hmac.digest(_DIGEST_KEY, password.encode(), hashlib.sha256)


def spend_a_hash_check(password):
    """Unknown users cost as much as a wrong password, so timing tells nothing."""
    # Made with the app's own hash method: one of another cost would tell.
    decoy = current_app.extensions.get("unknown_user_hash")
    if decoy is None:
        decoy = current_app.extensions["unknown_user_hash"] = hash_password(os.urandom(16).hex())
    check_password_hash(decoy, password)


def _could_be_user_name(user_name):
    """users.add allows no other names, and PostgreSQL refuses a NUL in a query."""
    return 0 < len(user_name) <= 40 and user_name.isprintable()


def _checked(credentials, verify, *args):
    """The user that `credentials` prove, `verify(context, *args)` when the
    fault check (app/stand_in) did not verify them already in this request."""
    # The proxy resolved once: each read through it costs eight times the read.
    context = g._get_current_object()
    checked = context.get("_checked_credentials")
    if checked is not None and checked[0] == credentials:
        return checked[1]
    user = verify(context, *args)
    context._checked_credentials = (credentials, user)
    return user


@auth.verify_password
def verify_password(user_name, password):
    return _checked(("basic", user_name, password), _verify, user_name, password)


def verify_bearer(token):
    return _checked(("bearer", token), _verify_bearer, token)


def _verify_bearer(context, token):
    # A header of parameters (`Bearer a=b`) has no token.
    row = bearer.find(token) if token else None
    if row is None:
        return None
    sys_id, user_name, active, admin, password_hash, expires_at, stamp, fault_rules, generation = row
    context.fault_state = (fault_rules or 0, generation or 0)
    if not active or expires_at <= time.time() or (stamp and stamp != bearer.password_stamp(password_hash)):
        return None
    return User(sys_id, user_name, bool(admin))


def _verify(context, user_name, password):
    if not _could_be_user_name(user_name):
        return None
    row = _find_user().execute(user_name=user_name).fetchone()
    if row is None:
        spend_a_hash_check(password)
        return None
    sys_id, password_hash, active, admin, fault_rules, generation = row
    context.fault_state = (fault_rules or 0, generation or 0)
    digest = _digest(password)
    remembered = _verified.get(user_name)
    if remembered is not None and remembered[0] == password_hash and hmac.compare_digest(remembered[1], digest):
        verified = True
    else:
        verified = check_password_hash(password_hash, password)
        if verified:
            _verified[user_name] = (password_hash, digest)
    if not verified or not active:
        return None
    return User(sys_id, user_name, bool(admin))


@auth.error_handler
def authentication_failed(status):
    return render_error(APIError(status, "User Not Authenticated", "Required to provide Auth information"))


def current_user():
    """flask-httpauth's current_user, without its two reads through the proxy."""
    return g._get_current_object().get("flask_httpauth_user")


def checked_user():
    """The user request_user found in this request, without a second look
    at the header; None when none was checked."""
    checked = g._get_current_object().get("_checked_credentials")
    return checked[1] if checked is not None else None


def request_user(req):
    """The user whose credentials the request `req` carries and proves, or
    None; unlike current_user, also before a view's login_required has run."""
    credentials = auth.get_auth()
    # The token endpoints' Basic credentials are an OAuth client's, not a user's.
    if credentials is None or req.path in protocol.TOKEN_PATHS:
        return None
    if credentials.type == "bearer":
        return verify_bearer(credentials.token)
    return verify_password(credentials.username, credentials.password)
