"""The rules of an interaction that every API follows: its number, its
state from its queue, and what closing it sets."""
from peewee import SQL

from ..db import compiled, param
from ..models import Interaction, SysNumberCounter

NEW = "new"
QUEUED = "queued"
CLOSED_COMPLETE = "closed_complete"
CLOSED_ABANDONED = "closed_abandoned"
CLOSED_STATES = frozenset((CLOSED_COMPLETE, CLOSED_ABANDONED))


@compiled
def _next_number():
    counter = SysNumberCounter
    return (
        counter.update(number=counter.number + SQL("1"))
        .where(counter.category == param("category"))
        .returning(counter.prefix, counter.number)
    )


def next_number():
    """The next number of the interaction table: one atomic bump of its
    counter row, so no two workers or hosts ever get the same one. Call it
    inside the transaction that stores the interaction."""
    prefix, number = _next_number().execute(category="interaction").fetchone()
    return f"{prefix}{number:07d}"


def state_for_queue(queue):
    """The page's rule: with a queue the state is queued, else new."""
    return QUEUED if queue else NEW


def new_row(sys_id, user, now):
    """Every column of a new interaction opened by `user`, before its own values."""
    return {
        "sys_id": sys_id,
        "number": None,
        "state": NEW,
        "channel": "",
        "queue": "",
        "short_description": "",
        "context_table": "",
        "context_document": "",
        "channel_metadata_table": "",
        "channel_metadata_document": "",
        "opened_by": user.sys_id,
        "opened_for": "",
        "assigned_to": "",
        "closed_by": "",
        "opened_at": now,
        "closed_at": None,
        "sys_created_on": now,
        "sys_created_by": user.user_name,
        "sys_updated_on": now,
        "sys_updated_by": user.user_name,
        "sys_mod_count": 0,
    }


@compiled
def _insert():
    return Interaction.insert({field: param(field.name) for field in Interaction._meta.sorted_fields})


def insert(row):
    """Store a row of new_row's columns, numbering it; in a transaction."""
    row["number"] = next_number()
    _insert().execute(**row)
    return row


def closing(user, now, state=CLOSED_COMPLETE, closed_by=""):
    """The columns a close sets: `closed_by` stays when it was already set."""
    return {"state": state, "closed_at": now, "closed_by": closed_by or user.sys_id}


def table_changes(current, given, user, now):
    """The columns a Table API (or SOAP) write changes on the interaction
    `current` (a dict of its columns; {} for a new one) given these values."""
    changes = dict(given)
    state = current.get("state", NEW)
    if "state" not in given and given.get("queue") and state == NEW:
        changes["state"] = QUEUED
    new_state = changes.get("state", state)
    was_closed = current.get("state") in CLOSED_STATES
    if new_state in CLOSED_STATES and not was_closed:
        # closed_by is no writable field: only the stored one can stay.
        changes.update(closing(user, now, new_state, current.get("closed_by")))
    elif was_closed and new_state not in CLOSED_STATES:
        changes.update(closed_at=None, closed_by="")
    return {name: value for name, value in changes.items() if current.get(name, _ABSENT) != value}


_ABSENT = object()
