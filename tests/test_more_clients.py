"""PySNC and pysnow against a real gunicorn over TLS: what they send to the
Batch, Attachment and Aggregate APIs (MORE_APIS.md §4), unchanged."""
import os

import pysnow
import pytest
from gunicorn_server import https_session, serving, tls
from pysnc import ServiceNowClient

PASSWORD = "more-clients-secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("more-clients")
    certificate, options = tls(directory)
    with serving(directory, PASSWORD, **options) as gunicorn:
        yield f"https://127.0.0.1:{gunicorn.port}", certificate


def session(certificate):
    return https_session(certificate, PASSWORD)


@pytest.fixture
def http(server):
    base, certificate = server
    http = session(certificate)
    assert http.post(f"{base}/__stand_in/reset", json={}, timeout=30).status_code == 200
    return http


@pytest.fixture
def snc(server, http):
    base, certificate = server
    return ServiceNowClient(base, session(certificate))


def seed(server, http, count, short_description):
    base, _ = server
    body = {"interactions": [{"short_description": short_description, "channel": f"c{n}"} for n in range(count)]}
    response = http.post(f"{base}/__stand_in/seed", json=body, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["result"]["interactions"]


def descriptions(server, http):
    base, _ = server
    response = http.get(f"{base}/api/now/stats/interaction", params={"sysparm_count": "true", "sysparm_group_by": "short_description"}, timeout=30)
    return {group["groupby_fields"][0]["value"]: int(group["stats"]["count"]) for group in response.json()["result"]}


def test_pysnc_update_multiple_goes_through_the_batch_api(server, http, snc):
    seed(server, http, 250, "bulk")
    gr = snc.GlideRecord("interaction")
    gr.add_query("short_description", "bulk")
    gr.query()
    assert len(gr) == 250
    for record in gr:
        record.short_description = "bulk changed"
    assert gr.update_multiple()
    assert descriptions(server, http) == {"bulk changed": 250}
    batches = http.get(f"{server[0]}/__stand_in/requests", params={"path": "batch$"}, timeout=30).json()["result"]
    assert [entry["status"] for entry in batches] == [200]


def test_pysnc_delete_multiple_goes_through_the_batch_api_past_its_1000_requests(server, http, snc):
    seed(server, http, 1050, "doomed")
    seed(server, http, 3, "kept")
    gr = snc.GlideRecord("interaction")
    gr.add_query("short_description", "doomed")
    assert gr.delete_multiple()
    assert descriptions(server, http) == {"kept": 3}
    # One batch of 1,050: 1,000 served, 50 unserviced, sent again by PySNC.
    batches = http.get(f"{server[0]}/__stand_in/requests", params={"path": "batch$"}, timeout=30).json()["result"]
    assert [entry["status"] for entry in batches] == [200, 200]


def test_a_pysnc_query_under_10000_characters_but_over_once_encoded_is_served(server, http, snc):
    sys_ids = seed(server, http, 5, "long")
    gr = snc.GlideRecord("interaction")
    gr.add_query("sys_id", "IN", ",".join(sys_ids + [f"{n:032x}" for n in range(285)]))
    gr.fields = "sys_id"
    gr.query()
    assert sorted(record.sys_id for record in gr) == sorted(sys_ids)
    journal = http.get(f"{server[0]}/__stand_in/requests", params={"limit": 1}, timeout=30).json()["result"]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in journal] == [("GET", "/api/now/table/interaction", 200)]


def test_a_pysnc_query_over_10000_characters_moves_to_the_batch_api(server, http, snc):
    sys_ids = seed(server, http, 300, "long")
    gr = snc.GlideRecord("interaction", batch_size=500)
    gr.add_query("sys_id", "IN", ",".join(sys_ids + [f"{n:032x}" for n in range(100)]))
    gr.fields = "sys_id"
    gr.query()
    assert sorted(record.sys_id for record in gr) == sorted(sys_ids)
    journal = http.get(f"{server[0]}/__stand_in/requests", params={"limit": 2}, timeout=30).json()["result"]
    assert [(entry["method"], entry["path"]) for entry in journal] == [("POST", "/api/now/v1/batch"), ("GET", "/api/now/table/interaction")]


def test_pysnow_legacy_count_asks_the_aggregate_api(server, http):
    seed(server, http, 7, "counted")
    seed(server, http, 2, "other")
    base, certificate = server
    client = pysnow.Client(host=base.removeprefix("https://"), session=session(certificate))
    assert client.query(table="interaction", query={"short_description": "counted"}).count == 7
    assert client.query(table="interaction", query={}).count == 9


@pytest.fixture
def record(server, http):
    base, _ = server
    response = http.post(f"{base}/api/now/table/interaction", json={"short_description": "with files"}, timeout=30)
    return response.json()["result"]["sys_id"]


def test_pysnc_adds_lists_reads_and_deletes_attachments(server, snc, record, tmp_path):
    base, _ = server
    gr = snc.GlideRecord("interaction")
    assert gr.get(record)
    transcript = "Hello,\nthis is the transcript.\n".encode() * 1000
    location = gr.add_attachment("transcript.txt", transcript, "text/plain")
    recording = os.urandom(300_000)
    gr.add_attachment("recording.wav", recording, "audio/wav")
    assert location.startswith(f"{base}/api/now/v1/attachment/") and location.endswith("/file")

    attachments = gr.get_attachments()
    assert len(attachments) == 2
    seen = {}
    for attachment in attachments:
        seen[attachment.file_name] = attachment.sys_id
        expected = transcript if attachment.file_name == "transcript.txt" else recording
        assert attachment.read() == expected
        assert attachment.as_temp_file().read() == expected
        written = attachment.write_to(tmp_path)
        assert written == tmp_path / attachment.file_name
        assert written.read_bytes() == expected
        assert attachment.get_link() == f"{base}/api/now/v1/attachment/{attachment.sys_id}/file"
    assert location == f"{base}/api/now/v1/attachment/{seen['transcript.txt']}/file"

    for attachment in gr.get_attachments():
        attachment.delete()
    assert len(gr.get_attachments()) == 0


def test_pysnc_pages_through_many_attachments(server, snc, record):
    gr = snc.GlideRecord("interaction")
    assert gr.get(record)
    for n in range(5):
        gr.add_attachment(f"f{n}.txt", f"file {n}".encode(), "text/plain")
    names = sorted(attachment.file_name for attachment in gr.get_attachments())
    assert names == [f"f{n}.txt" for n in range(5)]


def test_pysnow_uploads_gets_and_deletes_attachments(server, http, record, tmp_path):
    base, certificate = server
    client = pysnow.Client(host=base.removeprefix("https://"), session=session(certificate))
    resource = client.resource(api_path="/table/interaction")
    path = tmp_path / "notes.txt"
    path.write_bytes(b"pysnow notes")
    uploaded = resource.attachments.upload(record, str(path)).one()
    assert (uploaded["file_name"], uploaded["content_type"], uploaded["size_bytes"]) == ("notes.txt", "text/plain", "12")
    listed = resource.attachments.get(record)
    assert [attachment["sys_id"] for attachment in listed] == [uploaded["sys_id"]]
    assert http.get(f"{base}/api/now/attachment/{uploaded['sys_id']}/file", timeout=30).content == b"pysnow notes"
    assert resource.attachments.delete(uploaded["sys_id"]) == {"status": "record deleted"}
    assert resource.attachments.get(record) == []
