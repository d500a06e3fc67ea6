"""zeep, strict as it is by default, against a real gunicorn: the WSDL
loads plain and with display values, every operation answers as the WSDL
declares, faults are raised as zeep's Fault."""
import pytest
import requests
import zeep
import zeep.exceptions
from conftest import CHANNEL, QUEUE
from gunicorn_server import serving

from app.models import ADMIN_SYS_ID

PASSWORD = "zeep-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("gunicorn"), PASSWORD) as gunicorn:
        yield f"http://127.0.0.1:{gunicorn.port}"


def transport(password=PASSWORD):
    session = requests.Session()
    session.auth = ("admin", password)
    return zeep.Transport(session=session, timeout=30, operation_timeout=30)


def client(server, query="WSDL"):
    return zeep.Client(f"{server}/interaction.do?{query}", transport=transport())


@pytest.fixture(scope="module")
def service(server):
    return client(server).service


def test_the_wsdl_loads_in_strict_mode(server):
    loaded = client(server)
    assert loaded.settings.strict
    assert sorted(loaded.service._binding._operations) == sorted(
        ["insert", "get", "getRecords", "getKeys", "update", "deleteRecord", "deleteMultiple"]
    )
    assert loaded.service._binding_options["address"] == f"{server}/interaction.do?SOAP"


def test_insert_get_update_and_delete(service):
    created = service.insert(channel=CHANNEL, queue=QUEUE, short_description="from zeep")
    assert created.number.startswith("IMS") and len(created.sys_id) == 32

    record = service.get(sys_id=created.sys_id)
    assert (record.channel, record.queue, record.state, record.opened_by) == (CHANNEL, QUEUE, "queued", ADMIN_SYS_ID)
    assert (record.short_description, record.sys_mod_count, record.number) == ("from zeep", 0, created.number)

    assert service.update(sys_id=created.sys_id, state="work_in_progress") == created.sys_id
    assert service.get(sys_id=created.sys_id).sys_mod_count == 1

    assert service.deleteRecord(sys_id=created.sys_id) == "1"
    assert service.deleteRecord(sys_id=created.sys_id) == "0"
    missing = service.get(sys_id=created.sys_id)
    assert missing.sys_id is None and missing.number is None


def test_get_records_and_get_keys(service):
    ids = [service.insert(channel="zeep-list", queue=f"q{n}").sys_id for n in range(3)]
    results = service.getRecords(channel="zeep-list", __order_by="queue")
    assert [r.queue for r in results] == ["q0", "q1", "q2"]
    assert [r.sys_id for r in results] == ids
    assert [r.queue for r in service.getRecords(channel="zeep-list", __order_by_desc="queue", __limit="2")] == [
        "q2",
        "q1",
    ]
    assert [
        r.channel for r in service.getRecords(__encoded_query="channel=zeep-list^queue=q1", __exclude_columns="queue")
    ] == ["zeep-list"]
    assert service.getRecords(channel="no such channel") == []

    keys = service.getKeys(channel="zeep-list", __order_by="queue")
    assert (keys.sys_id, keys.count) == ([",".join(ids)], "3")

    assert service.deleteMultiple(channel="zeep-list", queue="q1") == "1"
    assert service.getKeys(channel="zeep-list").count == "2"


def test_display_values_all(server):
    loaded = client(server, "displayvalue=all&WSDL")
    assert loaded.service._binding_options["address"] == f"{server}/interaction.do?SOAP&displayvalue=all"
    created = loaded.service.insert(channel=CHANNEL, opened_for="admin")
    record = loaded.service.get(sys_id=created.sys_id)
    assert (record.opened_by, record.dv_opened_by, record.opened_for, record.dv_opened_for) == (
        ADMIN_SYS_ID,
        "admin",
        ADMIN_SYS_ID,
        "admin",
    )
    assert (record.assigned_to, record.dv_assigned_to) == (None, None)
    (result,) = loaded.service.getRecords(sys_id=created.sys_id)
    assert result.dv_opened_by == "admin"


def test_display_values_true(server):
    loaded = client(server, "WSDL&displayvalue=true")
    created = loaded.service.insert(channel=CHANNEL)
    assert loaded.service.get(sys_id=created.sys_id).opened_by == "admin"


@pytest.mark.parametrize(
    "call, code, message",
    [
        (lambda s: s.update(sys_id="0" * 32, queue=QUEUE), "SOAP-ENV:Server",
         "com.glide.processors.soap.SOAPProcessingException: Update Aborted : missing record"),
        (lambda s: s.insert(channel="x" * 40), "SOAP-ENV:Server",
         "com.glide.processors.soap.SOAPProcessingException: Insert Aborted : channel: Longer than maximum length 32."),
        (lambda s: s.getRecords(__limit="many"), "SOAP-ENV:Client",
         "Invalid value for __limit: 'many' is not a non-negative integer"),
        (lambda s: s.deleteMultiple(), "SOAP-ENV:Client",
         "deleteMultiple needs at least one column to match: it never deletes the whole table"),
    ],
)  # fmt: skip
def test_faults_are_raised_as_zeeps_fault(service, call, code, message):
    with pytest.raises(zeep.exceptions.Fault) as raised:
        call(service)
    assert (raised.value.code, raised.value.message) == (code, message)


def test_without_credentials_the_wsdl_and_calls_are_401(server, service):
    with pytest.raises(requests.HTTPError) as raised:
        zeep.Client(f"{server}/interaction.do?WSDL", transport=zeep.Transport(timeout=30))
    assert raised.value.response.status_code == 401
    assert raised.value.response.headers["WWW-Authenticate"] == 'Basic realm="Service-now"'

    refused = zeep.Client(f"{server}/interaction.do?WSDL", transport=transport())
    refused.transport.session.auth = ("admin", "wrong")
    with pytest.raises(zeep.exceptions.TransportError) as raised:
        refused.service.getKeys()
    assert raised.value.status_code == 401


def test_a_streamed_body_over_10_mib_is_a_413_fault(server):
    def chunks():
        yield b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><getKeys>'
        for _ in range(11):
            yield b"<p/>" * (256 * 1024)
        yield b"</getKeys></e:Body></e:Envelope>"

    response = requests.post(f"{server}/interaction.do?SOAP", data=chunks(), auth=("admin", PASSWORD), timeout=30)
    assert response.status_code == 413
    assert b"<faultcode>SOAP-ENV:Client</faultcode>" in response.content
