"""Writing through the Table API (TABLE_API.md §1, §2, §5): insert, update,
delete, their rules, and the upgrade of an existing database."""
from datetime import datetime

import pytest
from conftest import CHANNEL, QUEUE, basic, failure

from app import users
from app.db import database
from app.models import ADMIN_SYS_ID, Interaction, InteractionJsonBlob, LiveGroupProfile, SysUser

BASE = "http://localhost"
TABLE = "/api/now/table/interaction"
BOB = "b" * 32
ADMIN_REF = {"link": f"{BASE}/api/now/table/sys_user/{ADMIN_SYS_ID}", "value": ADMIN_SYS_ID}
BOB_REF = {"link": f"{BASE}/api/now/table/sys_user/{BOB}", "value": BOB}
NO_RECORD = failure("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
FORBIDDEN = failure("Operation Failed", "ACL restricts the record operation")


class Writer:
    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def send(self, method, path=TABLE, headers=None, **kwargs):
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

    def inserted(self, path=TABLE, **fields):
        response = self.send("POST", path, json=fields)
        assert response.status_code == 201, response.data
        return response.json["result"]

    def get(self, sys_id, path=TABLE):
        return self.send("GET", f"{path}/{sys_id}").json["result"]


@pytest.fixture
def writer(app, client, admin_auth):
    with app.app_context():
        SysUser.create(sys_id=BOB, user_name="bob", password_hash="-")
    return Writer(client, admin_auth)


def row(app, sys_id, model=Interaction):
    with app.app_context():
        return model.get_or_none(model.sys_id == sys_id)


def test_insert_numbers_the_interaction_and_answers_every_field(app, writer):
    response = writer.send("POST", json={"short_description": "Printer on fire", "channel": CHANNEL})

    assert response.status_code == 201
    record = response.json["result"]
    assert response.headers["Location"] == f"{BASE}{TABLE}/{record['sys_id']}"
    stored = row(app, record["sys_id"])
    assert record == {
        **writer.get(record["sys_id"]),
        "number": "IMS0000001",
        "state": "new",
        "channel": CHANNEL,
        "short_description": "Printer on fire",
        # No documents: the slots for them stay empty.
        "context_table": "",
        "context_document": "",
        "channel_metadata_table": "",
        "channel_metadata_document": "",
        "opened_by": ADMIN_REF,
        "sys_created_by": "admin",
        "sys_mod_count": "0",
    }
    assert (stored.number, stored.opened_by, stored.context_table, stored.context_document) == ("IMS0000001", ADMIN_SYS_ID, "", "")
    with app.app_context():
        # The Table API writes the record only: no documents.
        assert InteractionJsonBlob.select().count() == LiveGroupProfile.select().count() == 0


def test_insert_shares_the_interaction_apis_counter(api, writer):
    assert api.created()["number"] == "IMS0000001"
    assert writer.inserted()["number"] == "IMS0000002"
    assert api.created()["number"] == "IMS0000003"


def test_no_field_is_required(writer):
    record = writer.inserted()
    assert (record["channel"], record["state"], record["queue"]) == ("", "new", "")


def test_a_queue_without_a_state_queues_it_and_a_state_given_wins(writer):
    assert writer.inserted(queue=QUEUE)["state"] == "queued"
    assert writer.inserted(queue=QUEUE, state="work_in_progress")["state"] == "work_in_progress"


def test_fields_the_service_sets_are_ignored_and_so_are_unknown_ones(writer):
    record = writer.inserted(
        sys_id="f" * 32,
        number="IMS9999999",
        opened_by=BOB,
        opened_at="2020-01-01 00:00:00",
        sys_created_by="mallory",
        sys_mod_count="7",
        closed_at="2020-01-01 00:00:00",
        closed_by=BOB,
        nope="x",
    )
    assert record["sys_id"] != "f" * 32
    assert (record["number"], record["opened_by"], record["sys_created_by"], record["sys_mod_count"]) == (
        "IMS0000001",
        ADMIN_REF,
        "admin",
        "0",
    )
    assert (record["closed_at"], record["closed_by"]) == ("", "")


def test_references_take_a_sys_id_or_a_user_name(writer):
    record = writer.inserted(opened_for=BOB, assigned_to="admin")
    assert (record["opened_for"], record["assigned_to"]) == (BOB_REF, ADMIN_REF)


def test_a_user_name_in_a_field_that_is_no_reference_stays_text(writer):
    record = writer.inserted(short_description="bob", channel="admin")
    assert (record["short_description"], record["channel"]) == ("bob", "admin")


def test_a_reference_matching_one_users_sys_id_and_anothers_name_takes_the_sys_id(app, writer):
    carol = "c" * 32
    with app.app_context():
        # Made first, so that a lookup in table order (PostgreSQL's) finds her first.
        SysUser.create(sys_id="d" * 32, user_name=carol, password_hash="-")
        SysUser.create(sys_id=carol, user_name="carol", password_hash="-")
    record = writer.inserted(opened_for=carol)
    assert record["opened_for"] == {"link": f"{BASE}/api/now/table/sys_user/{carol}", "value": carol}


def test_inserting_closed_sets_closed_at_and_by(app, writer):
    record = writer.inserted(state="closed_abandoned")
    stored = row(app, record["sys_id"])
    assert (record["state"], record["closed_by"], stored.closed_at) == ("closed_abandoned", ADMIN_REF, stored.sys_created_on)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"short_description": "x" * 161}, "short_description: Longer than maximum length 160."),
        ({"channel": "c" * 33}, "channel: Longer than maximum length 32."),
        ({"queue": "q" * 33}, "queue: Longer than maximum length 32."),
        ({"state": "s" * 41}, "state: Longer than maximum length 40."),
        ({"opened_for": "u" * 33}, "opened_for: Longer than maximum length 32."),
        ({"context_table": "Not A Table"}, "context_table: Must be a table name: up to 80 of a-z, 0-9 and _."),
        ({"context_document": "d" * 33}, "context_document: Longer than maximum length 32."),
        ({"channel": {"a": 1}}, "channel: Not a valid string."),
        ({"short_description": "a\x00b"}, "short_description: Must not contain control characters."),
    ],
)
def test_a_value_that_breaks_the_rules_is_a_400_naming_it(app, writer, fields, message):
    response = writer.send("POST", json=fields)
    assert (response.status_code, response.json) == (400, failure(message))
    with app.app_context():
        assert Interaction.select().count() == 0


def test_numbers_and_booleans_are_taken_as_text_and_null_clears(writer):
    record = writer.inserted(short_description=42, queue=True, channel=None, state=False)
    assert (record["short_description"], record["queue"], record["channel"], record["state"]) == ("42", "true", "", "false")


@pytest.mark.parametrize(
    "body, content_type, detail",
    [
        (b"[1]", "application/json", "The request body must be an object"),
        (b"{", "application/json", None),
        (b"", "application/json", "The request body is empty"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400(writer, body, content_type, detail):
    response = writer.send("POST", data=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json["error"]["message"] == "Exception while reading request"
    if detail:
        assert response.json["error"]["detail"] == detail


def test_xml_writes_with_or_without_entry(writer):
    for body in (
        "<request><entry><short_description>From XML</short_description><queue>q</queue></entry></request>",
        "<request><short_description>From XML</short_description><queue>q</queue></request>",
    ):
        response = writer.send("POST", data=body, headers={"Content-Type": "application/xml", "Accept": "application/xml"})
        assert response.status_code == 201
        assert b"<short_description>From XML</short_description><opened_by><link>" in response.data
        assert b"<state>queued</state>" in response.data


def test_no_response_body_when_asked(app, writer):
    response = writer.send("POST", json={"short_description": "quiet"}, headers={"X-no-response-body": "true"})
    assert (response.status_code, response.data) == (201, b"")
    sys_id = response.headers["Location"].rsplit("/", 1)[1]
    assert row(app, sys_id).short_description == "quiet"
    response = writer.send("PATCH", f"{TABLE}/{sys_id}", json={"queue": "q"}, headers={"X-no-response-body": "TRUE"})
    assert (response.status_code, response.data) == (200, b"")


def test_location_follows_the_path_used(writer):
    for prefix in ("/api/now/v1/table", "/api/now/v2/table"):
        response = writer.send("POST", f"{prefix}/interaction", json={})
        assert response.headers["Location"] == f"{BASE}{prefix}/interaction/{response.json['result']['sys_id']}"


def test_list_parameters_on_a_post_are_tolerated_and_shape_the_answer(writer):
    response = writer.send(
        "POST",
        json={"short_description": "pysnow"},
        query_string={
            "sysparm_query": "",
            "sysparm_limit": "10000",
            "sysparm_display_value": "True",
            "sysparm_fields": "number,state,opened_by",
            "sysparm_exclude_reference_link": "true",
            "sysparm_suppress_pagination_header": "False",
        },
    )
    assert (response.status_code, response.json) == (201, {"result": {"number": "IMS0000001", "state": "New", "opened_by": "admin"}})


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_changes_only_the_fields_given(app, writer, method):
    record = writer.inserted(short_description="before", queue=QUEUE)
    response = writer.send(method, f"{TABLE}/{record['sys_id']}", json={"short_description": "after", "opened_for": BOB})
    assert response.status_code == 200
    stored = row(app, record["sys_id"])
    assert response.json["result"] == {
        **record,
        "short_description": "after",
        "opened_for": BOB_REF,
        "sys_mod_count": "1",
        "sys_updated_on": stored.sys_updated_on.strftime("%Y-%m-%d %H:%M:%S"),
    }


def test_an_update_that_changes_nothing_writes_nothing(app, writer):
    record = writer.inserted(short_description="same")
    response = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"short_description": "same", "number": "IMS1"})
    assert (response.status_code, response.json["result"]) == (200, record)
    assert row(app, record["sys_id"]).sys_mod_count == 0


def test_an_update_touches_only_its_record(app, writer):
    first, second = writer.inserted(short_description="one"), writer.inserted(short_description="two")
    writer.send("PUT", f"{TABLE}/{first['sys_id']}", json={"short_description": "changed"})
    assert writer.get(second["sys_id"]) == second


def test_an_update_compares_with_its_own_record(writer):
    """Given the value another record holds, the record still changes."""
    first, second = writer.inserted(short_description="one"), writer.inserted(short_description="two")
    response = writer.send("PATCH", f"{TABLE}/{second['sys_id']}", json={"short_description": "one"})
    assert (response.json["result"]["short_description"], response.json["result"]["sys_mod_count"]) == ("one", "1")
    assert writer.get(first["sys_id"]) == first


def test_an_update_says_when_and_by_whom(app, writer):
    record = writer.inserted()
    with app.app_context():
        Interaction.update(sys_updated_on=datetime(2020, 1, 1), sys_updated_by="bob").execute()
    updated = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"queue": "q"}).json["result"]
    stored = row(app, record["sys_id"])
    assert stored.sys_updated_on > datetime(2020, 1, 1)
    assert (updated["sys_updated_on"], updated["sys_updated_by"]) == (stored.sys_updated_on.strftime("%Y-%m-%d %H:%M:%S"), "admin")


def test_a_queue_given_to_a_new_interaction_queues_it(writer):
    record = writer.inserted()
    updated = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"queue": QUEUE}).json["result"]
    assert updated["state"] == "queued"
    explicit = writer.send("PATCH", f"{TABLE}/{writer.inserted()['sys_id']}", json={"queue": QUEUE, "state": "on_hold"})
    assert explicit.json["result"]["state"] == "on_hold"
    wip = writer.inserted(state="work_in_progress")
    assert writer.send("PATCH", f"{TABLE}/{wip['sys_id']}", json={"queue": QUEUE}).json["result"]["state"] == "work_in_progress"


def test_closing_through_the_table_api_and_reopening(app, writer):
    record = writer.inserted()
    closed = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"state": "closed_complete"}).json["result"]
    stored = row(app, record["sys_id"])
    assert (closed["state"], closed["closed_by"], closed["closed_at"]) == (
        "closed_complete",
        ADMIN_REF,
        stored.closed_at.strftime("%Y-%m-%d %H:%M:%S"),
    )
    # The Table API may change a closed interaction; moved back open, the close is undone.
    reopened = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"state": "work_in_progress"}).json["result"]
    assert (reopened["state"], reopened["closed_by"], reopened["closed_at"]) == ("work_in_progress", "", "")
    assert row(app, record["sys_id"]).sys_mod_count == 2


def test_closing_keeps_a_closed_by_already_set(app, writer):
    record = writer.inserted()
    with app.app_context():
        Interaction.update(closed_by=BOB).execute()
    closed = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"state": "closed_abandoned"}).json["result"]
    assert closed["closed_by"] == BOB_REF


def test_a_change_to_a_closed_interaction_that_leaves_its_state_keeps_it_closed(app, writer):
    record = writer.inserted(state="closed_complete")
    before = row(app, record["sys_id"])
    changed = writer.send("PATCH", f"{TABLE}/{record['sys_id']}", json={"short_description": "later"}).json["result"]
    assert (changed["state"], changed["closed_by"], changed["short_description"]) == ("closed_complete", ADMIN_REF, "later")
    assert row(app, record["sys_id"]).closed_at == before.closed_at


def test_the_interaction_api_cannot_update_what_the_table_api_closed(api, writer):
    record = writer.inserted(state="closed_abandoned")
    response = api.create({"sys_id": record["sys_id"], "queue": QUEUE})
    assert (response.status_code, response.json) == (400, failure("Interaction IMS0000001 is closed and cannot be updated"))
    # And its close leaves the state the Table API set.
    assert api.close(record["sys_id"]).json["result"]["state"] == "closed_abandoned"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("sys_id", ["0" * 32, "x" * 33])
def test_writing_an_unknown_sys_id_is_a_404(writer, method, sys_id):
    response = writer.send(method, f"{TABLE}/{sys_id}", json={"queue": "q"})
    assert (response.status_code, response.json) == (404, NO_RECORD)


def test_delete_takes_the_interactions_own_documents(app, api, writer):
    keep = api.created(context={"keep": True})
    gone = api.created(context={"gone": True}, channel_metadata={"x": 1})
    pointing = api.created(context_table="interaction_json_blob", context_id=keep["contextDocument"])

    response = writer.send("DELETE", f"{TABLE}/{gone['sys_id']}")
    assert (response.status_code, response.data) == (204, b"")
    assert row(app, gone["sys_id"]) is None
    assert row(app, gone["contextDocument"], InteractionJsonBlob) is None
    assert row(app, gone["channelMetadataDocument"], LiveGroupProfile) is None
    assert row(app, keep["contextDocument"], InteractionJsonBlob) is not None
    assert row(app, keep["sys_id"]) is not None

    # A document it shares with another interaction stays while that one points at it.
    writer.send("DELETE", f"{TABLE}/{pointing['sys_id']}")
    assert row(app, keep["contextDocument"], InteractionJsonBlob) is not None
    assert row(app, keep["channelMetadataDocument"], LiveGroupProfile) is not None
    assert writer.send("DELETE", f"{TABLE}/{gone['sys_id']}").status_code == 404
    writer.send("DELETE", f"{TABLE}/{keep['sys_id']}")
    assert row(app, keep["contextDocument"], InteractionJsonBlob) is None


def test_a_document_shared_across_tables_slots_is_kept(app, api, writer):
    """A context document also named as another interaction's channel metadata."""
    first = api.created()
    second = api.created(channel_metadata_table="interaction_json_blob", channel_metadata_id=first["contextDocument"])
    writer.send("DELETE", f"{TABLE}/{first['sys_id']}")
    assert row(app, first["contextDocument"], InteractionJsonBlob) is not None
    writer.send("DELETE", f"{TABLE}/{second['sys_id']}")
    assert row(app, first["contextDocument"], InteractionJsonBlob) is None


def test_documents_are_written_through_their_tables(app, writer):
    path = "/api/now/table/interaction_json_blob"
    document = writer.inserted(path, value='{"a": 1}')
    assert document["value"] == '{"a": 1}'
    stored = row(app, document["sys_id"], InteractionJsonBlob)
    assert (stored.sys_created_by, stored.sys_updated_by, stored.sys_mod_count) == ("admin", "admin", 0)
    assert stored.sys_created_on == stored.sys_updated_on and stored.sys_created_on.microsecond == 0
    changed = writer.send("PATCH", f"{path}/{document['sys_id']}", json={"value": {"b": 2}}).json["result"]
    assert (changed["value"], changed["sys_mod_count"]) == ('{"b":2}', "1")
    # null clears a document's value as it clears any field.
    cleared = writer.send("PATCH", f"{path}/{document['sys_id']}", json={"value": None})
    assert (cleared.status_code, cleared.json["result"]["value"]) == (200, "")
    assert writer.send("DELETE", f"{path}/{document['sys_id']}").status_code == 204
    assert row(app, document["sys_id"], InteractionJsonBlob) is None
    response = writer.send("POST", path, json={"value": 5})
    assert (response.status_code, response.json) == (400, failure("value: Must be a string holding JSON, or an object."))


def test_a_delete_takes_only_its_record(writer):
    path = "/api/now/table/interaction_json_blob"
    kept, gone = writer.inserted(path, value="{}"), writer.inserted(path, value="[]")
    response = writer.send("DELETE", f"{path}/{gone['sys_id']}")
    assert (response.status_code, response.data) == (204, b"")
    assert writer.get(kept["sys_id"], path) == kept


def test_an_interaction_api_update_sees_a_document_written_by_the_table_api(api, writer):
    created = api.created()
    writer.send("DELETE", f"/api/now/table/interaction_json_blob/{created['contextDocument']}")
    assert api.create({"sys_id": created["sys_id"]}).json["result"]["context"] == {"present": False}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("sys_id", [ADMIN_SYS_ID, "0" * 32])
def test_users_are_written_by_admins_only(app, writer, method, sys_id):
    with app.app_context():
        users.add("carol", "carol-pw")
    path = "/api/now/table/sys_user" if method == "POST" else f"/api/now/table/sys_user/{sys_id}"
    response = writer.send(method, path, json={"user_name": "mallory", "active": "false"}, headers=basic("carol", "carol-pw"))
    assert (response.status_code, response.json) == (403, FORBIDDEN)
    with app.app_context():
        SysUser.delete().where(SysUser.user_name == "carol").execute()
    with app.app_context():
        assert [u.user_name for u in SysUser.select().order_by(SysUser.user_name)] == ["admin", "bob"]
        assert SysUser.get_by_id(ADMIN_SYS_ID).active


def test_writes_need_credentials(client, writer):
    response = client.post(TABLE, json={}, headers=basic("admin", "wrong"))
    assert response.status_code == 401


def test_method_override_on_a_post(app, writer):
    record = writer.inserted()
    response = writer.send("POST", f"{TABLE}/{record['sys_id']}", json={"queue": "q"}, headers={"X-HTTP-Method-Override": "PATCH"})
    assert (response.status_code, response.json["result"]["queue"]) == (200, "q")
    response = writer.send("POST", f"{TABLE}/{record['sys_id']}", headers={"X-HTTP-Method-Override": "DELETE"})
    assert response.status_code == 204
    # Only on the Table API.
    response = writer.send("POST", "/api/now/interaction", json={"channel": CHANNEL}, headers={"X-HTTP-Method-Override": "GET"})
    assert response.status_code == 201


def test_an_existing_database_gains_the_new_column_on_start(make_app, admin_auth):
    """A database made before short_description existed keeps working."""
    app = make_app()
    client = app.test_client()
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).json["result"]
    with app.app_context():
        database.execute_sql('ALTER TABLE "interaction" DROP COLUMN "short_description"')
        assert "short_description" not in {c.name for c in database.get_columns("interaction")}
    database.close_all()

    restarted = make_app().test_client()
    record = restarted.get(f"{TABLE}/{created['sys_id']}", headers=admin_auth).json["result"]
    assert (record["number"], record["channel"], record["short_description"]) == ("IMS0000001", CHANNEL, "")
    response = restarted.patch(f"{TABLE}/{created['sys_id']}", json={"short_description": "upgraded"}, headers=admin_auth)
    assert response.json["result"]["short_description"] == "upgraded"
    # The Interaction API's answers are as they were.
    closed = restarted.post(f"/api/now/interaction/{created['sys_id']}/close", headers=admin_auth).json["result"]
    assert {**closed, "state": "new", "closed_by": ""} == created
