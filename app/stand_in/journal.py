"""The request journal: every request to the emulated APIs, one entry each,
in the database so that every worker and host writes and reads the same.

The entry is written by an after_request hook, once the answer is decided,
and committed before the server sends it, so a test reads it right after.
A write that fails is logged and the answer goes out unchanged.

Bound: entries are numbered by the database; a reader only sees the newest
JOURNAL_SIZE, and each worker deletes the older ones every PRUNE_EVERY of its
own writes. One INSERT a request, where a DELETE each would double the cost.
"""
import functools
import logging
import operator
import re
import time

import orjson
from flask import current_app, g, request
from peewee import fn
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from .. import negotiation
from ..auth import checked_user
from ..batch import masking as batch_masking
from ..db import close_connection, compiled_for_journal, param
from ..models import StandInRequest
from ..oauth import masking
from ..oauth.protocol import TOKEN_PATHS
from ..serialization import printable
from . import scope

log = logging.getLogger(__name__)

PRUNE_EVERY = 100
# Headers whose value is a credential: only the scheme is kept.
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie", "set-cookie"))
# Of those, the ones whose value starts with a scheme (Basic, Bearer): a
# cookie's first word is a name=value, the secret itself.
SCHEMED_HEADERS = frozenset(("authorization", "proxy-authorization"))
# As werkzeug and this module spell them.
SECRET_NAMES = frozenset(("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"))
_writes = 0
_TRANSACTION_ID = re.compile("[0-9a-f]{16}")


def mask(name, value):
    lowered = name.lower()
    if lowered not in SECRET_HEADERS:
        return value
    scheme, space, _ = value.strip().partition(" ")
    return f"{scheme} ***" if space and lowered in SCHEMED_HEADERS else "***"


def _headers(items):
    headers = {}
    for name, value in items:
        if name in SECRET_NAMES:
            value = mask(name, value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


# The two headers whose environ keys have no HTTP_ prefix.
_CONTENT = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
# Header names as werkzeug writes them, by WSGI environ key ("": no header),
# worked out once per key; bounded, as clients choose the names.
_NAMES = {}


def _name(key):
    name = key[5:].replace("_", "-").title() if key.startswith("HTTP_") else _CONTENT.get(key, "")
    if len(_NAMES) < 512:
        _NAMES[key] = name
    return name


def _request_headers(environ):
    """The request's headers from the WSGI environ, without building
    werkzeug's Headers object (an empty Content-Type or -Length is none)."""
    pairs = []
    for key, value in environ.items():
        # Looked up here rather than in _name: a call per key costs a third.
        name = _NAMES.get(key)
        if name is None:
            name = _name(key)
        if name and (value or key.startswith("HTTP_")):
            pairs.append((name, value))
    return _headers(pairs)


_second = None
_second_text = ""


def _timestamp(moment):
    """UTC to the millisecond, as `received_at` is written; strftime once a second."""
    global _second, _second_text
    second = int(moment)
    if second != _second:
        _second, _second_text = second, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
    return f"{_second_text}.{int((moment - second) * 1000):03d}"


def _body(data, limit, mask=None):
    """(text, truncated): bytes that are not UTF-8 kept as escapes; `mask`
    hides the secrets of the whole body first."""
    if mask is not None:
        data = mask(data)
    if len(data) > limit:
        # Decoded from a view of its first `limit` bytes: a slice would copy
        # them first (64 KB of a page of 100 records).
        return str(memoryview(data)[:limit], "utf-8", "backslashreplace"), True
    return data.decode("utf-8", "backslashreplace"), False


def _request_body(req, limit, mask=None):
    """(text, truncated) of the request's body: the copy the view kept, or,
    where no view read it (a 401, a 404, a fault's answer), read now. A body
    over MAX_CONTENT_LENGTH is kept no further than the service read it; one
    whose client went before sending it all is empty, werkzeug keeping no
    part of it."""
    data = getattr(req, "_cached_data", None)
    if data is None:
        length = req.content_length
        # No length, and a stream the server does not end: werkzeug would
        # read nothing (a read through werkzeug's own server or the test
        # client), so neither does the journal.
        if not length and "wsgi.input_terminated" not in req.environ:
            return "", False
        # The limit looked up only where there is a length to hold to it.
        if length and length > req.max_content_length:
            return "", True
        try:
            data = negotiation.request_body(req)
        except RequestEntityTooLarge:
            data = req._cached_data
        except ClientDisconnected:
            return "", True
    if _PASSWORD_FIELD in data:
        data = _masked_passwords(data)
    text, cut = _body(data, limit, mask)
    return text, cut or getattr(req, "body_cut_at_limit", False)


# sys_user's user_password (TABLES.md §2) is never journaled: its value in a
# JSON body, an XML one or a SOAP call is masked as credentials are.
_PASSWORD_FIELD = b"user_password"
_PASSWORD_JSON = re.compile(rb'("user_password"\s*:\s*)"(?:[^"\\]|\\.)*"')
_PASSWORD_XML = re.compile(rb"(<(?:[\w.-]+:)?user_password\b[^>]*>)[^<]*")


def _masked_passwords(data):
    return _PASSWORD_XML.sub(rb"\1***", _PASSWORD_JSON.sub(rb'\1"***"', data))


@compiled_for_journal
def _insert():
    return StandInRequest.insert(
        transaction_id=param("transaction_id"),
        received_at=param("received_at"),
        method=param("method"),
        path=param("path"),
        status=param("status"),
        user_name=param("user_name"),
        response_format=param("response_format"),
        entry=param("entry"),
        response_body=param("response_body"),
        response_head=param("response_head"),
    )


@compiled_for_journal
def _prune():
    # Run after a write: the journal is never empty, its bound never NULL.
    return StandInRequest.delete().where(StandInRequest.id <= _bound(param("size")))


def record(response):
    """after_request, the last one: one entry for this request."""
    # The proxies resolved once: each read through one costs eight times the read.
    req = request._get_current_object()
    if not scope.observed(req.path):
        return response
    try:
        _write(req, response)
    except Exception:  # noqa: BLE001 - the journal never fails a request
        log.exception("transaction %s: could not write the journal entry", g.get("transaction_id", "-"))
    return response


def _write(req, response):
    global _writes
    environ = req.environ
    context = g._get_current_object()
    config = current_app._get_current_object().config
    limit = config["JOURNAL_BODY_LIMIT"]
    elapsed = time.perf_counter() - context.started
    # Whose credentials this request proved, also where no view asked for
    # them (a 404): the fault check, run before, looked.
    user = checked_user()
    user_name = user.user_name if user else None
    fault = context.get("fault")
    status = response.status_code
    if fault is not None and fault.dropped:
        status = fault.status_before_cut
    query = environ.get("QUERY_STRING", "")
    request_mask = response_mask = None
    if req.path in TOKEN_PATHS:
        request_mask = functools.partial(masking.request_body, content_type=req.content_type)
        response_mask = masking.answer
        query = masking.form(query.encode("latin-1")).decode("latin-1")
    elif req.blueprint == batch_masking.BLUEPRINT:
        request_mask = functools.partial(batch_masking.envelope, content_type=req.content_type, header=mask, body=_masked_passwords)
    request_body, request_cut = _request_body(req, limit, request_mask)
    if response.is_streamed:
        # An attachment's file is not read here, which would hold it whole:
        # its view keeps its beginning as journal_head, stored as bytes.
        head = getattr(response, "journal_head", b"")
        response_body, response_cut, response_head = None, len(head) > limit, head[:limit]
    else:
        response_body, response_cut = _body(response.get_data(), limit, response_mask)
        response_head = None
    entry = {
        "transaction_id": context.transaction_id,
        "received_at": _timestamp(time.time() - elapsed),
        "method": req.method,
        "path": req.path,
        "query": query,
        "user": user_name,
        "status": status,
        "duration_ms": round(elapsed * 1000, 1),
        "request": {"headers": _request_headers(environ), "body": request_body, "body_truncated": request_cut},
        "response": {
            "headers": _headers(response.headers.items()),
            # Stored beside the entry (see _entry).
            "body": "",
            "body_truncated": response_cut,
        },
        "fault": fault.rule_id if fault is not None else None,
    }
    # One statement, committed by itself: no BEGIN/COMMIT round trips.
    _insert().write(
        transaction_id=entry["transaction_id"],
        received_at=entry["received_at"],
        method=entry["method"][:16],
        # The column the filters search: PostgreSQL refuses a NUL in it, so
        # it holds the path as the log line does; the entry keeps it whole.
        path=printable(entry["path"]),
        status=status,
        user_name=user_name,
        response_format=context.get("response_format") or negotiation.response_format(environ.get("HTTP_ACCEPT")),
        entry=orjson.dumps(entry).decode(),
        response_body=response_body,
        response_head=response_head,
    )
    _writes += 1
    if _writes % PRUNE_EVERY == 0:
        _prune().write(size=config["JOURNAL_SIZE"])


def _bound(size):
    """The id at and below which entries fall outside the newest `size`:
    a subquery, NULL for an empty journal."""
    return StandInRequest.select(fn.MAX(StandInRequest.id) - size)


def _newest():
    """The entries within the bound, newest first."""
    # An empty journal's bound is NULL, which selects nothing, as it should.
    return (
        StandInRequest.select()
        .where(StandInRequest.id > _bound(current_app.config["JOURNAL_SIZE"]))
        .order_by(StandInRequest.id.desc())
    )


# What _entry reads, in its order.
_STORED = (StandInRequest.entry, StandInRequest.response_body, StandInRequest.response_head)


def _entry(text, body, head):
    """An entry as stored (its JSON text, the answer's body, and the
    beginning of the file it answered, if any) as it is shown."""
    entry = orjson.loads(text)
    if body is not None:
        entry["response"]["body"] = body
    elif head is not None:
        entry["response"]["body"] = bytes(head).decode("utf-8", "backslashreplace")
    return entry


def matching(match, since=None):
    """The entries that a matcher (schemas.JournalMatchSchema) matches,
    newest first. The path is a regular expression, searched in Python:
    the journal is small and the engines' regex dialects differ."""
    return [_entry(*stored) for stored in _matching_texts(match, since)]


def _matching_texts(match, since=None):
    """The matching entries as stored (JSON text, body and file head),
    newest first: decoded only where they are shown."""
    query = _newest()
    if "method" in match:
        query = query.where(StandInRequest.method == match["method"])
    if "status" in match:
        query = query.where(StandInRequest.status == match["status"])
    if "user" in match:
        query = query.where(StandInRequest.user_name == match["user"])
    if "format" in match:
        query = query.where(StandInRequest.response_format == match["format"])
    if since is not None:
        query = query.where(StandInRequest.received_at >= since)
    rows = query.select(StandInRequest.path, *_STORED).tuples()
    pattern = re.compile(match["path"]) if "path" in match else None
    return [stored for path, *stored in rows if pattern is None or pattern.search(path)]


def count(match):
    """How many entries a matcher matches."""
    return len(_matching_texts(match))


def page(match, since, offset, limit):
    """(how many match, the entries of one page of them)."""
    texts = _matching_texts(match, since)
    return len(texts), [_entry(*stored) for stored in texts[offset : offset + limit]]


def find(transaction_id):
    # Ids are 16 hex digits (transactions.begin): anything else is in no
    # entry, and PostgreSQL refuses a NUL in a query.
    if not _TRANSACTION_ID.fullmatch(transaction_id):
        return None
    row = _newest().select(*_STORED).where(StandInRequest.transaction_id == transaction_id).tuples().first()
    return _entry(*row) if row else None


def mentioning(*texts):
    """The entries whose path, query, headers or bodies hold any of `texts`
    (an interaction's sys_id or number, for the console), newest first; a
    file's contents are not searched."""
    searched = (StandInRequest.entry, StandInRequest.response_body)
    condition = functools.reduce(operator.or_, (column.contains(text) for text in texts for column in searched))
    rows = _newest().select(*_STORED).where(condition).tuples()
    return [_entry(*row) for row in rows]


def wait(match, count, timeout_ms):
    """The matching entries as soon as there are `count`, or (False, how
    many there were) when the time runs out. Polls: the entries may come
    from any worker or host, which nothing here would hear of."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        entries = matching(match)
        if len(entries) >= count:
            return True, entries
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, len(entries)
        # Handing the connection back between polls keeps the pool free.
        close_connection()
        time.sleep(min(0.05, remaining))


def clear():
    return StandInRequest.delete().execute()
