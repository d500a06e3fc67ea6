"""The number of rows of the large tables, kept by the database itself.

A list answer carries X-Total-Count, and PySNC pages through a whole table
by it: COUNT(*) over a million interactions scans an index of a million
entries on every page. Triggers keep a row per table in sys_table_count
instead, in the transaction of every insert and delete, whoever writes
(the service, a bulk load, another host); a count with no condition reads
that row.
"""
from peewee import PostgresqlDatabase

from ..db import compiled, database, param
from ..models import Interaction, InteractionJsonBlob, LiveGroupProfile, SysTableCount

# The built-in tables counted; declared tables are counted as they are made.
COUNTED = (Interaction, InteractionJsonBlob, LiveGroupProfile)

_SQLITE_TRIGGER = """CREATE TRIGGER "{table}_count_{name}" AFTER {event} ON "{table}"
BEGIN UPDATE sys_table_count SET count = count {sign} 1 WHERE name = '{table}'; END"""

# Statement-level, with the rows changed as a transition table: a bulk
# insert or delete updates the count once, not once per row.
_POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION sys_table_count_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE sys_table_count SET count = count + (SELECT count(*) FROM changed) WHERE name = TG_TABLE_NAME;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE sys_table_count SET count = count - (SELECT count(*) FROM changed) WHERE name = TG_TABLE_NAME;
  ELSE
    UPDATE sys_table_count SET count = 0 WHERE name = TG_TABLE_NAME;
  END IF;
  RETURN NULL;
END $$"""
_POSTGRES_TRIGGERS = (
    ('CREATE TRIGGER "{table}_count_insert" AFTER INSERT ON "{table}" REFERENCING NEW TABLE AS changed '
     "FOR EACH STATEMENT EXECUTE FUNCTION sys_table_count_change()"),
    ('CREATE TRIGGER "{table}_count_delete" AFTER DELETE ON "{table}" REFERENCING OLD TABLE AS changed '
     "FOR EACH STATEMENT EXECUTE FUNCTION sys_table_count_change()"),
    ('CREATE TRIGGER "{table}_count_truncate" AFTER TRUNCATE ON "{table}" '
     "FOR EACH STATEMENT EXECUTE FUNCTION sys_table_count_change()"),
)


def _has_triggers(table):
    if isinstance(database.obj, PostgresqlDatabase):
        sql = "SELECT 1 FROM pg_trigger WHERE tgname = %s"
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?"
    return database.execute_sql(sql, (f"{table}_count_insert",)).fetchone() is not None


def install(models):
    """Create the triggers a table lacks and count its rows once. Run at
    start, in the transaction that creates the tables: creating a trigger
    locks its table, so no row is written between the trigger and the count."""
    postgres = isinstance(database.obj, PostgresqlDatabase)
    for model in models:
        table = model._meta.table_name
        if _has_triggers(table):
            continue
        if postgres:
            database.execute_sql(_POSTGRES_FUNCTION)
            for trigger in _POSTGRES_TRIGGERS:
                database.execute_sql(trigger.format(table=table))
        else:
            for event, sign in (("INSERT", "+"), ("DELETE", "-")):
                database.execute_sql(_SQLITE_TRIGGER.format(table=table, name=event.lower(), event=event, sign=sign))
        SysTableCount.insert(name=table, count=model.select().count()).on_conflict(
            conflict_target=[SysTableCount.name], preserve=[SysTableCount.count]
        ).execute()


@compiled
def _read():
    return SysTableCount.select(SysTableCount.count).where(SysTableCount.name == param("name"))


def total(table_name):
    """The rows of a counted table; None for a table not counted."""
    row = _read().execute(name=table_name).fetchone()
    return None if row is None else row[0]
