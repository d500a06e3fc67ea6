"""Reset, seed and snapshot: the service's data put in a known state, each
change one transaction in which no other writer runs (see exclusively): a
reset racing a create leaves both of them or neither, never an interaction
without its documents, and numbering starts again only once no create holds
a number.

The tables a reset empties are the models' (app.models.MODELS) but those
in _KEPT, in MODELS' order.
"""
import base64
import os
import random
import re
import time
from datetime import datetime

import orjson
from peewee import Case, IntegrityError, OperationalError, PostgresqlDatabase

from .. import users
from ..auth import User
from ..db import database
from ..errors import APIError
from ..models import (
    ADMIN_SYS_ID,
    CHANNEL_METADATA_TABLE,
    CONTEXT_TABLE,
    DOCUMENT_MODELS,
    MODELS,
    Interaction,
    OAuthCredential,
    OAuthEntity,
    StandInState,
    SysAttachment,
    SysAttachmentDoc,
    SysNumberCounter,
    SysTableCount,
    SysUser,
    utcnow,
)
from ..oauth import clients
from ..records import interactions as rules
from . import faults, schemas

SNAPSHOT_FORMAT = 1
_NUMBER = re.compile(r"^([A-Z]+)(\d+)$")
# Kept: the users, the number counter, the tables' row counts (kept right by
# triggers as rows go), test support's one-row state, and OAuth clients and
# their tokens, as users are (scope `all` removes them).
_OAUTH = (OAuthCredential, OAuthEntity)
_KEPT = (SysUser, SysNumberCounter, SysTableCount, StandInState, *_OAUTH)
EMPTIED = tuple(model for model in MODELS if model not in _KEPT)
# What a snapshot holds besides the users: the records and their
# attachments, not test support's own tables.
RECORD_MODELS = (Interaction, *DOCUMENT_MODELS.values(), SysAttachment, SysAttachmentDoc)
# Tables a snapshot may leave out (those of snapshots made before attachments).
OPTIONAL_MODELS = (SysAttachment, SysAttachmentDoc)


def _set_counter(number):
    SysNumberCounter.update(number=number).where(SysNumberCounter.category == "interaction").execute()


# On PostgreSQL a reset, seed or restore first locks every table against
# writers (readers go on), waiting at most LOCK_WAIT for the writers in
# flight: a create holds its documents' and counts' rows while it waits for
# the counter, so taking them one by one could deadlock with it.
LOCK_WAIT = "100ms"
LOCK_DEADLINE = 10.0


def exclusively(work):
    """work() in a transaction in which no other writer runs (SQLite's
    writers already go one at a time); run again while the tables cannot
    be had, up to LOCK_DEADLINE."""
    deadline = time.monotonic() + LOCK_DEADLINE
    while True:
        try:
            with database.atomic():
                if isinstance(database.obj, PostgresqlDatabase):
                    tables = ", ".join(f'"{model._meta.table_name}"' for model in MODELS)
                    database.execute_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                    database.execute_sql(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
                return work()
        except OperationalError as error:
            if not _lock_not_available(error) or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.001, 0.01))


def _lock_not_available(error):
    # peewee raises its own error while handling the driver's; 55P03 is
    # PostgreSQL's code for a lock not had in time.
    return getattr(error.__context__, "pgcode", None) == "55P03"


def reset(scope):
    return exclusively(lambda: _reset(scope))


def _reset(scope):
    deleted = {}
    _set_counter(0)
    for model in EMPTIED:
        deleted[model._meta.table_name] = model.delete().execute()
    if scope == "all":
        deleted[SysUser._meta.table_name] = SysUser.delete().where(SysUser.user_name != users.ADMIN).execute()
        for model in _OAUTH:
            deleted[model._meta.table_name] = model.delete().execute()
    faults.bump_generation()
    return deleted


# --- seed ------------------------------------------------------------------


def seed(data, user):
    """Create the users and interactions of a seed body (schemas.SeedSchema),
    all or none; the sys_ids created."""
    _refuse_clashes(data)
    now = utcnow()

    def write():
        created = {"users": [], "interactions": [], "oauth_clients": []}
        for given in data["users"]:
            created["users"].append(users.add(given["user_name"], given["password"], admin=given["admin"]).sys_id)
        for given in data["oauth_clients"]:
            created["oauth_clients"].append(clients.add(**given)[0].client_id)
        for given in data["interactions"]:
            if "number" in given:
                _move_counter_past(given["number"])
        for given in data["interactions"]:
            created["interactions"].append(_seed_interaction(given, user, now))
        return created

    try:
        return exclusively(write)
    except (IntegrityError, users.UserError, clients.ClientExists) as error:
        # A clash with a row written since the check above.
        raise APIError(409, "Conflict", f"Nothing was created: {error}") from None
    except clients.ClientError as error:
        raise APIError(400, f"Nothing was created: {error}") from None


def _refuse_clashes(data):
    clashes = []
    names = [given["user_name"] for given in data["users"]]
    sys_ids = [given["sys_id"] for given in data["interactions"] if "sys_id" in given]
    numbers = [given["number"] for given in data["interactions"] if "number" in given]
    for kind, values in (("user_name", names), ("sys_id", sys_ids), ("number", numbers)):
        clashes += [f"{kind} {value} is given twice" for value in sorted({v for v in values if values.count(v) > 1})]
    if names:
        taken = SysUser.select(SysUser.user_name).where(SysUser.user_name.in_(names))
        clashes += [f"user_name {row.user_name} exists" for row in taken]
    if sys_ids:
        taken = Interaction.select(Interaction.sys_id).where(Interaction.sys_id.in_(sys_ids))
        clashes += [f"sys_id {row.sys_id} exists" for row in taken]
    if numbers:
        taken = Interaction.select(Interaction.number).where(Interaction.number.in_(numbers))
        clashes += [f"number {row.number} exists" for row in taken]
    if clashes:
        raise APIError(409, "Conflict", "Nothing was created: " + "; ".join(clashes))


def _move_counter_past(number):
    """So that no number given is ever handed out again."""
    match = _NUMBER.match(number)
    if match is None:
        return
    value = int(match.group(2))
    counter = SysNumberCounter
    counter.update(number=Case(None, [(counter.number < value, value)], counter.number)).where(
        (counter.category == "interaction") & (counter.prefix == match.group(1))
    ).execute()


def _seed_interaction(given, user, now):
    given = dict(given)
    maps = {name: given.pop(name, None) or {} for name in ("context", "channel_metadata")}
    row = rules.new_row(given.pop("sys_id", None) or os.urandom(16).hex(), user, now)
    number = given.pop("number", None)
    row.update(rules.table_changes({}, given, user, now))
    for name, table in (("context", CONTEXT_TABLE), ("channel_metadata", CHANNEL_METADATA_TABLE)):
        document = DOCUMENT_MODELS[table].create(
            sys_id=os.urandom(16).hex(),
            value=_json(maps[name]),
            sys_created_on=now,
            sys_created_by=user.user_name,
            sys_updated_on=now,
            sys_updated_by=user.user_name,
        )
        row[f"{name}_table"], row[f"{name}_document"] = table, document.sys_id
    if number is None:
        rules.insert(row)
    else:
        row["number"] = number
        Interaction.insert(row).execute()
    return row["sys_id"]


def _json(value):
    return orjson.dumps(value).decode()


def seed_file(path):
    """SEED_FILE: the seed body in a file, applied as `admin`; a file that
    cannot be read or applied stops the start, saying why."""
    try:
        with open(path, "rb") as file:
            loaded = schemas.load(schemas.SeedSchema(), orjson.loads(file.read()))
        return seed(loaded, User(ADMIN_SYS_ID, users.ADMIN, True))
    except (OSError, orjson.JSONDecodeError) as error:
        raise RuntimeError(f"SEED_FILE {path}: {error}") from None
    except APIError as error:
        raise RuntimeError(f"SEED_FILE {path}: {error.message} {error.detail or ''}".strip()) from None


# --- snapshot --------------------------------------------------------------


def _plain(value):
    if isinstance(value, (bytes, memoryview)):
        # An attachment's bytes.
        return base64.b64encode(value).decode("ascii")
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def _rows(model, columns=None, order=None):
    columns = columns or model._meta.sorted_fields
    return [
        {column.name: _plain(value) for column, value in zip(columns, row)}
        for row in model.select(*columns).order_by(order or model._meta.primary_key).tuples()
    ]


def snapshot():
    user_columns = [field for field in SysUser._meta.sorted_fields if field.name != "password_hash"]
    return {
        "format": SNAPSHOT_FORMAT,
        "users": _rows(SysUser, user_columns, SysUser.user_name),
        # Without their secrets' hashes; like users, kept by a restore.
        "oauth_clients": [clients.describe(row) for row in clients.listing()],
        "tables": {model._meta.table_name: _rows(model) for model in RECORD_MODELS},
    }


def restore(tables):
    """Replace the records by a snapshot's `tables` (schemas.SnapshotSchema);
    numbering goes on after the highest number restored."""
    highest = 0
    for row in tables[Interaction._meta.table_name]:
        match = _NUMBER.match(row["number"])
        if match:
            highest = max(highest, int(match.group(2)))

    def write():
        restored = {}
        _set_counter(highest)
        for model in RECORD_MODELS:
            model.delete().execute()
        for model in RECORD_MODELS:
            rows = tables[model._meta.table_name]
            # An attachment's chunks one at a time: each is up to a MiB.
            size = 1 if model is SysAttachmentDoc else 500
            for start in range(0, len(rows), size):
                model.insert_many(rows[start : start + size]).execute()
            restored[model._meta.table_name] = len(rows)
        return restored

    try:
        return exclusively(write)
    except IntegrityError as error:
        raise APIError(400, "Invalid snapshot: nothing was changed", str(error).splitlines()[0]) from None
