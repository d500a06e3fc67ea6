"""The tables, named and shaped as on a ServiceNow instance."""
from datetime import datetime, timezone

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)

from .db import database, journal_database

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


def _added_text(max_length, index=False):
    """A text column added after the first release: its default is the
    database's too, so that an upgrade fills the rows already there."""
    return CharField(max_length=max_length, default="", index=index, constraints=[SQL("DEFAULT ''")])


class SysUser(SysRecord):
    """The fields of the sys_user declaration (records/catalog.py), and the
    password's hash and the admin flag, which no API shows."""

    user_name = CharField(max_length=40, unique=True)
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    first_name = _added_text(50)
    last_name = _added_text(50)
    name = _added_text(151)
    email = _added_text(100)
    # Indexed: integrations look callers up by phone (TABLES.md §5).
    phone = _added_text(40, index=True)
    mobile_phone = _added_text(40, index=True)
    title = _added_text(60)
    # May use the test-support routes under /__stand_in/. Added after the
    # first release: the database's default too (see short_description).
    admin = BooleanField(default=False, constraints=[SQL("DEFAULT FALSE")])


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


class SysAttachment(SysRecord):
    """A file attached to a record of any table, as ServiceNow's
    sys_attachment: its metadata; the bytes are in sys_attachment_doc."""

    file_name = CharField(max_length=255)
    content_type = CharField(max_length=255)
    size_bytes = BigIntegerField()
    table_name = CharField(max_length=80)
    table_sys_id = CharField(max_length=32)
    # SHA-256 of the bytes, hex.
    hash = CharField(max_length=64)

    class Meta:
        indexes = ((("table_name", "table_sys_id"), False),)


class SysAttachmentDoc(Model):
    """One chunk of an attachment's bytes (ServiceNow's sys_attachment_doc),
    so a file is written and read a chunk at a time, never whole."""

    sys_id = CharField(max_length=32, primary_key=True)
    sys_attachment = CharField(max_length=32)
    position = IntegerField()
    data = BlobField()

    class Meta:
        database = database
        legacy_table_names = False
        indexes = ((("sys_attachment", "position"), True),)


class SysTableCount(Model):
    """How many rows a table holds, kept by triggers (records/counts.py), so
    that counting a whole table reads one row instead of scanning it."""

    name = CharField(max_length=80, primary_key=True)
    count = IntegerField()

    class Meta:
        database = database
        legacy_table_names = False


class OAuthEntity(SysRecord):
    """An OAuth client (app/oauth): ServiceNow's application registry entry.
    The secret is kept as a password hash: shown once, never again."""

    name = CharField(max_length=100)
    client_id = CharField(max_length=64, unique=True)
    client_secret_hash = CharField(max_length=255)
    # The user the client-credentials grant acts as; empty for none.
    user = CharField(max_length=40, default="")
    access_token_lifespan = IntegerField(default=1800)
    refresh_token_lifespan = IntegerField(default=8_640_000)

    class Meta:
        table_name = "oauth_entity"


class OAuthCredential(Model):
    """An access or refresh token, kept as the SHA-256 of the token: the
    token has 256 bits of entropy, so a fast hash hides it as well as a
    slow one would, and a bearer request finds its row by primary key."""

    token_hash = CharField(max_length=64, primary_key=True)
    kind = CharField(max_length=8)  # "access" or "refresh"
    client = CharField(max_length=32, index=True)  # the OAuthEntity's sys_id
    user = CharField(max_length=32)  # the SysUser's sys_id
    # The refresh token an access token was made from: revoked with it.
    parent = CharField(max_length=64, null=True, index=True)
    # Seconds since the epoch, UTC.
    expires_at = BigIntegerField()
    # A digest of the user's password hash when a password was given for
    # it: a new password ends the tokens that the old one got.
    password_stamp = CharField(max_length=64, default="")

    class Meta:
        database = database
        table_name = "oauth_credential"


class StandInState(Model):
    """One row the request path reads with the user (auth.py): how many fault
    rules are stored, and a generation bumped by every change to them, so a
    worker knows without a query of its own whether its rules are current;
    and the generation of the declared tables (records/declarations.py)."""

    id = IntegerField(primary_key=True)
    fault_rules = IntegerField(default=0)
    generation = BigIntegerField(default=0)
    tables = BigIntegerField(default=0, constraints=[SQL("DEFAULT 0")])

    class Meta:
        database = database
        table_name = "stand_in_state"


class SysDeclaredTable(Model):
    """A table of the user's own: its declaration as JSON (records/declarations.py)."""

    name = CharField(max_length=80, primary_key=True)
    declaration = TextField()

    class Meta:
        database = database
        table_name = "stand_in_table"


class StandInFaultRule(Model):
    """A fault rule (app/stand_in/faults.py); `hits` and `matches` are
    counted in the database so that every worker and host shares them."""

    # Rules are checked in the order of their ids: the order they were added.
    id = AutoField()
    rule = TextField()
    times = IntegerField(null=True)
    skip = IntegerField(default=0)
    matches = IntegerField(default=0)
    hits = IntegerField(default=0)

    class Meta:
        database = database
        table_name = "stand_in_fault_rule"


class StandInRequest(Model):
    """One entry of the request journal (app/stand_in/journal.py): the
    columns it is filtered on, the rest as one JSON document, and the
    answer's body beside it."""

    id = AutoField()
    # No index: a lookup scans at most the journal's bound, and each index
    # would be one more page written by every request.
    transaction_id = CharField(max_length=32)
    received_at = CharField(max_length=23)
    method = CharField(max_length=16)
    path = TextField()
    status = IntegerField(null=True)
    user_name = CharField(max_length=40, null=True)
    # The response format negotiated, for a matcher's `format`.
    response_format = CharField(max_length=8, null=True)
    entry = TextField()
    # The answer's body, beside the entry rather than in it: escaped into
    # the entry's JSON and decoded again, a page of 100 records cost its
    # request 0.48M instructions more (half of what the journal costs it).
    response_body = TextField(null=True)
    # The beginning of a file answered (an attachment's download), kept as
    # its bytes and decoded where the entry is read: escaping a binary
    # file's bytes costs a request more than serving the file does.
    response_head = BlobField(null=True)

    class Meta:
        database = journal_database
        table_name = "stand_in_request"


# In the order a reset empties them: an interaction before its documents
# (see app/stand_in/seeding.py).
MODELS = (
    SysUser,
    SysNumberCounter,
    SysTableCount,
    Interaction,
    InteractionJsonBlob,
    LiveGroupProfile,
    SysAttachment,
    SysAttachmentDoc,
    OAuthEntity,
    OAuthCredential,
    StandInState,
    SysDeclaredTable,
    StandInFaultRule,
    StandInRequest,
)

# Documents this service stores itself, so it can tell whether one exists.
DOCUMENT_MODELS = {CONTEXT_TABLE: InteractionJsonBlob, CHANNEL_METADATA_TABLE: LiveGroupProfile}


def seed_counters():
    SysNumberCounter.insert(category="interaction", prefix="IMS", number=0).on_conflict_ignore().execute()
    StandInState.insert(id=1).on_conflict_ignore().execute()
