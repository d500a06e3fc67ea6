"""CSRF tokens for the console's forms.

A browser re-sends Basic credentials by itself, so a page of another site
could post a form here with the tester's rights. Every form that changes
something carries a token the other site cannot know:
`<issued>.<HMAC-SHA256(key, user name, issued)>`, where the key is the user's
stored password hash. That key lives in the database, so a token made by one
worker or host is checked by any other; it never leaves the database (the
token shows only a MAC of it); and a new password voids every token made
under the old one. A token is good for MAX_AGE_SECONDS.
"""
import hashlib
import hmac
import re
import time

from flask import g, request

from ...auth import current_user
from ...errors import APIError
from ...models import SysUser

FIELD = "csrf_token"
MAX_AGE_SECONDS = 12 * 3600
# Hosts' clocks differ a little: a token issued "in the future" by up to this.
CLOCK_SKEW_SECONDS = 60
# <issued>.<MAC>, in ASCII alone: int() refuses some of str.isdigit's digits,
# hmac.compare_digest any text not ASCII, and a float a time of 309 digits.
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{64})")


def _mac(user_name, issued):
    row = SysUser.select(SysUser.password_hash).where(SysUser.user_name == user_name).tuples().first()
    if row is None:
        return None
    message = f"console-form:{user_name}:{issued}".encode()
    return hmac.new(row[0].encode(), message, hashlib.sha256).hexdigest()


def token():
    """The current user's token, made once per request (templates call this)."""
    if "csrf_token" not in g:
        issued = int(time.time())
        g.csrf_token = f"{issued}.{_mac(current_user().user_name, issued)}"
    return g.csrf_token


def valid(user_name, candidate):
    parsed = _TOKEN.fullmatch(candidate or "")
    if parsed is None:
        return False
    issued, mac = int(parsed[1]), parsed[2]
    age = time.time() - issued
    if not -CLOCK_SKEW_SECONDS <= age <= MAX_AGE_SECONDS:
        return False
    expected = _mac(user_name, issued)
    return expected is not None and hmac.compare_digest(mac, expected)


def protect():
    """before_request of the console, after the admin check: every POST
    must carry a valid token."""
    if request.method == "POST" and not valid(current_user().user_name, request.form.get(FIELD)):
        raise APIError(
            403,
            "Operation Failed",
            "The form's token is missing or out of date: reload the page and send the form again",
        )
