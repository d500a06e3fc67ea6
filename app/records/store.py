"""Reading and writing records of any table, by sys_id or by encoded query.

Every API goes through here: the Table API, SOAP, the console. Reads run
one compiled statement per page and one per count; writes are one
transaction each and follow the interaction's rules (interactions.py).
"""
import os
from functools import lru_cache

from peewee import IntegrityError

from ..db import Compiled, atomic, database, param
from ..models import utcnow
from . import catalog as C
from . import attachments, counts, numbers
from . import query as Q
from .errors import InvalidRecord, NotFound, ReadOnlyTable, Refused
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
    shown = projection(table, view)
    statement = Q.select_statement(database.obj, table, shown.columns, resolved.shape, resolved.orderings, True)
    cursor = statement.execute(**_values(resolved, limit=min(limit, MAX_LIMIT), offset=offset))
    if shown.documents:
        cursor = shown.with_documents(cursor.fetchall())
    records = [shown.render(row, base_url) for row in cursor]
    total = _count(table, resolved) if count else None
    return Page(records, total)


def _count(table, resolved):
    if not resolved.shape:
        total = counts.total(table.name)
        if total is not None:
            return total
    return Q.count_statement(database.obj, table, resolved.shape).execute(**_values(resolved)).fetchone()[0]


def get(table, sys_id, view, base_url):
    """One record, or None."""
    if not could_be_sys_id(sys_id):
        return None
    page = _page(table, Q.by_sys_id(sys_id), view, base_url, limit=1, offset=0, count=False)
    return page.records[0] if page.records else None


def keys(table, query, caller):
    """The sys_ids of every record matching `query`."""
    resolved = Q.resolve(table, query, caller)
    statement = Q.keys_statement(database.obj, table, resolved.shape)
    return [row[0] for row in statement.execute(**_values(resolved))]


def new_sys_id():
    return os.urandom(16).hex()


@lru_cache(maxsize=256)
def _insert_statement(database_key, table):
    """INSERT of every column of the table's model, compiled once."""
    model = table.model
    return Compiled(model.insert({column: param(column.name) for column in model._meta.sorted_fields}), database_key)


def insert(table, values, caller, sys_id=None, number=None):
    """A new record of `values` (checked by validation.load); its sys_id.
    Seeding gives the sys_id and number (moving the counter past it first)."""
    _writable(table, caller)
    now = utcnow()
    sys_id = sys_id or new_sys_id()
    values = _references(table, values)
    rules = table.rules
    try:
        with atomic():
            row = rules.new_row(table, sys_id, caller, now)
            row.update(rules.changes(table, row, values, caller, now))
            if table.number is not None:
                row[table.number.field] = number or numbers.next_number(table.name, table.number)
            _insert_statement(database.obj, table).execute(**row)
    except IntegrityError:
        # A unique value written meanwhile by another request.
        raise Refused(f"Error during insert of {table.name}") from None
    return sys_id


def update(table, sys_id, values, caller):
    """Change the record's fields given; True when something changed.
    An update that changes nothing writes nothing, as on ServiceNow."""
    _writable(table, caller)
    if not could_be_sys_id(sys_id):
        raise NotFound(sys_id)
    values = _references(table, values)
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
        changes = table.rules.changes(table, current, values, caller, now)
        if not changes:
            return False
        model.update(
            sys_updated_on=now,
            sys_updated_by=caller.user_name,
            sys_mod_count=model.sys_mod_count + 1,
            **changes,
        ).where(model.sys_id == sys_id).execute()
    return True


def delete(table, sys_id, caller):
    """Delete the record, and what its table's rules delete with it; False
    when there was none."""
    _writable(table, caller)
    if not could_be_sys_id(sys_id):
        return False
    with atomic():
        return _delete(table, [sys_id], caller) == 1


def delete_matching(table, query, caller):
    """Delete every record matching `query` (SOAP's deleteMultiple); how many there were."""
    _writable(table, caller)
    with atomic():
        return _delete(table, keys(table, query, caller), caller)


def _delete(table, sys_ids, caller, depth=0):
    """Delete the records, then, as ServiceNow's cascade rules do, clear the
    references to them in every table or delete the records whose reference
    says so (interaction_related_record), and what the table's rules remove
    with them (an interaction's own documents)."""
    model = table.model
    deleted = 0
    for batch in _batches(sys_ids):
        table.rules.deleting(table, batch, caller)
        attachments.delete_of(table.name, batch)
        deleted += model.delete().where(model.sys_id.in_(batch)).execute()
        for other, field in C.referencing(table.name):
            column = field.column(other.model)
            if field.on_delete == "delete" and depth < _MAX_CASCADE:
                dependent = [row[0] for row in other.model.select(other.model.sys_id).where(column.in_(batch)).tuples()]
                _delete(other, dependent, caller, depth + 1)
            else:
                other.model.update({column: ""}).where(column.in_(batch)).execute()
    return deleted


# A chain of "delete" cascades longer than this is a loop of declarations.
_MAX_CASCADE = 8


def _batches(items, size=500):
    # SQLite takes at most 999 parameters in a statement on older builds.
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _writable(table, caller):
    if table.admin_writes and not getattr(caller, "admin", False):
        raise ReadOnlyTable()


def _references(table, values):
    """A reference may be given as a sys_id or, as ServiceNow also takes
    it, as the display value of the record it points at."""
    resolved = dict(values)
    for field in table.references:
        value = values.get(field.name)
        if not value:
            continue
        target = C.table(field.reference)
        model = target.model
        shown = getattr(model, target.display_field)
        found = (
            model.select(model.sys_id)
            .where((model.sys_id == value) | (shown == value))
            .order_by((model.sys_id == value).desc())
            .first()
        )
        if found is not None:
            resolved[field.name] = found.sys_id
        elif len(value) > C.SYS_ID_LENGTH:
            # No sys_id is longer: the display value named no record.
            raise InvalidRecord(f"{field.name}: Longer than maximum length {C.SYS_ID_LENGTH}.")
    return resolved
