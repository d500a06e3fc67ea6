"""What the header of every console page shows: the database in use, the
interactions by state, the service's version."""
from importlib import metadata
from urllib.parse import urlsplit

from flask import current_app
from peewee import fn

from ... import users
from ...models import Interaction, OAuthEntity, StandInFaultRule, StandInRequest, SysUser
from ...records.interactions import STATE_LABELS

DISTRIBUTION = "servicenow-stand-in"


def database():
    """The SQLite file, or PostgreSQL's host, port and database: never the
    user or password a URL may hold."""
    url = urlsplit(current_app.config["DATABASE_URL"])
    if url.scheme.startswith("sqlite"):
        # As playhouse.db_url reads it: sqlite:///relative, sqlite:////absolute.
        return f"SQLite {url.path[1:]}"
    port = f":{url.port}" if url.port else ""
    return f"PostgreSQL {url.hostname or 'localhost'}{port}{url.path}"


def state_counts():
    """(state, label, count) for every state, in the states' order; one query."""
    by_state = Interaction.select(Interaction.state, fn.COUNT(Interaction.sys_id)).group_by(Interaction.state)
    counted = dict(by_state.tuples())
    return [(state, label, counted.get(state, 0)) for state, label in STATE_LABELS.items()]


def version():
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def reset_counts(scope):
    """What a reset of `scope` would delete, for its confirmation."""
    counts = {
        "interactions": Interaction.select().count(),
        "journal entries": StandInRequest.select().count(),
        "fault rules": StandInFaultRule.select().count(),
    }
    if scope == "all":
        counts["users"] = SysUser.select().where(SysUser.user_name != users.ADMIN).count()
        counts["OAuth clients"] = OAuthEntity.select().count()
    return counts
