"""The seven operations (SOAP.md §3), each a thin call into the records
layer: the same rules, queries and writes as the Table API.

Each takes the table, the call's values (local name -> text) and the
display mode, and returns the response's children as envelope.response
takes them.
"""
from ..auth import current_user
from ..records import query as Q
from ..records import store, validation
from ..records.errors import InvalidRecord, NotFound, QueryError, Refused
from ..records.store import MAX_LIMIT
from ..records.values import View
from .envelope import CLIENT, SERVER, Fault
from .wsdl import columns, insert_response, record_columns

# getRecords without __last_row or __limit, as ServiceNow caps it.
DEFAULT_RECORDS = 250
# Beyond any table: SQL's 64-bit LIMIT and OFFSET must not overflow.
_MAX_ROW = 2**62
_ABORTED = "com.glide.processors.soap.SOAPProcessingException: {} Aborted : {}"
_MISSING_RECORD = _ABORTED.format("Update", "missing record")
# References are links elsewhere; SOAP writes a reference as its sys_id.
_BASE_URL = ""


def _view(table, display, excluded=frozenset()):
    """What to read: display values are read as pairs, and
    wsdl.record_columns picks from them what each element holds."""
    fields = None
    if excluded:
        fields = tuple(field.name for field in columns(table) if field.name not in excluded)
    return View(fields=fields, display="all" if display != "false" else "false", exclude_links=True)


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _excluded(values):
    return frozenset(_names(values.get("__exclude_columns", "")))


def _record(table, record, display):
    children = []
    for name, field, part in record_columns(table, display):
        value = record.get(field.name)
        if value is not None:
            children.append((name, value if isinstance(value, str) else value[part]))
    return children


def _column_query(table, values):
    """Each column given an equality condition, an empty one ISEMPTY."""
    query = Q.EMPTY
    for field in columns(table):
        value = values.get(field.name)
        if value is not None:
            query = query + (Q.condition(field.name, "=", value) if value else Q.condition(field.name, "ISEMPTY"))
    return query


def _query(table, values):
    """The columns' conditions ANDed with __encoded_query, ordered by
    __order_by, then __order_by_desc, then the encoded query's ORDERBYs."""
    orderings = [Q.Ordering(name, False) for name in _names(values.get("__order_by", ""))]
    orderings += [Q.Ordering(name, True) for name in _names(values.get("__order_by_desc", ""))]
    try:
        encoded = Q.parse(values.get("__encoded_query", ""))
    except QueryError as error:
        raise Fault(CLIENT, str(error)) from None
    return Q.Query((), tuple(orderings)) + _column_query(table, values) + encoded


def _row_number(values, name):
    text = values.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise Fault(CLIENT, f"Invalid value for {name}: {text!r} is not a non-negative integer")
    return min(int(text), _MAX_ROW)


def _window(values, default):
    """(first row, how many rows or None for all) of a getRecords or getKeys."""
    first = _row_number(values, "__first_row") or 0
    last = _row_number(values, "__last_row")
    limit = _row_number(values, "__limit")
    if last is None:
        return first, limit if limit is not None else default
    rows = max(0, last - first)
    return first, rows if limit is None else min(rows, limit)


def _find(table, values, view, default):
    """The records of the call's query and window, read a page of the
    records layer's largest at a time."""
    query = _query(table, values)
    first, rows = _window(values, default)
    records = []
    while rows is None or len(records) < rows:
        size = MAX_LIMIT if rows is None else min(MAX_LIMIT, rows - len(records))
        try:
            page = store.find(
                table, query, view, current_user(), _BASE_URL, limit=size, offset=first + len(records), count=False
            )
        except QueryError as error:
            raise Fault(CLIENT, str(error)) from None
        records += page.records
        if len(page.records) < size:
            break
    return records


def insert(table, values, display):
    try:
        sys_id = store.insert(table, validation.load(table, values), current_user())
    except (InvalidRecord, Refused) as error:
        raise Fault(SERVER, _ABORTED.format("Insert", error)) from None
    names = insert_response(table)
    record = store.get(table, sys_id, View(fields=names, exclude_links=True), _BASE_URL)
    return [(name, record[name]) for name in names]


def update(table, values, display):
    sys_id = values.get("sys_id", "").strip()
    if not sys_id:
        raise Fault(SERVER, _MISSING_RECORD)
    try:
        store.update(table, sys_id, validation.load(table, values), current_user())
    except NotFound:
        raise Fault(SERVER, _MISSING_RECORD) from None
    except (InvalidRecord, Refused) as error:
        raise Fault(SERVER, _ABORTED.format("Update", error)) from None
    return [("sys_id", sys_id)]


def get(table, values, display):
    view = _view(table, display, _excluded(values))
    record = store.get(table, values.get("sys_id", "").strip(), view, _BASE_URL)
    return _record(table, record, display) if record is not None else []


def get_records(table, values, display):
    view = _view(table, display, _excluded(values))
    return [("getRecordsResult", _record(table, record, display)) for record in _find(table, values, view, DEFAULT_RECORDS)]


def get_keys(table, values, display):
    keys = [record["sys_id"] for record in _find(table, values, View(fields=("sys_id",), exclude_links=True), None)]
    # One element, the keys joined by commas, as ServiceNow answers.
    return [("sys_id", ",".join(keys)), ("count", str(len(keys)))]


def delete_record(table, values, display):
    try:
        deleted = store.delete(table, values.get("sys_id", "").strip(), current_user())
    except Refused as error:
        raise Fault(SERVER, _ABORTED.format("Delete", error)) from None
    return [("count", "1" if deleted else "0")]


def delete_multiple(table, values, display):
    query = _column_query(table, values)
    if not query.groups:
        raise Fault(CLIENT, "deleteMultiple needs at least one column to match: it never deletes the whole table")
    try:
        count = store.delete_matching(table, query, current_user())
    except QueryError as error:
        raise Fault(CLIENT, str(error)) from None
    except Refused as error:
        raise Fault(SERVER, _ABORTED.format("Delete", error)) from None
    return [("count", str(count))]


OPERATIONS = {
    "insert": insert,
    "update": update,
    "get": get,
    "getRecords": get_records,
    "getKeys": get_keys,
    "deleteRecord": delete_record,
    "deleteMultiple": delete_multiple,
}
