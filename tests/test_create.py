"""POST /api/now/interaction: create (§4.1-4.3)."""
import re
import time
from datetime import datetime, timezone

import orjson
import pytest
from conftest import CHANNEL, QUEUE, RESULT_KEYS, failure

from app.models import Interaction, InteractionJsonBlob, LiveGroupProfile

SYS_ID = re.compile(r"^[0-9a-f]{32}$")
ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"


def test_the_pages_sample_request_gets_the_pages_answer(api):
    response = api.create({"channel": CHANNEL, "queue": QUEUE}, headers={"Accept": "application/json"})

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    result = response.json["result"]
    assert list(response.json) == ["result"]
    assert list(result) == RESULT_KEYS
    assert result == {
        "channel": CHANNEL,
        "context": {"present": True},
        "queue": QUEUE,
        "state": "queued",
        "number": "IMS0000001",
        "contextDocument": result["contextDocument"],
        "contextTable": "interaction_json_blob",
        "channelMetadataDocument": result["channelMetadataDocument"],
        "channelMetadataTable": "live_group_profile",
        "channel_metadata": {"present": True},
        "sys_id": result["sys_id"],
        "assigned_to": "",
        "closed_by": "",
        "opened_for": "",
    }
    for key in ("sys_id", "contextDocument", "channelMetadataDocument"):
        assert SYS_ID.match(result[key])
    assert len({result["sys_id"], result["contextDocument"], result["channelMetadataDocument"]}) == 3


def test_json_keys_are_written_in_the_pages_order_not_sorted(api):
    body = api.create({"channel": CHANNEL}).data
    positions = [body.index(f'"{key}":'.encode()) for key in RESULT_KEYS]
    assert positions == sorted(positions)


def test_without_a_queue_the_state_is_new(api):
    result = api.created()
    assert result["state"] == "new"
    assert result["queue"] == ""


@pytest.mark.parametrize("queue", ["", None, "   "])
def test_an_empty_queue_means_none(api, queue):
    result = api.created(queue=queue)
    assert (result["state"], result["queue"]) == ("new", "")


def test_numbers_increase_and_never_repeat(api):
    numbers = [api.created()["number"] for _ in range(12)]
    assert numbers == [f"IMS{n:07d}" for n in range(1, 13)]


def test_numbers_grow_past_seven_digits(app, api):
    from app.models import SysNumberCounter

    with app.app_context():
        SysNumberCounter.update(number=9_999_999).execute()
    assert api.created()["number"] == "IMS10000000"


def test_the_record_is_stored_with_its_documents(app, api):
    result = api.created(queue=QUEUE, context={"customer": {"id": 42, "tags": ["a", "b"]}}, channel_metadata={"x": "y"})

    with app.app_context():
        stored = Interaction.get_by_id(result["sys_id"])
        context = InteractionJsonBlob.get_by_id(result["contextDocument"])
        metadata = LiveGroupProfile.get_by_id(result["channelMetadataDocument"])
    assert (stored.number, stored.state, stored.channel, stored.queue) == (
        result["number"],
        "queued",
        CHANNEL,
        QUEUE,
    )
    assert (stored.opened_by, stored.sys_created_by, stored.sys_updated_by) == (ADMIN_SYS_ID, "admin", "admin")
    assert stored.sys_mod_count == 0
    assert stored.opened_at is not None and stored.closed_at is None
    assert orjson.loads(context.value) == {"customer": {"id": 42, "tags": ["a", "b"]}}
    assert orjson.loads(metadata.value) == {"x": "y"}


def test_without_a_context_the_document_holds_an_empty_map(app, api):
    result = api.created()
    with app.app_context():
        assert InteractionJsonBlob.get_by_id(result["contextDocument"]).value == "{}"
        assert LiveGroupProfile.get_by_id(result["channelMetadataDocument"]).value == "{}"


def test_a_map_may_come_as_a_string_holding_json(app, api):
    result = api.created(context='{"a": 1}', channel_metadata='{"b": [1, 2]}')
    with app.app_context():
        assert orjson.loads(InteractionJsonBlob.get_by_id(result["contextDocument"]).value) == {"a": 1}
        assert orjson.loads(LiveGroupProfile.get_by_id(result["channelMetadataDocument"]).value) == {"b": [1, 2]}


def test_a_context_pair_points_at_a_document_elsewhere(app, api):
    result = api.created(
        context_table="incident",
        context_id="0123456789abcdef0123456789abcdef",
        channel_metadata_table="sys_user",
        channel_metadata_id="46d44a23a9fe19810012d100cca80666",
    )
    assert (result["contextTable"], result["contextDocument"]) == ("incident", "0123456789abcdef0123456789abcdef")
    assert (result["channelMetadataTable"], result["channelMetadataDocument"]) == (
        "sys_user",
        "46d44a23a9fe19810012d100cca80666",
    )
    # The service cannot see documents in tables it does not keep.
    assert result["context"] == {"present": False}
    assert result["channel_metadata"] == {"present": False}
    with app.app_context():
        assert InteractionJsonBlob.select().count() == 0
        assert LiveGroupProfile.select().count() == 0


def test_a_pair_naming_an_existing_document_is_present(api):
    first = api.created(context={"shared": True})
    second = api.created(context_table="interaction_json_blob", context_id=first["contextDocument"])
    assert second["context"] == {"present": True}
    assert second["contextDocument"] == first["contextDocument"]

    missing = api.created(context_table="interaction_json_blob", context_id="f" * 32)
    assert missing["context"] == {"present": False}


def test_unknown_fields_are_ignored(api):
    result = api.created(unknown="x", number="IMS9999999", state="closed_complete", opened_for="someone")
    assert (result["number"], result["state"], result["opened_for"]) == ("IMS0000001", "new", "")


def test_the_channel_is_trimmed(api):
    assert api.created(channel=f"  {CHANNEL}\n")["channel"] == CHANNEL


@pytest.mark.parametrize(
    "path",
    [
        "/api/now/interaction",
        "/api/now/interaction/",
        "/api/now/v1/interaction",
        "/api/now/v1/interaction/",
        "/api/now/interaction?sysparm_query=&sysparm_limit=10000&sysparm_display_value=False",
    ],
)
def test_every_form_of_the_route_creates(api, path):
    response = api.create({"channel": CHANNEL}, path=path)
    assert response.status_code == 201
    assert response.json["result"]["channel"] == CHANNEL


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "channel: Missing data for required field."),
        ({"queue": QUEUE}, "channel: Missing data for required field."),
        ({"channel": ""}, "channel: Length must be between 1 and 32."),
        ({"channel": "   "}, "channel: Length must be between 1 and 32."),
        ({"channel": "x" * 33}, "channel: Length must be between 1 and 32."),
        ({"channel": None}, "channel: Field may not be null."),
        ({"channel": 42}, "channel: Not a valid string."),
        ({"channel": ["a"]}, "channel: Not a valid string."),
        ({"channel": {"a": 1}}, "channel: Not a valid string."),
        ({"channel": "a\u0000b"}, "channel: Must not contain control characters."),
        ({"channel": CHANNEL, "queue": "q" * 33}, "queue: Longer than maximum length 32."),
        ({"channel": CHANNEL, "queue": 7}, "queue: Not a valid string."),
        (
            {"channel": CHANNEL, "context": [1, 2]},
            "context: Must be an object, or a string holding a JSON object.",
        ),
        (
            {"channel": CHANNEL, "context": "not json"},
            "context: Must be an object, or a string holding a JSON object.",
        ),
        (
            {"channel": CHANNEL, "channel_metadata": "[1]"},
            "channel_metadata: Must be an object, or a string holding a JSON object.",
        ),
        (
            {"channel": CHANNEL, "context": 12},
            "context: Must be an object, or a string holding a JSON object.",
        ),
        ({"channel": CHANNEL, "context_table": "incident"}, "context_id: Required together with context_table."),
        ({"channel": CHANNEL, "context_id": "abc"}, "context_table: Required together with context_id."),
        (
            {"channel": CHANNEL, "channel_metadata_id": "abc"},
            "channel_metadata_table: Required together with channel_metadata_id.",
        ),
        (
            {"channel": CHANNEL, "context": {"a": 1}, "context_table": "incident", "context_id": "abc"},
            "context: Give either context or context_table and context_id, not both.",
        ),
        (
            {"channel": CHANNEL, "context_table": "Bad Table!", "context_id": "abc"},
            "context_table: Must be a table name: 1 to 80 of a-z, 0-9 and _.",
        ),
        (
            {"channel": CHANNEL, "context_table": "incident", "context_id": "x" * 33},
            "context_id: Longer than maximum length 32.",
        ),
        (
            {"channel": CHANNEL, "channel_metadata_table": "t" * 81, "channel_metadata_id": "abc"},
            "channel_metadata_table: Must be a table name: 1 to 80 of a-z, 0-9 and _.",
        ),
        (
            {"channel": CHANNEL, "channel_metadata_table": "incident", "channel_metadata_id": "x" * 33},
            "channel_metadata_id: Longer than maximum length 32.",
        ),
        ({"queue": 1}, "channel: Missing data for required field.; queue: Not a valid string."),
    ],
)
def test_invalid_fields_are_a_400_naming_the_field(api, body, message):
    response = api.create(body)
    assert response.status_code == 400
    assert response.json == failure(message)


def test_a_map_nested_too_deep_is_refused(api):
    context = {}
    for _ in range(70):
        context = {"a": context}
    response = api.create({"channel": CHANNEL, "context": context})
    assert response.status_code == 400
    assert response.json == failure("context: Must not nest deeper than 64 levels.")


def test_nothing_is_stored_when_validation_fails(app, api):
    api.create({"queue": QUEUE})
    with app.app_context():
        assert Interaction.select().count() == 0
        assert InteractionJsonBlob.select().count() == 0


def test_a_failed_write_leaves_nothing_half_done(app, api, monkeypatch):
    from app.records import interactions

    class Failing:
        def execute(self, **values):
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(interactions, "_insert", Failing)
    response = api.create({"channel": CHANNEL})
    assert response.status_code == 500
    with app.app_context():
        assert Interaction.select().count() == 0
        assert InteractionJsonBlob.select().count() == 0
        assert LiveGroupProfile.select().count() == 0
    monkeypatch.undo()
    # The number taken by the failed create was rolled back with it.
    assert api.created()["number"] == "IMS0000001"


@pytest.fixture
def far_from_utc(monkeypatch):
    """A local time zone hours away from UTC, so local time cannot pass for it."""
    monkeypatch.setenv("TZ", "America/Anchorage")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_stored_in_utc_to_the_second(app, api, far_from_utc):
    earliest = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    created = api.created(context={"k": 1})
    api.close(created["sys_id"])
    latest = datetime.now(timezone.utc).replace(tzinfo=None)
    with app.app_context():
        stored = Interaction.get_by_id(created["sys_id"])
        blob = InteractionJsonBlob.get_by_id(created["contextDocument"])
    times = [
        stored.sys_created_on,
        stored.sys_updated_on,
        stored.opened_at,
        stored.closed_at,
        blob.sys_created_on,
        blob.sys_updated_on,
    ]
    assert all(earliest <= at <= latest and at.microsecond == 0 for at in times), times


def test_a_pair_may_name_a_table_of_80_characters_and_nulls_are_no_pair(api):
    result = api.created(context_table="t" * 80, context_id="x" * 32, channel_metadata_table=None, channel_metadata_id=None)
    assert (result["contextTable"], result["contextDocument"]) == ("t" * 80, "x" * 32)
    assert result["channelMetadataTable"] == "live_group_profile"
