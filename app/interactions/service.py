"""Create, update and close interactions: the rules of §4 and §5, each one
transaction. The statements on the request path are compiled once from the
models (see db.compiled)."""
import os

import orjson
from peewee import SQL, fn

from ..db import atomic, compiled, database, param
from ..errors import APIError, not_found
from ..models import (
    CHANNEL_METADATA_TABLE,
    CONTEXT_TABLE,
    DOCUMENT_MODELS,
    Interaction,
    InteractionJsonBlob,
    LiveGroupProfile,
    utcnow,
)
from ..records import interactions as rules

# The interaction columns a result is made from, in the order they are read.
RESULT_COLUMNS = (
    Interaction.sys_id,
    Interaction.number,
    Interaction.state,
    Interaction.channel,
    Interaction.queue,
    Interaction.context_table,
    Interaction.context_document,
    Interaction.channel_metadata_table,
    Interaction.channel_metadata_document,
    Interaction.assigned_to,
    Interaction.closed_by,
    Interaction.opened_for,
)


def new_sys_id():
    return os.urandom(16).hex()


def to_result(row, context_present, channel_metadata_present):
    """The record as the page shows it, keys in the page's order."""
    return {
        "channel": row["channel"],
        "context": {"present": bool(context_present)},
        "queue": row["queue"],
        "state": row["state"],
        "number": row["number"],
        "contextDocument": row["context_document"],
        "contextTable": row["context_table"],
        "channelMetadataDocument": row["channel_metadata_document"],
        "channelMetadataTable": row["channel_metadata_table"],
        "channel_metadata": {"present": bool(channel_metadata_present)},
        "sys_id": row["sys_id"],
        "assigned_to": row["assigned_to"],
        "closed_by": row["closed_by"],
        "opened_for": row["opened_for"],
    }


def _insert_document_statement(model):
    return model.insert(
        sys_id=param("sys_id"),
        value=param("value"),
        sys_created_on=param("now"),
        sys_created_by=param("user_name"),
        sys_updated_on=param("now"),
        sys_updated_by=param("user_name"),
        sys_mod_count=SQL("0"),
    )


_insert_context = compiled(lambda: _insert_document_statement(InteractionJsonBlob))
_insert_channel_metadata = compiled(lambda: _insert_document_statement(LiveGroupProfile))
_INSERT_DOCUMENT = {CONTEXT_TABLE: _insert_context, CHANNEL_METADATA_TABLE: _insert_channel_metadata}


def _insert_document(table, document_id, value, now, user):
    """A new document of this service's own, holding a map as JSON text."""
    _INSERT_DOCUMENT[table]().execute(sys_id=document_id, value=value, now=now, user_name=user.user_name)


@compiled
def _close_interaction():
    return Interaction.update(
        state=param("state"),
        closed_by=param("closed_by"),
        closed_at=param("now"),
        sys_updated_on=param("now"),
        sys_updated_by=param("user_name"),
        sys_mod_count=Interaction.sys_mod_count + SQL("1"),
    ).where(
        (Interaction.sys_id == param("sys_id"))
        & Interaction.state.not_in([param("closed_complete"), param("closed_abandoned")])
    )


def _document_present(model, table_column, document_column):
    documents = model.select(SQL("1")).where(model.sys_id == document_column)
    # The table name is ours, never a client's: it may stand in the SQL.
    return (table_column == SQL(f"'{model._meta.table_name}'")) & fn.EXISTS(documents)


@compiled
def _select_result():
    return Interaction.select(
        *RESULT_COLUMNS,
        _document_present(InteractionJsonBlob, Interaction.context_table, Interaction.context_document),
        _document_present(LiveGroupProfile, Interaction.channel_metadata_table, Interaction.channel_metadata_document),
    ).where(Interaction.sys_id == param("sys_id"))


_RESULT_NAMES = tuple(column.name for column in RESULT_COLUMNS)


def find_result(sys_id):
    row = _select_result().execute(sys_id=sys_id).fetchone()
    if row is None:
        raise not_found()
    *columns, context_present, channel_metadata_present = row
    return to_result(dict(zip(_RESULT_NAMES, columns)), context_present, channel_metadata_present)


def document_exists(table, sys_id):
    model = DOCUMENT_MODELS.get(table)
    return model is not None and model.select().where(model.sys_id == sys_id).exists()


def _document(fields, name, table_field, id_field, default_table):
    """(table, document sys_id, JSON text of a new document or None) for one
    of the interaction's documents: the pair as given, or a new document."""
    table = fields.get(table_field)
    if table:
        return table, fields[id_field], None
    return default_table, new_sys_id(), orjson.dumps(fields.get(name) or {}).decode()


def create(fields, user):
    now = utcnow()
    queue = fields.get("queue") or ""
    documents = [
        _document(fields, "context", "context_table", "context_id", CONTEXT_TABLE),
        _document(fields, "channel_metadata", "channel_metadata_table", "channel_metadata_id", CHANNEL_METADATA_TABLE),
    ]
    row = rules.new_row(new_sys_id(), user, now)
    row.update(
        state=rules.state_for_queue(queue),
        channel=fields["channel"],
        queue=queue,
        context_table=documents[0][0],
        context_document=documents[0][1],
        channel_metadata_table=documents[1][0],
        channel_metadata_document=documents[1][1],
    )
    present = []
    with atomic():
        for table, document_id, value in documents:
            if value is None:
                present.append(document_exists(table, document_id))
            else:
                _insert_document(table, document_id, value, now, user)
                present.append(True)
        rules.insert(row)
    return to_result(row, *present)


def _could_be_sys_id(sys_id):
    """No sys_id is longer, and PostgreSQL refuses a NUL in a query."""
    return len(sys_id) <= 32 and "\x00" not in sys_id


def update(fields, user):
    """Apply the fields given to the interaction the body names (§4.4)."""
    now = utcnow()
    if not _could_be_sys_id(fields["sys_id"]):
        raise not_found()
    with atomic():
        query = Interaction.select().where(Interaction.sys_id == fields["sys_id"])
        if database.for_update:
            # PostgreSQL: a close or update committing meanwhile must wait,
            # not be overwritten (SQLite's writers already go one at a time).
            query = query.for_update()
        interaction = query.get_or_none()
        if interaction is None:
            raise not_found()
        if interaction.state in rules.CLOSED_STATES:
            raise APIError(400, f"Interaction {interaction.number} is closed and cannot be updated")
        before = dict(interaction.__data__)
        if "channel" in fields:
            interaction.channel = fields["channel"]
        if "queue" in fields:
            interaction.queue = fields["queue"] or ""
            interaction.state = rules.state_for_queue(interaction.queue)
        documents_written = _update_document(
            interaction, fields, "context", "context_table", "context_id", InteractionJsonBlob, now, user
        )
        documents_written |= _update_document(
            interaction,
            fields,
            "channel_metadata",
            "channel_metadata_table",
            "channel_metadata_id",
            LiveGroupProfile,
            now,
            user,
        )
        # As on ServiceNow, an update that changes nothing writes nothing.
        if documents_written or interaction.__data__ != before:
            interaction.sys_updated_on = now
            interaction.sys_updated_by = user.user_name
            interaction.sys_mod_count += 1
            interaction.save()
        return find_result(interaction.sys_id)


def _update_document(interaction, fields, name, table_field, id_field, model, now, user):
    """Point the interaction at the pair given, or write the map given into
    its own document (a new one if it pointed elsewhere); True when a
    document was written."""
    table_attr, document_attr = f"{name}_table", f"{name}_document"
    if fields.get(table_field):
        setattr(interaction, table_attr, fields[table_field])
        setattr(interaction, document_attr, fields[id_field])
        return False
    if fields.get(name) is None:
        return False
    value = orjson.dumps(fields[name]).decode()
    table = model._meta.table_name
    document_id = getattr(interaction, document_attr)
    if getattr(interaction, table_attr) == table and document_exists(table, document_id):
        model.update(
            value=value, sys_updated_on=now, sys_updated_by=user.user_name, sys_mod_count=model.sys_mod_count + 1
        ).where(model.sys_id == document_id).execute()
        return True
    document_id = new_sys_id()
    _insert_document(table, document_id, value, now, user)
    setattr(interaction, table_attr, table)
    setattr(interaction, document_attr, document_id)
    return True


def close(sys_id, user):
    """Close the interaction; closing a closed one changes nothing (§5)."""
    if not _could_be_sys_id(sys_id):
        raise not_found()
    with atomic():
        now = utcnow()
        closing = rules.closing(user, now)
        _close_interaction().execute(
            sys_id=sys_id,
            state=closing["state"],
            closed_by=closing["closed_by"],
            now=closing["closed_at"],
            user_name=user.user_name,
            closed_complete=rules.CLOSED_COMPLETE,
            closed_abandoned=rules.CLOSED_ABANDONED,
        )
        return find_result(sys_id)
