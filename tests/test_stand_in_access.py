"""Who may use /__stand_in/, TEST_SUPPORT=off, the admin flag and its
upgrade, and reset (TEST_SUPPORT.md §1, §2)."""
import sqlite3
import threading

import pytest

from app.models import Interaction, InteractionJsonBlob, LiveGroupProfile, SysUser
from conftest import ADMIN_PASSWORD, CHANNEL, basic, failure

FORBIDDEN = failure("Operation Failed", "Admin rights required")
UNAUTHENTICATED = failure("User Not Authenticated", "Required to provide Auth information")


@pytest.fixture
def carol(runner):
    result = runner.invoke(args=["user", "add", "carol", "--password", "carol-pw"])
    assert result.exit_code == 0, result.output
    return basic("carol", "carol-pw")


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/__stand_in/reset"),
        ("GET", "/__stand_in/requests"),
        ("GET", "/__stand_in/requests/abc"),
        ("POST", "/__stand_in/requests/count"),
        ("POST", "/__stand_in/requests/wait"),
        ("DELETE", "/__stand_in/requests"),
        ("GET", "/__stand_in/faults"),
        ("POST", "/__stand_in/faults"),
        ("GET", "/__stand_in/faults/1"),
        ("DELETE", "/__stand_in/faults/1"),
        ("DELETE", "/__stand_in/faults"),
        ("POST", "/__stand_in/seed"),
        ("GET", "/__stand_in/snapshot"),
        ("POST", "/__stand_in/snapshot"),
    ],
)
def test_every_route_is_for_admins_only(client, carol, method, path):
    response = client.open(path, method=method, headers=carol, json={})
    assert (response.status_code, response.json) == (403, FORBIDDEN)
    response = client.open(path, method=method, json={})
    assert (response.status_code, response.json) == (401, UNAUTHENTICATED)
    assert response.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'


def test_a_user_added_with_admin_may_use_them(client, runner):
    added = runner.invoke(args=["user", "add", "dora", "--password", "dora-pw", "--admin"])
    assert (added.exit_code, added.output) == (0, "Added dora (admin)\n")
    listing = runner.invoke(args=["user", "list"]).output.splitlines()
    assert [line.split("\t")[:1] + line.split("\t")[2:] for line in listing] == [
        ["admin", "active", "admin"],
        ["dora", "active", "admin"],
    ]
    response = client.get("/__stand_in/faults", headers=basic("dora", "dora-pw"))
    assert (response.status_code, response.json) == (200, {"result": []})


def test_a_restart_gives_no_user_but_admin_the_admin_flag(make_app, admin_auth):
    runner = make_app().test_cli_runner()
    assert runner.invoke(args=["user", "add", "carol", "--password", "carol-pw"]).exit_code == 0
    client = make_app().test_client()
    assert client.get("/__stand_in/requests", headers=basic("carol", "carol-pw")).json == FORBIDDEN
    assert client.get("/__stand_in/requests", headers=admin_auth).status_code == 200


def test_test_support_off_makes_the_prefix_a_plain_404_and_keeps_no_journal(make_app, admin_auth):
    client = make_app(TEST_SUPPORT=False).test_client()
    response = client.post("/__stand_in/reset", headers=admin_auth)
    assert response.status_code == 404
    assert response.json == failure("Not Found", "/__stand_in/reset is not a resource of this service")
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).status_code == 201
    # Back on, the same database holds no entry of it.
    client = make_app().test_client()
    assert client.get("/__stand_in/requests", headers=admin_auth).json == {"result": []}


@pytest.mark.parametrize("value", ["off", "0", "false", "no"])
def test_test_support_off_from_the_environment(make_app, monkeypatch, admin_auth, value):
    monkeypatch.setenv("TEST_SUPPORT", value)
    app = make_app()
    assert app.config["TEST_SUPPORT"] is False
    assert app.test_client().get("/__stand_in/faults", headers=admin_auth).status_code == 404


def test_an_old_database_gains_the_admin_flag_and_admin_has_it(make_app, tmp_path, admin_auth, caplog):
    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    make_app(DATABASE_URL=url).test_client()
    # As a release before the flag made it.
    with sqlite3.connect(path) as connection:
        connection.execute("ALTER TABLE sys_user DROP COLUMN admin")
    app = make_app(DATABASE_URL=url)
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "app.db"] == [
        ("WARNING", "Added column sys_user.admin to the existing database")
    ]
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(sys_user)")]
        assert "admin" in columns
    with app.app_context():
        assert [(u.user_name, u.admin) for u in SysUser.select()] == [("admin", True)]
    assert app.test_client().get("/__stand_in/faults", headers=admin_auth).status_code == 200


def create(client, headers, **fields):
    response = client.post("/api/now/interaction", json={"channel": CHANNEL, **fields}, headers=headers)
    assert response.status_code == 201, response.data
    return response.json["result"]


def test_reset_empties_interactions_journal_and_faults_and_numbers_from_one(app, client, admin_auth, carol):
    create(client, admin_auth)
    create(client, admin_auth, context={"a": 1})
    rule = {"match": {"path": "^/nowhere$"}, "effect": {"type": "error", "status": 503}}
    assert client.post("/__stand_in/faults", json=rule, headers=admin_auth).status_code == 201
    response = client.post("/__stand_in/reset", headers=admin_auth)
    assert (response.status_code, response.json) == (
        200,
        {
            "result": {
                "deleted": {
                    "interaction": 2,
                    "interaction_json_blob": 2,
                    "customer_contact": 0,
                    "incident": 0,
                    "interaction_related_record": 0,
                    "live_group_profile": 2,
                    "sys_attachment": 0,
                    "sys_attachment_doc": 0,
                    "stand_in_fault_rule": 1,
                    "stand_in_request": 2,
                }
            }
        },
    )
    assert client.get("/__stand_in/faults", headers=admin_auth).json == {"result": []}
    assert create(client, admin_auth)["number"] == "IMS0000001"
    # Users stay.
    assert create(client, carol)["number"] == "IMS0000002"


def test_reset_all_keeps_only_admin_with_its_password(app, client, admin_auth, carol):
    create(client, carol)
    response = client.post("/__stand_in/reset", json={"scope": "all"}, headers=admin_auth)
    assert response.status_code == 200
    assert response.json["result"]["deleted"]["sys_user"] == 1
    assert response.json["result"]["deleted"]["interaction"] == 1
    with app.app_context():
        assert [u.user_name for u in SysUser.select()] == ["admin"]
        assert Interaction.select().count() == InteractionJsonBlob.select().count() == LiveGroupProfile.select().count() == 0
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=carol).status_code == 401
    assert create(client, basic("admin", ADMIN_PASSWORD))["number"] == "IMS0000001"


def test_a_reset_that_cannot_have_the_sqlite_write_lock_is_a_503_at_once(make_app, database_url, admin_auth):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    client = make_app(SQLITE_BUSY_TIMEOUT=0.05).test_client()
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    # Let go later: a reset that tried again rather than fail would then succeed.
    release = threading.Timer(2.0, other.rollback)
    release.start()
    try:
        response = client.post("/__stand_in/reset", headers=admin_auth)
    finally:
        release.cancel()
        other.close()
    transaction_id = response.headers["X-Transaction-ID"]
    assert (response.status_code, response.json) == (
        503,
        failure("Service Unavailable", f"The database is unavailable; transaction {transaction_id}"),
    )


@pytest.mark.parametrize(
    "body, message",
    [
        ({"scope": "everything"}, "scope: Must be one of: interactions, all."),
        ({"scope": "all", "users": True}, "users: Unknown field."),
        ([], "Exception while reading request"),
        ("{", "Exception while reading request"),
    ],
)
def test_reset_refuses_a_bad_body(client, admin_auth, body, message):
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    response = client.post("/__stand_in/reset", headers=admin_auth, **kwargs)
    assert response.status_code == 400
    assert response.json["error"]["message"] == message


def test_the_table_api_is_journaled_and_counts_nothing_after_a_reset(client, admin_auth):
    create(client, admin_auth)
    listed = client.get("/api/now/table/interaction", headers=admin_auth)
    assert (listed.status_code, listed.headers["X-Total-Count"]) == (200, "1")
    [entry] = client.get("/__stand_in/requests", query_string={"path": "/table/"}, headers=admin_auth).json["result"]
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/now/table/interaction", 200)
    client.post("/__stand_in/reset", headers=admin_auth)
    listed = client.get("/api/now/table/interaction", headers=admin_auth)
    assert (listed.status_code, listed.headers["X-Total-Count"], listed.json) == (200, "0", {"result": []})
