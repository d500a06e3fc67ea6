import sys

import pytest
import requests
from pysnc import ServiceNowClient

CHANNEL = "28a59893873103002ae97e2526cb0b5d"


def test_our_app_is_ours_and_the_service_was_not_imported_here(stand_in):
    import app

    assert app.OWNER == "the user's project"
    assert not [name for name in sys.modules if name.startswith(("app.", "servicenow_stand_in"))]


def test_a_test_leaves_an_interaction(stand_in):
    created = stand_in.session.post(stand_in.base_url + "/api/now/interaction", json={"channel": CHANNEL})
    assert created.json()["result"]["number"] == "IMS0000001"


def test_the_next_test_starts_clean(stand_in):
    # The previous test's interaction and journal are gone.
    assert stand_in.requests() == []
    created = stand_in.session.post(stand_in.base_url + "/api/now/interaction", json={"channel": CHANNEL})
    assert created.json()["result"]["number"] == "IMS0000001"


def test_requests_count_and_wait_for(stand_in):
    stand_in.session.post(stand_in.base_url + "/api/now/interaction", json={"channel": CHANNEL})
    stand_in.session.get(stand_in.base_url + "/nowhere")
    [entry] = stand_in.requests(path="^/nowhere")
    assert (entry["method"], entry["status"], entry["user"]) == ("GET", 404, "admin")
    assert stand_in.count(method="POST", status=201) == 1
    assert [e["status"] for e in stand_in.wait_for(count=2, timeout=1)] == [404, 201]
    with pytest.raises(AssertionError, match="2 of 3 matching requests within 100 ms"):
        stand_in.wait_for(count=3, timeout=0.1)


def test_fault_is_removed_when_the_block_ends(stand_in):
    url = stand_in.base_url + "/api/now/interaction"
    with stand_in.fault(effect={"type": "drop", "mode": "reset"}) as rule:
        with pytest.raises(requests.ConnectionError):
            requests.post(url, json={"channel": CHANNEL}, auth=stand_in.auth)
        assert stand_in.faults()[0]["id"] == rule["id"]
    assert stand_in.faults() == []
    assert requests.post(url, json={"channel": CHANNEL}, auth=stand_in.auth).status_code == 201


def test_seed_and_reset(stand_in):
    seeded = stand_in.seed(users=[{"user_name": "svc", "password": "pw"}], interactions=[{"channel": CHANNEL}])
    assert len(seeded["interactions"]) == 1
    svc = requests.post(stand_in.base_url + "/api/now/interaction", json={"channel": CHANNEL}, auth=("svc", "pw"))
    assert svc.json()["result"]["number"] == "IMS0000002"
    assert stand_in.reset(scope="all")["sys_user"] == 1


def test_pysnc_over_https(stand_in):
    if stand_in.https_url is None:
        pytest.skip("a running stand-in (--stand-in-url) has no https_url of the fixture's")
    assert stand_in.https_url.startswith("https://127.0.0.1:")
    created = stand_in.session.post(stand_in.base_url + "/api/now/interaction", json={"channel": CHANNEL}).json()
    client = ServiceNowClient(stand_in.https_url, stand_in.auth, verify=stand_in.ca_bundle)
    gr = client.GlideRecord("interaction")
    assert gr.get(created["result"]["sys_id"])
    assert (gr.number, gr.channel) == ("IMS0000001", CHANNEL)
    # The same service over both: PySNC's read is in the journal.
    [read] = stand_in.requests(method="GET", path="^/api/now/table/interaction/")
    assert read["status"] == 200


def test_an_oauth_client_gets_tokens(stand_in):
    client_id, client_secret = stand_in.oauth_client(user="admin")
    answer = requests.post(stand_in.base_url + "/oauth_token.do", auth=(client_id, client_secret),
                           data={"grant_type": "client_credentials"}).json()  # fmt: skip
    listed = requests.get(stand_in.base_url + "/api/now/table/interaction",
                          headers={"Authorization": f"Bearer {answer['access_token']}"})  # fmt: skip
    assert listed.status_code == 200


def test_declare_table_and_seed_its_records(stand_in):
    declared = stand_in.declare_table({"name": "u_my_calling_log", "number": {"field": "u_number", "prefix": "CLG"},
                                       "fields": {"u_phone": {"type": "string", "max_length": 40}}})  # fmt: skip
    assert declared["display"] == "u_number"
    assert "u_my_calling_log" in [table["name"] for table in stand_in.tables()]
    stand_in.seed(records={"u_my_calling_log": [{"u_phone": "555"}]})
    url = stand_in.base_url + "/api/now/table/u_my_calling_log"
    assert stand_in.session.get(url).json()["result"][0]["u_number"] == "CLG0000001"


def test_snapshot_and_restore(stand_in):
    url = stand_in.base_url + "/api/now/interaction"
    stand_in.session.post(url, json={"channel": CHANNEL})
    snapshot = stand_in.snapshot()
    assert [row["number"] for row in snapshot["tables"]["interaction"]] == ["IMS0000001"]
    stand_in.reset()
    assert stand_in.restore(snapshot)["restored"]["interaction"] == 1
    # Numbering goes on after the number restored.
    assert stand_in.session.post(url, json={"channel": CHANNEL}).json()["result"]["number"] == "IMS0000002"


def test_a_refused_helper_call_is_an_assertion_error_that_shows_the_answer(stand_in):
    with pytest.raises(AssertionError, match=r"^POST /__stand_in/seed: 400 .*users"):
        stand_in.seed(users=[{"password": "pw"}])
    with pytest.raises(AssertionError, match=r"^POST /__stand_in/requests/wait: 400 .*count"):
        stand_in.wait_for(count=0)
    with pytest.raises(AssertionError, match=r"^POST /__stand_in/oauth/clients: 400 .*user"):
        stand_in.oauth_client(user="nobody")
    with pytest.raises(AssertionError, match=r"^POST /__stand_in/tables: 400 "):
        stand_in.declare_table({"name": "not_a_custom_table"})
