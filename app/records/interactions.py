"""The rules of an interaction that every API follows: its number, its
state from its queue, and what closing it sets."""
from peewee import SQL, fn

from ..db import compiled, param
from ..models import DOCUMENT_MODELS, Interaction
from . import numbers
from .rules import Rules, unchanged_dropped

NEW = "new"
QUEUED = "queued"
CLOSED_COMPLETE = "closed_complete"
CLOSED_ABANDONED = "closed_abandoned"
CLOSED_STATES = frozenset((CLOSED_COMPLETE, CLOSED_ABANDONED))
STATE_LABELS = {
    "new": "New",
    "queued": "Queued",
    "work_in_progress": "Work in Progress",
    "on_hold": "On Hold",
    "wrap_up": "Wrap Up",
    "closed_complete": "Closed Complete",
    "closed_abandoned": "Closed Abandoned",
}
TABLE = "interaction"
NUMBER = numbers.Number("number", "IMS", 7, 1)


def next_number():
    """The next number of the interaction table; inside the transaction
    that stores the interaction."""
    return numbers.next_number(TABLE, NUMBER)


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
    return unchanged_dropped(current, changes)


class InteractionRules(Rules):
    """The Table API's and SOAP's writes of interactions (TABLE_API.md §5)."""

    def new_row(self, table, sys_id, caller, now):
        return new_row(sys_id, caller, now)

    def changes(self, table, current, given, caller, now):
        return table_changes(current, given, caller, now)

    def deleting(self, table, sys_ids, caller):
        """The documents of the service's own that the interactions point at
        go with them, unless another interaction points at one too (a
        document may be shared through context_table/context_id)."""
        pairs = (
            (Interaction.context_table, Interaction.context_document),
            (Interaction.channel_metadata_table, Interaction.channel_metadata_document),
        )
        documents = {name: set() for name in DOCUMENT_MODELS}
        selected = Interaction.select(*(column for pair in pairs for column in pair)).where(Interaction.sys_id.in_(sys_ids))
        for row in selected.tuples():
            for document_table, document in (row[0:2], row[2:4]):
                if document_table in documents:
                    documents[document_table].add(document)
        for document_table, document_ids in documents.items():
            if not document_ids:
                continue
            model = DOCUMENT_MODELS[document_table]
            used = Interaction.select(SQL("1")).where(
                Interaction.sys_id.not_in(sys_ids)
                & (
                    ((pairs[0][0] == document_table) & (pairs[0][1] == model.sys_id))
                    | ((pairs[1][0] == document_table) & (pairs[1][1] == model.sys_id))
                )
            )
            model.delete().where(model.sys_id.in_(sorted(document_ids)) & ~fn.EXISTS(used)).execute()


RULES = InteractionRules()
