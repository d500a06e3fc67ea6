"""OAuth under real gunicorn masters (OAUTH.md §1, §3): a token's end
holds at once on every worker (SQLite, 4 workers) and every host (two
masters on one PostgreSQL database), with nothing remembered per process."""
import base64
import json
import os
import subprocess
import sys
import urllib.parse

import pytest

from gunicorn_server import ROOT, Gunicorn

PASSWORD = "oauth-deploy-secret"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
CHANNEL = "28a59893873103002ae97e2526cb0b5d"
# Requests per master and per check: each on a new connection, so that the
# master hands them to its workers in turn.
SPREAD = 16


@pytest.fixture(params=["sqlite, 4 workers", "postgres, 2 masters"])
def deployment(request, tmp_path):
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'interaction.sqlite3'}"
        servers = [Gunicorn(tmp_path, url, PASSWORD, 4)]
    else:
        url = request.getfixturevalue("own_postgres_url")
        servers = [Gunicorn(tmp_path, url, PASSWORD, 2), Gunicorn(tmp_path, url, PASSWORD, 2)]
    try:
        for server in servers:
            server.wait_until_healthy()
        yield url, servers
    finally:
        for server in servers:
            server.stop()


def call(server, method, path, body=None, headers=None, form=None):
    connection = server.connection()
    try:
        if form is not None:
            body, headers = urllib.parse.urlencode(form), {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        elif body is not None:
            body, headers = json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        connection.close()


def statuses(servers, access):
    """The status of SPREAD table reads with the token on each master."""
    headers = {"Authorization": f"Bearer {access}"}
    return {call(server, "GET", "/api/now/table/interaction?sysparm_limit=1", headers=headers)[0] for server in servers for _ in range(SPREAD)}


def cli(database_url, *args):
    """The command line of another host: `flask --app wsgi ...` on the same database."""
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_tokens_end_holds_at_once_on_every_worker_and_host(deployment):
    url, servers = deployment
    first, last = servers[0], servers[-1]
    status, _ = call(first, "POST", "/__stand_in/seed", {"users": [{"user_name": "svc", "password": "svc-pw"}, {"user_name": "ops", "password": "ops-pw"}]}, BASIC)
    assert status == 201
    status, client = call(first, "POST", "/__stand_in/oauth/clients", {"name": "deploy", "user": "svc"}, BASIC)
    client = client["result"]
    credentials = {"client_id": client["client_id"], "client_secret": client["client_secret"]}

    def password_token(user, password):
        status, answer = call(last, "POST", "/oauth_token.do", form={"grant_type": "password", "username": user, "password": password, **credentials})
        assert status == 200, answer
        return answer

    # Deactivation, from another host's command line.
    svc = password_token("svc", "svc-pw")["access_token"]
    assert statuses(servers, svc) == {200}
    cli(url, "user", "deactivate", "svc")
    assert statuses(servers, svc) == {401}
    cli(url, "user", "activate", "svc")
    assert statuses(servers, svc) == {200}

    # A new password.
    ops = password_token("ops", "ops-pw")
    assert statuses(servers, ops["access_token"]) == {200}
    cli(url, "user", "passwd", "ops", "--password", "ops-new")
    assert statuses(servers, ops["access_token"]) == {401}
    status, _ = call(first, "POST", "/oauth_token.do", form={"grant_type": "refresh_token", "refresh_token": ops["refresh_token"], **credentials})
    assert status == 401

    # Revocation on one host.
    machine = call(first, "POST", "/oauth_token.do", form={"grant_type": "client_credentials", **credentials})[1]["access_token"]
    assert statuses(servers, machine) == {200}
    assert call(last, "POST", "/oauth_revoke_token.do", form={"token": machine, **credentials}) == (200, {})
    assert statuses(servers, machine) == {401}

    # The client removed on one host: its tokens end everywhere.
    assert statuses(servers, svc) == {200}
    assert call(first, "DELETE", f"/__stand_in/oauth/clients/{client['client_id']}", headers=BASIC) == (204, None)
    assert statuses(servers, svc) == {401}
    for server in servers:
        assert "Traceback" not in server.log()
