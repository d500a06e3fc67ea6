"""Existing ServiceNow client libraries work unchanged against a real
gunicorn serving the service."""
import pysnow
import pytest
import requests
from conftest import CHANNEL, QUEUE
from gunicorn_server import serving

PASSWORD = "pysnow-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("gunicorn"), PASSWORD) as gunicorn:
        yield f"127.0.0.1:{gunicorn.port}"


@pytest.fixture
def interactions(server):
    client = pysnow.Client(host=server, user="admin", password=PASSWORD, use_ssl=False)
    return client.resource(api_path="/interaction")


def test_pysnow_creates_and_closes(interactions):
    created = interactions.create(payload={"channel": CHANNEL, "queue": QUEUE}).one()
    assert (created["channel"], created["queue"], created["state"]) == (CHANNEL, QUEUE, "queued")
    assert created["number"].startswith("IMS")

    closed = interactions.request("POST", path_append=f"/{created['sys_id']}/close").one()
    assert closed["state"] == "closed_complete"
    assert closed["closed_by"] == "6816f79cc0a8016401c5a33be04be441"
    assert closed["sys_id"] == created["sys_id"]


def test_pysnow_updates_through_the_create_route(interactions):
    created = interactions.create(payload={"channel": CHANNEL}).one()
    updated = interactions.create(payload={"sys_id": created["sys_id"], "queue": QUEUE}).one()
    assert (updated["sys_id"], updated["state"]) == (created["sys_id"], "queued")


def error_of(raised):
    """pysnow lets requests raise on a 4xx, as it does against ServiceNow."""
    return raised.value.response.status_code, raised.value.response.json()["error"]


def test_pysnow_sees_our_errors(interactions):
    with pytest.raises(requests.HTTPError) as raised:
        interactions.request("POST", path_append="/0123456789abcdef0123456789abcdef/close").one()
    assert error_of(raised) == (
        404,
        {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"},
    )

    with pytest.raises(requests.HTTPError) as raised:
        interactions.create(payload={"queue": QUEUE}).one()
    assert error_of(raised) == (400, {"message": "channel: Missing data for required field.", "detail": None})


def test_pysnow_with_a_wrong_password_is_refused(server):
    client = pysnow.Client(host=server, user="admin", password="wrong", use_ssl=False)
    with pytest.raises(requests.HTTPError) as raised:
        client.resource(api_path="/interaction").create(payload={"channel": CHANNEL}).one()
    assert error_of(raised) == (401, {"message": "User Not Authenticated", "detail": "Required to provide Auth information"})


def test_xml_over_the_wire(server):
    response = requests.post(
        f"http://{server}/api/now/interaction",
        data=f"<request><entry><channel>{CHANNEL}</channel></entry></request>",
        headers={"Content-Type": "application/xml", "Accept": "application/xml"},
        auth=("admin", PASSWORD),
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><channel>')
