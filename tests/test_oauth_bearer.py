"""Bearer tokens on every API (OAUTH.md §3): the Interaction API, the Table
API, SOAP, Attachment, Aggregate, Batch and the admin routes, in JSON and XML; and every way a token
stops working: expiry, revocation, a deactivated user, a new password, a
removed client. Then what must not leak, and what a bearer request costs."""
import logging

import pytest
from conftest import ADMIN_PASSWORD, CHANNEL, basic
from oauth_helpers import add_client, bearer, form_client, password_tokens, token
from soap_envelopes import envelope

from app import auth, users
from app.stand_in import journal as journal_module

CHALLENGE = 'Bearer realm="Service-now", error="invalid_token"'
UNAUTHENTICATED = {"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"}
XML_UNAUTHENTICATED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>User Not Authenticated</message>'
    b"<detail>Required to provide Auth information</detail></error><status>failure</status></response>"
)


@pytest.fixture
def registered(client, admin_auth):
    return add_client(client, admin_auth, user="admin")


@pytest.fixture
def access(client, registered):
    return password_tokens(client, registered)["access_token"]


def calls(client, headers, accept):
    """One request of each API, as (name, response)."""
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={**headers, "Accept": accept})
    yield "interaction create", created, 201
    sys_id = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={**headers, "Accept": "application/json"}).json["result"]["sys_id"]
    yield "interaction close", client.post(f"/api/now/interaction/{sys_id}/close", headers={**headers, "Accept": accept}), 200
    yield "table list", client.get("/api/now/table/interaction?sysparm_limit=1", headers={**headers, "Accept": accept}), 200
    yield "table insert", client.post("/api/now/table/interaction", json={"channel": CHANNEL}, headers={**headers, "Accept": accept}), 201
    yield "table read", client.get(f"/api/now/table/interaction/{sys_id}", headers={**headers, "Accept": accept}), 200
    yield "table patch", client.patch(f"/api/now/table/interaction/{sys_id}", json={"short_description": "x"}, headers={**headers, "Accept": accept}), 200
    yield "soap wsdl", client.get("/interaction.do?WSDL", headers=headers), 200
    attachment = {"table_name": "interaction", "table_sys_id": sys_id, "file_name": "a.txt"}
    yield "attachment upload", client.post("/api/now/attachment/file", query_string=attachment, data=b"hello",
                                           headers={**headers, "Content-Type": "text/plain", "Accept": accept}), 201  # fmt: skip
    yield "aggregate", client.get("/api/now/stats/interaction?sysparm_count=true", headers={**headers, "Accept": accept}), 200
    inner = {"id": "1", "method": "GET", "url": "/api/now/table/interaction?sysparm_limit=1",
             "headers": [{"name": "Accept", "value": "application/json"}]}  # fmt: skip
    batch = client.post("/api/now/v1/batch", json={"batch_request_id": "b", "rest_requests": [inner]}, headers=headers)
    # The inner request runs as the batch's caller, with the same token.
    yield "batch", batch, 200
    soap_body = envelope("get", [("sys_id", sys_id)])
    yield "soap get", client.post("/interaction.do?SOAP", data=soap_body, headers={**headers, "Content-Type": "text/xml"}), 200


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_a_bearer_token_serves_every_api(client, access, accept):
    for name, response, status in calls(client, bearer(access), accept):
        assert response.status_code == status, (name, response.data)
        if name == "batch":
            assert response.json["serviced_requests"][0]["status_code"] == 200


def test_admin_routes_take_an_admins_token_only(client, admin_auth, registered):
    admins = password_tokens(client, registered)["access_token"]
    assert client.get("/__stand_in/requests", headers=bearer(admins)).status_code == 200
    assert client.get("/__stand_in/oauth/clients", headers=bearer(admins)).status_code == 200
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    svcs = password_tokens(client, registered, "svc", "svc-pw")["access_token"]
    response = client.get("/__stand_in/requests", headers=bearer(svcs))
    assert (response.status_code, response.json["error"]["detail"]) == (403, "Admin rights required")
    assert client.post("/api/now/table/interaction", json={"channel": CHANNEL}, headers=bearer(svcs)).json["result"]["sys_created_by"] == "svc"


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Bearer a=b", "bearer " + "x" * 5000, "Bearer \x7f"])
def test_an_unknown_token_is_a_401_in_the_envelope_with_a_bearer_challenge(client, header):
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={"Authorization": header})
    assert (response.status_code, response.json) == (401, UNAUTHENTICATED)
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_a_refused_token_in_xml_and_in_soap(client):
    response = client.get("/api/now/table/interaction", headers={"Authorization": "Bearer nope", "Accept": "application/xml"})
    assert (response.status_code, response.data) == (401, XML_UNAUTHENTICATED)
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    response = client.post("/interaction.do?SOAP", data=envelope("get", [("sys_id", "x")]), headers={"Authorization": "Bearer nope"})
    # SOAP's challenge is a bare 401, as for Basic (app/soap/views.py).
    assert (response.status_code, response.data, response.headers["WWW-Authenticate"]) == (401, b"", CHALLENGE)


def refused(client, access):
    response = client.get("/api/now/table/interaction", headers=bearer(access))
    return response.status_code == 401 and response.headers["WWW-Authenticate"] == CHALLENGE


def test_an_expired_token_is_refused(client, admin_auth, monkeypatch):
    registered = add_client(client, admin_auth, user="admin", access_token_lifespan=5)
    tokens = password_tokens(client, registered)
    assert not refused(client, tokens["access_token"])
    later = auth.time.time() + 5
    monkeypatch.setattr(auth.time, "time", lambda: later)
    assert refused(client, tokens["access_token"])
    monkeypatch.undo()
    # The refresh token, of another lifespan, makes a new one.
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}
    assert not refused(client, token(client, form).json["access_token"])


def test_an_expired_refresh_token_is_refused(client, admin_auth, monkeypatch):
    from app.oauth import tokens as tokens_module

    registered = add_client(client, admin_auth, user="admin", refresh_token_lifespan=5)
    refresh = password_tokens(client, registered)["refresh_token"]
    later = tokens_module.time.time() + 5
    monkeypatch.setattr(tokens_module.time, "time", lambda: later)
    form = {"grant_type": "refresh_token", "refresh_token": refresh, **form_client(registered)}
    assert token(client, form).status_code == 401


def test_a_deactivated_users_tokens_are_refused_at_once(app, client, admin_auth, registered):
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    tokens = password_tokens(client, registered, "svc", "svc-pw")
    assert not refused(client, tokens["access_token"])
    with app.app_context():
        users.deactivate("svc")
    assert refused(client, tokens["access_token"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}
    assert token(client, form).status_code == 401
    with app.app_context():
        users.activate("svc")
    assert not refused(client, tokens["access_token"])


def test_a_new_password_ends_the_tokens_the_old_one_got(app, client, admin_auth, registered):
    client.post("/__stand_in/seed", json={"users": [{"user_name": "svc", "password": "svc-pw"}]}, headers=admin_auth)
    tokens = password_tokens(client, registered, "svc", "svc-pw")
    with app.app_context():
        users.set_password("svc", "new-pw")
    assert refused(client, tokens["access_token"])
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}
    assert token(client, form).status_code == 401
    assert not refused(client, password_tokens(client, registered, "svc", "new-pw")["access_token"])


def test_a_removed_clients_tokens_are_refused_at_once(client, admin_auth, registered):
    tokens = password_tokens(client, registered)
    machine = token(client, {"grant_type": "client_credentials", **form_client(registered)}).json["access_token"]
    assert client.delete(f"/__stand_in/oauth/clients/{registered['client_id']}", headers=admin_auth).status_code == 204
    assert refused(client, tokens["access_token"]) and refused(client, machine)
    assert token(client, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], **form_client(registered)}).status_code == 401


def test_removing_a_client_leaves_the_other_clients_and_their_tokens(client, admin_auth):
    kept = add_client(client, admin_auth, user="admin")
    removed = add_client(client, admin_auth, user="admin")
    kept_access = password_tokens(client, kept)["access_token"]
    removed_access = password_tokens(client, removed)["access_token"]
    assert client.delete(f"/__stand_in/oauth/clients/{removed['client_id']}", headers=admin_auth).status_code == 204
    assert refused(client, removed_access) and not refused(client, kept_access)
    listed = client.get("/__stand_in/oauth/clients", headers=admin_auth).json["result"]
    assert [entry["client_id"] for entry in listed] == [kept["client_id"]]
    # The kept client's access and refresh tokens are all that is left.
    deleted = client.post("/__stand_in/reset", json={"scope": "all"}, headers=admin_auth).json["result"]["deleted"]
    assert (deleted["oauth_entity"], deleted["oauth_credential"]) == (1, 2)


def test_expired_tokens_go_as_each_grant_makes_new_ones(app, client, admin_auth, monkeypatch):
    """Each grant 5 s after the one before, the access tokens' lifespan: the
    access token before it has expired (at that very second) and goes."""
    from app.models import OAuthCredential
    from app.oauth import tokens as tokens_module

    def stored():
        with app.app_context():
            return OAuthCredential.select().count()

    registered = add_client(client, admin_auth, user="admin", access_token_lifespan=5)
    now = tokens_module.time.time()
    monkeypatch.setattr(tokens_module.time, "time", lambda: now)
    refresh = password_tokens(client, registered)["refresh_token"]
    assert stored() == 2
    monkeypatch.setattr(tokens_module.time, "time", lambda: now + 5)
    form = {"grant_type": "refresh_token", "refresh_token": refresh, **form_client(registered)}
    assert token(client, form).status_code == 200
    assert stored() == 2
    monkeypatch.setattr(tokens_module.time, "time", lambda: now + 10)
    assert token(client, {"grant_type": "client_credentials", **form_client(registered)}).status_code == 200
    assert stored() == 2
    # A password grant: the client credentials' token goes; a second refresh token comes.
    monkeypatch.setattr(tokens_module.time, "time", lambda: now + 15)
    password_tokens(client, registered)
    assert stored() == 3


def test_a_reset_of_everything_ends_clients_and_tokens(client, admin_auth, registered, access):
    assert client.post("/__stand_in/reset", json={"scope": "interactions"}, headers=admin_auth).status_code == 200
    assert not refused(client, access)
    deleted = client.post("/__stand_in/reset", json={"scope": "all"}, headers=admin_auth).json["result"]["deleted"]
    assert (deleted["oauth_entity"], deleted["oauth_credential"]) == (1, 2)
    assert refused(client, access)


def statements(caplog, send):
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        response = send()
    assert response.status_code < 300, response.data
    return [str(record.msg) for record in caplog.records if record.name == "peewee"]


@pytest.mark.parametrize("journal", [True, False])
def test_a_bearer_request_runs_no_more_statements_than_a_basic_one(make_app, caplog, monkeypatch, journal):
    # The journal's prune runs on every PRUNE_EVERY-th write of the process,
    # which would fall on one of the requests compared as the suite's order has it.
    monkeypatch.setattr(journal_module, "PRUNE_EVERY", 10**9)
    app = make_app(JOURNAL_SIZE=1000 if journal else 0)
    client = app.test_client()
    admin = basic("admin", ADMIN_PASSWORD)
    access = password_tokens(client, add_client(client, admin, user="admin"))["access_token"]
    for headers in (admin, bearer(access)):  # each credential's first use out of the way
        client.get("/api/now/table/interaction", headers=headers)
    sends = {
        "create": lambda h: client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=h),
        "list": lambda h: client.get("/api/now/table/interaction?sysparm_limit=1", headers=h),
    }
    for name, send in sends.items():
        with_basic = statements(caplog, lambda: send(admin))
        with_bearer = statements(caplog, lambda: send(bearer(access)))
        assert len(with_bearer) <= len(with_basic), (name, with_basic, with_bearer)


def test_tokens_are_stored_as_hashes_only(app, client, registered):
    tokens = password_tokens(client, registered)
    from app.models import OAuthCredential, OAuthEntity

    with app.app_context():
        stored = " ".join(str(row.__data__) for row in OAuthCredential.select()) + str(OAuthEntity.get().__data__)
    for secret in (tokens["access_token"], tokens["refresh_token"], registered["client_secret"]):
        assert secret not in stored


def test_no_token_or_secret_in_the_journal_the_log_or_a_snapshot(client, admin_auth, caplog):
    caplog.set_level(logging.DEBUG, logger="app")
    registered = add_client(client, admin_auth, user="admin")
    tokens = password_tokens(client, registered)
    refreshed = token(client, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, {
        "Authorization": basic(registered["client_id"], registered["client_secret"])["Authorization"]}).json  # fmt: skip
    machine = token(client, {"grant_type": "client_credentials", **form_client(registered)}).json
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=bearer(tokens["access_token"]))
    client.get("/api/now/table/interaction", headers=bearer(refreshed["access_token"]), query_string={"x": "1"})
    client.post("/oauth_token.do?password=" + ADMIN_PASSWORD, data='{"password": "' + ADMIN_PASSWORD + '"}', content_type="application/json")
    client.post("/oauth_revoke_token.do", data={"token": machine["access_token"], **form_client(registered)})
    secrets = [tokens["access_token"], tokens["refresh_token"], refreshed["access_token"], machine["access_token"],
               registered["client_secret"], ADMIN_PASSWORD]  # fmt: skip
    journal = client.get("/__stand_in/requests?limit=1000", headers=admin_auth).get_data(as_text=True)
    snapshot = client.get("/__stand_in/snapshot", headers=admin_auth).get_data(as_text=True)
    log = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        for name, text in (("journal", journal), ("snapshot", snapshot), ("log", log)):
            assert secret not in text, name
    entries = client.get("/__stand_in/requests?path=^/oauth_token.do$", headers=admin_auth).json["result"]
    first = entries[-1]
    assert first["request"]["body"] == f"grant_type=password&username=admin&password=***&client_id={registered['client_id']}&client_secret=***"
    assert first["response"]["body"] == '{"access_token":"***","refresh_token":"***","scope":"useraccount","token_type":"Bearer","expires_in":1799}'
    assert first["user"] == "admin"
    assert entries[0]["request"]["body"] == "***" and entries[0]["query"] == "password=***"
    assert client.get("/__stand_in/requests?path=^/api/now/interaction$", headers=admin_auth).json["result"][0]["request"]["headers"]["Authorization"] == "Bearer ***"


def test_a_secret_holding_an_equals_sign_in_a_form_with_a_charset_is_masked_whole_in_the_journal(client, admin_auth):
    registered = add_client(client, admin_auth, user="admin")
    client_id, secret = registered["client_id"], registered["client_secret"]
    body = f"grant_type=password&username=admin&password=pa=ss=word&client_id={client_id}&client_secret={secret}"
    response = client.post("/oauth_token.do", data=body, content_type="application/x-www-form-urlencoded; charset=UTF-8")
    assert response.status_code == 401
    [entry] = client.get("/__stand_in/requests?path=^/oauth_token.do$", headers=admin_auth).json["result"]
    assert entry["request"]["body"] == f"grant_type=password&username=admin&password=***&client_id={client_id}&client_secret=***"


def test_a_fault_rule_for_the_tokens_user_applies_to_a_bearer_request(client, admin_auth, access):
    rule = {"match": {"user": "admin", "path": "^/api/now/table/"}, "effect": {"type": "error", "status": 503}}
    assert client.post("/__stand_in/faults", json=rule, headers=admin_auth).status_code == 201
    response = client.get("/api/now/table/interaction", headers=bearer(access))
    assert response.status_code == 503
    [entry] = client.get("/__stand_in/requests?path=^/api/now/table/", headers=admin_auth).json["result"]
    assert (entry["user"], entry["status"], entry["fault"]) == ("admin", 503, client.get("/__stand_in/faults", headers=admin_auth).json["result"][0]["id"])


def test_a_faults_answer_at_the_token_endpoint_is_journaled_as_it_is(client, admin_auth):
    """No tokens in it to mask: the empty answer of a drop, an error's envelope."""
    registered = add_client(client, admin_auth, user="admin")
    for effect in ({"type": "drop"}, {"type": "error", "status": 503}):
        rule = {"match": {"path": "^/oauth_token.do$"}, "effect": effect, "times": 1}
        assert client.post("/__stand_in/faults", json=rule, headers=admin_auth).status_code == 201
        token(client, {"grant_type": "client_credentials", **form_client(registered)})
    entries = client.get("/__stand_in/requests?path=^/oauth_token.do$", headers=admin_auth).json["result"]
    assert [(entry["status"], entry["response"]["body"]) for entry in entries] == [
        (503, '{"error":{"message":"Service Unavailable","detail":null},"status":"failure"}'),
        (None, ""),
    ]


def test_a_token_whose_client_row_is_gone_is_refused(app, client, registered, access):
    """A token written while its client was being removed outlives the
    removal's DELETE of tokens: the client's row is read with it."""
    from app.models import OAuthEntity

    with app.app_context():
        OAuthEntity.delete().execute()
    assert refused(client, access)
