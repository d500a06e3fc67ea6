"""The grants: tokens made, refreshed and revoked (OAUTH.md §2, §3).

Each grant writes in one transaction and answers as ServiceNow does:
`expires_in` is the lifespan less one second.
"""
import time

from ..db import database
from ..models import OAuthCredential, SysUser
from .bearer import ACCESS, REFRESH, new_token, password_stamp, token_hash
from .protocol import SCOPE


def _store(kind, client, user_sys_id, lifespan, now, stamp="", parent=None):
    token = new_token()
    OAuthCredential.create(
        token_hash=token_hash(token),
        kind=kind,
        client=client.sys_id,
        user=user_sys_id,
        parent=parent,
        expires_at=now + lifespan,
        password_stamp=stamp,
    )
    return token


def _prune(now):
    """Expired tokens go as new ones come, so the table holds the live ones."""
    OAuthCredential.delete().where(OAuthCredential.expires_at <= now).execute()


def _answer(access_token, client, refresh_token=None):
    answer = {"access_token": access_token}
    if refresh_token is not None:
        answer["refresh_token"] = refresh_token
    answer.update(scope=SCOPE, token_type="Bearer", expires_in=client.access_token_lifespan - 1)
    return answer


def password_grant(client, user):
    """An access and a refresh token for a user whose password was checked."""
    now = int(time.time())
    with database.atomic():
        password_hash = SysUser.select(SysUser.password_hash).where(SysUser.sys_id == user.sys_id).scalar()
        stamp = password_stamp(password_hash)
        _prune(now)
        refresh = _store(REFRESH, client, user.sys_id, client.refresh_token_lifespan, now, stamp)
        access = _store(ACCESS, client, user.sys_id, client.access_token_lifespan, now, stamp, token_hash(refresh))
    return _answer(access, client, refresh)


def refresh_grant(client, refresh_token):
    """A new access token from a live refresh token of this client whose
    user is active and has the password it had; None otherwise."""
    now = int(time.time())
    parent = token_hash(refresh_token)
    with database.atomic():
        row = (
            OAuthCredential.select(OAuthCredential, SysUser.active, SysUser.password_hash)
            .join(SysUser, on=(SysUser.sys_id == OAuthCredential.user))
            .where(
                (OAuthCredential.token_hash == parent)
                & (OAuthCredential.kind == REFRESH)
                & (OAuthCredential.client == client.sys_id)
            )
            .objects()
            .first()
        )
        if row is None or row.expires_at <= now or not row.active:
            return None
        if row.password_stamp and row.password_stamp != password_stamp(row.password_hash):
            return None
        _prune(now)
        access = _store(ACCESS, client, row.user, client.access_token_lifespan, now, row.password_stamp, parent)
    return _answer(access, client, refresh_token)


def client_credentials_grant(client):
    """An access token acting as the client's user; None when that user
    is gone or inactive."""
    now = int(time.time())
    with database.atomic():
        user = SysUser.get_or_none((SysUser.user_name == client.user) & SysUser.active)
        if user is None:
            return None
        _prune(now)
        access = _store(ACCESS, client, user.sys_id, client.access_token_lifespan, now)
    return _answer(access, client)


def revoke(client, token):
    """Refuse a token of this client from now on; a refresh token takes the
    access tokens made from it along. Unknown tokens are no error (RFC 7009)."""
    hashed = token_hash(token)
    OAuthCredential.delete().where(
        (OAuthCredential.client == client.sys_id)
        & ((OAuthCredential.token_hash == hashed) | (OAuthCredential.parent == hashed))
    ).execute()
