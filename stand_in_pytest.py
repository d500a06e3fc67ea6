"""The stand-in's pytest plugin: fixtures to test an integration against it.

Registered through the `pytest11` entry point of the interaction-api
distribution, so it loads in any pytest run where the package is installed.

It lives in this top-level module, not in the `app` package, because pytest
imports it into the user's own test process, where `app` may well be the
user's package (Flask's convention): importing ours here would shadow one
with the other. So this module never imports `app`. The service runs in a
subprocess of its own: `python -P` (no script folder or working folder on
sys.path), no PYTHONPATH, a temporary working folder, and our package's
folder, found from the distribution's metadata, first on sys.path.
"""
import contextlib
import importlib.metadata
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

DISTRIBUTION = "interaction-api"
START_TIMEOUT = 60

# Run in the subprocess: serve create_app() with werkzeug's threaded server
# (a long-polling wait and the code under test are served at once) on a free
# port, which it prints for the plugin to read.
_SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
import app as service
if not service.__file__.startswith(sys.argv[1]):
    raise SystemExit(f"imported {service.__file__}, not the package in {sys.argv[1]}")
from werkzeug.serving import make_server
server = make_server("127.0.0.1", 0, service.create_app(), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def pytest_addoption(parser):
    group = parser.getgroup("stand-in", "ServiceNow Interaction API stand-in")
    group.addoption("--stand-in-url", default=os.environ.get("STAND_IN_URL"),
                    help="use the stand-in running at this URL instead of starting one (or STAND_IN_URL)")  # fmt: skip
    group.addoption("--stand-in-user", default=os.environ.get("STAND_IN_USER", "admin"),
                    help="an admin user of the running stand-in (or STAND_IN_USER; default admin)")  # fmt: skip
    group.addoption("--stand-in-password", default=os.environ.get("STAND_IN_PASSWORD"),
                    help="that user's password (or STAND_IN_PASSWORD)")  # fmt: skip


def service_root():
    """The folder that holds the service's `app` package, read from the
    distribution's metadata: site-packages for an install, the project's
    folder for an editable one."""
    dist = importlib.metadata.distribution(DISTRIBUTION)
    installed = Path(dist.locate_file("app/__init__.py"))
    if installed.is_file():
        return str(installed.parent.parent)
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    url = urlparse(direct_url.get("url", ""))
    if direct_url.get("dir_info", {}).get("editable") and url.scheme == "file":
        return unquote(url.path)
    raise RuntimeError(f"cannot find the app package of {DISTRIBUTION} {dist.version}")


class Server:
    """A stand-in to talk to: its base URL and an admin's credentials."""

    def __init__(self, base_url, auth, process=None, folder=None):
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.process = process
        self.folder = folder

    @classmethod
    def start(cls):
        folder = tempfile.mkdtemp(prefix="stand-in-")
        password = secrets.token_urlsafe(16)
        env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
        env.update(
            DATABASE_URL=f"sqlite:///{os.path.join(folder, 'stand-in.sqlite3')}",
            ADMIN_PASSWORD=password,
            # A test server: a cheap hash keeps the first request of each user quick.
            PASSWORD_HASH_METHOD="pbkdf2:sha256:10000",
            TEST_SUPPORT="on",
        )
        env.pop("SEED_FILE", None)
        log = open(os.path.join(folder, "server.log"), "wb")
        process = subprocess.Popen(
            [sys.executable, "-P", "-c", _SERVE, service_root()],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        log.close()
        port = _read_port(process, folder)
        return cls(f"http://127.0.0.1:{port}", ("admin", password), process, folder)

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _read_port(process, folder):
    # The first line the server prints; a server that dies prints none.
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        process.wait()
        log = Path(folder, "server.log").read_text(errors="replace")
        raise RuntimeError(f"the stand-in did not start:\n{log[-3000:]}")
    return int(line)


class StandIn:
    """The `stand_in` fixture: the server, an authenticated session, and
    the test-support routes as methods."""

    def __init__(self, server):
        import requests

        self.base_url = server.base_url
        self.auth = server.auth
        self.session = requests.Session()
        self.session.auth = server.auth

    def _call(self, method, route, expected=200, **kwargs):
        response = self.session.request(method, f"{self.base_url}/__stand_in/{route}", **kwargs)
        if response.status_code != expected:
            raise AssertionError(f"{method} /__stand_in/{route}: {response.status_code} {response.text}")
        return response.json()

    def reset(self, scope="interactions"):
        return self._call("POST", "reset", json={"scope": scope})["result"]["deleted"]

    def requests(self, **filters):
        """Journal entries, newest first; filters as GET /__stand_in/requests."""
        return self._call("GET", "requests", params=filters)["result"]

    def count(self, **match):
        return self._call("POST", "requests/count", json=match)["result"]["count"]

    def wait_for(self, count=1, timeout=5, **match):
        """The entries matching, once there are `count`; AssertionError if
        they do not come within `timeout` seconds."""
        body = {"match": match, "count": count, "timeout_ms": int(timeout * 1000)}
        response = self.session.post(f"{self.base_url}/__stand_in/requests/wait", json=body)
        if response.status_code == 408:
            raise AssertionError(response.json()["error"]["detail"])
        if response.status_code != 200:
            raise AssertionError(f"POST /__stand_in/requests/wait: {response.status_code} {response.text}")
        return response.json()["result"]

    @contextlib.contextmanager
    def fault(self, **rule):
        """A fault rule for the block's duration; yields it (with its id)."""
        added = self._call("POST", "faults", expected=201, json=rule)["result"]
        try:
            yield added
        finally:
            self.session.delete(f"{self.base_url}/__stand_in/faults/{added['id']}")

    def faults(self):
        return self._call("GET", "faults")["result"]

    def seed(self, users=(), interactions=(), records=None):
        """records: {"<table>": [{…}, …]}, records of any table."""
        body = {"users": list(users), "interactions": list(interactions)}
        if records:
            body["records"] = records
        return self._call("POST", "seed", expected=201, json=body)["result"]

    def declare_table(self, declaration):
        """Declare a table of your own (u_…, x_<scope>_…), or add fields to
        one; returns the table as the stand-in serves it."""
        response = self.session.post(f"{self.base_url}/__stand_in/tables", json=declaration)
        if response.status_code not in (200, 201):
            raise AssertionError(f"POST /__stand_in/tables: {response.status_code} {response.text}")
        return response.json()["result"]

    def tables(self):
        return self._call("GET", "tables")["result"]

    def snapshot(self):
        return self._call("GET", "snapshot")

    def restore(self, snapshot):
        return self._call("POST", "snapshot", json=snapshot)["result"]


@pytest.fixture(scope="session")
def stand_in_server(pytestconfig):
    """The stand-in for this session (for each xdist worker: its own), or
    the running one --stand-in-url names."""
    url = pytestconfig.getoption("stand_in_url")
    if url:
        password = pytestconfig.getoption("stand_in_password")
        if not password:
            raise pytest.UsageError("--stand-in-url needs --stand-in-password (or STAND_IN_PASSWORD)")
        yield Server(url, (pytestconfig.getoption("stand_in_user"), password))
        return
    server = Server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stand_in(stand_in_server):
    """A clean stand-in for this test: reset (interactions) before it."""
    client = StandIn(stand_in_server)
    client.reset()
    try:
        yield client
    finally:
        client.session.close()
