"""Reading and writing records of any table, by sys_id or by encoded query.

Every API goes through here: the Table API, SOAP, the console. Reads run
one compiled statement per page and one per count; writes are one
transaction each and follow the interaction's rules (interactions.py).
"""
import os

from peewee import SQL, fn

from ..db import atomic, database
from ..models import CHANNEL_METADATA_TABLE, CONTEXT_TABLE, DOCUMENT_MODELS, SysUser, utcnow
from . import attachments, counts
from . import fields as F
from . import interactions as rules
from . import query as Q
from .errors import NotFound, ReadOnlyTable
from .values import projection

MAX_LIMIT = 10_000


class Page:
    """One page of a list: its records, and how many match over all pages."""

    def __init__(self, records, total):
        self.records = records
        self.total = total


def _values(resolved, **extra):
    values = {f"p{i}": value for i, value in enumerate(resolved.values)}
    values.update(extra)
    return values


def could_be_sys_id(sys_id):
    """No sys_id is longer, and PostgreSQL refuses a NUL in a query."""
    return isinstance(sys_id, str) and len(sys_id) <= 32 and "\x00" not in sys_id


def find(table, query, view, caller, base_url, limit=MAX_LIMIT, offset=0, count=True):
    """The records of `table` matching `query` (a parsed Query), one page."""
    return _page(table, Q.resolve(table, query, caller), view, base_url, limit, offset, count)


def _page(table, resolved, view, base_url, limit, offset, count):
    shown = projection(table.name, view)
    statement = Q.select_statement(database.obj, table.name, shown.columns, resolved.shape, resolved.orderings, True)
    cursor = statement.execute(**_values(resolved, limit=min(limit, MAX_LIMIT), offset=offset))
    records = [shown.render(row, base_url) for row in cursor]
    total = _count(table, resolved) if count else None
    return Page(records, total)


def _count(table, resolved):
    if not resolved.shape:
        total = counts.total(table.name)
        if total is not None:
            return total
    return Q.count_statement(database.obj, table.name, resolved.shape).execute(**_values(resolved)).fetchone()[0]


def get(table, sys_id, view, base_url):
    """One record, or None."""
    if not could_be_sys_id(sys_id):
        return None
    page = _page(table, Q.by_sys_id(sys_id), view, base_url, limit=1, offset=0, count=False)
    return page.records[0] if page.records else None


def keys(table, query, caller):
    """The sys_ids of every record matching `query`."""
    resolved = Q.resolve(table, query, caller)
    statement = Q.keys_statement(database.obj, table.name, resolved.shape)
    return [row[0] for row in statement.execute(**_values(resolved))]


def new_sys_id():
    return os.urandom(16).hex()


def insert(table, values, caller):
    """A new record of `values` (checked by validation.load); its sys_id."""
    _writable(table)
    now = utcnow()
    sys_id = new_sys_id()
    with atomic():
        if table is F.INTERACTION:
            row = rules.new_row(sys_id, caller, now)
            row.update(rules.table_changes({}, _references(table, values), caller, now))
            rules.insert(row)
        else:
            table.model.insert(
                sys_id=sys_id,
                sys_created_on=now,
                sys_created_by=caller.user_name,
                sys_updated_on=now,
                sys_updated_by=caller.user_name,
                **values,
            ).execute()
    return sys_id


def update(table, sys_id, values, caller):
    """Change the record's fields given; True when something changed.
    An update that changes nothing writes nothing, as on ServiceNow."""
    _writable(table)
    if not could_be_sys_id(sys_id):
        raise NotFound(sys_id)
    model = table.model
    now = utcnow()
    with atomic():
        query = model.select().where(model.sys_id == sys_id)
        if database.for_update:
            # PostgreSQL: a write committing meanwhile must wait, not be
            # overwritten (SQLite's writers already go one at a time).
            query = query.for_update()
        current = query.dicts().get_or_none()
        if current is None:
            raise NotFound(sys_id)
        if table is F.INTERACTION:
            changes = rules.table_changes(current, _references(table, values), caller, now)
        else:
            changes = {name: value for name, value in values.items() if current[name] != value}
        if not changes:
            return False
        model.update(
            sys_updated_on=now,
            sys_updated_by=caller.user_name,
            sys_mod_count=model.sys_mod_count + 1,
            **changes,
        ).where(model.sys_id == sys_id).execute()
    return True


def delete(table, sys_id):
    """Delete the record (an interaction with the documents of its own it
    points at); False when there was none."""
    _writable(table)
    if not could_be_sys_id(sys_id):
        return False
    with atomic():
        if table is F.INTERACTION:
            return _delete_interactions([sys_id]) == 1
        attachments.delete_of(table.name, [sys_id])
        return table.model.delete().where(table.model.sys_id == sys_id).execute() == 1


def delete_interactions(query, caller):
    """Delete every interaction matching `query` (SOAP's deleteMultiple);
    how many there were."""
    with atomic():
        return _delete_interactions(keys(F.INTERACTION, query, caller))


def _delete_interactions(sys_ids):
    """Delete the interactions, then the documents they pointed at that no
    other interaction points at (a document may be shared through
    context_table/context_id)."""
    interaction = F.INTERACTION.model
    pairs = (
        (interaction.context_table, interaction.context_document),
        (interaction.channel_metadata_table, interaction.channel_metadata_document),
    )
    deleted = 0
    for batch in _batches(sys_ids):
        documents = {CONTEXT_TABLE: set(), CHANNEL_METADATA_TABLE: set()}
        for row in interaction.select(*(column for pair in pairs for column in pair)).where(interaction.sys_id.in_(batch)).tuples():
            for table, document in (row[0:2], row[2:4]):
                if table in documents:
                    documents[table].add(document)
        attachments.delete_of(F.INTERACTION.name, batch)
        deleted += interaction.delete().where(interaction.sys_id.in_(batch)).execute()
        for table, document_ids in documents.items():
            model = DOCUMENT_MODELS[table]
            for ids in _batches(sorted(document_ids)):
                used = interaction.select(SQL("1")).where(
                    ((pairs[0][0] == table) & (pairs[0][1] == model.sys_id))
                    | ((pairs[1][0] == table) & (pairs[1][1] == model.sys_id))
                )
                model.delete().where(model.sys_id.in_(ids) & ~fn.EXISTS(used)).execute()
    return deleted


def _batches(items, size=500):
    # SQLite takes at most 999 parameters in a statement on older builds.
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _writable(table):
    if not table.writable:
        raise ReadOnlyTable()


def _references(table, values):
    """A reference may be given as a sys_id or, as ServiceNow also takes
    it, as the user_name of the user it points at."""
    resolved = dict(values)
    for field in table.fields:
        value = values.get(field.name)
        if field.kind != F.REFERENCE or not value:
            continue
        user = (
            SysUser.select(SysUser.sys_id)
            .where((SysUser.sys_id == value) | (SysUser.user_name == value))
            .order_by((SysUser.sys_id == value).desc())
            .first()
        )
        if user is not None:
            resolved[field.name] = user.sys_id
    return resolved
