"""Fault rules (TEST_SUPPORT.md §4) through Flask's test client; the drops
and the counts across workers and hosts are in test_stand_in_deployment."""
import logging
import socket

import pytest

from app.models import Interaction
from app.stand_in import faults
from conftest import CHANNEL, basic, failure

CLOSE = {"method": "POST", "path": "/close$"}
NOWHERE = b'{"error":{"message":"Not Found","detail":"/nowhere is not a resource of this service"},"status":"failure"}'


def add(client, headers, **rule):
    response = client.post("/__stand_in/faults", json=rule, headers=headers)
    assert response.status_code == 201, response.data
    return response.json["result"]


def test_a_rule_is_stored_with_its_defaults_listed_got_and_removed(client, admin_auth):
    rule = add(client, admin_auth, effect={"type": "error", "status": 503})
    expected = {
        "id": rule["id"],
        "match": {},
        "effect": {"type": "error", "status": 503},
        "probability": 1.0,
        "times": None,
        "skip": 0,
        "phase": "before",
        "hits": 0,
        "remaining": None,
    }
    assert rule == expected
    assert client.get("/__stand_in/faults", headers=admin_auth).json == {"result": [expected]}
    assert client.get(f"/__stand_in/faults/{rule['id']}", headers=admin_auth).json == {"result": expected}
    removed = client.delete(f"/__stand_in/faults/{rule['id']}", headers=admin_auth)
    assert (removed.status_code, removed.json) == (200, {"result": {"deleted": 1}})
    for method in ("GET", "DELETE"):
        missing = client.open(f"/__stand_in/faults/{rule['id']}", method=method, headers=admin_auth)
        assert (missing.status_code, missing.json) == (404, failure("No Record found", f"No fault rule {rule['id']}"))


def test_an_error_in_the_envelope_and_format_of_the_client_then_the_rule_retires(client, admin_auth):
    rule = add(
        client,
        admin_auth,
        match={"path": "^/api/now(/v1)?/interaction$", "format": "xml"},
        effect={"type": "error", "status": 503, "headers": {"Retry-After": "1"}},
        times=1,
    )
    xml = {**admin_auth, "Accept": "application/xml"}
    json_answer = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert json_answer.status_code == 201 and "X-Stand-In-Fault" not in json_answer.headers
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=xml)
    assert response.status_code == 503
    assert response.headers["X-Stand-In-Fault"] == str(rule["id"])
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>Service Unavailable</message>'
        b"<detail/></error><status>failure</status></response>"
    )
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=xml).status_code == 201
    listed = client.get(f"/__stand_in/faults/{rule['id']}", headers=admin_auth).json["result"]
    assert (listed["hits"], listed["remaining"]) == (1, 0)
    [entry] = client.get("/__stand_in/requests", query_string={"status": 503}, headers=admin_auth).json["result"]
    assert entry["fault"] == rule["id"]
    with client.application.app_context():
        assert Interaction.select().count() == 2


def test_a_request_whose_accept_names_no_format_is_matched_as_json(client, admin_auth):
    add(client, admin_auth, match={"format": "json"}, effect={"type": "error", "status": 503})
    assert client.get("/nowhere", headers={**admin_auth, "Accept": "image/png"}).status_code == 503


def test_a_rule_without_times_fires_on_every_request_of_its_method(client, admin_auth):
    rule = add(client, admin_auth, match={"method": "POST"}, effect={"type": "error", "status": 599})
    other = client.get("/nowhere", headers=admin_auth)
    assert (other.status_code, "X-Stand-In-Fault" in other.headers) == (404, False)
    for _ in range(3):
        response = client.post("/nowhere", headers=admin_auth)
        # A status no RFC names has a text of its own.
        assert (response.status_code, response.json) == (599, failure("Injected fault"))
    listed = client.get(f"/__stand_in/faults/{rule['id']}", headers=admin_auth).json["result"]
    assert (listed["hits"], listed["remaining"]) == (3, None)


def test_skip_then_times_fail_the_first_n_then_succeed(client, admin_auth):
    add(client, admin_auth, match=CLOSE, effect={"type": "error", "status": 500, "message": "Boom", "detail": "x"}, skip=1, times=2)
    sys_id = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).json["result"]["sys_id"]
    statuses = [client.post(f"/api/now/interaction/{sys_id}/close", headers=admin_auth) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 500, 500, 200]
    assert statuses[1].json == failure("Boom", "x")


def test_a_rule_fires_when_the_draw_is_below_its_probability_so_never_at_0(client, admin_auth, monkeypatch):
    """random() draws from [0, 1): below p is a chance of exactly p."""
    draws = iter([0.0, 0.5, 0.0, 0.25])
    monkeypatch.setattr(faults.random, "random", lambda: next(draws))
    never = add(client, admin_auth, effect={"type": "error", "status": 429}, probability=0)
    half = add(client, admin_auth, effect={"type": "error", "status": 503}, probability=0.5)
    assert client.get("/nowhere", headers=admin_auth).status_code == 404
    response = client.get("/nowhere", headers=admin_auth)
    assert (response.status_code, response.headers["X-Stand-In-Fault"]) == (503, str(half["id"]))
    assert client.get(f"/__stand_in/faults/{never['id']}", headers=admin_auth).json["result"]["hits"] == 0


def test_the_first_rule_that_fires_wins_and_user_matches_the_authenticated_user(client, admin_auth, runner):
    runner.invoke(args=["user", "add", "svc", "--password", "pw"])
    never = add(client, admin_auth, match={"user": "svc"}, effect={"type": "error", "status": 429}, probability=0)
    first = add(client, admin_auth, match={"user": "svc"}, effect={"type": "error", "status": 502})
    add(client, admin_auth, effect={"type": "error", "status": 504})
    svc = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=basic("svc", "pw"))
    assert (svc.status_code, svc.headers["X-Stand-In-Fault"]) == (502, str(first["id"]))
    assert svc.json == failure("Bad Gateway")
    # A wrong password is no user: only the third rule matches.
    assert client.post("/api/now/interaction", headers=basic("svc", "wrong")).status_code == 504
    assert client.get(f"/__stand_in/faults/{never['id']}", headers=admin_auth).json["result"]["hits"] == 0


def test_a_delay_then_an_error(client, admin_auth):
    rule = add(client, admin_auth, effect={"type": "delay", "ms": 1, "then": {"type": "error", "status": 401}})
    response = client.get("/nowhere", headers=admin_auth)
    assert (response.status_code, response.json) == (401, failure("User Not Authenticated", "Required to provide Auth information"))
    assert response.headers["X-Stand-In-Fault"] == str(rule["id"])


def test_a_delay_alone_serves_the_request(client, admin_auth, monkeypatch):
    slept = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    rule = add(client, admin_auth, effect={"type": "delay", "ms": 1500})
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert (response.status_code, slept) == (201, [1.5])
    assert response.headers["X-Stand-In-Fault"] == str(rule["id"])


def test_phase_after_serves_and_commits_then_replaces_the_answer(client, admin_auth):
    rule = add(client, admin_auth, match={"method": "post"}, effect={"type": "error", "status": 500}, phase="after", times=1)
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert (response.status_code, response.json) == (500, failure("Internal server error"))
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (entry["status"], entry["fault"]) == (500, rule["id"])
    with client.application.app_context():
        assert Interaction.select().count() == 1


def test_a_drop_without_a_connection_is_an_empty_502_in_the_test_client(client, admin_auth):
    rule = add(client, admin_auth, effect={"type": "drop", "mode": "reset"}, phase="after")
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert (response.status_code, response.data) == (502, b"")
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (entry["status"], entry["fault"]) == (201, rule["id"])


def _connection():
    """(the server's end, the client's end) of a TCP connection on loopback."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client_end = socket.create_connection(listener.getsockname())
        server_end, _ = listener.accept()
    # A connection left open by mistake fails the test instead of hanging it.
    client_end.settimeout(5)
    return server_end, client_end


@pytest.mark.parametrize("server_socket", ["gunicorn.socket", "werkzeug.socket"])
@pytest.mark.parametrize(
    "mode, phase, status, body",
    [("close", "before", 200, b""), ("reset", "after", 404, NOWHERE)],
)
def test_a_drop_cuts_the_connection_the_server_put_in_the_environ(client, admin_auth, server_socket, mode, phase, status, body):
    rule = add(client, admin_auth, effect={"type": "drop", "mode": mode}, phase=phase)
    server_end, client_end = _connection()
    with server_end, client_end:
        response = client.get("/nowhere", headers=admin_auth, environ_base={server_socket: server_end})
        # What the server would have written to the connection, had it been there.
        assert (response.status_code, response.data) == (status, body)
        if mode == "close":
            assert client_end.recv(1) == b""
        else:
            with pytest.raises(ConnectionResetError):
                client_end.recv(1)
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (entry["status"], entry["fault"]) == (None if phase == "before" else 404, rule["id"])


def test_a_drop_before_leaves_the_status_null(client, admin_auth):
    add(client, admin_auth, effect={"type": "drop"})
    assert client.get("/nowhere").status_code == 502
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert entry["status"] is None


def test_each_rule_is_got_and_deleted_by_its_id(client, admin_auth):
    first = add(client, admin_auth, effect={"type": "drop"}, times=1)
    second = add(client, admin_auth, effect={"type": "error", "status": 503}, skip=2)
    got = client.get(f"/__stand_in/faults/{second['id']}", headers=admin_auth)
    assert got.json == {"result": second}
    assert client.delete(f"/__stand_in/faults/{first['id']}", headers=admin_auth).json == {"result": {"deleted": 1}}
    assert client.get("/__stand_in/faults", headers=admin_auth).json == {"result": [second]}


def test_delete_all_rules(client, admin_auth):
    add(client, admin_auth, effect={"type": "drop"})
    add(client, admin_auth, effect={"type": "drop"})
    response = client.delete("/__stand_in/faults", headers=admin_auth)
    assert (response.status_code, response.json) == (200, {"result": {"deleted": 2}})
    assert client.get("/nowhere", headers=admin_auth).status_code == 404


def test_no_rule_fires_with_test_support_off(make_app, admin_auth):
    add(make_app().test_client(), admin_auth, effect={"type": "error", "status": 503})
    client = make_app(TEST_SUPPORT=False).test_client()
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).status_code == 201


def test_a_rule_added_is_seen_at_once_by_a_worker_that_loaded_none(make_app, admin_auth):
    """Two apps on one database stand for two workers: each keeps its rules."""
    first, second = make_app().test_client(), make_app().test_client()
    assert second.get("/nowhere", headers=admin_auth).status_code == 404
    rule = add(first, admin_auth, effect={"type": "error", "status": 503})
    assert second.get("/nowhere", headers=admin_auth).status_code == 503
    # A rule replaced by another leaves as many rules: the generation tells.
    first.delete(f"/__stand_in/faults/{rule['id']}", headers=admin_auth)
    rule = add(first, admin_auth, effect={"type": "error", "status": 504})
    assert second.get("/nowhere", headers=admin_auth).status_code == 504
    first.delete(f"/__stand_in/faults/{rule['id']}", headers=admin_auth)
    assert second.get("/nowhere", headers=admin_auth).status_code == 404


def test_a_worker_reads_its_rules_once_and_a_used_up_rule_costs_a_request_nothing(client, admin_auth, caplog):
    """The hot path (faults.py): past the statement that reads the user's
    row and the rules' state, a request reads no rule and writes none."""
    add(client, admin_auth, effect={"type": "error", "status": 503}, times=1)
    assert client.get("/nowhere", headers=admin_auth).status_code == 503
    # This one learns that the rule is used up.
    assert client.get("/nowhere", headers=admin_auth).status_code == 404
    caplog.set_level(logging.DEBUG, logger="peewee")
    assert client.get("/nowhere", headers=admin_auth).status_code == 404
    statements = [str(record.msg) for record in caplog.records if record.name == "peewee"]
    assert [s for s in statements if "stand_in_" in s and "sys_user" not in s and "stand_in_request" not in s] == []
    assert len([s for s in statements if "stand_in_state" in s]) == 1


@pytest.mark.parametrize(
    "rule, message",
    [
        ({}, "effect: Missing data for required field."),
        ({"effect": {"type": "explode"}}, "effect.type: Must be one of: error, delay, drop."),
        ({"effect": "error"}, "effect: Must be an object."),
        ({"effect": {"type": "error"}}, "effect.status: Missing data for required field."),
        ({"effect": {"type": "error", "status": 302}}, "effect.status: Must be greater than or equal to 400 and less than or equal to 599."),
        ({"effect": {"type": "error", "status": 503, "ms": 3}}, "effect.ms: Unknown field."),
        ({"effect": {"type": "delay", "ms": 25001}}, "effect.ms: Must be greater than or equal to 0 and less than or equal to 25000."),
        ({"effect": {"type": "delay", "ms": 1, "then": {"type": "delay", "ms": 1}}}, "effect.then.type: Must be one of: error, drop."),
        ({"effect": {"type": "drop", "mode": "slam"}}, "effect.mode: Must be one of: close, reset."),
        ({"effect": {"type": "drop"}, "probability": 1.5}, "probability: Must be greater than or equal to 0 and less than or equal to 1."),
        ({"effect": {"type": "drop"}, "times": -1}, "times: Must be greater than or equal to 0."),
        ({"effect": {"type": "drop"}, "skip": "2"}, "skip: Not a valid integer."),
        ({"effect": {"type": "drop"}, "phase": "during"}, "phase: Must be one of: before, after."),
        ({"effect": {"type": "drop"}, "match": {"path": "("}}, "match.path: Not a valid regular expression: missing ), unterminated subpattern at position 0."),
        ({"effect": {"type": "drop"}, "match": {"format": "yaml"}}, "match.format: Must be one of: json, xml."),
        ({"effect": {"type": "drop"}, "match": "/close$"}, "match: Invalid input type."),
        ({"effect": {"type": "drop"}, "when": "now"}, "when: Unknown field."),
        # Named as sent, to its last letter.
        ({"effect": {"type": "drop"}, "MAX": 1}, "MAX: Unknown field."),
    ],
)
def test_an_invalid_rule_is_a_400_naming_the_field(client, admin_auth, rule, message):
    response = client.post("/__stand_in/faults", json=rule, headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure(message))
    assert client.get("/__stand_in/faults", headers=admin_auth).json == {"result": []}


def test_a_rule_must_have_a_body(client, admin_auth):
    # Unlike a reset's or a wait's, where an empty body takes every default.
    response = client.post("/__stand_in/faults", headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure("Exception while reading request", "The request body is empty"))


def test_soap_calls_are_journaled_and_faults_reach_them_as_soap_faults(client, admin_auth):
    from soap_envelopes import SOAP_CONTENT_TYPE, canonical, envelope, fault_xml, post

    body = envelope("insert", [("channel", CHANNEL)])
    rule = add(client, admin_auth, match={"path": r"^/interaction\.do$"}, effect={"type": "error", "status": 503}, times=1)
    failed = post(client, admin_auth, body, **{"Content-Type": SOAP_CONTENT_TYPE})
    assert (failed.status_code, failed.headers["X-Stand-In-Fault"]) == (503, str(rule["id"]))
    assert failed.content_type == SOAP_CONTENT_TYPE
    assert canonical(failed.data) == canonical(fault_xml("Server", "Service Unavailable"))
    served = post(client, admin_auth, body, **{"Content-Type": SOAP_CONTENT_TYPE})
    assert served.status_code == 200 and b"<number>IMS0000001</number>" in served.data
    entries = client.get("/__stand_in/requests", query_string={"path": "interaction.do"}, headers=admin_auth).json["result"]
    assert [(e["method"], e["query"], e["status"], e["user"], e["fault"]) for e in entries] == [
        ("POST", "SOAP", 200, "admin", None),
        ("POST", "SOAP", 503, "admin", rule["id"]),
    ]
    assert entries[0]["request"]["body"] == body.decode()


@pytest.mark.parametrize("status, code", [(499, "Client"), (500, "Server")])
def test_an_injected_soap_fault_carries_the_rule_s_texts_and_headers(client, admin_auth, status, code):
    from soap_envelopes import SOAP_CONTENT_TYPE, canonical, envelope, fault_xml, post

    effect = {"type": "error", "status": status, "message": "Try later", "detail": "busy <now>", "headers": {"Retry-After": "1"}}
    add(client, admin_auth, match={"path": "interaction"}, effect=effect)
    failed = post(client, admin_auth, envelope("get", [("sys_id", "x")]), **{"Content-Type": SOAP_CONTENT_TYPE})
    assert (failed.status_code, failed.headers["Retry-After"], failed.content_type) == (status, "1", SOAP_CONTENT_TYPE)
    assert canonical(failed.data) == canonical(fault_xml(code, "Try later", "busy <now>"))


def test_the_log_line_of_a_rules_answer_names_the_user_the_rule_matched(client, admin_auth, caplog):
    rule = {"match": {"path": "/table/interaction$", "user": "admin"}, "effect": {"type": "error", "status": 503}, "times": 1}
    assert client.post("/__stand_in/faults", json=rule, headers=admin_auth).status_code == 201
    caplog.set_level(logging.INFO, logger="app.access")
    assert client.get("/api/now/table/interaction", headers=admin_auth).status_code == 503
    [line] = [record.getMessage() for record in caplog.records if record.name == "app.access"]
    assert line.startswith("GET /api/now/table/interaction 503 user=admin ")


def test_a_rule_s_headers_named_as_the_standard_ones_give_way_to_them(client, admin_auth):
    """transactions.finish appends its headers where none is there yet, and
    replaces one that an injected answer brings, whatever its case."""
    rule = add(
        client,
        admin_auth,
        match={"path": "^/api/now/interaction$"},
        effect={"type": "error", "status": 503, "headers": {"Retry-After": "1", "cache-control": "max-age=60", "X-Transaction-ID": "mine"}},
    )
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert response.status_code == 503 and response.headers["X-Stand-In-Fault"] == str(rule["id"])
    names = [name for name, _ in response.headers]
    assert response.headers.getlist("Cache-Control") == ["no-cache,no-store,must-revalidate,max-age=-1"]
    assert len(response.headers.getlist("X-Transaction-ID")) == 1 and response.headers["X-Transaction-ID"] != "mine"
    # Replaced where the rule put them, the others appended.
    expected = ["Content-Type", "Content-Length", "Retry-After", "X-Transaction-ID", "Cache-Control", "X-Stand-In-Fault"]
    assert names == [*expected, "Pragma", "Expires", "X-Content-Type-Options"]
