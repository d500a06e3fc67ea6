"""POST /api/now/interaction/{id}/close (§5)."""
import pytest
from conftest import NO_RECORD, CHANNEL, QUEUE, RESULT_KEYS

from app.models import Interaction

ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"


def test_close_completes_the_interaction(app, api):
    created = api.created(queue=QUEUE)
    response = api.close(created["sys_id"])

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    result = response.json["result"]
    assert list(result) == RESULT_KEYS
    assert result == {**created, "state": "closed_complete", "closed_by": ADMIN_SYS_ID}
    with app.app_context():
        stored = Interaction.get_by_id(created["sys_id"])
        assert stored.state == "closed_complete"
        assert stored.closed_at is not None
        assert stored.sys_mod_count == 1


def test_closing_twice_changes_nothing(app, api):
    sys_id = api.created()["sys_id"]
    first = api.close(sys_id)
    with app.app_context():
        closed_at = Interaction.get_by_id(sys_id).closed_at
    second = api.close(sys_id)
    assert second.status_code == 200
    assert second.json == first.json
    with app.app_context():
        stored = Interaction.get_by_id(sys_id)
        assert (stored.closed_at, stored.sys_mod_count) == (closed_at, 1)


@pytest.mark.parametrize(
    "path",
    [
        "/api/now/interaction/{}/close",
        "/api/now/interaction/{}/close/",
        "/api/now/v1/interaction/{}/close",
        "/api/now/interaction/{}/close?sysparm_display_value=false",
    ],
)
def test_every_form_of_the_route_closes(api, path):
    sys_id = api.created()["sys_id"]
    response = api.close(sys_id, path=path)
    assert response.status_code == 200
    assert response.json["result"]["state"] == "closed_complete"


def test_a_body_is_ignored(api):
    sys_id = api.created()["sys_id"]
    response = api.close(sys_id, data=b"this is not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert response.json["result"]["channel"] == CHANNEL


def test_closing_an_unknown_interaction_is_a_404(api):
    response = api.close("0" * 32)
    assert response.status_code == 404
    assert response.json == NO_RECORD


def test_closed_by_is_the_caller(app, api, client):
    from conftest import basic

    from app import users

    with app.app_context():
        agent = users.add("agent", "agent-password")
    sys_id = api.created()["sys_id"]
    response = client.post(f"/api/now/interaction/{sys_id}/close", headers=basic("agent", "agent-password"))
    assert response.json["result"]["closed_by"] == agent.sys_id


def test_close_answers_in_xml(api):
    created = api.created()
    response = api.close(created["sys_id"], headers={"Accept": "application/xml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b"<response><result>"
        b"<channel>" + CHANNEL.encode() + b"</channel>"
        b"<context><present>true</present></context>"
        b"<queue/>"
        b"<state>closed_complete</state>"
        b"<number>" + created["number"].encode() + b"</number>"
        b"<contextDocument>" + created["contextDocument"].encode() + b"</contextDocument>"
        b"<contextTable>interaction_json_blob</contextTable>"
        b"<channelMetadataDocument>" + created["channelMetadataDocument"].encode() + b"</channelMetadataDocument>"
        b"<channelMetadataTable>live_group_profile</channelMetadataTable>"
        b"<channel_metadata><present>true</present></channel_metadata>"
        b"<sys_id>" + created["sys_id"].encode() + b"</sys_id>"
        b"<assigned_to/>"
        b"<closed_by>" + ADMIN_SYS_ID.encode() + b"</closed_by>"
        b"<opened_for/>"
        b"</result></response>"
    )
