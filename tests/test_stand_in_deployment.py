"""Test support under real gunicorn masters: 4 workers on SQLite, and two
masters on one PostgreSQL database. Fault counts, the journal and reset
must hold across workers and hosts; a drop must cut the real connection."""
import base64
import http.client
import itertools
import json
import threading
from collections import Counter

import pytest

from gunicorn_server import Gunicorn

PASSWORD = "deploy-secret"
TOKEN = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
HEADERS = {"Authorization": f"Basic {TOKEN}", "Content-Type": "application/json"}
CHANNEL = "28a59893873103002ae97e2526cb0b5d"
CLIENTS = 16


@pytest.fixture
def start(tmp_path):
    started = []

    def start(database_url, workers):
        server = Gunicorn(tmp_path, database_url, PASSWORD, workers)
        started.append(server)
        return server.wait_until_healthy()

    yield start
    for server in started:
        server.stop()


def call(server, method, path, body=None):
    """(status, headers, parsed body) on a connection of its own."""
    connection = server.connection()
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=HEADERS)
        response = connection.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data) if data else None
    finally:
        connection.close()


def in_parallel(servers, per_client, action):
    """`per_client` calls of action(server) from each of CLIENTS threads,
    spread over the servers; the results."""
    results, lock = [], threading.Lock()

    def client(index):
        for n in range(per_client):
            outcome = action(servers[(index + n) % len(servers)])
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def create(server):
    return call(server, "POST", "/api/now/interaction", {"channel": CHANNEL, "context": {"k": "v"}})


@pytest.fixture(params=["sqlite, 4 workers", "postgres, 2 masters"])
def servers(request, start, tmp_path):
    if request.param.startswith("sqlite"):
        return [start(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", 4)]
    url = request.getfixturevalue("own_postgres_url")
    return [start(url, 2), start(url, 2)]


def test_faults_journal_and_reset_hold_across_workers_and_hosts(servers):
    first = servers[0]
    status, _, rule = call(first, "POST", "/__stand_in/faults",
                           {"match": {"path": "^/api/now/interaction$"}, "effect": {"type": "error", "status": 503}, "times": 3})  # fmt: skip
    assert status == 201

    # A rule with times: 3 fires exactly 3 times under 16 clients.
    answers = in_parallel(servers, 8, create)
    statuses = Counter(status for status, _, _ in answers)
    assert statuses == {201: 125, 503: 3}
    assert {h["X-Stand-In-Fault"] for s, h, _ in answers if s == 503} == {str(rule["result"]["id"])}
    _, _, listed = call(servers[-1], "GET", f"/__stand_in/faults/{rule['result']['id']}")
    assert (listed["result"]["hits"], listed["result"]["remaining"]) == (3, 0)

    # The journal holds every request of every worker exactly once.
    status, headers, journal = call(servers[-1], "GET", "/__stand_in/requests?limit=1000")
    assert headers["X-Total-Count"] == "128"
    journaled = Counter(entry["transaction_id"] for entry in journal["result"])
    assert journaled == Counter(h["X-Transaction-ID"] for _, h, _ in answers)
    assert Counter(entry["status"] for entry in journal["result"]) == statuses
    served_by = {entry["response"]["headers"]["X-Transaction-ID"] for entry in journal["result"]}
    assert len(served_by) == 128

    # A reset while creates run: no interaction without its documents, no number twice.
    resets, calls = [], itertools.count()

    def creates_and_resets(server):
        # Three of the calls reset first, while the other clients create.
        if next(calls) in (40, 80, 120):
            resets.append(call(server, "POST", "/__stand_in/reset")[0])
        return create(server)

    answers = in_parallel(servers, 12, creates_and_resets)
    assert resets == [200, 200, 200]
    assert {status for status, _, _ in answers} == {201}
    status, _, snapshot = call(first, "GET", "/__stand_in/snapshot")
    tables = snapshot["tables"]
    interactions = tables["interaction"]
    assert interactions, "the last reset came before the last creates"
    numbers = [row["number"] for row in interactions]
    assert len(numbers) == len(set(numbers))
    contexts = {row["sys_id"] for row in tables["interaction_json_blob"]}
    metadata = {row["sys_id"] for row in tables["live_group_profile"]}
    assert all(row["context_document"] in contexts and row["channel_metadata_document"] in metadata for row in interactions)
    # Every interaction answered since the last reset is there.
    answered = {body["result"]["number"] for _, _, body in answers}
    assert set(numbers) <= answered

    # No credential in the journal, the log or the snapshot.
    _, _, journal = call(first, "GET", "/__stand_in/requests?limit=1000")
    for text in [json.dumps(journal), json.dumps(snapshot)] + [server.log() for server in servers]:
        assert TOKEN not in text and PASSWORD not in text


@pytest.mark.parametrize("mode", ["close", "reset"])
def test_a_drop_after_serving_cuts_the_connection_and_the_interaction_exists(start, tmp_path, mode):
    server = start(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", 2)
    rule = {"match": {"path": "interaction$"}, "effect": {"type": "drop", "mode": mode}, "phase": "after", "times": 1}
    assert call(server, "POST", "/__stand_in/faults", rule)[0] == 201
    connection = server.connection()
    connection.request("POST", "/api/now/interaction", body=json.dumps({"channel": CHANNEL}), headers=HEADERS)
    expected = http.client.RemoteDisconnected if mode == "close" else ConnectionResetError
    with pytest.raises(expected):
        connection.getresponse()
    connection.close()
    _, _, journal = call(server, "GET", "/__stand_in/requests")
    [entry] = journal["result"]
    assert (entry["status"], entry["fault"]) == (201, 1)
    number = json.loads(entry["response"]["body"])["result"]["number"]
    _, _, snapshot = call(server, "GET", "/__stand_in/snapshot")
    assert [row["number"] for row in snapshot["tables"]["interaction"]] == [number] == ["IMS0000001"]
    # The worker goes on serving.
    assert create(server)[0] == 201
    assert "Traceback" not in server.log()
