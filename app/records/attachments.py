"""Files attached to records of any table: their metadata in
sys_attachment, their bytes in chunks in sys_attachment_doc, both in the
database so that every worker and host serves every file.

A file is written in one transaction, metadata and chunks together, from
a spooled copy (see app/attachments): a worker killed mid-upload leaves
nothing. It is read a chunk at a time, so neither way holds it whole.
"""
import hashlib

from peewee import SQL, fn

from ..db import Compiled, compiled, database, param
from ..models import SysAttachment, SysAttachmentDoc, utcnow
from . import catalog as C
from . import query as Q
from . import store
from .values import TEXT, View

CHUNK_BYTES = 1024 * 1024

# The attachment as a table, for encoded queries over its metadata.
# pragma: no mutate start
TABLE = C.Table(
    "sys_attachment",
    SysAttachment,
    (
        C.Field("sys_id"),
        C.Field("file_name"),
        C.Field("content_type"),
        C.Field("size_bytes", C.INTEGER),
        C.Field("table_name"),
        C.Field("table_sys_id"),
        C.Field("hash"),
        C.Field("sys_created_on", C.DATETIME),
        C.Field("sys_created_by"),
        C.Field("sys_updated_on", C.DATETIME),
        C.Field("sys_updated_by"),
        C.Field("sys_mod_count", C.INTEGER),
    ),
)
# pragma: no mutate end
_COLUMNS = tuple(getattr(SysAttachment, f.name) for f in TABLE.fields)


class InvalidTarget(LookupError):
    """No served table of that name, or no record of it with that sys_id."""


def check_target(table_name, table_sys_id):
    """The table a file may hang on: it is served and has that record."""
    try:
        table = C.lookup(table_name)
    except C.UnknownTable:
        raise InvalidTarget() from None
    if store.get(table, table_sys_id, View(fields=("sys_id",)), "") is None:
        raise InvalidTarget()
    return table


def _metadata(row):
    """A row of _COLUMNS as a dict of strings."""
    return {field.name: TEXT.get(field.kind, _text)(value) for field, value in zip(TABLE.fields, row)}


def _text(value):
    return "" if value is None else value


def create(table_name, table_sys_id, file_name, content_type, spooled, caller):
    """Store the file held in `spooled` (a binary file, read from its start)
    on the record; its metadata."""
    sys_id = store.new_sys_id()
    digest = hashlib.sha256()
    size = 0
    now = utcnow()
    spooled.seek(0)
    with database.atomic():
        for position, chunk in enumerate(iter(lambda: spooled.read(CHUNK_BYTES), b"")):
            digest.update(chunk)
            size += len(chunk)
            SysAttachmentDoc.insert(sys_id=store.new_sys_id(), sys_attachment=sys_id, position=position, data=chunk).execute()
        SysAttachment.insert(
            sys_id=sys_id,
            file_name=file_name,
            content_type=content_type,
            size_bytes=size,
            table_name=table_name,
            table_sys_id=table_sys_id,
            hash=digest.hexdigest(),
            sys_created_on=now,
            sys_created_by=caller.user_name,
            sys_updated_on=now,
            sys_updated_by=caller.user_name,
        ).execute()
    return get(sys_id)


@compiled
def _one():
    return SysAttachment.select(*_COLUMNS).where(SysAttachment.sys_id == param("sys_id"))


def get(sys_id):
    """One attachment's metadata, or None."""
    if not store.could_be_sys_id(sys_id):
        return None
    row = _one().execute(sys_id=sys_id).fetchone()
    return _metadata(row) if row else None


def find(query, caller, limit, offset, count):
    """(the metadata of one page of attachments matching `query`, how many
    match over all pages or None)."""
    resolved = Q.resolve(TABLE, query, caller)
    statement = Q.Statement(TABLE)
    where = statement.where(resolved.shape)
    values = {f"p{i}": value for i, value in enumerate(resolved.values)}
    page = SysAttachment.select(*_COLUMNS)
    total = SysAttachment.select(fn.COUNT(SQL("*")))
    if where is not None:
        page, total = page.where(where), total.where(where)
    page = page.order_by(*statement.order(resolved.orderings)).limit(param("limit")).offset(param("offset"))
    rows = Compiled(page, database.obj).execute(limit=limit, offset=offset, **values).fetchall() if limit else []
    counted = Compiled(total, database.obj).execute(**values).fetchone()[0] if count else None
    return [_metadata(row) for row in rows], counted


@compiled
def _chunk():
    return (
        SysAttachmentDoc.select(SysAttachmentDoc.data)
        .where((SysAttachmentDoc.sys_attachment == param("sys_id")) & (SysAttachmentDoc.position == param("position")))
    )


def chunks(sys_id):
    """The file's bytes, a chunk at a time: each read on its own, so no
    driver fetches the whole file at once."""
    statement = _chunk()
    position = 0
    while True:
        row = statement.execute(sys_id=sys_id, position=position).fetchone()
        if row is None:
            return
        yield bytes(row[0])
        position += 1


def delete(sys_id):
    """False when there was no such attachment."""
    if not store.could_be_sys_id(sys_id):
        return False
    with database.atomic():
        SysAttachmentDoc.delete().where(SysAttachmentDoc.sys_attachment == sys_id).execute()
        return SysAttachment.delete().where(SysAttachment.sys_id == sys_id).execute() == 1


def delete_of(table_name, sys_ids):
    """The attachments of these records of `table_name`, which are going;
    in the transaction that deletes the records."""
    attached = SysAttachment.select(SysAttachment.sys_id).where(
        (SysAttachment.table_name == table_name) & SysAttachment.table_sys_id.in_(sys_ids)
    )
    SysAttachmentDoc.delete().where(SysAttachmentDoc.sys_attachment.in_(attached)).execute()
    SysAttachment.delete().where((SysAttachment.table_name == table_name) & SysAttachment.table_sys_id.in_(sys_ids)).execute()


__all__ = ["CHUNK_BYTES", "InvalidTarget", "check_target", "chunks", "create", "delete", "delete_of", "find", "get"]
