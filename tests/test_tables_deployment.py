"""The tables under real gunicorn masters (TABLES.md §3, §5): a table from
TABLES_FILE, and one declared at run time through one worker and used at
once through every other, and through another host on PostgreSQL; PySNC,
pysnow and zeep on incident, customer_contact, sys_user and a u_ table."""
import base64
import http.client
import json
import os

import pysnow
import pytest
import zeep
from gunicorn_server import Gunicorn, https_session, tls
from pysnc import ServiceNowClient

PASSWORD = "tables-secret"
HEADERS = {
    "Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode(),
    "Content-Type": "application/json",
}
CALLING_LOG = {
    "name": "u_my_calling_log",
    "display": "u_number",
    "number": {"field": "u_number", "prefix": "CLG", "digits": 7},
    "fields": {
        "u_caller": {"type": "reference", "reference": "sys_user"},
        "u_phone": {"type": "string", "max_length": 40, "index": True},
        "u_direction": {"type": "choice", "choices": [{"value": "in", "label": "Inbound"}, "out"]},
        "u_duration": {"type": "integer", "default": 0},
    },
}


def call(server, method, path, body=None):
    """(status, parsed body), on a connection of its own: each call may
    land on any worker."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=HEADERS)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        connection.close()


@pytest.fixture
def start(tmp_path):
    started = []
    tables_file = tmp_path / "tables.json"
    tables_file.write_text(json.dumps([CALLING_LOG]))

    def start(database_url, workers):
        before = os.environ.get("TABLES_FILE")
        os.environ["TABLES_FILE"] = str(tables_file)
        try:
            server = Gunicorn(tmp_path, database_url, PASSWORD, workers)
        finally:
            if before is None:
                del os.environ["TABLES_FILE"]
            else:
                os.environ["TABLES_FILE"] = before
        started.append(server)
        return server.wait_until_healthy()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["sqlite, 4 workers", "postgres, 2 masters"])
def servers(request, start, tmp_path):
    if request.param.startswith("sqlite"):
        return [start(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", 4)]
    url = request.getfixturevalue("own_postgres_url")
    return [start(url, 2), start(url, 2)]


def test_a_table_declared_anywhere_is_served_everywhere_at_once(servers):
    first, last = servers[0], servers[-1]
    # Every worker serves the table of TABLES_FILE, numbered by one counter.
    numbers = [call(servers[n % len(servers)], "POST", "/api/now/table/u_my_calling_log", {"u_phone": "555"})[1]["result"]["u_number"]
               for n in range(12)]  # fmt: skip
    assert sorted(numbers) == [f"CLG{n:07d}" for n in range(1, 13)]

    status, declared = call(first, "POST", "/__stand_in/tables", {"name": "u_queue_log", "fields": {"u_queue": {"type": "string"}}})
    assert status == 201
    # The next request anywhere serves it.
    for n in range(12):
        status, body = call(servers[n % len(servers)], "POST", "/api/now/table/u_queue_log", {"u_queue": f"q{n}"})
        assert status == 201, body
    status, _ = call(last, "POST", "/__stand_in/tables", {"name": "u_queue_log", "fields": {"u_wait": {"type": "integer"}}})
    assert status == 200
    for n in range(8):
        # The new field is a condition on every worker, not one dropped as unknown.
        status, body = call(servers[n % len(servers)], "GET", "/api/now/table/u_queue_log?sysparm_query=u_wait%3D7&sysparm_fields=u_wait")
        assert (status, body) == (200, {"result": [{"u_wait": "7"}] * n})
        status, body = call(servers[n % len(servers)], "POST", "/api/now/table/u_queue_log", {"u_wait": 7})
        assert body["result"]["u_wait"] == "7"
    connection = http.client.HTTPConnection("127.0.0.1", last.port, timeout=30)
    connection.request("GET", "/u_queue_log.do?WSDL", headers=HEADERS)
    assert b'name="u_wait"' in connection.getresponse().read()
    connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tables-clients")
    (directory / "tables.json").write_text(json.dumps(CALLING_LOG))
    before = os.environ.get("TABLES_FILE")
    os.environ["TABLES_FILE"] = str(directory / "tables.json")
    certificate, options = tls(directory)
    try:
        # TLS: PySNC takes no other URL.
        gunicorn = Gunicorn(directory, f"sqlite:///{directory / 'interaction.sqlite3'}", PASSWORD, 2, **options)
        gunicorn.certificate = certificate
    finally:
        if before is None:
            del os.environ["TABLES_FILE"]
        else:
            os.environ["TABLES_FILE"] = before
    try:
        yield gunicorn.wait_until_healthy()
    finally:
        gunicorn.stop()


def session(server):
    return https_session(server.certificate, PASSWORD)


def test_pysnc_on_sys_user_customer_contact_incident_and_a_u_table(server):
    snc = ServiceNowClient(f"https://127.0.0.1:{server.port}", session(server))
    user = snc.GlideRecord("sys_user")
    user.initialize()
    user.user_name, user.first_name, user.last_name, user.mobile_phone = "pysnc.caller", "Py", "Snc", "+15550199"
    user.user_password = "caller-pw"
    user_id = user.insert()
    assert user_id

    lookup = snc.GlideRecord("sys_user")
    lookup.add_encoded_query("phone=+15550199^ORmobile_phone=+15550199")
    lookup.limit = 1
    lookup.query()
    assert [(record.user_name, record.get_display_value("name")) for record in lookup] == [("pysnc.caller", "Py Snc")]

    contact = snc.GlideRecord("customer_contact")
    contact.initialize()
    contact.first_name, contact.last_name, contact.phone = "Ada", "Lovelace", "020 7946 0000"
    assert contact.insert()
    found = snc.GlideRecord("customer_contact")
    found.add_query("phone", "LIKE", "7946")
    found.query()
    assert [record.name for record in found] == ["Ada Lovelace"]

    incident = snc.GlideRecord("incident")
    incident.initialize()
    incident.short_description, incident.caller_id, incident.impact, incident.urgency = "Printer on fire", user_id, "1", "1"
    incident_id = incident.insert()
    assert (incident.number, incident.priority, incident.get_display_value("priority")) == ("INC0010001", "1", "1 - Critical")
    latest = snc.GlideRecord("incident")
    latest.add_query("caller_id", user_id)
    latest.order_by_desc("number")
    latest.query()
    assert [(record.number, record.get_display_value("caller_id")) for record in latest] == [("INC0010001", "pysnc.caller")]
    latest = snc.GlideRecord("incident")
    assert latest.get(incident_id)
    latest.state = "6"
    latest.update()
    assert snc.GlideRecord("incident").get(incident_id)

    log = snc.GlideRecord("u_my_calling_log")
    log.initialize()
    log.u_caller, log.u_phone, log.u_direction = user_id, "+15550199", "in"
    log_id = log.insert()
    assert (log.u_number, log.get_display_value("u_direction"), log.get_display_value("u_caller")) == ("CLG0000001", "Inbound", "pysnc.caller")
    assert snc.GlideRecord("u_my_calling_log").get(log_id)
    gone = snc.GlideRecord("u_my_calling_log")
    assert gone.get(log_id) and gone.delete()


def test_pysnow_on_incident_customer_contact_and_a_u_table(server):
    client = pysnow.Client(host=f"127.0.0.1:{server.port}", session=session(server))
    incidents = client.resource(api_path="/table/incident")
    created = incidents.create(payload={"short_description": "from pysnow", "urgency": "2"}).one()
    assert (created["number"].startswith("INC"), created["priority"]) == (True, "4")
    updated = incidents.update(query={"sys_id": created["sys_id"]}, payload={"state": "7"})
    assert (updated["active"], updated["closed_at"] != "") == ("false", True)

    contacts = client.resource(api_path="/table/customer_contact")
    contacts.create(payload={"first_name": "Grace", "mobile_phone": "+15550123"})
    assert contacts.get(query={"mobile_phone": "+15550123"}).one()["name"] == "Grace"

    logs = client.resource(api_path="/table/u_my_calling_log")
    log = logs.create(payload={"u_phone": "+15550123", "u_duration": 12}).one()
    assert logs.get(query={"u_phone": "+15550123"}).one()["u_duration"] == "12"
    assert logs.delete(query={"sys_id": log["sys_id"]}) == {"status": "record deleted"}


def test_zeep_on_incident_do(server):
    transport = zeep.Transport(session=session(server), timeout=30, operation_timeout=30)
    service = zeep.Client(f"https://127.0.0.1:{server.port}/incident.do?WSDL", transport=transport).service
    created = service.insert(short_description="from zeep", impact="1", urgency="2")
    assert created.number.startswith("INC") and len(created.sys_id) == 32
    record = service.get(sys_id=created.sys_id)
    assert (record.short_description, record.priority, record.state, record.active) == ("from zeep", "2", "1", "true")
    assert service.update(sys_id=created.sys_id, state="6") == created.sys_id
    [found] = service.getRecords(number=created.number)
    assert found.resolved_at
    assert service.deleteRecord(sys_id=created.sys_id) == "1"
