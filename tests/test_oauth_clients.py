"""OAuth clients (OAUTH.md §1): made from the CLI, at run time by an admin,
from a seed file; listed without secrets, in snapshots too; removed."""
import json
import re

import pytest
from conftest import ADMIN_PASSWORD, basic, failure
from oauth_helpers import add_client, form_client, password_tokens, token

from app.models import OAuthEntity

SECRET = "a-secret-of-the-teams-own-1234"


def test_add_prints_the_id_and_secret_once_and_list_shows_no_secret(app, runner, client):
    result = runner.invoke(args=["oauth", "add", "pysnc", "--user", "admin", "--access-token-lifespan", "60"])
    assert result.exit_code == 0, result.output
    match = re.fullmatch(r"client_id\t([0-9a-f]{32})\nclient_secret\t(\S{20,})\n", result.output)
    client_id, secret = match.groups()
    assert password_tokens(client, {"client_id": client_id, "client_secret": secret})["expires_in"] == 59
    listed = runner.invoke(args=["oauth", "list"])
    assert listed.output == f"{client_id}\tpysnc\tadmin\t60\t8640000\n"
    with app.app_context():
        assert secret not in OAuthEntity.get().client_secret_hash


def test_add_with_a_given_id_and_secret(runner, client):
    result = runner.invoke(args=["oauth", "add", "ours", "--client-id", "our-client", "--client-secret", SECRET])
    assert result.output == f"client_id\tour-client\nclient_secret\t{SECRET}\n"
    response = token(client, {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD,
                              "client_id": "our-client", "client_secret": SECRET})  # fmt: skip
    assert response.status_code == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["--client-secret", "short"], "A client_secret is at least 20 characters"),
        (["--client-id", "a:b"], "A client_id is 1 to 64 printable characters, without ':'"),
        (["--user", "nobody"], "No user 'nobody'"),
        (["--access-token-lifespan", "0"], "A lifespan is 1 to 315360000 seconds"),
        (["--client-secret", "s" * 19], "A client_secret is at least 20 characters"),
        (["--client-id", "c" * 65], "A client_id is 1 to 64 printable characters, without ':'"),
        (["--client-id", "a\tb"], "A client_id is 1 to 64 printable characters, without ':'"),
        (["--refresh-token-lifespan", "315360001"], "A lifespan is 1 to 315360000 seconds"),
    ],
)
def test_add_refuses_what_cannot_work(runner, args, message):
    result = runner.invoke(args=["oauth", "add", "x", *args])
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


@pytest.mark.parametrize("name", ["", "n" * 101, "a\nb"])
def test_add_refuses_a_name_that_is_empty_too_long_or_not_printable(runner, name):
    result = runner.invoke(args=["oauth", "add", name])
    assert (result.exit_code, result.output) == (1, "Error: A client's name is 1 to 100 printable characters\n")


def test_add_takes_what_is_at_the_limits(runner, client):
    """A 100-character name, a client_id of 1 and of 64 characters, a secret
    of 20, lifespans of one second and of ten years."""
    for client_id in ("c", "c" * 64):
        args = ["oauth", "add", "n" * 100, "--client-id", client_id, "--client-secret", "s" * 20, "--user", "admin",
                "--access-token-lifespan", "1", "--refresh-token-lifespan", "315360000"]  # fmt: skip
        result = runner.invoke(args=args)
        assert (result.exit_code, result.output) == (0, f"client_id\t{client_id}\nclient_secret\t{'s' * 20}\n")
        granted = token(client, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "s" * 20})
        assert (granted.status_code, granted.json["expires_in"]) == (200, 0)
    listed = runner.invoke(args=["oauth", "list"]).output.splitlines()
    assert listed == [f"{client_id}\t{'n' * 100}\tadmin\t1\t315360000" for client_id in ("c", "c" * 64)]


def test_remove_from_the_cli_ends_the_tokens(runner, client):
    runner.invoke(args=["oauth", "add", "ours", "--client-id", "our-client", "--client-secret", SECRET])
    access = password_tokens(client, {"client_id": "our-client", "client_secret": SECRET})["access_token"]
    assert runner.invoke(args=["oauth", "remove", "our-client"]).output == "Removed our-client\n"
    assert client.get("/api/now/table/interaction", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    assert runner.invoke(args=["oauth", "remove", "our-client"]).output == "Error: No client 'our-client'\n"


def test_the_admin_routes_add_list_and_remove(client, admin_auth):
    added = add_client(client, admin_auth, name="webex", user="admin", access_token_lifespan=5, refresh_token_lifespan=60)
    assert list(added) == ["name", "client_id", "user", "access_token_lifespan", "refresh_token_lifespan", "sys_created_on", "client_secret"]
    assert re.fullmatch("[0-9a-f]{32}", added["client_id"]) and len(added["client_secret"]) >= 20
    listed = client.get("/__stand_in/oauth/clients", headers=admin_auth).json["result"]
    assert listed == [{key: value for key, value in added.items() if key != "client_secret"}]
    assert client.delete(f"/__stand_in/oauth/clients/{added['client_id']}", headers=admin_auth).status_code == 204
    assert client.get("/__stand_in/oauth/clients", headers=admin_auth).json == {"result": []}
    gone = client.delete(f"/__stand_in/oauth/clients/{added['client_id']}", headers=admin_auth)
    assert (gone.status_code, gone.json["error"]["detail"]) == (404, "No OAuth client with this client_id")


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({}, 400, "name: Missing data for required field."),
        ({"name": "x", "user": "nobody"}, 400, "No user 'nobody'"),
        ({"name": "x", "client_secret": "short"}, 400, "client_secret: Length must be between 20 and 255."),
        ({"name": "x", "access_token_lifespan": "60"}, 400, "access_token_lifespan: Not a valid integer."),
        ({"name": "x", "access_token_lifespan": 0}, 400, "access_token_lifespan: Must be greater than or equal to 1 and less than or equal to 315360000."),
        ({"name": "x", "refresh_token_lifespan": 315360001}, 400, "refresh_token_lifespan: Must be greater than or equal to 1 and less than or equal to 315360000."),
        ({"name": "x", "refresh_token_lifespan": True}, 400, "refresh_token_lifespan: Not a valid integer."),
        ({"name": "x", "secret": "x"}, 400, "secret: Unknown field."),
        ({"name": "x", "client_id": "a\x00b"}, 400, "A client_id is 1 to 64 printable characters, without ':'"),
        ({"name": "x\n"}, 400, "A client's name is 1 to 100 printable characters"),
    ],
)
def test_a_bad_client_is_a_400_naming_the_field(client, admin_auth, body, status, message):
    response = client.post("/__stand_in/oauth/clients", json=body, headers=admin_auth)
    assert (response.status_code, response.json["error"]["message"]) == (status, message)


def test_a_client_without_lifespans_takes_the_defaults_and_the_largest_is_taken(client, admin_auth):
    added = add_client(client, admin_auth)
    assert (added["user"], added["access_token_lifespan"], added["refresh_token_lifespan"]) == (None, 1800, 8640000)
    assert re.fullmatch(r"20\d\d-[01]\d-[0-3]\d [0-2]\d:[0-5]\d:[0-5]\d", added["sys_created_on"]), added["sys_created_on"]
    assert add_client(client, admin_auth, user="admin")["user"] == "admin"
    longest = add_client(client, admin_auth, access_token_lifespan=315360000, refresh_token_lifespan=1)
    assert (longest["access_token_lifespan"], longest["refresh_token_lifespan"]) == (315360000, 1)


def test_a_client_id_taken_is_a_409_and_junk_a_400(client, admin_auth):
    add_client(client, admin_auth, client_id="taken")
    response = client.post("/__stand_in/oauth/clients", json={"name": "x", "client_id": "taken"}, headers=admin_auth)
    assert (response.status_code, response.json) == (409, failure("Conflict", "A client with client_id 'taken' exists"))
    junk = client.post("/__stand_in/oauth/clients", data=b"\xff{", headers={**admin_auth, "Content-Type": "application/json"})
    assert junk.status_code == 400


def test_a_client_id_added_at_the_same_moment_elsewhere_is_a_409_too(client, admin_auth, monkeypatch):
    add_client(client, admin_auth, client_id="taken")
    # The check before the insert finds nothing, as when the other insert commits between them.
    monkeypatch.setattr(OAuthEntity, "get_or_none", classmethod(lambda cls, *query: None))
    response = client.post("/__stand_in/oauth/clients", json={"name": "x", "client_id": "taken"}, headers=admin_auth)
    assert (response.status_code, response.json) == (409, failure("Conflict", "A client with client_id 'taken' exists"))
    monkeypatch.undo()
    assert [entry["name"] for entry in client.get("/__stand_in/oauth/clients", headers=admin_auth).json["result"]] == ["integration"]


def test_clients_are_listed_by_name_then_client_id(client, admin_auth, runner):
    for name, client_id in (("b", "a-client"), ("a", "z-client"), ("a", "y-client")):
        add_client(client, admin_auth, name=name, client_id=client_id)
    listed = client.get("/__stand_in/oauth/clients", headers=admin_auth).json["result"]
    assert [(entry["name"], entry["client_id"]) for entry in listed] == [("a", "y-client"), ("a", "z-client"), ("b", "a-client")]
    assert [line.split("\t")[0] for line in runner.invoke(args=["oauth", "list"]).output.splitlines()] == ["y-client", "z-client", "a-client"]


def test_only_admins_manage_clients(client, admin_auth):
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    for method in ("get", "post"):
        assert getattr(client, method)("/__stand_in/oauth/clients", json={"name": "x"}, headers=basic("svc", "svc-pw")).status_code == 403
    assert client.get("/__stand_in/oauth/clients").status_code == 401


def test_no_admin_routes_without_test_support(make_app):
    client = make_app(TEST_SUPPORT=False).test_client()
    assert client.get("/__stand_in/oauth/clients", headers=basic("admin", ADMIN_PASSWORD)).status_code == 404


def test_a_seed_registers_clients_with_the_teams_credentials(client, admin_auth):
    body = {"users": [{"user_name": "svc", "password": "svc-pw"}],
            "oauth_clients": [{"name": "ci", "user": "svc", "client_id": "ci-client", "client_secret": SECRET}]}  # fmt: skip
    response = client.post("/__stand_in/seed", json=body, headers=admin_auth)
    assert response.json["result"]["oauth_clients"] == ["ci-client"]
    assert SECRET not in response.get_data(as_text=True)
    machine = token(client, {"grant_type": "client_credentials", "client_id": "ci-client", "client_secret": SECRET})
    assert machine.status_code == 200
    again = client.post("/__stand_in/seed", json={"oauth_clients": body["oauth_clients"]}, headers=admin_auth)
    assert (again.status_code, again.json["error"]["detail"]) == (409, "Nothing was created: A client with client_id 'ci-client' exists")
    missing = client.post("/__stand_in/seed", json={"oauth_clients": [{"name": "x"}]}, headers=admin_auth)
    assert missing.json["error"]["message"] == "oauth_clients.0.client_id: Missing data for required field.; oauth_clients.0.client_secret: Missing data for required field."


def test_a_seed_file_with_a_client(make_app, tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"oauth_clients": [{"name": "ci", "user": "admin", "client_id": "ci", "client_secret": SECRET}]}))
    client = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'seeded.sqlite3'}", SEED_FILE=str(path)).test_client()
    assert token(client, {"grant_type": "client_credentials", "client_id": "ci", "client_secret": SECRET}).status_code == 200


def test_a_snapshot_lists_clients_without_secrets_and_a_restore_keeps_them(client, admin_auth):
    added = add_client(client, admin_auth, user="admin")
    access = password_tokens(client, added)["access_token"]
    document = client.get("/__stand_in/snapshot", headers=admin_auth).json
    assert document["oauth_clients"] == [{key: value for key, value in added.items() if key != "client_secret"}]
    assert added["client_secret"] not in json.dumps(document) and access not in json.dumps(document)
    assert client.post("/__stand_in/snapshot", json=document, headers=admin_auth).status_code == 200
    assert client.get("/api/now/table/interaction", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    assert token(client, {"grant_type": "client_credentials", **form_client(added)}).status_code == 200
