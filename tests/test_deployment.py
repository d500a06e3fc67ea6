"""The service as operators run it: real gunicorn masters with several workers
on SQLite, two masters sharing one PostgreSQL database, TLS, and the access log.

The crash tests send concurrent creates from 16 clients, SIGKILL one worker
halfway, and then prove that nothing answered was lost, nothing was
half-written, no number repeats and no answer was a 5xx. Their figures are
printed: run with `pytest -s tests/test_deployment.py` to see them.
"""
import base64
import http.client
import json
import os
import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from gunicorn_server import Gunicorn, https_session, tls

ADMIN_PASSWORD = "deploy-secret"
CHANNEL = "28a59893873103002ae97e2526cb0b5d"
QUEUE = "f3a50867b30303002186a72256a8dcb7"
HEADERS = {
    "Authorization": "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode(),
    "Accept": "application/json",
    "Content-Type": "application/json",
}
CLIENTS = 16
CREATES = 1024  # 64 per client


@pytest.fixture
def start_gunicorn(tmp_path):
    """Starts gunicorn masters on the test's behalf and stops them all after it."""
    started = []

    def start(database_url, workers, **options):
        server = Gunicorn(tmp_path, database_url, ADMIN_PASSWORD, workers, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def post(server, path, body=None):
    """(status, body) of one POST on a connection of its own."""
    connection = server.connection()
    try:
        connection.request("POST", path, body=None if body is None else json.dumps(body), headers=HEADERS)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class Create:
    status: int | None = None  # None: the connection was cut, no answer came
    number: str | None = None
    sys_id: str | None = None
    error: str | None = None
    sent_after_kill: bool = False


@dataclass
class Load:
    creates: list = field(default_factory=list)  # per client, in the order sent
    killed_pid: int | None = None

    @property
    def all(self):
        return [create for client in self.creates for create in client]

    @property
    def acknowledged(self):
        return [create for create in self.all if create.status == 201]

    @property
    def cut(self):
        return [create for create in self.all if create.status is None]


def create_under_load(servers, victim):
    """CREATES creates from CLIENTS threads, each spreading its requests over
    `servers` as a load balancer would; one worker of `victim` is SIGKILLed
    once half of them have been acknowledged."""
    load = Load(creates=[[] for _ in range(CLIENTS)])
    killed = threading.Event()
    halfway = threading.Event()
    acknowledged = 0
    counting = threading.Lock()

    def client(index):
        nonlocal acknowledged
        for request in range(CREATES // CLIENTS):
            server = servers[(index + request) % len(servers)]
            body = {"channel": CHANNEL, "queue": QUEUE, "context": {"client": index, "request": request}}
            create = Create(sent_after_kill=killed.is_set())
            try:
                create.status, answer = post(server, "/api/now/interaction", body)
            except (OSError, http.client.HTTPException) as error:
                create.error = repr(error)
            else:
                if create.status == 201:
                    result = json.loads(answer)["result"]
                    create.number, create.sys_id = result["number"], result["sys_id"]
                    with counting:
                        acknowledged += 1
                        if acknowledged == CREATES // 2:
                            halfway.set()
            load.creates[index].append(create)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    assert halfway.wait(timeout=60), "half of the creates were not acknowledged within 60s"
    load.killed_pid = victim.stop_a_worker_in_a_request()
    os.kill(load.killed_pid, signal.SIGKILL)
    killed.set()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a client is still waiting after 60s"
    return load


def close_all(servers, sys_ids):
    """Closes each interaction through the servers, from CLIENTS threads;
    returns (status, state) of each answer, or the error instead of one."""
    answers = []

    def client(index):
        for position in range(index, len(sys_ids), CLIENTS):
            try:
                status, answer = post(servers[position % len(servers)], f"/api/now/interaction/{sys_ids[position]}/close")
                answers.append((status, json.loads(answer).get("result", {}).get("state")))
            except (OSError, http.client.HTTPException) as error:
                answers.append(repr(error))

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "closing is still running after 60s"
    return answers


def connect(database_url):
    """A DB-API connection to the servers' database, to look behind the API."""
    if database_url.startswith("sqlite:///"):
        return sqlite3.connect(database_url.removeprefix("sqlite:///"))
    import psycopg2

    return psycopg2.connect(database_url)


def query(database_url, sql):
    connection = connect(database_url)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        connection.close()


HALF_WRITTEN = {
    "interactions without their context document": """
        SELECT count(*) FROM interaction i WHERE NOT EXISTS
        (SELECT 1 FROM interaction_json_blob d WHERE d.sys_id = i.context_document)""",
    "interactions without their channel metadata document": """
        SELECT count(*) FROM interaction i WHERE NOT EXISTS
        (SELECT 1 FROM live_group_profile d WHERE d.sys_id = i.channel_metadata_document)""",
    "context documents of no interaction": """
        SELECT count(*) FROM interaction_json_blob d WHERE NOT EXISTS
        (SELECT 1 FROM interaction i WHERE i.context_document = d.sys_id)""",
    "channel metadata documents of no interaction": """
        SELECT count(*) FROM live_group_profile d WHERE NOT EXISTS
        (SELECT 1 FROM interaction i WHERE i.channel_metadata_document = d.sys_id)""",
}


def number_value(number):
    return int(number.removeprefix("IMS"))


def check_nothing_lost(label, database_url, servers, load):
    """Everything the crash tests promise, checked and reported."""
    creates, acknowledged, cut = load.all, load.acknowledged, load.cut
    stored = dict(query(database_url, "SELECT sys_id, number FROM interaction"))
    acknowledged_numbers = [create.number for create in acknowledged]
    lost = [create for create in acknowledged if stored.get(create.sys_id) != create.number]
    duplicated = len(acknowledged_numbers) - len(set(acknowledged_numbers))
    duplicated += len(stored) - len(set(stored.values()))
    print(
        f"\n[{label}] sent {len(creates)}, acknowledged {len(acknowledged)}, cut by the kill {len(cut)}, "
        f"lost {len(lost)}, duplicated {duplicated}; stored {len(stored)} "
        f"({len(stored) - len(acknowledged)} of them unacknowledged), "
        f"acknowledged after the kill {sum(create.sent_after_kill for create in acknowledged)}, "
        f"killed worker {load.killed_pid}"
    )

    assert len(creates) == CREATES
    assert [create.status for create in creates if create.status is not None and create.status >= 500] == []
    assert [create.status for create in creates if create.status not in (201, None)] == []
    # A sync worker holds one request at a time: the kill can cut at most that one.
    assert len(cut) <= 1, [create.error for create in cut]
    assert any(create.sent_after_kill for create in acknowledged), "no create was answered after the kill"
    assert lost == []
    assert duplicated == 0
    # A cut create may have committed before the kill, or not.
    assert len(acknowledged) <= len(stored) <= len(acknowledged) + len(cut)
    for client in load.creates:
        numbers = [number_value(create.number) for create in client if create.status == 201]
        assert numbers == sorted(set(numbers)), "a client's later create got a lower number"
    [(counter,)] = query(database_url, "SELECT number FROM sys_number_counter WHERE category = 'interaction'")
    assert counter >= max(number_value(number) for number in stored.values()), "a number could be given again"
    for what, sql in HALF_WRITTEN.items():
        assert query(database_url, sql) == [(0,)], what

    sys_ids = [create.sys_id for create in acknowledged]
    answers = close_all(servers, sys_ids)
    assert len(answers) == len(sys_ids)
    assert set(answers) == {(200, "closed_complete")}
    closed = {sys_id for (sys_id,) in query(database_url, "SELECT sys_id FROM interaction WHERE state = 'closed_complete'")}
    assert closed >= set(sys_ids)


def test_four_workers_on_sqlite_lose_nothing_when_one_is_killed(start_gunicorn, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'interaction.sqlite3'}"
    server = start_gunicorn(database_url, workers=4).wait_until_healthy()
    server.wait_for_workers(4)

    load = create_under_load([server], victim=server)

    server.wait_for_workers(4)  # the master replaced the killed worker
    assert load.killed_pid not in server.worker_pids()
    check_nothing_lost("sqlite, 1 master x 4 workers", database_url, [server], load)
    log = server.log()
    assert "database is locked" not in log
    assert "Traceback" not in log


def test_two_masters_on_postgresql_lose_nothing_when_a_worker_is_killed(start_gunicorn, own_postgres_url):
    # Both start at once on an empty database: table creation must not race.
    servers = [start_gunicorn(own_postgres_url, workers=2) for _ in range(2)]
    for server in servers:
        server.wait_until_healthy()
        server.wait_for_workers(2)

    load = create_under_load(servers, victim=servers[0])

    servers[0].wait_for_workers(2)
    check_nothing_lost("postgresql, 2 masters x 2 workers", own_postgres_url, servers, load)
    for server in servers:
        assert "Traceback" not in server.log()


def test_tls_with_gunicorns_certfile_and_keyfile(start_gunicorn, tmp_path):
    pysnow = pytest.importorskip("pysnow")
    certificate, options = tls(tmp_path)
    server = start_gunicorn(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", workers=1, **options).wait_until_healthy()
    base_url = f"https://127.0.0.1:{server.port}"

    created = requests.post(f"{base_url}/api/now/interaction", json={"channel": CHANNEL}, headers=HEADERS, verify=str(certificate))
    assert created.status_code == 201
    assert created.json()["result"]["number"] == "IMS0000001"

    # pysnow, like ServiceNow's own clients, knows only https:// instances.
    client = pysnow.Client(host=f"127.0.0.1:{server.port}", session=https_session(certificate, ADMIN_PASSWORD))
    record = client.resource(api_path="/interaction").create(payload={"channel": CHANNEL, "queue": QUEUE}).one()
    assert (record["number"], record["state"]) == ("IMS0000002", "queued")


def test_one_access_line_per_request_with_its_transaction_id(start_gunicorn, tmp_path):
    server = start_gunicorn(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", workers=1).wait_until_healthy()
    transaction_ids = []
    for path, headers in [
        ("/api/now/interaction", HEADERS),
        ("/api/now/interaction", {**HEADERS, "Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}),
        ("/api/now/v9/interaction", HEADERS),
    ]:
        connection = server.connection()
        connection.request("POST", path, body=json.dumps({"channel": CHANNEL}), headers=headers)
        response = connection.getresponse()
        response.read()
        transaction_ids.append((response.status, response.headers["X-Transaction-ID"]))
        connection.close()

    log = server.log()
    assert [status for status, _ in transaction_ids] == [201, 401, 400]
    for status, transaction_id in transaction_ids:
        [line] = [line for line in log.splitlines() if transaction_id in line]
        assert f" {status} " in line
    assert ADMIN_PASSWORD not in log and "wrong" not in log and CHANNEL not in log


def test_gunicorn_bounds_the_headers_not_the_request_line(start_gunicorn, tmp_path):
    from urllib.parse import quote

    server = start_gunicorn(f"sqlite:///{tmp_path / 'interaction.sqlite3'}", workers=1).wait_until_healthy()

    def status_of(path, headers, method="POST"):
        connection = server.connection()
        try:
            connection.request(method, path, body=json.dumps({"channel": CHANNEL}) if method == "POST" else None, headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()

    # PySNC's query of 290 sys_ids: under its 10,000 characters, so not sent
    # through the Batch API, and over 10,000 once encoded.
    query = quote("sys_idIN" + ",".join(f"{n:032x}" for n in range(290)))
    assert len(query) > 10_000
    assert status_of(f"/api/now/table/interaction?sysparm_query={query}", HEADERS, "GET") == 200
    assert status_of(f"/api/now/interaction/{'a' * 8200}/close", HEADERS) == 404
    assert status_of("/api/now/interaction", {**HEADERS, "X-Padding": "p" * 9000}) == 431
    assert status_of("/api/now/interaction", {**HEADERS, **{f"X-Extra-{n}": "x" for n in range(101)}}) == 431
    # The worker is unharmed.
    assert status_of("/api/now/interaction", HEADERS) == 201


def test_a_password_change_or_deactivation_holds_at_once_on_every_worker(start_gunicorn, tmp_path):
    import re
    import subprocess
    import sys

    from gunicorn_server import ROOT

    database_url = f"sqlite:///{tmp_path / 'interaction.sqlite3'}"
    server = start_gunicorn(database_url, workers=2).wait_until_healthy()

    def flask(*args):
        env = {**os.environ, "DATABASE_URL": database_url}
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)

    def create(credentials):
        connection = server.connection()
        connection.request(
            "POST", "/api/now/interaction", body=json.dumps({"channel": CHANNEL}),
            headers={**HEADERS, "Authorization": f"Basic {credentials}"},
        )  # fmt: skip
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    def answers_by_worker(password, expected):
        """Creates until both workers have answered; the status each gave.
        Two at a time: one after another, the worker that has just answered
        can win every accept (seen with 401s, which pay a password hash)."""
        seen = {}
        credentials = base64.b64encode(f"agent:{password}".encode()).decode()
        with ThreadPoolExecutor(2) as pool:
            for _ in range(100):
                for response in pool.map(create, [credentials] * 2):
                    transaction_id = response.headers["X-Transaction-ID"]
                    [pid] = re.findall(rf"\[(\d+)\] \[INFO\] POST \S+ \d+ \S+ \S+ txn={transaction_id}", server.log())
                    seen.setdefault(pid, set()).add(response.status)
                if len(seen) == 2:
                    break
        assert len(seen) == 2, "one worker answered every request"
        assert all(statuses == {expected} for statuses in seen.values()), seen

    flask("user", "add", "agent", "--password", "old-password")
    answers_by_worker("old-password", 201)  # now remembered by both workers
    flask("user", "passwd", "agent", "--password", "new-password")
    answers_by_worker("old-password", 401)
    answers_by_worker("new-password", 201)
    flask("user", "deactivate", "agent")
    answers_by_worker("new-password", 401)


def test_a_worker_leaves_what_the_app_built_out_of_the_collectors_walks():
    import gc
    import runpy

    settings = runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(__file__)), "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
