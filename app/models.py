"""The tables, named and shaped as on a ServiceNow instance."""
from datetime import datetime, timezone

from peewee import SQL, BooleanField, CharField, DateTimeField, IntegerField, Model, TextField

from .db import database

ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"

CONTEXT_TABLE = "interaction_json_blob"
CHANNEL_METADATA_TABLE = "live_group_profile"


def utcnow():
    """ServiceNow keeps date-times in UTC, to the second."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


class SysRecord(Model):
    """The system fields every ServiceNow record carries."""

    sys_id = CharField(max_length=32, primary_key=True)
    sys_created_on = DateTimeField(default=utcnow)
    sys_created_by = CharField(max_length=40, default="")
    sys_updated_on = DateTimeField(default=utcnow)
    sys_updated_by = CharField(max_length=40, default="")
    sys_mod_count = IntegerField(default=0)

    class Meta:
        database = database
        legacy_table_names = False


class SysUser(SysRecord):
    user_name = CharField(max_length=40, unique=True)
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)


class SysNumberCounter(Model):
    """The next number of each numbered table: one row, bumped atomically."""

    category = CharField(max_length=80, primary_key=True)
    prefix = CharField(max_length=10)
    number = IntegerField()

    class Meta:
        database = database
        legacy_table_names = False


class Interaction(SysRecord):
    number = CharField(max_length=40, unique=True)
    state = CharField(max_length=40)
    channel = CharField(max_length=32)
    queue = CharField(max_length=32, default="")
    # Added after the first release: its default is the database's too, so
    # that rows written by an older release (another host, mid-upgrade) get it.
    short_description = CharField(max_length=160, default="", constraints=[SQL("DEFAULT ''")])
    context_table = CharField(max_length=80, default="")
    context_document = CharField(max_length=32, default="")
    channel_metadata_table = CharField(max_length=80, default="")
    channel_metadata_document = CharField(max_length=32, default="")
    opened_by = CharField(max_length=32, default="")
    opened_for = CharField(max_length=32, default="")
    assigned_to = CharField(max_length=32, default="")
    closed_by = CharField(max_length=32, default="")
    opened_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True)


class InteractionJsonBlob(SysRecord):
    """The default home of an interaction's context: a JSON object as text."""

    value = TextField(default="{}")

    class Meta:
        table_name = CONTEXT_TABLE


class LiveGroupProfile(SysRecord):
    """The default home of an interaction's channel metadata."""

    value = TextField(default="{}")

    class Meta:
        table_name = CHANNEL_METADATA_TABLE


class SysTableCount(Model):
    """How many rows a table holds, kept by triggers (records/counts.py), so
    that counting a whole table reads one row instead of scanning it."""

    name = CharField(max_length=80, primary_key=True)
    count = IntegerField()

    class Meta:
        database = database
        legacy_table_names = False


MODELS = (SysUser, SysNumberCounter, SysTableCount, Interaction, InteractionJsonBlob, LiveGroupProfile)

# Documents this service stores itself, so it can tell whether one exists.
DOCUMENT_MODELS = {CONTEXT_TABLE: InteractionJsonBlob, CHANNEL_METADATA_TABLE: LiveGroupProfile}


def seed_counters():
    SysNumberCounter.insert(category="interaction", prefix="IMS", number=0).on_conflict_ignore().execute()
