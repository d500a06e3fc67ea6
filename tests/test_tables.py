"""The tables around an interaction over HTTP (TABLES.md): sys_user written
by admins, customer_contact, incident, interaction_related_record, references
between them, and tables of the user's own; in JSON and XML, on both
databases."""
import json

import pytest
from conftest import ADMIN_PASSWORD, CHANNEL, basic, failure

from app.models import ADMIN_SYS_ID, SysUser

CALLING_LOG = {
    "name": "u_my_calling_log",
    "label": "Calling log",
    "display": "u_number",
    "number": {"field": "u_number", "prefix": "CLG", "digits": 7},
    "fields": {
        "u_caller": {"type": "reference", "reference": "sys_user"},
        "u_phone": {"type": "string", "max_length": 40, "index": True},
        "u_direction": {"type": "choice", "choices": [{"value": "in", "label": "Inbound"}, "out"]},
        "u_duration": {"type": "integer", "default": 0},
        "u_answered": {"type": "boolean"},
        "u_started": {"type": "glide_date_time"},
    },
}
SYSTEM = ("sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count")


class Tables:
    """The Table API and /__stand_in/tables, as admin."""

    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def send(self, method, path, headers=None, **kwargs):
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)

    def insert(self, table, **values):
        response = self.send("POST", f"/api/now/table/{table}", json=values)
        assert response.status_code == 201, response.data
        return response.json["result"]

    def get(self, table, sys_id, **params):
        response = self.send("GET", f"/api/now/table/{table}/{sys_id}", query_string=params)
        assert response.status_code == 200, response.data
        return response.json["result"]

    def list(self, table, **params):
        response = self.send("GET", f"/api/now/table/{table}", query_string=params)
        assert response.status_code == 200, response.data
        return response.json["result"]

    def declare(self, declaration, status=201):
        # As written: the test client's json= would sort the fields.
        response = self.send("POST", "/__stand_in/tables", data=json.dumps(declaration), headers={"Content-Type": "application/json"})
        assert response.status_code == status, response.data
        return response.json["result"]


@pytest.fixture
def tables(client, admin_auth):
    return Tables(client, admin_auth)


def without_system_fields(record):
    return {name: value for name, value in record.items() if name not in SYSTEM}


# --- sys_user -------------------------------------------------------------------


def test_an_admin_creates_a_user_who_authenticates_at_once_and_never_sees_a_password(app, tables):
    user = tables.insert("sys_user", user_name="abel.tuter", first_name="Abel", last_name="Tuter",
                         email="abel@example.com", phone="+1 555 0100", user_password="abel-pw")  # fmt: skip
    assert without_system_fields(user) == {
        "sys_id": user["sys_id"],
        "user_name": "abel.tuter",
        "first_name": "Abel",
        "last_name": "Tuter",
        "name": "Abel Tuter",
        "email": "abel@example.com",
        "phone": "+1 555 0100",
        "mobile_phone": "",
        "title": "",
        "active": "true",
    }
    as_abel = basic("abel.tuter", "abel-pw")
    assert tables.client.get("/api/now/table/incident", headers=as_abel).status_code == 200
    # Not an admin: reads, never writes, sys_user.
    refused = tables.client.post("/api/now/table/sys_user", json={"user_name": "x"}, headers=as_abel)
    assert (refused.status_code, refused.json) == (403, failure("Operation Failed", "ACL restricts the record operation"))
    for params in ({}, {"sysparm_fields": "user_password,user_name"}, {"sysparm_display_value": "all"},
                   {"sysparm_query": "user_passwordISNOTEMPTY"}):  # fmt: skip
        response = tables.send("GET", "/api/now/table/sys_user", query_string=params)
        assert b"password" not in response.data and b"abel-pw" not in response.data
    assert len(tables.list("sys_user", sysparm_query="user_password=abel-pw")) == 2
    journal = tables.send("GET", "/__stand_in/requests", query_string={"path": "sys_user$", "method": "POST"}).json["result"]
    assert "abel-pw" not in journal[-1]["request"]["body"] and '"user_password": "***"' in journal[-1]["request"]["body"]


def test_a_new_password_and_a_deactivation_hold_at_once(tables):
    user = tables.insert("sys_user", user_name="bea", user_password="one")
    assert tables.client.get("/api/now/table/sys_user", headers=basic("bea", "one")).status_code == 200
    tables.send("PATCH", f"/api/now/table/sys_user/{user['sys_id']}", json={"user_password": "two"})
    assert tables.client.get("/api/now/table/sys_user", headers=basic("bea", "one")).status_code == 401
    assert tables.client.get("/api/now/table/sys_user", headers=basic("bea", "two")).status_code == 200
    tables.send("PUT", f"/api/now/table/sys_user/{user['sys_id']}", json={"active": False})
    assert tables.client.get("/api/now/table/sys_user", headers=basic("bea", "two")).status_code == 401


def test_a_user_without_a_password_cannot_log_in(tables):
    tables.insert("sys_user", user_name="nopass")
    assert tables.client.get("/api/now/table/sys_user", headers=basic("nopass", "")).status_code == 401


@pytest.mark.parametrize(
    "body, status, error",
    [
        ({"first_name": "No name"}, 400, failure("user_name: Missing data for required field.")),
        ({"user_name": ""}, 400, failure("user_name: Missing data for required field.")),
        ({"user_name": "a:b"}, 400, failure("user_name: Must not contain ':'.")),
        ({"user_name": "u" * 41}, 400, failure("user_name: Longer than maximum length 40.")),
        ({"user_name": "admin"}, 403, failure("Operation Failed", "Error during insert of sys_user (admin)")),
        ({"user_name": "x", "active": "maybe"}, 400, failure("active: Not a valid boolean: true or false.")),
    ],
)
def test_a_user_name_is_required_and_unique(tables, body, status, error):
    response = tables.send("POST", "/api/now/table/sys_user", json=body)
    assert (response.status_code, response.json) == (status, error)
    assert len(tables.list("sys_user")) == 1


def test_the_last_admin_cannot_be_deleted_nor_renamed_into_a_clash(app, tables):
    response = tables.send("DELETE", f"/api/now/table/sys_user/{ADMIN_SYS_ID}")
    assert (response.status_code, response.json) == (403, failure("Operation Failed", "The last admin cannot be deleted"))
    other = tables.insert("sys_user", user_name="other")
    response = tables.send("PATCH", f"/api/now/table/sys_user/{other['sys_id']}", json={"user_name": "admin"})
    assert (response.status_code, response.json) == (403, failure("Operation Failed", "Error during update of sys_user (admin)"))
    assert tables.send("DELETE", f"/api/now/table/sys_user/{other['sys_id']}").status_code == 204
    with app.app_context():
        assert [user.user_name for user in SysUser.select()] == ["admin"]


# --- incident -------------------------------------------------------------------


def test_an_incident_is_numbered_opened_and_prioritised(tables):
    caller = tables.insert("sys_user", user_name="caller", phone="555")
    first = tables.insert("incident", short_description="Printer on fire", caller_id=caller["sys_id"], priority="1")
    assert without_system_fields(first) == {
        "sys_id": first["sys_id"],
        "number": "INC0010001",
        "short_description": "Printer on fire",
        "description": "",
        "caller_id": {"link": f"http://localhost/api/now/table/sys_user/{caller['sys_id']}", "value": caller["sys_id"]},
        "opened_by": {"link": f"http://localhost/api/now/table/sys_user/{ADMIN_SYS_ID}", "value": ADMIN_SYS_ID},
        "assigned_to": "",
        "state": "1",
        "impact": "3",
        "urgency": "3",
        # Computed: a priority given is ignored.
        "priority": "5",
        "contact_type": "",
        "active": "true",
        "opened_at": first["sys_created_on"],
        "resolved_at": "",
        "closed_at": "",
        "close_code": "",
        "close_notes": "",
    }
    # A reference may be given by its display value: sys_user's is user_name.
    second = tables.insert("incident", caller_id="caller", impact="1", urgency="2", contact_type="phone")
    assert (second["number"], second["caller_id"]["value"], second["priority"]) == ("INC0010002", caller["sys_id"], "2")
    shown = tables.get("incident", second["sys_id"], sysparm_display_value="true", sysparm_exclude_reference_link="true",
                       sysparm_fields="number,state,impact,urgency,priority,contact_type,caller_id,caller_id.phone")  # fmt: skip
    assert shown == {"number": "INC0010002", "state": "New", "impact": "1 - High", "urgency": "2 - Medium",
                     "priority": "2 - High", "contact_type": "Phone", "caller_id": "caller", "caller_id.phone": "555"}  # fmt: skip


@pytest.mark.parametrize(
    "impact, urgency, priority",
    [("1", "1", "1"), ("1", "2", "2"), ("1", "3", "3"), ("2", "1", "2"), ("2", "2", "3"),
     ("2", "3", "4"), ("3", "1", "3"), ("3", "2", "4"), ("3", "3", "5")],
)  # fmt: skip
def test_priority_follows_impact_and_urgency_on_every_write(tables, impact, urgency, priority):
    incident = tables.insert("incident", short_description="x")
    response = tables.send("PATCH", f"/api/now/table/incident/{incident['sys_id']}", json={"impact": impact, "urgency": urgency})
    assert response.json["result"]["priority"] == priority


def test_an_incidents_state_sets_resolved_closed_and_active(tables):
    incident = tables.insert("incident", short_description="x")
    path = f"/api/now/table/incident/{incident['sys_id']}"

    def patched(**values):
        return tables.send("PATCH", path, json=values).json["result"]

    resolved = patched(state="6")
    assert (resolved["resolved_at"] != "", resolved["closed_at"], resolved["active"]) == (True, "", "true")
    closed = patched(state="7", close_code="Solved", close_notes="Rebooted")
    assert (closed["resolved_at"], closed["closed_at"] != "", closed["active"]) == (resolved["resolved_at"], True, "false")
    reopened = patched(state="2")
    assert (reopened["resolved_at"], reopened["closed_at"], reopened["active"]) == ("", "", "true")
    canceled = patched(state="8")
    assert (canceled["active"], canceled["closed_at"]) == ("false", "")
    assert len(tables.list("incident", active="true")) == 0


def test_an_incident_is_written_in_xml_too(tables):
    body = "<request><entry><short_description>From XML</short_description><urgency>1</urgency></entry></request>"
    response = tables.send("POST", "/api/now/table/incident", data=body,
                           headers={"Content-Type": "application/xml", "Accept": "application/xml"})  # fmt: skip
    assert response.status_code == 201
    assert b"<number>INC0010001</number>" in response.data and b"<priority>3</priority>" in response.data


# --- references and related records ------------------------------------------------


def test_a_related_record_renders_its_document_as_a_reference_and_goes_with_its_interaction(tables, api):
    interaction = api.created()
    incident = tables.insert("incident", short_description="x")
    related = tables.insert("interaction_related_record", interaction=interaction["sys_id"],
                            document_table="incident", document_id=incident["sys_id"])  # fmt: skip
    assert related["document_id"] == {"link": f"http://localhost/api/now/table/incident/{incident['sys_id']}", "value": incident["sys_id"]}
    shown = tables.get("interaction_related_record", related["sys_id"], sysparm_display_value="all",
                       sysparm_fields="interaction,document_table,document_id,interaction.state")  # fmt: skip
    assert shown == {
        "interaction": {"display_value": interaction["number"],
                        "link": f"http://localhost/api/now/table/interaction/{interaction['sys_id']}", "value": interaction["sys_id"]},
        "document_table": {"display_value": "incident", "value": "incident"},
        "document_id": {"display_value": "INC0010001",
                        "link": f"http://localhost/api/now/table/incident/{incident['sys_id']}", "value": incident["sys_id"]},
        "interaction.state": {"display_value": "new", "value": "new"},
    }  # fmt: skip
    unknown = tables.insert("interaction_related_record", document_table="u_nothing", document_id="0" * 32)
    assert tables.get("interaction_related_record", unknown["sys_id"], sysparm_display_value="true",
                      sysparm_fields="document_id", sysparm_exclude_reference_link="true") == {"document_id": ""}  # fmt: skip
    assert tables.send("DELETE", f"/api/now/table/interaction/{interaction['sys_id']}").status_code == 204
    assert [r["sys_id"] for r in tables.list("interaction_related_record")] == [unknown["sys_id"]]


def test_deleting_a_record_clears_the_references_to_it_in_every_table(tables, api):
    user = tables.insert("sys_user", user_name="leaving")
    incident = tables.insert("incident", caller_id=user["sys_id"], assigned_to=user["sys_id"])
    interaction = api.created(opened_for=user["sys_id"])
    tables.declare(CALLING_LOG)
    log = tables.insert("u_my_calling_log", u_caller="leaving")
    assert tables.send("DELETE", f"/api/now/table/sys_user/{user['sys_id']}").status_code == 204
    fields = "caller_id,assigned_to,opened_by"
    assert tables.get("incident", incident["sys_id"], sysparm_fields=fields) == {
        "caller_id": "", "assigned_to": "",
        "opened_by": {"link": f"http://localhost/api/now/table/sys_user/{ADMIN_SYS_ID}", "value": ADMIN_SYS_ID},
    }  # fmt: skip
    assert tables.get("interaction", interaction["sys_id"], sysparm_fields="opened_for") == {"opened_for": ""}
    assert tables.get("u_my_calling_log", log["sys_id"], sysparm_fields="u_caller") == {"u_caller": ""}


def test_a_contact_shows_by_its_name(tables):
    contact = tables.insert("customer_contact", first_name="Ada", last_name="Lovelace", mobile_phone="+44 20 7946 0000", account="ACME")
    assert (contact["name"], contact["active"], contact["account"]) == ("Ada Lovelace", "true", "ACME")
    incident = tables.insert("incident")
    related = tables.insert("interaction_related_record", document_table="customer_contact", document_id=contact["sys_id"])
    shown = tables.get("interaction_related_record", related["sys_id"], sysparm_display_value="true", sysparm_fields="document_id")
    assert shown["document_id"]["display_value"] == "Ada Lovelace"
    assert incident["number"] == "INC0010001"


# --- the integrations' calls, as they send them ---------------------------------------


def test_the_integrations_calls(client, admin_auth, api):
    """Amazon Connect's, Webex Contact Center's and Genesys Cloud's calls,
    byte for byte as their code sends them."""
    send = lambda method, path, **kwargs: client.open(path, method=method, headers=admin_auth, **kwargs)  # noqa: E731
    user = send("POST", "/api/now/table/sys_user", json={"user_name": "caller", "mobile_phone": "+15550100"}).json["result"]
    send("POST", "/api/now/table/customer_contact", json={"first_name": "Ada", "phone": "0044 20 7946 0000"})
    found = send("GET", "/api/now/table/sys_user?sysparm_query=phone%3D%2B15550100^ORmobile_phone%3D%2B15550100"
                        "&sysparm_fields=user_name,sys_id&sysparm_limit=1")  # fmt: skip
    assert (found.status_code, found.json) == (200, {"result": [{"user_name": "caller", "sys_id": user["sys_id"]}]})
    assert found.headers["X-Total-Count"] == "1"
    like = send("GET", "/api/now/v2/table/customer_contact?sysparm_query=phoneLIKE7946^ORmobile_phoneLIKE7946"
                       "&sysparm_fields=mobile_phone,phone&sysparm_limit=10")  # fmt: skip
    assert like.json == {"result": [{"mobile_phone": "", "phone": "0044 20 7946 0000"}]}
    by_phone = send("GET", "/api/now/table/sys_user?mobile_phone=%2B15550100&sysparm_fields=user_name")
    assert by_phone.json == {"result": [{"user_name": "caller"}]}
    for text in ("first", "second"):
        created = send("POST", "/api/now/table/incident", json={"short_description": text, "caller_id": user["sys_id"]})
        assert created.status_code == 201
    latest = send("GET", f"/api/now/table/incident?sysparm_query=caller_id%3D{user['sys_id']}^ORDERBYDESCnumber"
                         "&sysparm_fields=number,state&sysparm_limit=1")  # fmt: skip
    assert latest.json == {"result": [{"number": "INC0010002", "state": "1"}]}
    by_caller = send("GET", f"/api/now/table/incident?caller_id={user['sys_id']}&sysparm_fields=number").json["result"]
    assert sorted(record["number"] for record in by_caller) == ["INC0010001", "INC0010002"]
    interaction = api.created()
    linked = send("POST", "/api/now/table/interaction_related_record",
                  json={"interaction": interaction["sys_id"], "document_table": "incident", "document_id": created.json["result"]["sys_id"]})  # fmt: skip
    assert linked.status_code == 201
    send("POST", "/__stand_in/tables", json=CALLING_LOG)
    log = send("POST", "/api/now/table/u_my_calling_log", json={"u_caller": user["sys_id"], "u_phone": "+15550100", "u_direction": "in"})
    assert (log.status_code, log.json["result"]["u_number"]) == (201, "CLG0000001")
    put = send("PUT", f"/api/now/table/u_my_calling_log/{log.json['result']['sys_id']}", json={"u_duration": 42, "u_answered": True})
    assert (put.json["result"]["u_duration"], put.json["result"]["u_answered"]) == ("42", "true")
    got = send("GET", "/api/now/table/u_my_calling_log?sysparm_query=u_phone%3D%2B15550100&sysparm_display_value=true"
                      "&sysparm_fields=u_number,u_caller.user_name,u_direction")  # fmt: skip
    assert got.json == {"result": [{"u_number": "CLG0000001", "u_caller.user_name": "caller", "u_direction": "Inbound"}]}


# --- tables of the user's own ----------------------------------------------------------


def test_a_declared_table_is_served_like_a_built_in_one(tables):
    declared = tables.declare(CALLING_LOG)
    assert declared["name"] == "u_my_calling_log" and declared["builtin"] is False
    assert list(declared["fields"]) == ["sys_id", "u_number", *CALLING_LOG["fields"], *SYSTEM]
    assert tables.send("GET", "/__stand_in/tables/u_my_calling_log").json["result"] == declared
    names = [table["name"] for table in tables.send("GET", "/__stand_in/tables").json["result"]]
    assert names == ["interaction", "interaction_json_blob", "live_group_profile", "sys_user", "customer_contact",
                     "incident", "interaction_related_record", "u_my_calling_log"]  # fmt: skip
    record = tables.insert("u_my_calling_log", u_phone="555", u_started="2026-12-04 10:00:00", u_ignored="x", u_number="MINE")
    assert without_system_fields(record) == {
        "sys_id": record["sys_id"], "u_number": "CLG0000001", "u_caller": "", "u_phone": "555", "u_direction": "",
        "u_duration": "0", "u_answered": "false", "u_started": "2026-12-04 10:00:00",
    }  # fmt: skip
    assert tables.list("u_my_calling_log", sysparm_query="u_duration<1^u_answered=false", sysparm_fields="u_number") == [
        {"u_number": "CLG0000001"}
    ]
    assert tables.list("u_my_calling_log", sysparm_query="u_started>2026-12-01", sysparm_fields="u_number") == [{"u_number": "CLG0000001"}]
    assert tables.send("GET", "/api/now/table/u_nothing").json == failure("Invalid table u_nothing")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"u_duration": "ten"}, "u_duration: Not a valid integer."),
        ({"u_duration": 1.5}, "u_duration: Not a valid integer."),
        ({"u_answered": "perhaps"}, "u_answered: Not a valid boolean: true or false."),
        ({"u_started": "yesterday"}, "u_started: Not a valid date-time: YYYY-MM-DD HH:MM:SS."),
        ({"u_phone": "5" * 41}, "u_phone: Longer than maximum length 40."),
        ({"u_phone": "a\x00b"}, "u_phone: Must not contain control characters."),
        ({"u_caller": "nobody-by-that-name-at-all-anywhere"}, "u_caller: Longer than maximum length 32."),
    ],
)
def test_a_value_that_breaks_a_declared_tables_rules_is_a_400(tables, values, message):
    tables.declare(CALLING_LOG)
    response = tables.send("POST", "/api/now/table/u_my_calling_log", json=values)
    assert (response.status_code, response.json) == (400, failure(message))


def test_a_later_declaration_adds_fields_keeping_the_records(tables):
    tables.declare(CALLING_LOG)
    kept = tables.insert("u_my_calling_log", u_phone="555")
    added = tables.declare({"name": "u_my_calling_log", "fields": {"u_notes": {"type": "string", "max_length": 4000, "default": "-"}}}, 200)
    assert list(added["fields"])[-6:] == ["u_notes", *SYSTEM]
    assert tables.get("u_my_calling_log", kept["sys_id"], sysparm_fields="u_phone,u_notes") == {"u_phone": "555", "u_notes": "-"}
    response = tables.send("POST", "/__stand_in/tables", json={"name": "u_my_calling_log", "fields": {"u_phone": {"type": "integer"}}})
    assert (response.status_code, response.json) == (
        409, failure("Conflict", "Field u_phone of u_my_calling_log is of type string: it cannot become integer.")
    )  # fmt: skip
    response = tables.send("POST", "/__stand_in/tables", json={"name": "incident", "fields": {}})
    assert (response.status_code, response.json) == (409, failure("Conflict", "Table incident is built in: it cannot be declared."))


@pytest.mark.parametrize(
    "body, message",
    [
        (b"[1]", None),
        (b"not json", None),
        (json.dumps({"name": "u_x", "fields": {"a": {"type": "blob"}}}).encode(),
         "Invalid declaration: fields.a.type: Must be one of: string, integer, boolean, glide_date_time, choice, reference, table_name, document_id."),
        (json.dumps({"name": "u_x", "fields": {f"f{n}": {"type": "string"} for n in range(5000)}}).encode(),
         "Invalid declaration: fields: At most 200 fields, not 5000."),
        (json.dumps({"name": "u_\u202ex", "fields": {}}).encode(), "Invalid declaration: name: Must not contain control characters."),
        (json.dumps({"name": "u_x", "fields": {"a\r\n": {"type": "string"}}}).encode(),
         "Invalid declaration: fields: 'a\\r\\n' is no field name: up to 63 of a-z, 0-9 and _, starting with a letter."),
        (json.dumps({"name": "u_x", "fields": {"u_r": {"type": "reference", "reference": "u_missing"}}}).encode(),
         "Invalid declaration: fields.u_r.reference: There is no table u_missing."),
        (json.dumps({"name": "u_x", "fields": {"u_r": {"type": "string", "max_length": 10**9}}}).encode(),
         "Invalid declaration: fields.u_r.max_length: Must be greater than or equal to 1 and less than or equal to 65536."),
    ],
)  # fmt: skip
def test_a_hostile_declaration_is_a_400_in_the_envelope_and_creates_nothing(app, tables, body, message):
    response = tables.send("POST", "/__stand_in/tables", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["status"] == "failure"
    if message:
        assert response.json["error"]["message"] == message
    assert len(tables.send("GET", "/__stand_in/tables").json["result"]) == 7
    with app.app_context():
        from app.db import database

        assert not database.table_exists("u_x")


def test_a_table_may_reference_itself_and_another_declared_one(tables):
    tables.declare({"name": "x_acme_team", "display": "u_name", "fields": {"u_name": {"type": "string"},
                    "u_parent": {"type": "reference", "reference": "x_acme_team"}}})  # fmt: skip
    tables.declare({"name": "x_acme_agent", "fields": {"u_team": {"type": "reference", "reference": "x_acme_team"}}})
    parent = tables.insert("x_acme_team", u_name="Support")
    child = tables.insert("x_acme_team", u_name="Tier 2", u_parent="Support")
    agent = tables.insert("x_acme_agent", u_team="Tier 2")
    shown = tables.get("x_acme_agent", agent["sys_id"], sysparm_display_value="true", sysparm_fields="u_team,u_team.u_parent")
    assert shown == {"u_team": {"display_value": "Tier 2", "link": f"http://localhost/api/now/table/x_acme_team/{child['sys_id']}"},
                     "u_team.u_parent": parent["sys_id"]}  # fmt: skip
    assert len(tables.list("x_acme_agent", sysparm_query="u_team.u_name=Tier 2")) == 1


# --- test support on every table -------------------------------------------------------


def test_seed_snapshot_restore_and_reset_take_every_table_and_the_declarations(tables):
    tables.declare(CALLING_LOG)
    seeded = tables.send("POST", "/__stand_in/seed", json={"records": {
        "incident": [{"number": "INC0010041", "short_description": "Seeded"}, {"short_description": "Next"}],
        "u_my_calling_log": [{"sys_id": "a" * 32, "u_phone": "555"}],
    }})  # fmt: skip
    assert seeded.status_code == 201, seeded.data
    assert seeded.json["result"]["records"]["u_my_calling_log"] == ["a" * 32]
    assert [r["number"] for r in tables.list("incident", sysparm_query="ORDERBYnumber")] == ["INC0010041", "INC0010042"]
    clash = tables.send("POST", "/__stand_in/seed", json={"records": {"incident": [{"number": "INC0010041"}]}})
    assert (clash.status_code, clash.json) == (409, failure("Conflict", "Nothing was created: incident number INC0010041 exists"))
    unknown = tables.send("POST", "/__stand_in/seed", json={"records": {"u_nothing": [{}]}})
    assert (unknown.status_code, unknown.json) == (400, failure("records.u_nothing: Invalid table u_nothing"))

    snapshot = tables.send("GET", "/__stand_in/snapshot").json
    assert [d["name"] for d in snapshot["declarations"]] == ["u_my_calling_log"]
    assert len(snapshot["tables"]["incident"]) == 2 and len(snapshot["tables"]["u_my_calling_log"]) == 1

    reset = tables.send("POST", "/__stand_in/reset").json["result"]["deleted"]
    assert (reset["incident"], reset["u_my_calling_log"]) == (2, 1)
    assert tables.insert("incident")["number"] == "INC0010001"
    assert tables.insert("u_my_calling_log")["u_number"] == "CLG0000001"

    everything = tables.send("POST", "/__stand_in/reset", json={"scope": "all"}).json["result"]["deleted"]
    assert everything["declared tables"] == 1
    assert tables.send("GET", "/api/now/table/u_my_calling_log").status_code == 400

    restored = tables.send("POST", "/__stand_in/snapshot", json=snapshot)
    assert restored.status_code == 200, restored.data
    assert restored.json["result"]["restored"]["u_my_calling_log"] == 1
    assert tables.send("GET", "/__stand_in/snapshot").json == snapshot
    assert tables.insert("incident")["number"] == "INC0010043"


def test_an_older_snapshot_still_restores_and_empties_the_tables_it_did_not_hold(tables):
    tables.insert("incident")
    older = {"format": 1, "users": [], "tables": {"interaction": [], "interaction_json_blob": [], "live_group_profile": []}}
    restored = tables.send("POST", "/__stand_in/snapshot", json=older)
    assert restored.status_code == 200, restored.data
    assert tables.list("incident") == []
    bad = tables.send("POST", "/__stand_in/snapshot", json={**older, "tables": {**older["tables"], "u_nothing": []}})
    assert (bad.status_code, bad.json) == (400, failure("tables.u_nothing: No such table."))


def test_a_tables_file_declares_at_start_and_a_bad_one_stops_it(make_app, tmp_path, admin_auth):
    path = tmp_path / "tables.json"
    path.write_text(json.dumps({"tables": [CALLING_LOG, {"name": "u_other", "fields": {"u_a": {"type": "string"}}}]}))
    app = make_app(TABLES_FILE=str(path))
    response = app.test_client().post("/api/now/table/u_my_calling_log", json={}, headers=admin_auth)
    assert (response.status_code, response.json["result"]["u_number"]) == (201, "CLG0000001")
    # Declared again at the next start: nothing lost.
    restarted = make_app(TABLES_FILE=str(path)).test_client()
    assert len(restarted.get("/api/now/table/u_my_calling_log", headers=admin_auth).json["result"]) == 1
    path.write_text(json.dumps({"name": "u_bad", "fields": {"x": {"type": "blob"}}}))
    with pytest.raises(RuntimeError, match=r"TABLES_FILE .*tables.json: fields.x.type: Must be one of"):
        make_app(TABLES_FILE=str(path))


def test_soap_serves_every_table(tables):
    envelope = ('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body>'
                "<insert><short_description>By SOAP</short_description><impact>1</impact><urgency>1</urgency></insert>"
                "</SOAP-ENV:Body></SOAP-ENV:Envelope>")  # fmt: skip
    response = tables.send("POST", "/incident.do?SOAP", data=envelope)
    assert response.status_code == 200, response.data
    assert b"<number>INC0010001</number>" in response.data and b"http://www.service-now.com/incident" in response.data
    assert tables.list("incident", sysparm_fields="priority") == [{"priority": "1"}]
    wsdl = tables.send("GET", "/sys_user.do?WSDL").data
    assert b'name="user_password"' in wsdl and b'name="ServiceNow_sys_user"' in wsdl
    tables.declare(CALLING_LOG)
    wsdl = tables.send("GET", "/u_my_calling_log.do?WSDL&displayvalue=all").data
    assert b'name="dv_u_caller"' in wsdl and b'name="u_number"' in wsdl


def test_the_openapi_document_lists_the_tables_as_they_stand(tables):
    tables.client.get("/api/now/doc/openapi.json")
    tables.declare(CALLING_LOG)
    document = tables.client.get("/api/now/doc/openapi.json").json
    assert "u_my_calling_log" in document["paths"]["/api/now/table/{table_name}"]["get"]["parameters"][0]["schema"]["enum"]
    assert "UMyCallingLogWrite" in document["components"]["schemas"]


def test_admin_password_is_unchanged_by_the_table_apis_writes(client, admin_auth):
    response = client.patch(f"/api/now/table/sys_user/{ADMIN_SYS_ID}", json={"title": "Boss"}, headers=admin_auth)
    assert response.json["result"]["title"] == "Boss"
    assert client.get("/api/now/table/sys_user", headers=basic("admin", ADMIN_PASSWORD)).status_code == 200
    assert CHANNEL


def test_a_database_made_before_the_tables_keeps_its_records_and_serves_them_all(make_app, admin_auth):
    first = make_app()
    client = first.test_client()
    interaction = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth).json["result"]
    with first.app_context():
        from app.db import database

        # As today's main made it: no new tables, no new columns or indexes.
        for table in ("incident", "customer_contact", "interaction_related_record", "stand_in_table"):
            database.execute_sql(f'DROP TABLE "{table}"')
        database.execute_sql("DELETE FROM sys_number_counter WHERE category <> 'interaction'")
        database.execute_sql("DELETE FROM sys_table_count WHERE name NOT IN ('interaction', 'interaction_json_blob', 'live_group_profile')")
        for column in ("phone", "mobile_phone"):
            database.execute_sql(f'DROP INDEX "sys_user_{column}"')
        for column in ("first_name", "last_name", "name", "email", "phone", "mobile_phone", "title"):
            database.execute_sql(f'ALTER TABLE sys_user DROP COLUMN "{column}"')
        database.execute_sql("ALTER TABLE stand_in_state DROP COLUMN tables")
        database.close()
    upgraded = make_app().test_client()
    send = lambda method, path, **kwargs: upgraded.open(path, method=method, headers=admin_auth, **kwargs)  # noqa: E731
    assert send("GET", f"/api/now/table/interaction/{interaction['sys_id']}").json["result"]["number"] == interaction["number"]
    assert send("GET", f"/api/now/table/sys_user/{ADMIN_SYS_ID}", query_string={"sysparm_fields": "user_name,phone"}).json["result"] == {
        "user_name": "admin", "phone": ""
    }  # fmt: skip
    send("PATCH", f"/api/now/table/sys_user/{ADMIN_SYS_ID}", json={"phone": "555"})
    assert send("GET", "/api/now/table/sys_user", query_string={"phone": "555", "sysparm_fields": "user_name"}).json["result"] == [{"user_name": "admin"}]
    assert send("POST", "/api/now/table/incident", json={"caller_id": "admin"}).json["result"]["number"] == "INC0010001"
    assert send("POST", "/__stand_in/tables", json=CALLING_LOG).status_code == 201
    assert send("GET", "/api/now/table/incident").headers["X-Total-Count"] == "1"


# --- the console ------------------------------------------------------------------------


def test_the_console_lists_every_table_and_its_records_with_an_encoded_query(tables):
    tables.declare(CALLING_LOG)
    tables.insert("u_my_calling_log", u_phone="<script>alert(1)</script>", u_direction="in")
    tables.insert("u_my_calling_log", u_phone="555", u_direction="out")
    listing = tables.send("GET", "/__stand_in/console/tables")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    for name in ("interaction", "sys_user", "customer_contact", "incident", "interaction_related_record", "u_my_calling_log"):
        assert f'href="/__stand_in/console/tables/{name}"' in page
    records = tables.send("GET", "/__stand_in/console/tables/u_my_calling_log", query_string={"query": "u_direction=in"})
    text = records.get_data(as_text=True)
    assert records.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text and ">Inbound<" in text
    assert "CLG0000001" in text and "CLG0000002" not in text
    bad = tables.send("GET", "/__stand_in/console/tables/u_my_calling_log", query_string={"query": "u_duration=ten"})
    assert bad.status_code == 400 and "&#39;ten&#39; is not an integer" in bad.get_data(as_text=True)
    assert tables.send("GET", "/__stand_in/console/tables/u_nothing").status_code == 404
