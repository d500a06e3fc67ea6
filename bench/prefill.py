"""Interactions written straight through the models, in bulk, for the
benchmark: a big table to measure against, and open interactions to close.

Each interaction comes with its context and channel-metadata documents, as a
create over HTTP would leave it. The statements are the models' own inserts,
compiled once and run with executemany in large transactions: a million
interactions (three million rows) take well under a minute.
"""
import os
import time

from app.db import database, open_database, param
from app.records.interactions import CLOSED_COMPLETE, QUEUED
from app.models import (
    CHANNEL_METADATA_TABLE,
    CONTEXT_TABLE,
    Interaction,
    InteractionJsonBlob,
    LiveGroupProfile,
    SysNumberCounter,
    SysUser,
    utcnow,
)

CHANNEL = "28a59893873103002ae97e2526cb0b5d"
QUEUE = "f3a50867b30303002186a72256a8dcb7"
BATCH = 50_000


def _insert(model):
    """The model's insert with every column a parameter: its SQL and the
    order the columns go in."""
    query = model.insert({f: param(f.name) for f in model._meta.sorted_fields})
    sql, names = query.sql()
    return sql, tuple(names)


def connect(database_url):
    if database.obj is None:
        database.initialize(open_database(database_url))
    database.connect(reuse_if_open=True)
    # Random sys_ids land all over the indexes: a page cache big enough to
    # hold them keeps a million inserts from going to the file one by one.
    database.execute_sql("PRAGMA cache_size=-262144")


def _reserve_numbers(count):
    """Bump the interaction counter by `count` in one step, so the numbers
    given here are never handed out to a create, and return the first."""
    counter = SysNumberCounter
    bump = (
        counter.update(number=counter.number + count)
        .where(counter.category == "interaction")
        .returning(counter.number)
    )
    with database.atomic():
        (last,) = database.execute(bump).fetchone()
    return last - count + 1


def insert_interactions(database_url, count, user_sys_id, user_name="admin", open_ids=False):
    """Insert `count` interactions with their documents; queued, or closed
    unless `open_ids`, in which case they stay open and their sys_ids are
    returned (for a close benchmark)."""
    connect(database_url)
    interaction_sql, interaction_columns = _insert(Interaction)
    context_sql, context_columns = _insert(InteractionJsonBlob)
    metadata_sql, metadata_columns = _insert(LiveGroupProfile)
    first = _reserve_numbers(count)
    now = utcnow()
    state = QUEUED if open_ids else CLOSED_COMPLETE
    closed_by = "" if open_ids else user_sys_id
    closed_at = None if open_ids else now
    returned = [] if open_ids else None
    common = {
        "sys_created_on": now,
        "sys_created_by": user_name,
        "sys_updated_on": now,
        "sys_updated_by": user_name,
        "sys_mod_count": 0,
    }
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        interactions, contexts, metadata = [], [], []
        for i in range(first + done, first + done + size):
            ids = os.urandom(48).hex()
            sys_id, context_id, metadata_id = ids[:32], ids[32:64], ids[64:]
            row = {
                **common,
                "sys_id": sys_id,
                "number": f"IMS{i:07d}",
                "state": state,
                "channel": CHANNEL,
                "queue": QUEUE,
                "short_description": "",
                "context_table": CONTEXT_TABLE,
                "context_document": context_id,
                "channel_metadata_table": CHANNEL_METADATA_TABLE,
                "channel_metadata_document": metadata_id,
                "opened_by": user_sys_id,
                "opened_for": "",
                "assigned_to": "",
                "closed_by": closed_by,
                "opened_at": now,
                "closed_at": closed_at,
            }
            interactions.append(tuple(row[c] for c in interaction_columns))
            document = {**common, "value": '{"customer":"42"}'}
            contexts.append(tuple({**document, "sys_id": context_id}[c] for c in context_columns))
            metadata.append(tuple({**document, "sys_id": metadata_id}[c] for c in metadata_columns))
            if open_ids:
                returned.append(sys_id)
        with database.atomic():
            cursor = database.cursor()
            cursor.executemany(interaction_sql, interactions)
            cursor.executemany(context_sql, contexts)
            cursor.executemany(metadata_sql, metadata)
        done += size
    # Fold the bulk write into the database file, so the measurement after it
    # starts from a short WAL as a long-running service would have.
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    return returned, time.perf_counter() - started


def sample(database_url, count):
    """(sys_id, number) of up to `count` stored interactions, from a random
    place in the sys_id index: what the read measurements ask for."""
    connect(database_url)
    start = os.urandom(16).hex()
    query = Interaction.select(Interaction.sys_id, Interaction.number).order_by(Interaction.sys_id).limit(count)
    rows = list(query.where(Interaction.sys_id >= start).tuples())
    rows += list(query.where(Interaction.sys_id < start).limit(count - len(rows)).tuples())
    database.close()
    return rows


def insert_users(database_url, count, first=0):
    """`count` users with a phone and a mobile phone each (the numbers of
    user_phone(n) for n from `first`), no password: the callers an
    integration looks up. Returns the seconds taken."""
    connect(database_url)
    started = time.monotonic()
    sql, names = _insert(SysUser)
    now = utcnow()
    for start in range(first, first + count, BATCH):
        rows = []
        for n in range(start, min(first + count, start + BATCH)):
            row = {field.name: field.default for field in SysUser._meta.sorted_fields if not callable(field.default)}
            row.update(
                sys_id=f"{n:032x}", user_name=f"caller{n}", password_hash="", phone=user_phone(n),
                mobile_phone=user_phone(n + 5_000_000), sys_created_on=now, sys_updated_on=now,
            )  # fmt: skip
            rows.append(tuple(row[name] for name in names))
        with database.atomic():
            database.cursor().executemany(sql, rows)
    # Copied into the database: a reader would otherwise look every page up
    # in a WAL of the whole load first, which no long-running service has.
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.monotonic() - started


def user_phone(n):
    return f"+1555{n:07d}"
