"""The request journal (TEST_SUPPORT.md §3), through HTTP."""
import base64
import io
import logging
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from conftest import ADMIN_PASSWORD, CHANNEL, basic, failure

from app.db import database, journal_database
from app.stand_in import journal


def entries(client, headers, **filters):
    response = client.get("/__stand_in/requests", query_string=filters, headers=headers)
    assert response.status_code == 200, response.data
    return response


def test_an_entry_holds_the_request_and_its_answer_with_secrets_masked(client, admin_auth):
    created = client.post(
        "/api/now/interaction?x=1",
        json={"channel": CHANNEL},
        headers={**admin_auth, "Proxy-Authorization": "Digest username=x", "Accept": "application/json"},
    )
    response = entries(client, admin_auth)
    assert response.headers["X-Total-Count"] == "1"
    [entry] = response.json["result"]
    transaction_id = created.headers["X-Transaction-ID"]
    assert entry["received_at"][:2] == "20" and len(entry["received_at"]) == 23
    assert isinstance(entry["duration_ms"], float)
    assert entry["request"]["headers"]["Authorization"] == "Basic ***"
    assert entry["request"]["headers"]["Proxy-Authorization"] == "Digest ***"
    assert entry["response"]["headers"]["X-Transaction-ID"] == transaction_id
    assert entry == {
        "transaction_id": transaction_id,
        "received_at": entry["received_at"],
        "method": "POST",
        "path": "/api/now/interaction",
        "query": "x=1",
        "user": "admin",
        "status": 201,
        "duration_ms": entry["duration_ms"],
        "request": {
            "headers": entry["request"]["headers"],
            "body": '{"channel": "28a59893873103002ae97e2526cb0b5d"}',
            "body_truncated": False,
        },
        "response": {
            "headers": dict(created.headers),
            "body": created.get_data(as_text=True),
            "body_truncated": False,
        },
        "fault": None,
    }
    one = client.get(f"/__stand_in/requests/{transaction_id}", headers=admin_auth)
    assert (one.status_code, one.json) == (200, {"result": entry})


def test_no_credential_is_ever_stored(client, admin_auth):
    token = base64.b64encode(b"admin:admin-secret").decode()
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={"Authorization": f"Basic {token}"})
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={"Proxy-Authorization": f"Basic {token}"})
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={"Authorization": "Bearer sometoken"})
    text = entries(client, admin_auth).get_data(as_text=True)
    for secret in (token, "admin-secret", "sometoken"):
        assert secret not in text
    assert text.count('"Basic ***"') == 2 and text.count('"Bearer ***"') == 1


def test_cookies_are_masked_whole():
    from app.stand_in.journal import mask

    assert mask("Cookie", "session=abc; Basic x") == "***"
    assert mask("Set-Cookie", "session=abc; Path=/") == "***"
    assert mask("authorization", "Basic YWRtaW4=") == "Basic ***"
    assert mask("Proxy-Authorization", "Digest username=x, realm=y") == "Digest ***"
    assert mask("Authorization", "YWRtaW4=") == "***"
    assert mask("Accept", "text/xml") == "text/xml"


@pytest.mark.parametrize("request_number", [1, 2])
def test_request_headers_are_named_as_werkzeug_names_them(client, admin_auth, monkeypatch, request_number):
    """The second request finds the names the first worked out."""
    # A process works each name out once: start afresh, so that this test does.
    monkeypatch.setattr(journal, "_NAMES", {})
    headers = {**admin_auth, "Content-Type": "application/json", "X-Client_Build": "7", "X-Empty": ""}
    for _ in range(request_number):
        client.post("/api/now/interaction", data=b'{"channel": "c"}', headers=headers)
    entry = entries(client, admin_auth).json["result"][0]
    assert entry["request"]["headers"] == {
        "Host": "localhost",
        "User-Agent": entry["request"]["headers"]["User-Agent"],
        "Authorization": "Basic ***",
        "Content-Type": "application/json",
        "Content-Length": "16",
        "X-Client-Build": "7",
        "X-Empty": "",
    }


def test_a_header_given_twice_is_kept_as_one_joined():
    assert journal._headers([("Vary", "Accept"), ("Vary", "Origin"), ("Cookie", "a=1")]) == {
        "Vary": "Accept, Origin",
        "Cookie": "***",
    }


def test_every_request_is_journaled_whatever_its_status_but_health_openapi_and_stand_in(client, admin_auth):
    client.post("/api/now/interaction", json={"channel": CHANNEL})  # 401
    client.get("/nowhere", headers=admin_auth)  # 404
    client.post("/api/now/interaction", data="{", headers=admin_auth)  # 400
    client.get("/health")
    client.get("/api/now/doc/openapi.json")
    client.get("/__stand_in/faults", headers=admin_auth)
    response = entries(client, admin_auth)
    assert [(e["method"], e["path"], e["status"], e["user"]) for e in response.json["result"]] == [
        ("POST", "/api/now/interaction", 400, "admin"),
        ("GET", "/nowhere", 404, "admin"),
        ("POST", "/api/now/interaction", 401, None),
    ]
    assert response.json["result"][2]["request"]["body"] == '{"channel": "28a59893873103002ae97e2526cb0b5d"}'


def test_a_method_longer_than_its_column_is_journaled_whole(client, admin_auth):
    method = "PROPPATCHEXTENDEDX"
    assert client.open("/api/now/interaction", method=method, headers=admin_auth).status_code == 405
    [entry] = entries(client, admin_auth).json["result"]
    assert (entry["method"], entry["status"]) == (method, 405)


def test_filters_paging_count_and_clear(client, admin_auth, runner):
    runner.invoke(args=["user", "add", "carol", "--password", "pw"])
    carol = basic("carol", "pw")
    first = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).json["result"]
    client.post(f"/api/now/interaction/{first['sys_id']}/close", headers={**carol, "Accept": "application/xml"})
    client.post("/api/now/interaction", json={}, headers=carol)
    since = entries(client, admin_auth).json["result"][0]["received_at"]

    def paths(**filters):
        response = entries(client, admin_auth, **filters)
        return [(e["path"][-6:], e["status"]) for e in response.json["result"]], response.headers["X-Total-Count"]

    assert paths(user="carol") == ([("action", 400), ("/close", 200)], "2")
    assert paths(path="/close$") == ([("/close", 200)], "1")
    assert paths(status=201) == ([("action", 201)], "1")
    assert paths(method="post", limit=1, offset=1) == ([("/close", 200)], "3")
    assert paths(since=since) == ([("action", 400)], "1")

    def count(**match):
        response = client.post("/__stand_in/requests/count", json=match, headers=admin_auth)
        assert response.status_code == 200
        return response.json["result"]["count"]

    assert count() == 3
    assert count(method="GET") == 0
    assert count(format="xml") == 1
    assert count(user="carol", status=400, method="POST", path="interaction$") == 1
    cleared = client.delete("/__stand_in/requests", headers=admin_auth)
    assert (cleared.status_code, cleared.json) == (200, {"result": {"deleted": 3}})
    assert count() == 0


@pytest.mark.parametrize(
    "query, message",
    [
        ({"limit": "x"}, "limit: Must be a whole number."),
        ({"status": "ok"}, "status: Not a valid integer."),
        ({"path": "("}, "path: Not a valid regular expression: missing ), unterminated subpattern at position 0."),
        ({"colour": "red"}, "colour: Unknown parameter."),
        ({"user": "a\x00b"}, "user: Must not contain control characters."),
        ({"method": "GE\x00T"}, "method: Must not contain control characters."),
        ({"since": "2026-01-01\x00"}, "since: Must not contain control characters."),
    ],
)
def test_bad_filters_are_a_400_naming_them(client, admin_auth, query, message):
    response = client.get("/__stand_in/requests", query_string=query, headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure(message))


def test_a_path_with_a_control_character_is_journaled_whole_and_found_as_the_log_writes_it(client, admin_auth, caplog):
    assert client.get("/api/now/table/sys_user%00%01", headers=admin_auth).status_code == 400
    assert "could not write the journal entry" not in caplog.text
    listed = client.get("/__stand_in/requests", query_string={"path": r"sys_user\\x00\\x01$"}, headers=admin_auth)
    assert [(entry["path"], entry["status"]) for entry in listed.json["result"]] == [("/api/now/table/sys_user\x00\x01", 400)]


def test_an_unknown_transaction_is_a_404(client, admin_auth):
    response = client.get("/__stand_in/requests/0123456789abcdef", headers=admin_auth)
    assert (response.status_code, response.json) == (
        404,
        failure("No Record found", "No request 0123456789abcdef in the journal"),
    )


def test_a_body_over_the_services_limit_is_journaled_empty_with_its_413(make_app, admin_auth):
    client = make_app(MAX_CONTENT_LENGTH=10).test_client()
    for size in (10, 11):
        client.post("/api/now/interaction", data=b"x" * size, headers={**admin_auth, "Content-Type": "application/json"})
    over, at = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (over["status"], over["request"]["body"], over["request"]["body_truncated"]) == (413, "", True)
    assert (at["status"], at["request"]["body"]) == (400, "x" * 10)


def raw_post(client, path, body, headers, promised=None):
    """A POST as a server hands it on. Without `promised`, a chunked body as
    gunicorn passes it: no length, a stream that ends. With it, a client gone
    mid-body: its Content-Length promises `promised` more bytes than come."""
    environ = EnvironBuilder(path, method="POST", input_stream=io.BytesIO(body), headers=headers).get_environ()
    if promised is None:
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(body) + promised)
    return client.open(Request(environ))


def test_a_streamed_body_no_view_read_is_journaled_up_to_the_services_limit(make_app, admin_auth, caplog):
    client = make_app(MAX_CONTENT_LENGTH=10).test_client()
    for body in (b"x" * 10, b"y" * 11):
        assert raw_post(client, "/nowhere", body, admin_auth).status_code == 404
    over, at = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (at["status"], at["request"]["body"], at["request"]["body_truncated"]) == (404, "x" * 10, False)
    assert (over["status"], over["request"]["body"], over["request"]["body_truncated"]) == (404, "y" * 10, True)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_body_at_the_services_limit_no_view_read_is_journaled_whole(make_app, admin_auth):
    client = make_app(MAX_CONTENT_LENGTH=10).test_client()
    assert client.post("/nowhere", data=b"x" * 10, headers=admin_auth).status_code == 404
    [entry] = entries(client, admin_auth).json["result"]
    assert (entry["request"]["body"], entry["request"]["body_truncated"]) == ("x" * 10, False)


def test_a_request_whose_server_leaves_out_the_query_string_has_an_empty_query(client, admin_auth):
    # PEP 3333: QUERY_STRING "may be empty or absent".
    environ = EnvironBuilder("/nowhere", headers=admin_auth).get_environ()
    del environ["QUERY_STRING"]
    assert client.open(Request(environ)).status_code == 404
    [entry] = entries(client, admin_auth).json["result"]
    assert entry["query"] == ""


def test_a_streamed_body_the_view_read_is_journaled_as_read(make_app, admin_auth):
    client = make_app(MAX_CONTENT_LENGTH=16).test_client()
    headers = {**admin_auth, "Content-Type": "application/json"}
    assert raw_post(client, "/api/now/interaction", b'{"channel": "c"}', headers).status_code == 201
    assert raw_post(client, "/api/now/interaction", b'{"channel": "c"} ', headers).status_code == 413
    over, at = entries(client, admin_auth).json["result"]
    assert (at["request"]["body"], at["request"]["body_truncated"]) == ('{"channel": "c"}', False)
    assert (over["request"]["body"], over["request"]["body_truncated"]) == ('{"channel": "c"}', True)


def test_the_format_of_a_request_no_view_answered_is_read_from_its_accept(client, admin_auth):
    client.get("/nowhere", headers={**admin_auth, "Accept": "application/xml"})
    client.get("/nowhere", headers=admin_auth)
    for fmt, paths in (("xml", 1), ("json", 1)):
        count = client.post("/__stand_in/requests/count", json={"format": fmt}, headers=admin_auth)
        assert count.json == {"result": {"count": paths}}, fmt


def test_received_at_and_duration_ms_are_the_requests_own(client, admin_auth):
    client.post("/__stand_in/faults", json={"effect": {"type": "delay", "ms": 50}}, headers=admin_auth)
    before = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    client.get("/nowhere", headers=admin_auth)
    after = time.strftime("%Y-%m-%d %H:%M:%S.999", time.gmtime())
    [entry] = entries(client, admin_auth).json["result"]
    assert before <= entry["received_at"] <= after
    assert 50 <= entry["duration_ms"] < 10_000 and entry["duration_ms"] == round(entry["duration_ms"], 1)


def test_received_at_is_the_moment_in_utc_to_the_millisecond():
    # A second other than the current one, and a fraction at the top of its range.
    assert journal._timestamp(86400.9995) == "1970-01-02 00:00:00.999"
    assert journal._timestamp(86400.5) == "1970-01-02 00:00:00.500"


def test_bodies_are_cut_at_the_limit_and_bytes_that_are_not_utf8_kept_as_escapes(make_app, admin_auth):
    client = make_app(JOURNAL_BODY_LIMIT=8).test_client()
    client.post("/api/now/interaction", data=b"12345678", headers={**admin_auth, "Content-Type": "application/json"})
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (entry["request"]["body"], entry["request"]["body_truncated"]) == ("12345678", False)
    client.delete("/__stand_in/requests", headers=admin_auth)
    client.post("/api/now/interaction", data=b'{"a":"\xff\xfe"}', headers={**admin_auth, "Content-Type": "application/json"})
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert entry["request"]["body"] == '{"a":"\\xff\\xfe'
    assert entry["request"]["body_truncated"] is True
    assert entry["response"]["body_truncated"] is True
    assert len(entry["response"]["body"]) == 8



def test_a_character_cut_at_the_limit_is_kept_as_the_escapes_of_its_bytes(make_app, admin_auth):
    client = make_app(JOURNAL_BODY_LIMIT=3).test_client()
    client.post("/api/now/interaction", data="éé".encode(), headers={**admin_auth, "Content-Type": "application/json"})
    [entry] = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert (entry["request"]["body"], entry["request"]["body_truncated"]) == ("é\\xc3", True)


def test_the_journal_keeps_the_newest_journal_size_entries(make_app, admin_auth, monkeypatch):
    from app.models import StandInRequest

    monkeypatch.setattr(journal, "PRUNE_EVERY", 4)
    monkeypatch.setattr(journal, "_writes", 0)
    client = make_app(JOURNAL_SIZE=3).test_client()
    for n in range(10):
        client.get(f"/nowhere/{n}", headers=admin_auth)
    response = entries(client, admin_auth)
    assert [e["path"] for e in response.json["result"]] == ["/nowhere/9", "/nowhere/8", "/nowhere/7"]
    assert response.headers["X-Total-Count"] == "3"
    # Pruned at this worker's 4th and 8th writes: the 3 newest of the 8th, and 2 since.
    assert StandInRequest.select().count() == 5


def test_a_reader_sees_the_newest_journal_size_entries_however_many_are_stored(make_app, admin_auth, monkeypatch):
    monkeypatch.setattr(journal, "PRUNE_EVERY", 1000)
    client = make_app(JOURNAL_SIZE=3).test_client()
    for n in range(5):
        client.get(f"/nowhere/{n}", headers=admin_auth)
    response = entries(client, admin_auth)
    assert [e["path"] for e in response.json["result"]] == ["/nowhere/4", "/nowhere/3", "/nowhere/2"]
    count = client.post("/__stand_in/requests/count", json={}, headers=admin_auth)
    assert count.json == {"result": {"count": 3}}


def test_on_sqlite_the_journal_is_a_file_of_its_own_beside_the_database(make_app, tmp_path, admin_auth):
    import sqlite3

    path = tmp_path / "own.sqlite3"
    client = make_app(DATABASE_URL=f"sqlite:///{path}").test_client()
    client.get("/nowhere", headers=admin_auth)
    with sqlite3.connect(f"{path}-stand-in") as journal_file:
        assert journal_file.execute("SELECT method, path, status FROM stand_in_request").fetchall() == [("GET", "/nowhere", 404)]
        assert journal_file.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with sqlite3.connect(path) as service_file:
        assert service_file.execute("SELECT name FROM sqlite_master WHERE name = 'stand_in_request'").fetchall() == []
    # A restart finds it as it was.
    client = make_app(DATABASE_URL=f"sqlite:///{path}").test_client()
    assert [e["path"] for e in entries(client, admin_auth).json["result"]] == ["/nowhere"]


def test_a_request_hands_its_connection_back_and_the_journal_keeps_its_own(client, admin_auth):
    client.get("/api/now/table/interaction", headers=admin_auth)
    assert database.is_closed()
    # On SQLite a file and a connection of its own, written by every request;
    # on PostgreSQL the journal's connection is the request's.
    assert journal_database.is_closed() is (journal_database.obj is database.obj)


def test_a_server_that_starts_a_thread_per_connection_runs_out_of_no_connections(app):
    """werkzeug's threaded server (the pytest plugin's) ends a thread with
    each connection: what the threads took goes back to the pool."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    auth = ("admin", ADMIN_PASSWORD)
    statuses = []
    try:
        # Three times the pool's size of each, a connection each.
        for _ in range(3 * 32):
            with requests.Session() as session:
                session.auth = auth
                statuses.append(session.post(f"{url}/__stand_in/reset", json={"scope": "interactions"}).status_code)
                statuses.append(session.post(f"{url}/api/now/interaction", json={"channel": CHANNEL}).status_code)
                statuses.append(session.post(f"{url}/__stand_in/requests/count", json={"status": 201}).status_code)
                statuses.append(session.get(f"{url}/__stand_in/requests", params={"path": "^/api"}).status_code)
                body = {"match": {"status": 201}, "count": 1, "timeout_ms": 100}
                statuses.append(session.post(f"{url}/__stand_in/requests/wait", json=body).status_code)
                rule = session.post(f"{url}/__stand_in/faults", json={"effect": {"type": "delay", "ms": 1}}).json()
                statuses.append(session.delete(f"{url}/__stand_in/faults/{rule['result']['id']}").status_code)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
    assert statuses == [200, 201, 200, 200, 200, 200] * 3 * 32


def test_journal_size_0_keeps_no_journal(make_app, admin_auth):
    client = make_app(JOURNAL_SIZE=0).test_client()
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert entries(client, admin_auth).json == {"result": []}


def test_a_failing_journal_write_never_fails_the_request(client, admin_auth, monkeypatch, caplog):
    from app.stand_in import journal

    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setattr(journal, "_insert", broken)
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert response.status_code == 201
    [record] = [r for r in caplog.records if r.name == "app.stand_in.journal"]
    assert record.getMessage() == f"transaction {response.headers['X-Transaction-ID']}: could not write the journal entry"


def test_wait_answers_as_soon_as_the_count_is_reached(app, admin_auth):
    waiter, sender = app.test_client(), app.test_client()
    answers = {}

    def wait():
        answers["wait"] = waiter.post(
            "/__stand_in/requests/wait",
            json={"match": {"path": "/close$"}, "count": 2, "timeout_ms": 1000},
            headers=admin_auth,
        )

    sender.post("/api/now/interaction/0123/close", headers=admin_auth)
    thread = threading.Thread(target=wait)
    thread.start()
    # The second comes while the wait polls, within its last second.
    time.sleep(0.1)
    sender.post("/api/now/interaction/0123/close", headers=admin_auth)
    thread.join(30)
    response = answers["wait"]
    assert response.status_code == 200
    assert [(e["path"], e["status"]) for e in response.json["result"]] == [("/api/now/interaction/0123/close", 404)] * 2


def test_wait_times_out_with_a_408_giving_the_count(client, admin_auth):
    client.get("/nowhere", headers=admin_auth)
    response = client.post(
        "/__stand_in/requests/wait", json={"match": {"path": "^/nowhere"}, "count": 2, "timeout_ms": 10}, headers=admin_auth
    )
    assert (response.status_code, response.json) == (
        408,
        failure("Request Timeout", "1 of 2 matching requests within 10 ms"),
    )


class SleepClock:
    """The journal's time module with a monotonic clock that only its sleeps
    move, each a millisecond longer than asked, as a real sleep may be."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds + 0.001

    def __getattr__(self, name):
        return getattr(time, name)


def test_wait_polls_every_50_ms_until_its_timeout(client, admin_auth, monkeypatch):
    clock = SleepClock()
    monkeypatch.setattr(journal, "time", clock)
    response = client.post(
        "/__stand_in/requests/wait", json={"match": {"path": "^/nowhere"}, "timeout_ms": 100}, headers=admin_auth
    )
    assert (response.status_code, response.json) == (
        408,
        failure("Request Timeout", "0 of 1 matching requests within 100 ms"),
    )
    # The second sleep is what was left of the 100 ms.
    assert clock.sleeps == pytest.approx([0.05, 0.049])


@pytest.mark.parametrize(
    "body, message",
    [
        ({"timeout_ms": 25001}, "timeout_ms: Must be greater than or equal to 0 and less than or equal to 25000."),
        ({"timeout_ms": -1}, "timeout_ms: Must be greater than or equal to 0 and less than or equal to 25000."),
        ({"count": 0}, "count: Must be greater than or equal to 1."),
        ({"match": {"colour": "red"}}, "match.colour: Unknown field."),
        ({"match": {"status": "201"}}, "match.status: Not a valid integer."),
        ({"match": {"user": "a\x00b"}}, "match.user: Must not contain control characters."),
    ],
)
def test_wait_refuses_a_bad_body(client, admin_auth, body, message):
    response = client.post("/__stand_in/requests/wait", json=body, headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure(message))


def test_the_entries_that_mention_an_interaction_by_sys_id_or_number(app, client, admin_auth):
    first = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).json["result"]
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    fields = "&sysparm_fields=state"
    client.get(f"/api/now/table/interaction?sysparm_query=number={first['number']}{fields}", headers=admin_auth)
    client.get(f"/api/now/table/interaction/{first['sys_id']}?{fields[1:]}", headers=admin_auth)
    with app.app_context():
        found = journal.mentioning(first["sys_id"], first["number"])
        by_number = journal.mentioning("no-such-sys-id", first["number"])
        # The create's sys_id is in its answer's body alone.
        by_sys_id = journal.mentioning(first["sys_id"], "no-such-number")
    assert [(entry["method"], entry["path"]) for entry in found] == [
        ("GET", f"/api/now/table/interaction/{first['sys_id']}"),
        ("GET", "/api/now/table/interaction"),
        ("POST", "/api/now/interaction"),
    ]
    assert [entry["path"] for entry in by_number] == ["/api/now/table/interaction", "/api/now/interaction"]
    assert [entry["path"] for entry in by_sys_id] == [f"/api/now/table/interaction/{first['sys_id']}", "/api/now/interaction"]


@pytest.mark.parametrize("path, status", [("/nowhere", 404), ("/api/now/interaction", 400)])
def test_a_body_cut_short_by_its_client_is_journaled_empty_and_truncated(client, admin_auth, path, status, caplog):
    headers = {**admin_auth, "Content-Type": "application/json"}
    assert raw_post(client, path, b'{"channel": "c"}', headers, promised=10).status_code == status
    [entry] = entries(client, admin_auth).json["result"]
    assert (entry["status"], entry["request"]["body"], entry["request"]["body_truncated"]) == (status, "", True)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_journal_of_size_one_keeps_the_newest_request(make_app, admin_auth):
    client = make_app(JOURNAL_SIZE=1).test_client()
    for n in range(2):
        client.get(f"/nowhere/{n}", headers=admin_auth)
    assert [e["path"] for e in entries(client, admin_auth).json["result"]] == ["/nowhere/1"]


def test_a_server_with_a_thread_per_request_journals_every_request(make_app, admin_auth):
    # werkzeug's threaded server (the pytest plugin's) starts a thread per
    # connection: each must hand the journal's connection back, or the pool
    # (32) runs out and entries go missing.
    from werkzeug.serving import make_server
    import http.client

    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(40):
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            connection.request("GET", "/nowhere", headers=admin_auth)
            assert connection.getresponse().status == 404
            connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/__stand_in/requests", headers=admin_auth)
        response = connection.getresponse()
        assert (response.status, response.getheader("X-Total-Count")) == (200, "40")
        connection.close()
    finally:
        server.shutdown()
        thread.join()


def test_an_answer_body_is_stored_beside_the_entry_and_shown_in_it(make_app, admin_auth):
    """Escaped into the entry's JSON, a page's body cost its request half of
    what the journal costs; entries stored so before are read as they were."""
    import json

    from app.models import StandInRequest

    app = make_app()
    client = app.test_client()
    created = client.post("/api/now/interaction", json={"channel": "chat"}, headers=admin_auth)
    [entry] = entries(client, admin_auth).json["result"]
    assert entry["response"]["body"] == created.get_data(as_text=True)
    with app.app_context():
        stored = StandInRequest.get()
        assert (stored.response_body, json.loads(stored.entry)["response"]["body"]) == (created.get_data(as_text=True), "")
        # An entry written before the column: its body in the entry.
        old = {**json.loads(stored.entry), "transaction_id": "0123456789abcdef"}
        old["response"]["body"] = "as stored before"
        StandInRequest.update(entry=json.dumps(old), response_body=None, transaction_id=old["transaction_id"]).execute()
    shown = client.get("/__stand_in/requests/0123456789abcdef", headers=admin_auth).json["result"]
    assert shown["response"]["body"] == "as stored before"
