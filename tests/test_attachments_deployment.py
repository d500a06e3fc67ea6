"""Attachments on real gunicorn masters: a file uploaded through one host is
served whole by another (both on one database); a worker killed mid-upload
leaves no half attachment; a 64 MiB file raises a worker's peak RSS by at
most 1.5 times its size, up and down."""
import base64
import hashlib
import json
import os
import signal
import socket

import pytest
from gunicorn_server import Gunicorn

PASSWORD = "attachments-deployment-secret"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
MiB = 1024 * 1024


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interaction.sqlite3'}"
    return request.getfixturevalue("own_postgres_url")


@pytest.fixture
def start(tmp_path, database_url):
    started = []

    def start(workers=2):
        gunicorn = Gunicorn(tmp_path, database_url, PASSWORD, workers)
        started.append(gunicorn)
        return gunicorn.wait_until_healthy()

    yield start
    for gunicorn in started:
        gunicorn.stop()


def call(server, method, path, body=None, headers=None):
    connection = server.connection(timeout=120)
    try:
        connection.request(method, path, body=body, headers={**AUTH, **(headers or {})})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def new_record(server):
    status, _, body = call(server, "POST", "/api/now/table/interaction", b"{}", {"Content-Type": "application/json"})
    assert status == 201
    return json.loads(body)["result"]["sys_id"]


def upload(server, record, data):
    path = f"/api/now/attachment/file?table_name=interaction&table_sys_id={record}&file_name=f.bin"
    status, _, body = call(server, "POST", path, data, {"Content-Type": "application/octet-stream"})
    assert status == 201, body
    return json.loads(body)["result"]


def stored_chunks(server):
    status, _, body = call(server, "GET", "/__stand_in/snapshot")
    assert status == 200
    tables = json.loads(body)["tables"]
    return tables["sys_attachment"], tables["sys_attachment_doc"]


def test_a_file_uploaded_through_one_host_is_downloaded_whole_through_another(start):
    one, other = start(), start()
    data = os.urandom(5 * MiB + 17)
    created = upload(one, new_record(one), data)
    status, headers, body = call(other, "GET", f"/api/now/attachment/{created['sys_id']}/file")
    assert (status, len(body), hashlib.sha256(body).hexdigest()) == (200, len(data), created["hash"])
    assert body == data
    assert headers["Content-Length"] == str(len(data))


def test_a_worker_killed_mid_upload_leaves_no_half_attachment(start):
    server = start()
    record = new_record(server)
    size = 8 * MiB
    client = socket.create_connection(("127.0.0.1", server.port))
    try:
        head = (
            f"POST /api/now/attachment/file?table_name=interaction&table_sys_id={record}&file_name=half.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: {AUTH['Authorization']}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        client.sendall(head.encode() + b"x" * (size // 2))
        os.kill(server.stop_a_worker_in_a_request(), signal.SIGKILL)
    finally:
        client.close()
    server.wait_for_workers(2)
    assert stored_chunks(server) == ([], [])
    status, headers, body = call(server, "GET", "/api/now/attachment")
    assert (status, json.loads(body), headers["X-Total-Count"]) == (200, {"result": []}, "0")


def peak_rss(pid):
    """The process's peak resident set so far, in bytes (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_64_mib_file_raises_a_workers_peak_rss_by_at_most_one_and_a_half_times_its_size(start):
    server = start(workers=1)
    [worker] = server.worker_pids()
    record = new_record(server)
    # A small file first: every code path loaded, every pool opened.
    small = upload(server, record, b"warm-up")
    call(server, "GET", f"/api/now/attachment/{small['sys_id']}/file")
    before = peak_rss(worker)
    data = os.urandom(64 * MiB)
    created = upload(server, record, data)
    status, _, body = call(server, "GET", f"/api/now/attachment/{created['sys_id']}/file")
    assert (status, hashlib.sha256(body).hexdigest()) == (200, hashlib.sha256(data).hexdigest())
    assert peak_rss(worker) - before <= 1.5 * len(data)
