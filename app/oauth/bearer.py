"""Tokens as they are stored and found: a token's row read with its
user's in one statement, the one a Basic request runs for its user."""
import hashlib
import secrets

from peewee import SQL

from ..db import compiled, param
from ..models import OAuthCredential, OAuthEntity, StandInState, SysUser

ACCESS = "access"
REFRESH = "refresh"


def new_token():
    """256 bits from the system's random source, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def password_stamp(password_hash):
    return hashlib.sha256(password_hash.encode()).hexdigest()


def _state(column):
    return StandInState.select(column).where(StandInState.id == SQL("1"))


@compiled
def _find():
    token = OAuthCredential
    return (
        token.select(
            SysUser.sys_id,
            SysUser.user_name,
            SysUser.active,
            SysUser.admin,
            SysUser.password_hash,
            token.expires_at,
            token.password_stamp,
            _state(StandInState.fault_rules),
            _state(StandInState.generation),
        )
        .join(SysUser, on=(SysUser.sys_id == token.user))
        # A token made while its client was being removed is refused all the same.
        .join(OAuthEntity, on=(OAuthEntity.sys_id == token.client))
        .where((token.token_hash == param("token_hash")) & (token.kind == SQL(f"'{ACCESS}'")))
    )


def find(token):
    """(user's sys_id, user_name, active, admin, password hash, expires_at,
    password stamp, fault rules, fault generation) of an access token, or None."""
    return _find().execute(token_hash=token_hash(token)).fetchone()
