"""PySNC (ServiceNow's own Python client) and pysnow read back and change
records through the Table API of a real gunicorn over TLS, unchanged."""
from datetime import datetime

import pysnow
import pytest
from conftest import CHANNEL, QUEUE
from gunicorn_server import https_session, serving, tls
from pysnc import ServiceNowClient

PASSWORD = "table-clients-secret"
ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("table-clients")
    certificate, options = tls(directory)
    with serving(directory, PASSWORD, **options) as gunicorn:
        yield f"127.0.0.1:{gunicorn.port}", certificate


def session(certificate):
    return https_session(certificate, PASSWORD)


@pytest.fixture(scope="module")
def made(server):
    """Twelve interactions made through the Interaction API: numbers 1 to 12."""
    host, certificate = server
    http = session(certificate)
    records = []
    for n in range(12):
        body = {"channel": CHANNEL, "queue": QUEUE if n % 3 == 0 else ""}
        response = http.post(f"https://{host}/api/now/interaction", json=body, timeout=10)
        assert response.status_code == 201
        records.append(response.json()["result"])
    return records


@pytest.fixture
def snc(server, made):
    host, certificate = server
    return ServiceNowClient(f"https://{host}", session(certificate))


def test_pysnc_gets_by_sys_id_and_by_number(snc, made):
    gr = snc.GlideRecord("interaction")
    assert gr.get(made[4]["sys_id"])
    assert (gr.number, gr.state, gr.channel) == ("IMS0000005", "new", CHANNEL)
    assert gr.get_display_value("opened_by") == "admin"
    assert gr.opened_by == ADMIN_SYS_ID

    gr = snc.GlideRecord("interaction")
    assert gr.get("number", "IMS0000004")
    assert (gr.sys_id, gr.state, gr.get_display_value("state")) == (made[3]["sys_id"], "queued", "Queued")

    assert not snc.GlideRecord("interaction").get("0" * 32)
    assert not snc.GlideRecord("interaction").get("number", "IMS9999999")


def test_pysnc_queries_with_add_query_and_encoded_queries(snc, made):
    gr = snc.GlideRecord("interaction")
    gr.add_query("state", "queued")
    gr.add_query("number", ">", "IMS0000003")
    gr.order_by_desc("number")
    gr.query()
    assert len(gr) == 3
    assert [record.number for record in gr] == ["IMS0000010", "IMS0000007", "IMS0000004"]

    gr = snc.GlideRecord("interaction")
    gr.add_encoded_query("numberINIMS0000002,IMS0000003^ORnumber=IMS0000012")
    gr.add_null_query("closed_at")
    gr.order_by("number")
    gr.query()
    assert [record.number for record in gr] == ["IMS0000002", "IMS0000003", "IMS0000012"]


def test_pysnc_iterates_over_more_rows_than_one_batch(server, made):
    host, certificate = server
    snc = ServiceNowClient(f"https://{host}", session(certificate))
    gr = snc.GlideRecord("interaction", batch_size=5)
    gr.fields = "sys_id,number"
    gr.query()
    assert len(gr) == 12
    seen = [record.number for record in gr]
    assert sorted(seen) == [f"IMS{n:07d}" for n in range(1, 13)]
    assert len(set(seen)) == 12


def test_pysnc_inserts_updates_and_deletes(snc):
    gr = snc.GlideRecord("interaction")
    gr.initialize()
    gr.short_description = "Printer on fire"
    gr.queue = QUEUE
    sys_id = gr.insert()
    assert sys_id
    assert (gr.number, gr.state, gr.get_display_value("state")) == ("IMS0000013", "queued", "Queued")

    found = snc.GlideRecord("interaction")
    assert found.get(sys_id)
    found.short_description = "Printer still on fire"
    found.opened_for = "admin"
    assert found.update() == sys_id

    again = snc.GlideRecord("interaction")
    assert again.get(sys_id)
    assert (again.short_description, again.opened_for, again.sys_mod_count) == ("Printer still on fire", ADMIN_SYS_ID, "1")
    assert again.delete()
    assert not snc.GlideRecord("interaction").get(sys_id)


def test_pysnc_reads_users(snc):
    gr = snc.GlideRecord("sys_user")
    assert gr.get("user_name", "admin")
    assert (gr.sys_id, gr.active) == (ADMIN_SYS_ID, "true")


@pytest.fixture
def table(server, made):
    host, certificate = server
    client = pysnow.Client(host=host, session=session(certificate))
    return client.resource(api_path="/table/interaction")


def test_pysnow_gets_with_a_dict_and_one(table, made):
    record = table.get(query={"number": "IMS0000002"}).one()
    assert (record["sys_id"], record["state"]) == (made[1]["sys_id"], "new")


def test_pysnow_gets_with_a_query_builder(table, made):
    query = (
        pysnow.QueryBuilder()
        .field("state").equals("queued")
        .AND().field("opened_at").between(pysnow_datetime("2000-01-01 00:00:00"), pysnow_datetime("2100-01-01 00:00:00"))
        .AND().field("number").order_descending()
    )
    numbers = [record["number"] for record in table.get(query=query, limit=2, offset=1).all()]
    assert numbers == ["IMS0000007", "IMS0000004"]


def pysnow_datetime(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def test_pysnow_updates_and_deletes(table):
    created = table.create(payload={"short_description": "from pysnow", "queue": QUEUE}).one()
    assert (created["state"], created["short_description"]) == ("queued", "from pysnow")

    updated = table.update(query={"sys_id": created["sys_id"]}, payload={"short_description": "changed"})
    assert (updated["sys_id"], updated["short_description"], updated["sys_mod_count"]) == (created["sys_id"], "changed", "1")

    assert table.delete(query={"sys_id": created["sys_id"]}) == {"status": "record deleted"}
    assert table.get(query={"sys_id": created["sys_id"]}).one_or_none() is None


def test_a_query_of_200_sys_ids_fits_in_the_request_line(server, made):
    host, certificate = server
    sys_ids = [record["sys_id"] for record in made] + [f"{n:032x}" for n in range(188)]
    response = session(certificate).get(
        f"https://{host}/api/now/table/interaction",
        params={"sysparm_query": "sys_idIN" + ",".join(sys_ids), "sysparm_fields": "number"},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(response.url) > 6600
    assert len(response.json()["result"]) == 12
