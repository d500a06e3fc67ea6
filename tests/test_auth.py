"""HTTP Basic against sys_user (§6), and the cache of verified credentials."""
import pytest
from conftest import ADMIN_PASSWORD, CHANNEL, basic

from app import auth, users
from app.models import SysUser

UNAUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


def create(client, headers):
    return client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("admin", "wrong"),
        basic("nobody", ADMIN_PASSWORD),
        basic("", ""),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic"},
    ],
    # A wrong bearer token is challenged as Bearer: test_oauth_bearer.py.
    ids=["none", "wrong password", "unknown user", "empty", "not base64", "no token"],
)
def test_missing_or_wrong_credentials_are_a_401(client, headers):
    response = create(client, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
    assert response.json == UNAUTHENTICATED


def test_a_401_in_xml(client):
    response = client.post("/api/now/interaction/x/close", headers={"Accept": "application/xml"})
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>User Not Authenticated</message>'
        b"<detail>Required to provide Auth information</detail></error><status>failure</status></response>"
    )


def test_users_are_kept_with_hashes_only(app):
    with app.app_context():
        admin = SysUser.get(SysUser.user_name == "admin")
    assert admin.sys_id == "6816f79cc0a8016401c5a33be04be441"
    assert ADMIN_PASSWORD not in admin.password_hash
    assert admin.password_hash.startswith("pbkdf2:sha256:1000$")


def test_the_default_hash_is_scrypt(make_app):
    app = make_app(PASSWORD_HASH_METHOD="scrypt")
    with app.app_context():
        assert SysUser.get(SysUser.user_name == "admin").password_hash.startswith("scrypt:")
    assert create(app.test_client(), basic("admin", ADMIN_PASSWORD)).status_code == 201


def test_verified_credentials_are_not_hashed_again(app, client, admin_auth, monkeypatch):
    assert create(client, admin_auth).status_code == 201
    calls = []
    monkeypatch.setattr(auth, "check_password_hash", lambda *args: calls.append(args) or False)
    for _ in range(3):
        assert create(client, admin_auth).status_code == 201
    assert calls == []
    # A wrong password is never taken from memory.
    assert create(client, basic("admin", "wrong")).status_code == 401
    assert len(calls) == 1


def test_a_password_change_holds_at_once_on_every_worker(make_app):
    worker_a, worker_b = make_app(), make_app()
    client_a, client_b = worker_a.test_client(), worker_b.test_client()
    old = basic("admin", ADMIN_PASSWORD)
    assert create(client_a, old).status_code == 201
    assert create(client_b, old).status_code == 201

    with worker_a.app_context():
        users.set_password("admin", "new-password")

    assert create(client_a, old).status_code == 401
    assert create(client_b, old).status_code == 401
    assert create(client_b, basic("admin", "new-password")).status_code == 201


def test_a_deactivation_holds_at_once(app, client):
    with app.app_context():
        users.add("agent", "agent-password")
    agent = basic("agent", "agent-password")
    assert create(client, agent).status_code == 201

    with app.app_context():
        users.deactivate("agent")
    assert create(client, agent).status_code == 401

    with app.app_context():
        users.activate("agent")
    assert create(client, agent).status_code == 201


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(client):
    unknown = create(client, basic("nobody", "x"))
    wrong = create(client, basic("admin", "x"))
    assert (unknown.status_code, unknown.data) == (wrong.status_code, wrong.data)
    assert {k: v for k, v in unknown.headers if k != "X-Transaction-ID"} == {
        k: v for k, v in wrong.headers if k != "X-Transaction-ID"
    }


def test_a_password_with_colons_and_unicode(app, client):
    with app.app_context():
        users.add("ümlaut", "pa:ss:wörd")
    assert create(client, basic("ümlaut", "pa:ss:wörd")).status_code == 201


def test_an_unknown_user_costs_a_check_of_the_apps_own_hash(make_app, monkeypatch):
    checks = []
    check_password_hash = auth.check_password_hash

    def check(password_hash, password):
        checks.append((password_hash.partition("$")[0], password))
        return check_password_hash(password_hash, password)

    monkeypatch.setattr(auth, "check_password_hash", check)
    for method in ("pbkdf2:sha256:1000", "pbkdf2:sha256:2000"):
        client = make_app(PASSWORD_HASH_METHOD=method).test_client()
        for password in ("guess", "again"):
            assert create(client, basic("nobody", password)).status_code == 401
    assert checks == [
        ("pbkdf2:sha256:1000", "guess"),
        ("pbkdf2:sha256:1000", "again"),
        ("pbkdf2:sha256:2000", "guess"),
        ("pbkdf2:sha256:2000", "again"),
    ]


def test_a_name_of_one_character_may_log_in(app, client):
    with app.app_context():
        users.add("a", "a-password")
    assert create(client, basic("a", "a-password")).status_code == 201


def test_an_unknown_user_costs_one_check_and_no_new_hash(app, client, monkeypatch):
    """A hash made on every attempt would make an unknown user twice as slow
    as a wrong password."""
    assert create(client, basic("nobody", "first")).status_code == 401
    made = []
    monkeypatch.setattr(auth, "hash_password", lambda password: made.append(password))
    for password in ("second", "third"):
        assert create(client, basic("nobody", password)).status_code == 401
    assert made == []
