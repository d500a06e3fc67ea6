"""POST /oauth_token.do and /oauth_revoke_token.do (OAUTH.md §2, §3): every
grant, both ways of sending the client's credentials, every error of the
contract, and hostile bodies, each a 4xx in OAuth's error body."""
import pytest
from conftest import ADMIN_PASSWORD, CHANNEL, basic
from oauth_helpers import (
    ACCESS_DENIED,
    add_client,
    b64,
    basic_client,
    bearer,
    form_client,
    password_tokens,
    token,
)

from app import auth as auth_module
from app.oauth import clients as clients_module


@pytest.fixture
def registered(client, admin_auth):
    return add_client(client, admin_auth, user="admin")


def assert_oauth_answer(response, status, body):
    assert (response.status_code, response.json) == (status, body)
    assert response.content_type == "application/json;charset=UTF-8"
    assert "no-store" in response.headers["Cache-Control"]


def assert_tokens(response, refresh=True):
    assert response.status_code == 200, response.data
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json
    keys = ["access_token", "refresh_token", "scope", "token_type", "expires_in"] if refresh else ["access_token", "scope", "token_type", "expires_in"]
    assert list(body) == keys
    assert (body["scope"], body["token_type"], body["expires_in"]) == ("useraccount", "Bearer", 1799)
    assert len(body["access_token"]) >= 43
    return body


def test_the_password_grant_with_the_client_in_the_form(client, registered):
    body = assert_tokens(token(client, {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, **form_client(registered)}))
    assert body["access_token"] != body["refresh_token"]
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=bearer(body["access_token"])).status_code == 201


def test_the_password_grant_with_the_client_in_basic(client, registered):
    response = token(client, {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}, basic_client(registered))
    assert_tokens(response)


def test_basic_and_the_form_may_name_the_same_client(client, registered):
    form = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_id": registered["client_id"]}
    assert_tokens(token(client, form, basic_client(registered)))


def test_basic_and_the_form_naming_different_clients_are_refused(client, registered):
    form = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_id": "another"}
    assert_oauth_answer(token(client, form, basic_client(registered)), 401, ACCESS_DENIED)


def test_basic_and_the_form_giving_different_secrets_are_refused(client, registered):
    form = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_secret": "another-secret-of-20-chars"}
    assert_oauth_answer(token(client, form, basic_client(registered)), 401, ACCESS_DENIED)
    form["client_secret"] = registered["client_secret"]
    assert_tokens(token(client, form, basic_client(registered)))


def test_the_refresh_grant_gives_a_new_access_token_and_the_same_refresh_token(client, registered):
    first = password_tokens(client, registered)
    response = token(client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **form_client(registered)})
    body = assert_tokens(response)
    assert body["refresh_token"] == first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    # Both access tokens work: a refresh does not end the one before.
    for access in (first["access_token"], body["access_token"]):
        assert client.get("/api/now/table/interaction", headers=bearer(access)).status_code == 200


def test_the_client_credentials_grant_acts_as_the_clients_user(client, admin_auth, registered):
    body = assert_tokens(token(client, {"grant_type": "client_credentials"}, basic_client(registered)), refresh=False)
    created = client.post("/api/now/table/interaction", json={"channel": CHANNEL}, headers=bearer(body["access_token"]))
    assert created.json["result"]["sys_created_by"] == "admin"


def test_a_clients_lifespan_is_its_expires_in(client, admin_auth):
    registered = add_client(client, admin_auth, user="admin", access_token_lifespan=60)
    assert password_tokens(client, registered)["expires_in"] == 59


WRONG = [
    ("wrong secret", lambda r: {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_id": r["client_id"], "client_secret": "x" * 24}),
    ("unknown client", lambda r: {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_id": "f" * 32, "client_secret": r["client_secret"]}),
    ("wrong password", lambda r: {"grant_type": "password", "username": "admin", "password": "wrong", **form_client(r)}),
    ("unknown user", lambda r: {"grant_type": "password", "username": "nobody", "password": ADMIN_PASSWORD, **form_client(r)}),
    ("NUL in the user", lambda r: {"grant_type": "password", "username": "ad\x00min", "password": ADMIN_PASSWORD, **form_client(r)}),
    ("NUL in the client", lambda r: {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "client_id": "\x00", "client_secret": r["client_secret"]}),
    ("unknown refresh token", lambda r: {"grant_type": "refresh_token", "refresh_token": "nope", **form_client(r)}),
    ("client credentials, wrong secret", lambda r: {"grant_type": "client_credentials", "client_id": r["client_id"], "client_secret": "y" * 30}),
]


@pytest.mark.parametrize("form", [form for _, form in WRONG], ids=[name for name, _ in WRONG])
def test_wrong_credentials_are_servicenows_401(client, registered, form):
    assert_oauth_answer(token(client, form(registered)), 401, ACCESS_DENIED)


def test_an_inactive_user_gets_no_token(client, admin_auth, registered, app):
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    with app.app_context():
        from app import users

        users.deactivate("svc")
    form = {"grant_type": "password", "username": "svc", "password": "svc-pw", **form_client(registered)}
    assert_oauth_answer(token(client, form), 401, ACCESS_DENIED)


def test_another_clients_refresh_token_is_refused(client, admin_auth, registered):
    other = add_client(client, admin_auth, name="other")
    refresh = password_tokens(client, registered)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, **form_client(other)}
    assert_oauth_answer(token(client, form), 401, ACCESS_DENIED)


def test_an_access_token_is_no_refresh_token(client, registered):
    access = password_tokens(client, registered)["access_token"]
    form = {"grant_type": "refresh_token", "refresh_token": access, **form_client(registered)}
    assert_oauth_answer(token(client, form), 401, ACCESS_DENIED)


def test_client_credentials_for_a_client_without_a_user_is_unauthorized_client(client, admin_auth):
    registered = add_client(client, admin_auth)
    response = token(client, {"grant_type": "client_credentials", **form_client(registered)})
    assert_oauth_answer(response, 400, {"error": "unauthorized_client", "error_description": "This client has no user to act as"})


def test_client_credentials_for_a_user_since_deactivated_is_refused(client, admin_auth, app):
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    registered = add_client(client, admin_auth, user="svc")
    with app.app_context():
        from app import users

        users.deactivate("svc")
    assert_oauth_answer(token(client, {"grant_type": "client_credentials", **form_client(registered)}), 401, ACCESS_DENIED)


def invalid(description):
    return {"error": "invalid_request", "error_description": description}


@pytest.mark.parametrize(
    "form, description",
    [
        ({}, "grant_type is missing"),
        ({"grant_type": ""}, "grant_type is missing"),
        ({"grant_type": "password", "username": "admin", "password": "x"}, "client_id is missing"),
        ({"grant_type": "password", "username": "admin", "password": "x", "client_id": "c"}, "client_secret is missing"),
        ({"grant_type": "password", "password": "x", "client_id": "c", "client_secret": "s"}, "username is missing"),
        ({"grant_type": "password", "username": "admin", "client_id": "c", "client_secret": "s"}, "password is missing"),
        ({"grant_type": "refresh_token", "client_id": "c", "client_secret": "s"}, "refresh_token is missing"),
        ({"grant_type": ["password", "client_credentials"]}, "grant_type is given more than once"),
        ({"grant_type": "password", "username": ["a", "b"]}, "username is given more than once"),
        ({"grant_type": "client_credentials", "client_secret": ["a", "b"]}, "client_secret is given more than once"),
    ],
    ids=["empty", "empty grant", "no client", "no secret", "no user", "no password", "no refresh token",
         "two grants", "two users", "two secrets"],  # fmt: skip
)
def test_missing_or_repeated_parameters_are_invalid_request(client, form, description):
    assert_oauth_answer(token(client, form), 400, invalid(description))


@pytest.mark.parametrize("grant", ["authorization_code", "urn:ietf:params:oauth:grant-type:jwt-bearer", "PASSWORD", "\x00"])
def test_other_grants_are_unsupported(client, registered, grant):
    response = token(client, {"grant_type": grant, **form_client(registered)})
    assert_oauth_answer(
        response,
        400,
        {"error": "unsupported_grant_type", "error_description": "grant_type must be one of password, refresh_token, client_credentials"},
    )


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", b'{"grant_type": "client_credentials"}'),
        ("text/plain", b"grant_type=client_credentials"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--x--\r\n"),
        (None, b""),
        ("application/xml", b"<grant_type>password</grant_type>"),
    ],
    ids=["json", "text", "multipart", "none", "xml"],
)
def test_a_body_that_is_not_form_encoded_is_invalid_request(client, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/oauth_token.do", data=body, headers=headers)
    assert_oauth_answer(response, 400, invalid("The body must be application/x-www-form-urlencoded"))


def test_a_huge_form_is_a_413_in_oauths_error_body(client):
    response = client.post(
        "/oauth_token.do",
        data=b"grant_type=password&username=" + b"a" * (11 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json["error"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=password&username=" + b"a" * 600_000 + b"&password=x&client_id=c&client_secret=s",
        b"&".join(b"f%d=x" % n for n in range(5000)) + b"&grant_type=client_credentials",
        b"grant_type=password&username=%ff%fe&password=%00&client_id=%c3%28&client_secret=%",
        b"grant_type=password&username=" + "é".encode("latin-1") + b"&password=x&client_id=c&client_secret=s",
        b"\xff\xfe=\x00&&&==&grant_type",
    ],
    ids=["long field", "many fields", "bad escapes", "latin-1", "junk"],
)
def test_hostile_forms_are_a_4xx_in_oauths_error_body(client, registered, body):
    response = client.post("/oauth_token.do", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= response.status_code < 500, response.data
    assert set(response.json) == {"error", "error_description"}
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/oauth_token.do", "/oauth_revoke_token.do"])
def test_a_get_is_a_405_in_oauths_body(client, path):
    response = client.get(path)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json["error"] == "invalid_request"


@pytest.mark.parametrize("kind", ["wrong secret", "unknown client", "wrong password", "unknown user"])
def test_every_wrong_guess_costs_two_hash_checks(client, registered, monkeypatch, kind):
    """Timing tells nothing (OAUTH.md §2): whichever part is wrong, the
    endpoint checks a client secret's hash and a password's hash, real or decoy."""
    checks = []
    for module in (auth_module, clients_module):
        original = module.check_password_hash
        monkeypatch.setattr(module, "check_password_hash", lambda *a, _o=original: checks.append(1) or _o(*a))
    form = dict(WRONG)[kind](registered)
    assert token(client, form).status_code == 401
    assert len(checks) == 2


def test_revoking_an_access_token(client, registered):
    tokens = password_tokens(client, registered)
    response = client.post("/oauth_revoke_token.do", data={"token": tokens["access_token"], **form_client(registered)})
    assert_oauth_answer(response, 200, {})
    refused = client.get("/api/now/table/interaction", headers=bearer(tokens["access_token"]))
    assert refused.status_code == 401
    # The refresh token still makes new ones.
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}
    assert token(client, form).status_code == 200


def test_revoking_a_refresh_token_ends_the_access_tokens_made_from_it(client, registered):
    tokens = password_tokens(client, registered)
    refreshed = token(client, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}).json
    response = client.post("/oauth_revoke_token.do", data={"token": tokens["refresh_token"]}, headers=basic_client(registered))
    assert_oauth_answer(response, 200, {})
    for access in (tokens["access_token"], refreshed["access_token"]):
        assert client.get("/api/now/table/interaction", headers=bearer(access)).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}
    assert_oauth_answer(token(client, form), 401, ACCESS_DENIED)


def test_revoking_needs_the_tokens_own_client(client, admin_auth, registered):
    other = add_client(client, admin_auth, name="other")
    access = password_tokens(client, registered)["access_token"]
    assert_oauth_answer(client.post("/oauth_revoke_token.do", data={"token": access, **form_client(other)}), 200, {})
    assert client.get("/api/now/table/interaction", headers=bearer(access)).status_code == 200
    wrong = {"token": access, "client_id": registered["client_id"], "client_secret": "z" * 24}
    assert_oauth_answer(client.post("/oauth_revoke_token.do", data=wrong), 401, ACCESS_DENIED)
    assert_oauth_answer(client.post("/oauth_revoke_token.do", data=form_client(registered)), 400, invalid("token is missing"))


def test_an_unknown_token_revoked_is_no_error(client, registered):
    assert_oauth_answer(client.post("/oauth_revoke_token.do", data={"token": "nothing", **form_client(registered)}), 200, {})


def test_basic_credentials_of_a_user_are_no_client(client):
    """The endpoint's Basic credentials are a client's: an admin's name and
    password there are a wrong client."""
    response = token(client, {"grant_type": "client_credentials"}, basic("admin", ADMIN_PASSWORD))
    assert_oauth_answer(response, 401, ACCESS_DENIED)


def test_basic_with_a_colon_in_the_secret(client, admin_auth):
    registered = add_client(client, admin_auth, user="admin", client_secret="a:secret:with:colons:in:it")
    headers = {"Authorization": "Basic " + b64(f"{registered['client_id']}:a:secret:with:colons:in:it")}
    assert token(client, {"grant_type": "client_credentials"}, headers).status_code == 200
