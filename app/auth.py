"""HTTP Basic authentication against sys_user.

A password hash costs about 100 ms by design, far too much to pay on every
request, so a worker remembers the credentials it has verified: a keyed
digest of the password under the stored hash it was checked against. The
user's row is read on every request, so a new password (a new stored hash)
or a deactivation holds at once, on every worker and host.
"""
import hashlib
import hmac
import os
from typing import NamedTuple

from flask import current_app, g, request
from flask_httpauth import HTTPBasicAuth
from peewee import SQL
from werkzeug.security import check_password_hash

from .db import compiled, param
from .errors import APIError, render_error
from .models import StandInState, SysUser
from .users import hash_password


class StrictBasicAuth(HTTPBasicAuth):
    """Basic credentials as werkzeug reads them: the Basic scheme only,
    strict base64, UTF-8. flask-httpauth's own reader takes credentials
    under any scheme (`Bearer <base64 of user:password>` logged in) and
    skips characters that are not base64."""

    def get_auth(self):
        credentials = request.authorization
        return credentials if credentials is not None and credentials.type == "basic" else None


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


def _spend_a_hash_check(password):
    """Unknown users cost as much as a wrong password, so timing tells nothing."""
    # Made with the app's own hash method: one of another cost would tell.
    decoy = current_app.extensions.get("unknown_user_hash")
    if decoy is None:
        decoy = current_app.extensions["unknown_user_hash"] = hash_password(os.urandom(16).hex())
    check_password_hash(decoy, password)


def _could_be_user_name(user_name):
    """users.add allows no other names, and PostgreSQL refuses a NUL in a query."""
    return 0 < len(user_name) <= 40 and user_name.isprintable()


@auth.verify_password
def verify_password(user_name, password):
    # The proxy resolved once: each read through it costs eight times the read.
    context = g._get_current_object()
    # The fault check (app/stand_in) may have verified them already in this request.
    checked = context.get("_checked_credentials")
    if checked is not None and checked[0] == user_name and checked[1] == password:
        return checked[2]
    user = _verify(context, user_name, password)
    context._checked_credentials = (user_name, password, user)
    return user


def _verify(context, user_name, password):
    if not _could_be_user_name(user_name):
        return None
    row = _find_user().execute(user_name=user_name).fetchone()
    if row is None:
        _spend_a_hash_check(password)
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
    return auth.current_user()


def checked_user():
    """The user request_user found in this request, without a second look
    at the header; None when none was checked."""
    checked = g.get("_checked_credentials")
    return checked[2] if checked is not None else None


def request_user():
    """The user whose credentials this request carries and proves, or None;
    unlike current_user, also before a view's login_required has run."""
    credentials = auth.get_auth()
    if credentials is None:
        return None
    return verify_password(credentials.username, credentials.password)
