"""Reset, seed and snapshot: the service's data put in a known state, each
change one transaction in which no other writer runs (see exclusively): a
reset racing a create leaves both of them or neither, never an interaction
without its documents, and numbering starts again only once no create holds
a number.

The tables are the catalog's: every one is emptied by a reset, seeded,
snapshotted and restored alike, but sys_user, whose users stay (and go only
with a reset of scope `all`).
"""
import base64
import os
import random
import time
from datetime import datetime

import orjson
from marshmallow import ValidationError
from peewee import IntegrityError, OperationalError, PostgresqlDatabase

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
    StandInFaultRule,
    StandInRequest,
    SysAttachment,
    SysAttachmentDoc,
    SysUser,
    utcnow,
)
from ..oauth import clients
from ..records import catalog, declarations, numbers, store, validation
from ..records import interactions as rules
from ..records.errors import DeclarationConflict, InvalidDeclaration, InvalidRecord, Refused
from . import faults, schemas

SNAPSHOT_FORMAT = 1
# Test support's own tables a reset empties beside the records.
_OWN = (StandInFaultRule, StandInRequest)
# Attachments, of records of any table: no table of the catalog, but
# records a reset empties and a snapshot holds (optional: those made before
# attachments have none).
ATTACHMENTS = (SysAttachment, SysAttachmentDoc)
# OAuth clients and their tokens are kept as users are (scope `all` removes them).
_OAUTH = (OAuthCredential, OAuthEntity)


def record_tables():
    """Every table but the users', as this process serves them."""
    catalog.refresh()
    return [table for table in catalog.tables() if table.model is not SysUser]


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
                    models = {*MODELS, *(table.model for table in record_tables())}
                    tables = ", ".join(sorted(f'"{model._meta.table_name}"' for model in models))
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
    for table in record_tables():
        if table.number is not None:
            numbers.restart(table.name, table.number)
        deleted[table.name] = table.model.delete().execute()
    for model in (*ATTACHMENTS, *_OWN):
        deleted[model._meta.table_name] = model.delete().execute()
    if scope == "all":
        deleted[SysUser._meta.table_name] = SysUser.delete().where(SysUser.user_name != users.ADMIN).execute()
        for model in _OAUTH:
            deleted[model._meta.table_name] = model.delete().execute()
        deleted["declared tables"] = declarations.drop_all()
    faults.bump_generation()
    return deleted


# --- seed ------------------------------------------------------------------


def seed(data, user):
    """Create the users, interactions and records of a seed body
    (schemas.SeedSchema), all or none; the sys_ids created."""
    _refuse_clashes(data)
    now = utcnow()

    def write():
        created = {"users": [], "interactions": [], "oauth_clients": []}
        for given in data["users"]:
            created["users"].append(users.add(given["user_name"], given["password"], admin=given["admin"]).sys_id)
        for given in data["oauth_clients"]:
            created["oauth_clients"].append(clients.add(**given)[0].client_id)
        for given in data["interactions"]:
            numbers.move_past(rules.TABLE, rules.NUMBER, given.get("number"))
        records = _records(data.get("records", {}))
        for table, given in records:
            if table.number is not None:
                numbers.move_past(table.name, table.number, given.get(table.number.field))
        for given in data["interactions"]:
            created["interactions"].append(_seed_interaction(given, user, now))
        if data.get("records"):
            created["records"] = {name: [] for name in data["records"]}
        for table, given in records:
            created["records"][table.name].append(_seed_record(table, given, user))
        return created

    try:
        return exclusively(write)
    except (IntegrityError, users.UserError, clients.ClientExists, Refused) as error:
        # A clash with a row written since the check above.
        raise APIError(409, "Conflict", f"Nothing was created: {error}") from None
    except clients.ClientError as error:
        raise APIError(400, f"Nothing was created: {error}") from None


def _records(given):
    """(table, record) of the seed's records, each checked as the Table API
    checks a write (and its sys_id and number kept)."""
    checked = []
    for name, records in given.items():
        try:
            table = catalog.lookup(name)
        except catalog.UnknownTable as error:
            raise APIError(400, f"records.{name}: {error}") from None
        for index, record in enumerate(records):
            record = dict(record)
            kept = {key: record.pop(key) for key in ("sys_id", table.number.field if table.number else None) if key in record}
            if "sys_id" in kept and not schemas.SYS_ID.match(str(kept["sys_id"])):
                raise APIError(400, f"records.{name}.{index}.sys_id: Must be 32 hex digits.")
            try:
                values = validation.load(table, record)
            except InvalidRecord as error:
                raise APIError(400, f"records.{name}.{index}: {error}") from None
            checked.append((table, {**values, **kept}))
    return checked


def _seed_record(table, given, user):
    given = dict(given)
    sys_id = given.pop("sys_id", None)
    number = given.pop(table.number.field, None) if table.number is not None else None
    return store.insert(table, given, user, sys_id=sys_id, number=number)


def _refuse_clashes(data):
    clashes = []
    names = [given["user_name"] for given in data["users"]]
    sys_ids = [given["sys_id"] for given in data["interactions"] if "sys_id" in given]
    numbers_given = [given["number"] for given in data["interactions"] if "number" in given]
    for kind, values in (("user_name", names), ("sys_id", sys_ids), ("number", numbers_given)):
        clashes += [f"{kind} {value} is given twice" for value in sorted({v for v in values if values.count(v) > 1})]
    if names:
        taken = SysUser.select(SysUser.user_name).where(SysUser.user_name.in_(names))
        clashes += [f"user_name {row.user_name} exists" for row in taken]
    if sys_ids:
        taken = Interaction.select(Interaction.sys_id).where(Interaction.sys_id.in_(sys_ids))
        clashes += [f"sys_id {row.sys_id} exists" for row in taken]
    if numbers_given:
        taken = Interaction.select(Interaction.number).where(Interaction.number.in_(numbers_given))
        clashes += [f"number {row.number} exists" for row in taken]
    for name, records in data.get("records", {}).items():
        table = catalog.known(name)
        if table is None:
            continue
        model = table.model
        for key in ("sys_id", table.number.field if table.number else None):
            given = [record[key] for record in records if isinstance(record, dict) and isinstance(record.get(key), str)]
            clashes += [f"{name} {key} {value} is given twice" for value in sorted({v for v in given if given.count(v) > 1})]
            if given:
                column = getattr(model, key)
                clashes += [f"{name} {key} {row[0]} exists" for row in model.select(column).where(column.in_(given)).tuples()]
    if clashes:
        raise APIError(409, "Conflict", "Nothing was created: " + "; ".join(clashes))


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
    tables = record_tables()
    return {
        "format": SNAPSHOT_FORMAT,
        "users": _rows(SysUser, user_columns, SysUser.user_name),
        # Without their secrets' hashes; like users, kept by a restore.
        "oauth_clients": [clients.describe(row) for row in clients.listing()],
        "tables": {model._meta.table_name: _rows(model) for model in (*(table.model for table in tables), *ATTACHMENTS)},
        "declarations": [table.declaration for table in tables if not table.builtin],
    }


def restore(document):
    """Replace the records by a snapshot's (schemas.SnapshotSchema), after
    declaring the tables it declares; numbering goes on after the highest
    number restored. A table the snapshot does not hold (one taken before
    the table was) is emptied."""

    def write():
        for declaration in document["declarations"]:
            try:
                declarations.declare(declaration)
            except (InvalidDeclaration, DeclarationConflict) as error:
                raise APIError(400, "Invalid snapshot: nothing was changed", f"declarations: {error}") from None
        tables = record_tables()
        known = {table.name for table in tables} | {model._meta.table_name for model in ATTACHMENTS}
        unknown = sorted(set(document["tables"]) - known)
        if unknown:
            raise APIError(400, f"tables.{unknown[0]}: No such table.")
        restored = {}
        for table in tables:
            rows = _loaded(table, document["tables"].get(table.name, []))
            table.model.delete().execute()
            for start in range(0, len(rows), 500):
                table.model.insert_many(rows[start : start + 500]).execute()
            if table.number is not None:
                numbers.restart(table.name, table.number)
                for row in rows:
                    numbers.move_past(table.name, table.number, row.get(table.number.field))
            restored[table.name] = len(rows)
        for model in ATTACHMENTS:
            rows = _loaded_rows(model, f"tables.{model._meta.table_name}.", document["tables"].get(model._meta.table_name, []))
            model.delete().execute()
            # An attachment's chunks one at a time: each is up to a MiB.
            size = 1 if model is SysAttachmentDoc else 500
            for start in range(0, len(rows), size):
                model.insert_many(rows[start : start + size]).execute()
            restored[model._meta.table_name] = len(rows)
        return restored

    try:
        return exclusively(write)
    except IntegrityError as error:
        declarations.forget_uncommitted()
        raise APIError(400, "Invalid snapshot: nothing was changed", str(error).splitlines()[0]) from None
    except BaseException:
        declarations.forget_uncommitted()
        raise


def _loaded(table, rows):
    return _loaded_rows(table.model, f"tables.{table.name}.", rows)


def _loaded_rows(model, prefix, rows):
    try:
        return schemas.load_rows(model, rows)
    except ValidationError as error:
        raise APIError(400, schemas.describe(error.messages, prefix)) from None
