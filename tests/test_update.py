"""POST /api/now/interaction with a sys_id: update (§4.4)."""
from datetime import datetime

import orjson
import pytest
from conftest import NO_RECORD, CHANNEL, QUEUE, RESULT_KEYS, basic

from app import users
from app.models import Interaction, InteractionJsonBlob, LiveGroupProfile


def test_a_known_sys_id_updates_the_interaction(app, api):
    created = api.created()
    response = api.create({"sys_id": created["sys_id"], "channel": "b" * 32})

    assert response.status_code == 201
    result = response.json["result"]
    assert list(result) == RESULT_KEYS
    assert result == {**created, "channel": "b" * 32}
    with app.app_context():
        stored = Interaction.get_by_id(created["sys_id"])
        assert (stored.sys_mod_count, stored.channel) == (1, "b" * 32)
        assert Interaction.select().count() == 1


def test_giving_a_queue_to_a_new_interaction_queues_it(api):
    created = api.created()
    result = api.create({"sys_id": created["sys_id"], "queue": QUEUE}).json["result"]
    assert (result["queue"], result["state"], result["number"]) == (QUEUE, "queued", created["number"])


def test_fields_not_given_are_kept(api):
    created = api.created(queue=QUEUE)
    result = api.create({"sys_id": created["sys_id"]}).json["result"]
    assert result == created


def test_each_update_that_changes_something_counts(app, api):
    sys_id = api.created()["sys_id"]
    for channel in ("a", "b", "c"):
        assert api.create({"sys_id": sys_id, "channel": channel}).status_code == 201
    with app.app_context():
        assert Interaction.get_by_id(sys_id).sys_mod_count == 3


def test_an_update_that_changes_nothing_writes_nothing(app, api):
    created = api.created(queue=QUEUE)
    with app.app_context():
        updated_on = Interaction.get_by_id(created["sys_id"]).sys_updated_on
    for body in ({}, {"queue": QUEUE}, {"channel": CHANNEL}):
        assert api.create({"sys_id": created["sys_id"], **body}).json["result"] == created
    with app.app_context():
        stored = Interaction.get_by_id(created["sys_id"])
        assert (stored.sys_mod_count, stored.sys_updated_on) == (0, updated_on)


def test_a_new_context_alone_counts_as_a_change(app, api):
    sys_id = api.created()["sys_id"]
    assert api.create({"sys_id": sys_id, "context": {"k": 1}}).status_code == 201
    with app.app_context():
        assert Interaction.get_by_id(sys_id).sys_mod_count == 1


def test_a_sys_id_longer_than_any_is_a_404(api):
    response = api.create({"sys_id": "a" * 40, "queue": QUEUE})
    assert response.status_code == 404
    assert response.json == NO_RECORD


def test_taking_the_queue_away_makes_it_new_again(api):
    created = api.created(queue=QUEUE)
    result = api.create({"sys_id": created["sys_id"], "queue": ""}).json["result"]
    assert (result["queue"], result["state"]) == ("", "new")


def test_a_new_context_is_written_into_its_document(app, api):
    created = api.created(context={"old": 1})
    result = api.create({"sys_id": created["sys_id"], "context": {"new": 2}}).json["result"]
    assert result["contextDocument"] == created["contextDocument"]
    with app.app_context():
        blob = InteractionJsonBlob.get_by_id(created["contextDocument"])
        assert orjson.loads(blob.value) == {"new": 2}
        assert blob.sys_mod_count == 1


def test_a_context_for_an_interaction_pointing_elsewhere_gets_a_document(app, api):
    created = api.created(context_table="incident", context_id="a" * 32)
    result = api.create({"sys_id": created["sys_id"], "context": '{"k": "v"}'}).json["result"]
    assert result["contextTable"] == "interaction_json_blob"
    assert result["contextDocument"] != "a" * 32
    assert result["context"] == {"present": True}
    with app.app_context():
        assert orjson.loads(InteractionJsonBlob.get_by_id(result["contextDocument"]).value) == {"k": "v"}


def test_a_pair_repoints_the_document(api):
    created = api.created()
    result = api.create(
        {"sys_id": created["sys_id"], "channel_metadata_table": "sys_user", "channel_metadata_id": "c" * 32}
    ).json["result"]
    assert (result["channelMetadataTable"], result["channelMetadataDocument"]) == ("sys_user", "c" * 32)
    assert result["channel_metadata"] == {"present": False}


def test_an_update_is_validated_like_a_create(api):
    sys_id = api.created()["sys_id"]
    response = api.create({"sys_id": sys_id, "channel": "", "queue": "q" * 40})
    assert response.status_code == 400
    assert response.json == {
        "error": {
            "message": "channel: Length must be between 1 and 32.; queue: Longer than maximum length 32.",
            "detail": None,
        },
        "status": "failure",
    }


def test_an_unknown_sys_id_is_a_404(app, api):
    response = api.create({"sys_id": "0" * 32, "channel": CHANNEL})
    assert response.status_code == 404
    assert response.json == NO_RECORD
    with app.app_context():
        assert Interaction.select().count() == 0


def test_a_closed_interaction_cannot_be_updated(api):
    created = api.created()
    api.close(created["sys_id"])
    response = api.create({"sys_id": created["sys_id"], "queue": QUEUE})
    assert response.status_code == 400
    assert response.json == {
        "error": {"message": f"Interaction {created['number']} is closed and cannot be updated", "detail": None},
        "status": "failure",
    }


def test_an_empty_sys_id_creates(api):
    result = api.created(sys_id="")
    assert result["number"] == "IMS0000001"


def test_an_update_waits_for_a_close_in_flight_on_postgresql(app, api, database_url):
    """Two hosts: a close commits while an update of the same interaction runs.
    The update must see the close, not write the interaction back open."""
    if not database_url.startswith("postgres"):
        pytest.skip("SQLite's writers already go one at a time")
    import threading
    import time

    import psycopg2

    sys_id = api.created()["sys_id"]
    locked = threading.Event()

    def close_elsewhere():
        connection = psycopg2.connect(database_url)
        with connection, connection.cursor() as cursor:
            cursor.execute("UPDATE interaction SET state = 'closed_complete' WHERE sys_id = %s", (sys_id,))
            locked.set()
            time.sleep(1)
        connection.close()

    other_host = threading.Thread(target=close_elsewhere)
    other_host.start()
    locked.wait(10)
    response = api.create({"sys_id": sys_id, "queue": QUEUE})
    other_host.join(10)

    assert response.status_code == 400
    assert response.json["error"]["message"].endswith("is closed and cannot be updated")
    with app.app_context():
        assert Interaction.get_by_id(sys_id).state == "closed_complete"


def test_a_new_context_leaves_other_interactions_documents_alone(app, api):
    mine = api.created(context={"k": "mine"})
    other = api.created(context={"k": "other"})
    api.create({"sys_id": mine["sys_id"], "context": {"k": "new"}})
    with app.app_context():
        blob = InteractionJsonBlob.get_by_id(other["contextDocument"])
        assert (orjson.loads(blob.value), blob.sys_mod_count, blob.sys_updated_by) == ({"k": "other"}, 0, "admin")
        assert orjson.loads(InteractionJsonBlob.get_by_id(mine["contextDocument"]).value) == {"k": "new"}


def test_a_pair_repoints_the_context_to_a_document_that_exists(app, api):
    created = api.created(context={"k": 1})
    other = api.created(context={"k": 2})
    response = api.create(
        {"sys_id": created["sys_id"], "context_table": "interaction_json_blob", "context_id": other["contextDocument"]}
    )
    assert response.status_code == 201
    assert response.json["result"] == {
        **created,
        "contextTable": "interaction_json_blob",
        "contextDocument": other["contextDocument"],
    }
    with app.app_context():
        stored = Interaction.get_by_id(created["sys_id"])
        assert (stored.context_table, stored.context_document, stored.sys_mod_count) == (
            "interaction_json_blob",
            other["contextDocument"],
            1,
        )
        # Re-pointing writes no document: the old one stays as it was.
        assert orjson.loads(InteractionJsonBlob.get_by_id(created["contextDocument"]).value) == {"k": 1}


def test_a_pair_repoints_the_context_elsewhere(api):
    created = api.created()
    result = api.create({"sys_id": created["sys_id"], "context_table": "incident", "context_id": "d" * 32}).json[
        "result"
    ]
    assert result == {**created, "contextTable": "incident", "contextDocument": "d" * 32, "context": {"present": False}}


def test_a_new_channel_metadata_is_written_into_its_document(app, api):
    created = api.created(channel_metadata={"old": 1})
    other = api.created(channel_metadata={"other": 1})
    response = api.create({"sys_id": created["sys_id"], "channel_metadata": {"new": 2}})
    assert response.json["result"] == created
    with app.app_context():
        mine = LiveGroupProfile.get_by_id(created["channelMetadataDocument"])
        assert (orjson.loads(mine.value), mine.sys_mod_count) == ({"new": 2}, 1)
        assert orjson.loads(LiveGroupProfile.get_by_id(other["channelMetadataDocument"]).value) == {"other": 1}
        assert Interaction.get_by_id(created["sys_id"]).sys_mod_count == 1


def test_a_new_context_for_an_interaction_whose_document_is_gone_gets_a_new_one(app, api):
    created = api.created(context={"old": 1})
    api.created(context={"another": 1})
    with app.app_context():
        InteractionJsonBlob.delete_by_id(created["contextDocument"])
    before = api.create({"sys_id": created["sys_id"], "channel": "b" * 32}).json["result"]
    assert before["context"] == {"present": False}

    result = api.create({"sys_id": created["sys_id"], "context": {"new": 2}}).json["result"]
    assert result["contextDocument"] not in (created["contextDocument"], "")
    assert result == {**created, "channel": "b" * 32, "contextDocument": result["contextDocument"]}
    with app.app_context():
        assert orjson.loads(InteractionJsonBlob.get_by_id(result["contextDocument"]).value) == {"new": 2}
        assert not InteractionJsonBlob.select().where(InteractionJsonBlob.sys_id == created["contextDocument"]).exists()


def test_present_after_an_update_is_the_interactions_own_document(api):
    """Other interactions' documents in the same table do not make it present."""
    api.created(context={"k": 1}, channel_metadata={"k": 1})
    pointing = api.created(
        context_table="interaction_json_blob",
        context_id="e" * 32,
        channel_metadata_table="live_group_profile",
        channel_metadata_id="f" * 32,
    )
    absent = {"context": {"present": False}, "channel_metadata": {"present": False}}
    assert {key: pointing[key] for key in absent} == absent
    updated = api.create({"sys_id": pointing["sys_id"], "queue": QUEUE}).json["result"]
    assert updated == {**pointing, "queue": QUEUE, "state": "queued"}
    closed = api.close(pointing["sys_id"]).json["result"]
    assert {key: closed[key] for key in absent} == absent


def test_the_same_pair_again_changes_nothing(app, api):
    created = api.created(context_table="incident", context_id="d" * 32)
    result = api.create({"sys_id": created["sys_id"], "context_table": "incident", "context_id": "d" * 32}).json[
        "result"
    ]
    assert result == created
    with app.app_context():
        assert Interaction.get_by_id(created["sys_id"]).sys_mod_count == 0


def test_a_document_rewritten_by_another_user_records_who_and_when(app, api, client):
    created = api.created(context={"k": 1})
    long_ago = datetime(2001, 1, 1)
    with app.app_context():
        users.add("agent", "agent-password")
        InteractionJsonBlob.update(sys_updated_on=long_ago).execute()
    response = client.post(
        "/api/now/interaction",
        json={"sys_id": created["sys_id"], "context": {"k": 2}},
        headers=basic("agent", "agent-password"),
    )
    assert response.status_code == 201
    with app.app_context():
        blob = InteractionJsonBlob.get_by_id(created["contextDocument"])
        stored = Interaction.get_by_id(created["sys_id"])
    assert (blob.sys_created_by, blob.sys_updated_by, stored.sys_updated_by) == ("admin", "agent", "agent")
    assert blob.sys_updated_on > long_ago
