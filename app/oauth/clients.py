"""OAuth clients: made, listed and removed (CLI, admin routes, seed, the
plugin all come here), and authenticated at the token endpoints.

A client's secret is kept as a password hash, as a user's password is: a
secret given by a person (`--client-secret`) may be guessable. Removing a
client removes its tokens in the same transaction, so that they are
refused at once on every worker and host (each request reads the token's
row; nothing is remembered).
"""
import os
import secrets

from peewee import IntegrityError
from werkzeug.security import check_password_hash

from ..auth import spend_a_hash_check
from ..db import database
from ..models import OAuthCredential, OAuthEntity, SysUser, utcnow
from ..users import hash_password

ACCESS_TOKEN_LIFESPAN = 1800
REFRESH_TOKEN_LIFESPAN = 8_640_000
# Bounds of a lifespan: a second up to ten years.
MAX_LIFESPAN = 10 * 365 * 86400


class ClientError(Exception):
    pass


class ClientExists(ClientError):
    pass


def _could_be_client_id(client_id):
    return 0 < len(client_id) <= 64 and client_id.isprintable()


def add(
    name,
    user=None,
    client_id=None,
    client_secret=None,
    access_token_lifespan=ACCESS_TOKEN_LIFESPAN,
    refresh_token_lifespan=REFRESH_TOKEN_LIFESPAN,
):
    """Register a client; (its row, its secret): the secret's one showing."""
    if not name or len(name) > 100 or not name.isprintable():
        raise ClientError("A client's name is 1 to 100 printable characters")
    client_id = client_id or os.urandom(16).hex()
    # Basic credentials are "id:secret": a colon cannot be part of an id.
    if not _could_be_client_id(client_id) or ":" in client_id:
        raise ClientError("A client_id is 1 to 64 printable characters, without ':'")
    client_secret = client_secret or secrets.token_urlsafe(24)
    if len(client_secret) < 20:
        raise ClientError("A client_secret is at least 20 characters")
    for lifespan in (access_token_lifespan, refresh_token_lifespan):
        if not 1 <= lifespan <= MAX_LIFESPAN:
            raise ClientError(f"A lifespan is 1 to {MAX_LIFESPAN} seconds")
    if user and SysUser.get_or_none(SysUser.user_name == user) is None:
        raise ClientError(f"No user {user!r}")
    if OAuthEntity.get_or_none(OAuthEntity.client_id == client_id) is not None:
        raise ClientExists(f"A client with client_id {client_id!r} exists")
    now = utcnow()
    try:
        # A savepoint inside a seed's transaction: the clash is told, not the transaction lost.
        with database.atomic():
            row = OAuthEntity.create(
                sys_id=os.urandom(16).hex(),
                name=name,
                client_id=client_id,
                client_secret_hash=hash_password(client_secret),
                user=user or "",
                access_token_lifespan=access_token_lifespan,
                refresh_token_lifespan=refresh_token_lifespan,
                sys_created_on=now,
                sys_updated_on=now,
            )
    except IntegrityError:
        # The same client_id added at the same moment elsewhere.
        raise ClientExists(f"A client with client_id {client_id!r} exists") from None
    return row, client_secret



def describe(row, secret=None):
    """A client as the admin routes and the console show it: never its
    secret, but for the one answer that made it."""
    shown = {
        "name": row.name,
        "client_id": row.client_id,
        "user": row.user or None,
        "access_token_lifespan": row.access_token_lifespan,
        "refresh_token_lifespan": row.refresh_token_lifespan,
        "sys_created_on": row.sys_created_on.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if secret is not None:
        shown["client_secret"] = secret
    return shown


def listing():
    return list(OAuthEntity.select().order_by(OAuthEntity.name, OAuthEntity.client_id))


def remove(client_id):
    """Remove a client and its tokens; False when there was none."""
    with database.atomic():
        row = OAuthEntity.get_or_none(OAuthEntity.client_id == client_id)
        if row is None:
            return False
        OAuthCredential.delete().where(OAuthCredential.client == row.sys_id).execute()
        row.delete_instance()
    return True


def authenticate(client_id, client_secret):
    """The client these credentials prove, or None; an unknown client costs
    the same hash check as a wrong secret (auth.spend_a_hash_check)."""
    row = OAuthEntity.get_or_none(OAuthEntity.client_id == client_id) if _could_be_client_id(client_id) else None
    if row is None:
        spend_a_hash_check(client_secret)
        return None
    return row if check_password_hash(row.client_secret_hash, client_secret) else None
