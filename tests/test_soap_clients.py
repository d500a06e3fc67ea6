"""Envelopes as other clients send them, kept as files in tests/soap/:
each request file, posted with its client's headers, gets the answer in
the response file beside it ({name} stands for a value of the record)."""
import pytest
from conftest import CHANNEL, QUEUE
from soap_envelopes import FILES, SOAP_CONTENT_TYPE, answer, canonical

from app import users
from app.models import ADMIN_SYS_ID
from app.records import catalog as fields
from app.records import store
from app.records.query import Caller

AGENT_SYS_ID = "a1" * 16


@pytest.fixture
def record(app, client, admin_auth):
    """One interaction, IMS0000001, opened for agent.smith; its values as
    the Table API reads them."""
    with app.app_context():
        users.add("agent.smith", "agent-secret", sys_id=AGENT_SYS_ID)
        values = {"channel": CHANNEL, "queue": QUEUE, "short_description": "Café ☕ & more", "opened_for": AGENT_SYS_ID}
        sys_id = store.insert(fields.INTERACTION, values, Caller(ADMIN_SYS_ID, "admin"))
    return client.get(
        f"/api/now/table/interaction/{sys_id}?sysparm_exclude_reference_link=true", headers=admin_auth
    ).json["result"]


def read(name, values):
    text = (FILES / name).read_bytes()
    for key, value in values.items():
        text = text.replace(f"{{{key}}}".encode(), value.encode())
    return text


def exchange(client, admin_auth, name, values, query="SOAP", **headers):
    response = client.post(
        f"/interaction.do?{query}", data=read(f"{name}.request.xml", values), headers={**admin_auth, **headers}
    )
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == SOAP_CONTENT_TYPE
    return response


def assert_answer(response, name, values):
    assert canonical(response.data) == canonical(read(f"{name}.response.xml", values))


def test_soap_lite_insert(client, admin_auth, record):
    """SOAP::Lite with ->uri(): a prefixed operation, SOAP encoding, xsi:type."""
    response = exchange(
        client,
        admin_auth,
        "soap_lite_insert",
        {},
        **{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://www.service-now.com/interaction#insert"'},
    )
    sys_id = dict(answer(response))["sys_id"]
    assert_answer(response, "soap_lite_insert", {"sys_id": sys_id})
    created = client.get(
        f"/api/now/table/interaction/{sys_id}?sysparm_exclude_reference_link=true", headers=admin_auth
    ).json["result"]
    assert (created["short_description"], created["opened_for"], created["state"]) == (
        "From Perl & SOAP::Lite",
        AGENT_SYS_ID,
        "queued",
    )


def test_servicenow_soap_get_records(client, admin_auth, record):
    """ServiceNow::SOAP: the operation in http://www.glidesoft.com/ as the
    default namespace (its children qualified), xsi:type on each, display
    values asked for before SOAP in the query string."""
    response = exchange(
        client,
        admin_auth,
        "servicenow_soap_get_records",
        {},
        query="displayvalue=all&SOAP",
        **{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://www.glidesoft.com/#getRecords"'},
    )
    assert_answer(response, "servicenow_soap_get_records", record)


def test_a_bare_envelope_without_any_header(client, admin_auth, record):
    """No XML declaration, no prefix, no Content-Type, no SOAPAction."""
    response = exchange(client, admin_auth, "bare_get_keys", {})
    assert "Content-Type" not in response.request.headers
    assert_answer(response, "bare_get_keys", record)


def test_a_dotnet_envelope_with_qualified_children(client, admin_auth, record):
    """.NET style: a byte order mark, a Header, indentation, every child
    qualified with the operation's prefix."""
    assert (FILES / "dotnet_update.request.xml").read_bytes().startswith(b"\xef\xbb\xbf")
    response = exchange(
        client,
        admin_auth,
        "dotnet_update",
        record,
        **{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://www.service-now.com/interaction/update"'},
    )
    assert_answer(response, "dotnet_update", record)
    updated = client.get(f"/api/now/table/interaction/{record['sys_id']}", headers=admin_auth).json["result"]
    assert (updated["assigned_to"]["value"], updated["state"], updated["sys_mod_count"]) == (
        AGENT_SYS_ID,
        "work_in_progress",
        "1",
    )
