"""The stand-in's pytest plugin: fixtures to test an integration against it.

Registered through the `pytest11` entry point of the servicenow-stand-in
distribution, so it loads in any pytest run where the package is installed.

It lives in this top-level module, and imports no code of the service,
because pytest imports it into the user's own test process: the service
runs in a subprocess of its own, `python -P` (neither the script's folder
nor the working folder on sys.path) in a temporary working folder, where it
imports the installed package `servicenow_stand_in` (its name, found under
whatever a user's project calls its own packages).

The subprocess serves the same app twice, over HTTP (`base_url`) and over
TLS (`https_url`, for clients such as PySNC that only speak https), with a
certificate from a throwaway CA that trustme makes at session start
(`ca_bundle`, its PEM file, for `verify=`).
"""
import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import pytest

PACKAGE = "servicenow_stand_in"

# Run in the subprocess, in the plugin's temporary folder: the package the
# plugin found (argv[1]), its app with the settings of stdin's first line
# (not argv: they hold the admin's password, and `ps` shows argv to every
# user) served by werkzeug's threaded server (a long-polling wait and the
# code under test are served at once) on two free ports, plain and TLS
# (argv[2], the certificate and key); prints both.
#
# It ends, removing its folder, at the end of stdin. The plugin closes it to
# stop the server, and the kernel closes it when the pytest process ends in
# any way: SIGTERM, which pytest does not handle (a CI timeout, `docker
# stop`), and SIGKILL, which nothing can handle, included. Hence a pipe
# rather than a SIGTERM handler in pytest (which would replace the user's
# and miss SIGKILL) or PR_SET_PDEATHSIG (Linux only, and it follows the
# thread that started the server, not the process). A SIGTERM or SIGHUP of
# its own (sent to the process group) ends it the same way; Ctrl-C's SIGINT
# is left to pytest, which stops it once the tests' teardown is done.
_SERVE = """
import json, os, shutil, signal, ssl, sys, threading
folder = os.getcwd()

def end(*_):
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)

def watch():
    sys.stdin.buffer.read()
    end()

signal.signal(signal.SIGTERM, end)
signal.signal(signal.SIGHUP, end)
signal.signal(signal.SIGINT, signal.SIG_IGN)
line = sys.stdin.buffer.readline()
if not line:
    end()
settings = json.loads(line)
threading.Thread(target=watch, daemon=True).start()
import servicenow_stand_in as service
if service.__file__ != sys.argv[1]:
    raise SystemExit(f"imported {service.__file__}, not {sys.argv[1]}")
from werkzeug.serving import make_server
app = service.create_app(settings)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(sys.argv[2])
plain = make_server("127.0.0.1", 0, app, threaded=True)
secure = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tls)
threading.Thread(target=secure.serve_forever, daemon=True).start()
print(plain.server_port, secure.server_port, flush=True)
plain.serve_forever()
"""


def pytest_addoption(parser):
    group = parser.getgroup("stand-in", "ServiceNow stand-in")
    group.addoption("--stand-in-url", default=os.environ.get("STAND_IN_URL"),
                    help="use the stand-in running at this URL instead of starting one (or STAND_IN_URL)")  # fmt: skip
    group.addoption("--stand-in-user", default=os.environ.get("STAND_IN_USER", "admin"),
                    help="an admin user of the running stand-in (or STAND_IN_USER; default admin)")  # fmt: skip
    group.addoption("--stand-in-password", default=os.environ.get("STAND_IN_PASSWORD"),
                    help="that user's password (or STAND_IN_PASSWORD)")  # fmt: skip


def service_origin():
    """The installed package's __init__.py, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {PACKAGE} package is not installed in {sys.executable} (pip install servicenow-stand-in)")
    return spec.origin


class Server:
    """A stand-in to talk to: its URLs and an admin's credentials.

    `https_url` and `ca_bundle` are None for a running stand-in that
    --stand-in-url names."""

    def __init__(self, base_url, auth, https_url=None, ca_bundle=None, process=None, folder=None):
        self.base_url = base_url.rstrip("/")
        self.https_url = https_url
        self.ca_bundle = ca_bundle
        self.auth = auth
        self.process = process
        self.folder = folder

    @classmethod
    def start(cls):
        import trustme

        folder = tempfile.mkdtemp(prefix="stand-in-")
        ca = trustme.CA()
        ca_bundle = os.path.join(folder, "ca.pem")
        ca.cert_pem.write_to_path(ca_bundle)
        server_pem = os.path.join(folder, "server.pem")
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(server_pem)
        password = secrets.token_urlsafe(16)
        settings = {
            "DATABASE_URL": f"sqlite:///{os.path.join(folder, 'stand-in.sqlite3')}",
            "ADMIN_PASSWORD": password,
            # A test server: a cheap hash keeps the first request of each user quick.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:10000",
            "TEST_SUPPORT": True,
            "SEED_FILE": None,
        }
        log = open(os.path.join(folder, "server.log"), "wb")
        # The environment as the tests have it, PYTHONPATH included so that
        # the package is found where the plugin found it: made absolute, as
        # the subprocess works in another folder. Settings that the service
        # reads from the environment are given on stdin instead.
        env = dict(os.environ)
        if env.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in env["PYTHONPATH"].split(os.pathsep))
        process = subprocess.Popen(
            [sys.executable, "-P", "-c", _SERVE, service_origin(), server_pem],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        log.close()
        # Kept open, written no more: the server's lifeline (see _SERVE).
        _LIFELINES.add(process.stdin.fileno())
        try:
            process.stdin.write(json.dumps(settings).encode() + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: _read_ports says why
        port, tls_port = _read_ports(process, folder)
        return cls(
            f"http://127.0.0.1:{port}", ("admin", password), f"https://127.0.0.1:{tls_port}", ca_bundle, process, folder
        )

    def stop(self):
        if self.process is not None:
            _LIFELINES.discard(self.process.stdin.fileno())
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


# The write ends of the servers' stdin in this process. A child made by
# os.fork without exec (multiprocessing's "fork") would hold them too, and
# keep the servers up for as long as it lives: in such a child, each is
# replaced by /dev/null (its file object stays valid; exec'd children
# inherit none, Python's files being close-on-exec).
_LIFELINES = set()


def _drop_lifelines():
    if _LIFELINES:
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in _LIFELINES:
            os.dup2(null, fd, inheritable=False)
        os.close(null)
        _LIFELINES.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_drop_lifelines)


def _read_ports(process, folder):
    # The first line the server prints; a server that dies prints none.
    words = process.stdout.readline().split()
    if len(words) != 2 or not all(word.isdigit() for word in words):
        process.kill()
        process.wait()
        _LIFELINES.discard(process.stdin.fileno())
        process.stdin.close()
        log = Path(folder, "server.log").read_text(errors="replace")
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"the stand-in did not start:\n{log[-3000:]}")
    return int(words[0]), int(words[1])


class OAuthClient(NamedTuple):
    client_id: str
    client_secret: str


class StandIn:
    """The `stand_in` fixture: the server, an authenticated session, and
    the test-support routes as methods."""

    def __init__(self, server):
        import requests

        self.base_url = server.base_url
        self.https_url = server.https_url
        self.ca_bundle = server.ca_bundle
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

    def oauth_client(self, user=None, **fields):
        """A new OAuth client for /oauth_token.do (its client_credentials
        grant acts as `user`); fields as POST /__stand_in/oauth/clients
        takes them (name, access_token_lifespan, ...)."""
        body = {"name": "stand_in plugin", "user": user, **fields}
        added = self.session.post(f"{self.base_url}/__stand_in/oauth/clients", json=body)
        if added.status_code != 201:
            raise AssertionError(f"POST /__stand_in/oauth/clients: {added.status_code} {added.text}")
        result = added.json()["result"]
        return OAuthClient(result["client_id"], result["client_secret"])
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
        with _trusted_by_requests(server):
            yield server
    finally:
        server.stop()


# requests takes these over a session's own `verify` (a path included), so
# `ServiceNowClient(https_url, auth, verify=ca_bundle)` would not trust the
# throwaway CA where the machine sets them (as CI machines often do).
_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@contextlib.contextmanager
def _trusted_by_requests(server):
    """For the session, each of those variables that is set names a bundle
    of what it named plus the throwaway CA: everything trusted before still
    is, and the stand-in's certificate too."""
    with pytest.MonkeyPatch.context() as patch:
        for name in _BUNDLE_VARIABLES:
            if os.path.isfile(os.environ.get(name, "")):
                bundle = os.path.join(server.folder, f"{name.lower()}.pem")
                with open(bundle, "wb") as out:
                    out.write(Path(os.environ[name]).read_bytes().rstrip(b"\n") + b"\n")
                    out.write(Path(server.ca_bundle).read_bytes())
                patch.setenv(name, bundle)
        yield


@pytest.fixture
def stand_in(stand_in_server):
    """A clean stand-in for this test: reset (interactions) before it."""
    client = StandIn(stand_in_server)
    client.reset()
    try:
        yield client
    finally:
        client.session.close()
