"""The accounts that may call the API: added, changed and listed from the
command line, and the `admin` a first start creates."""
import secrets

from flask import current_app
from werkzeug.security import generate_password_hash

from .models import ADMIN_SYS_ID, SysUser, utcnow

ADMIN = "admin"


class UserError(Exception):
    pass


def hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def add(user_name, password, sys_id=None, admin=False):
    # Basic credentials are "name:password": a colon cannot be part of a name.
    if not user_name or len(user_name) > 40 or ":" in user_name or not user_name.isprintable():
        raise UserError("A user name is 1 to 40 printable characters, without ':'")
    if not password:
        raise UserError("The password must not be empty")
    if SysUser.get_or_none(SysUser.user_name == user_name) is not None:
        raise UserError(f"User {user_name!r} already exists")
    now = utcnow()
    return SysUser.create(
        sys_id=sys_id or secrets.token_hex(16),
        user_name=user_name,
        password_hash=hash_password(password),
        admin=admin,
        sys_created_on=now,
        sys_updated_on=now,
    )


def _change(user_name, **values):
    changed = (
        SysUser.update(sys_updated_on=utcnow(), sys_mod_count=SysUser.sys_mod_count + 1, **values)
        .where(SysUser.user_name == user_name)
        .execute()
    )
    if not changed:
        raise UserError(f"No user {user_name!r}")


def set_password(user_name, password):
    _change(user_name, password_hash=hash_password(password))


def deactivate(user_name):
    _change(user_name, active=False)


def activate(user_name):
    _change(user_name, active=True)


def listing():
    return list(SysUser.select().order_by(SysUser.user_name))


def ensure_admin(password=None):
    """On a first start with no users, create `admin`; returns the password
    when it was generated here, so it can be shown once. An `admin` made
    before users had the admin flag is given it."""
    if SysUser.select().exists():
        SysUser.update(admin=True).where((SysUser.user_name == ADMIN) & ~SysUser.admin).execute()
        return None
    generated = None if password else secrets.token_urlsafe(12)
    add(ADMIN, password or generated, sys_id=ADMIN_SYS_ID, admin=True)
    return generated
