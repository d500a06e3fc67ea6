"""The throughput benchmark: `make bench`, or `.venv/bin/python bench/run.py`.

In one run, on one gunicorn configuration, it measures the ceiling (a bare
WSGI app answering a fixed 201) and the service's JSON create, XML create and
close, and gives each as a share of that ceiling, so the ratios hold on a busy
machine where the absolute figures do not. WireMock serving the create answer
as a templated stub is a second peer; optionally it measures json-server
0.17.4 posting the same body, and repeats the service's measurements after
prefilling the table. Beside the ratios it prints the instructions each path
costs (bench/instructions.py, callgrind), a figure the machine's load does not
move; and, once its gunicorns are stopped, the pytest plugin's fixture per test
against a JSON create through the fixture's session (bench/fixture_cost.py).
It prints a Markdown report ready to paste.
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import quote

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path[:0] = [ROOT, BENCH]

import instructions  # noqa: E402
import loadgen  # noqa: E402
import more_apis  # noqa: E402
import prefill  # noqa: E402
from app.models import ADMIN_SYS_ID, CHANNEL_METADATA_TABLE, CONTEXT_TABLE  # noqa: E402

CHANNEL = prefill.CHANNEL
QUEUE = prefill.QUEUE
JSON_BODY = (
    f'{{"channel":"{CHANNEL}","queue":"{QUEUE}","context":{{"customer":"42","topic":"billing"}}}}'
).encode()
XML_BODY = (
    f"<request><entry><channel>{CHANNEL}</channel><queue>{QUEUE}</queue>"
    "<context><customer>42</customer><topic>billing</topic></context></entry></request>"
).encode()
CREATE_PATH = "/api/now/interaction"
SOAP_PATH = "/interaction.do?SOAP"
JSON_SERVER_VERSION = "0.17.4"
WIREMOCK_VERSION = "3.13.2"

# The bars of the performance issue.
TARGET_JSON_RATIO = 0.40
TARGET_XML_OF_JSON = 0.90
TARGET_OVER_JSON_SERVER = 6.0
TARGET_P99_MS = 20.0
TARGET_PREFILLED_OF_EMPTY = 0.90
TARGET_GROWTH_MB = 10.0
TARGET_JOURNAL_OF_NONE = 0.90
TARGET_SOAP_OF_REST = 0.80
TARGET_BEARER_OF_BASIC = 0.95
# The tables around an interaction (TABLES.md §5).
TARGET_INCIDENT_OF_INTERACTION = 0.90
TARGET_LOOKUP_MANY_OF_FEW = 0.90
LOOKUP_USERS = (10, 100_000)
TARGET_OVER_WIREMOCK = 1.0
# The Table API's reads, each as a share of the ceiling.
TARGET_READS = {"Table GET by sys_id": 0.45, "Table list number=…": 0.40, "Table list of 100 (PySNC page)": 0.12}
# What PySNC sends with every list: display values and values, no links, no Link header, pages of 100.
PYSNC_PARAMETERS = (
    "sysparm_display_value=all&sysparm_exclude_reference_link=true"
    "&sysparm_suppress_pagination_header=true&sysparm_limit=100&sysparm_offset=0"
)
TABLE_PATH = "/api/now/table/interaction"


@dataclass
class Load:
    """What a measurement sends: one request, or one per path in turn."""

    method: str
    headers: dict
    body: bytes
    paths: list
    expected_status: int

    def split(self, fraction):
        """Two loads that share no path: the first with `fraction` of them."""
        if len(self.paths) == 1:
            return self, self
        cut = int(len(self.paths) * fraction)
        return Load(**{**vars(self), "paths": self.paths[:cut]}), Load(**{**vars(self), "paths": self.paths[cut:]})


@dataclass
class Figures:
    name: str
    table: str
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    # The ceiling measured just before, in the same phase of the run.
    ceiling: float = 0.0

    @property
    def ratio(self):
        return self.rate / self.ceiling


def _gunicorn_knows(setting):
    from gunicorn.config import KNOWN_SETTINGS

    return any(known.name == setting for known in KNOWN_SETTINGS)


# Newer gunicorns open a control socket at one fixed path per user: a
# benchmark server must not take it from a server someone else runs.
_NO_CONTROL_SOCKET = ["--no-control-socket"] if _gunicorn_knows("control_socket_disable") else []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


class Gunicorn:
    """One gunicorn master and its sync workers, on a loopback port."""

    def __init__(self, app, chdir, workers, env=None, log_path=None):
        self.port = free_port()
        self.workers = workers
        command = [
            sys.executable, "-m", "gunicorn",
            "--worker-class", "sync",
            "--workers", str(workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--chdir", chdir,
            "--log-level", "warning",
            *_NO_CONTROL_SOCKET,
            app,
        ]  # fmt: skip
        # The service writes its access line per request to standard output,
        # as deployed: into a file, not into the report.
        log = open(log_path, "ab") if log_path else None
        self.process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=log)
        if log:
            log.close()
        wait_for_port(self.port, self.process)
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start its workers")
            time.sleep(0.1)

    def worker_pids(self):
        path = f"/proc/{self.process.pid}/task/{self.process.pid}/children"
        with open(path) as f:
            return sorted(int(pid) for pid in f.read().split())

    def worker_rss_mb(self):
        sizes = {}
        for pid in self.worker_pids():
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1]) / 1024
        return sizes

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class JsonServer:
    """json-server 0.17.4 through npx, on a loopback port; None when npx or
    the package cannot be had."""

    @classmethod
    def start(cls, folder):
        npx = shutil.which("npx")
        if npx is None:
            return None, "npx is not installed"
        db = os.path.join(folder, "json-server-db.json")
        with open(db, "w") as f:
            f.write('{"interaction": []}')
        port = free_port()
        command = [
            npx, "--yes", f"json-server@{JSON_SERVER_VERSION}",
            "--host", "127.0.0.1", "--port", str(port), "--quiet", db,
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            wait_for_port(port, process, seconds=180)
        except RuntimeError as error:
            cls._kill(process)
            detail = process.stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
            return None, f"json-server did not start: {detail[0]}"
        server = cls()
        server.port, server.process = port, process
        return server, None

    @staticmethod
    def _kill(process):
        # npx runs node as a child: stop the whole session it leads.
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self):
        self._kill(self.process)


class WireMock:
    """WireMock's standalone jar (from the npm package `wiremock`, fetched
    with `npm pack`) on a loopback port, answering the create as a templated
    stub: the service's answer with random ids and the request's channel and
    queue, its request journal on (bounded as the service's, 1000)."""

    @classmethod
    def start(cls, folder):
        java, npm = shutil.which("java"), shutil.which("npm")
        if java is None or npm is None:
            return None, "java and npm are needed" + (" (no java)" if java is None else " (no npm)")
        home = os.path.join(folder, "wiremock")
        os.makedirs(os.path.join(home, "mappings"))
        fetched = subprocess.run(
            [npm, "pack", "--silent", f"wiremock@{WIREMOCK_VERSION}"], cwd=home, capture_output=True, text=True
        )
        if fetched.returncode != 0:
            return None, f"npm pack wiremock@{WIREMOCK_VERSION} failed: {fetched.stderr.strip()[-200:]}"
        subprocess.run(["tar", "-xzf", fetched.stdout.strip().splitlines()[-1]], cwd=home, check=True)
        jar = os.path.join(home, "package", "build", f"wiremock-standalone-{WIREMOCK_VERSION}.jar")
        with open(os.path.join(home, "mappings", "create.json"), "w") as f:
            f.write(_wiremock_stub())
        port = free_port()
        command = [
            java, "-jar", jar, "--port", str(port), "--bind-address", "127.0.0.1", "--root-dir", home,
            "--disable-banner", "--max-request-journal-entries", "1000",
            # A length, as the service sends: bench/loadgen.py reads no chunks.
            "--use-chunked-encoding", "never",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_for_port(port, process, seconds=120)
        except RuntimeError as error:
            JsonServer._kill(process)
            detail = process.stderr.read().decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
            return None, f"WireMock did not start: {detail[0]}"
        server = cls()
        server.port, server.process = port, process
        return server, None

    def stop(self):
        JsonServer._kill(self.process)


def _wiremock_stub():
    hex32 = "{{randomValue length=32 type='HEXADECIMAL' lowercase=true}}"
    body = (
        '{"result":{"channel":"{{jsonPath request.body \'$.channel\'}}","context":{"present":true},'
        '"queue":"{{jsonPath request.body \'$.queue\'}}","state":"queued",'
        '"number":"IMS{{randomInt lower=1000000 upper=9999999}}",'
        f'"contextDocument":"{hex32}","contextTable":"{CONTEXT_TABLE}",'
        f'"channelMetadataDocument":"{hex32}","channelMetadataTable":"{CHANNEL_METADATA_TABLE}",'
        f'"channel_metadata":{{"present":true}},"sys_id":"{hex32}",'
        '"assigned_to":"","closed_by":"","opened_for":""}}'
    )
    return json.dumps({
        "request": {"method": "POST", "url": CREATE_PATH},
        "response": {
            "status": 201,
            "headers": {"Content-Type": "application/json;charset=UTF-8"},
            "body": body,
            "transformers": ["response-template"],
        },
    })


class Wrk:
    name = "wrk"

    def __init__(self, path, threads, folder):
        self.path = path
        self.threads = threads
        self.folder = folder
        version = subprocess.run([path, "-v"], capture_output=True, text=True).stdout
        match = re.search(r"wrk (\S+)", version)
        self.name = f"wrk {match.group(1) if match else ''}".strip()

    def _script(self, load):
        lines = [f'wrk.method = "{load.method}"']
        lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in load.headers.items()]
        lines.append(f"wrk.body = {_lua_string(load.body)}")
        if len(load.paths) > 1:
            paths_file = os.path.join(self.folder, f"paths-{secrets.token_hex(4)}.txt")
            with open(paths_file, "w") as f:
                f.write("\n".join(load.paths) + "\n")
            # Each thread takes every threads-th path from its own offset, so no
            # two requests of a run share a path.
            lines.append(
                f"""
local paths, counter, step, threads = {{}}, 0, {self.threads}, 0
function setup(thread) thread:set("first", threads); threads = threads + 1 end
function init(args)
  for line in io.lines({_lua_string(paths_file.encode())}) do paths[#paths + 1] = line end
  counter = first
end
function request()
  local path = paths[counter % #paths + 1]
  counter = counter + step
  return wrk.format(nil, path)
end"""
            )
        script = os.path.join(self.folder, f"load-{secrets.token_hex(4)}.lua")
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        return script

    def measure(self, port, load, seconds, connections):
        script = self._script(load)
        command = [
            self.path, f"-t{self.threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--latency", "--timeout", "10s", "-s", script, f"http://127.0.0.1:{port}{load.paths[0]}",
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors += int(non_2xx.group(1)) if non_2xx else 0
        return requests, rate, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"), errors


def _lua_string(data):
    return '"' + "".join(f"\\{byte}" for byte in data) + '"'


def _wrk_ms(out, percentile):
    value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class OwnGenerator:
    name = "bench/loadgen.py (no wrk installed)"

    def __init__(self, processes):
        self.processes = processes

    def measure(self, port, load, seconds, connections):
        requests = [loadgen.http_request(load.method, path, load.headers, load.body) for path in load.paths]
        result = loadgen.run(
            "127.0.0.1",
            port,
            requests,
            connections=connections,
            duration=seconds,
            processes=self.processes,
            expected_statuses=(load.expected_status,),
        )
        return result.requests, result.rate, result.percentile(0.5) * 1000, result.percentile(0.99) * 1000, result.errors


def probe(port, load):
    """One request before measuring: the load must get the answer it expects,
    or the figures would measure an error page."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(load.method, load.paths[0], body=load.body, headers=load.headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != load.expected_status:
        raise RuntimeError(f"{load.method} {load.paths[0]} answered {response.status}, not {load.expected_status}: {body[:300]!r}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.folder = tempfile.mkdtemp(prefix="interaction-bench-")
        self.database_url = f"sqlite:///{os.path.join(self.folder, 'interaction.sqlite3')}"
        self.password = secrets.token_urlsafe(12)
        token = base64.b64encode(f"admin:{self.password}".encode()).decode()
        self.auth = {"Authorization": f"Basic {token}"}
        wrk = shutil.which("wrk")
        if wrk and args.generator in ("auto", "wrk"):
            self.generator = Wrk(wrk, min(2, args.connections), self.folder)
        elif args.generator == "wrk":
            raise SystemExit("--generator wrk: wrk is not installed (apt-get install wrk)")
        else:
            self.generator = OwnGenerator(min(2, os.cpu_count() or 1))
        self.figures = []
        self.ceilings = []
        self.memory = None
        self.list_memory = None
        self.json_server_note = None
        self.wiremock_note = None
        # {path: instructions per request}, or why there are none.
        self.instructions = None
        self.instructions_note = None
        self.journal = None
        self.fixture = None
        # (target, SOAP rate ÷ REST rate) of measure_soap.
        self.soap_shares = []
        # JSON create with a bearer token ÷ with Basic, of measure_bearer.
        self.bearer_share = None
        # (target, share) of measure_tables.
        self.table_shares = []
        self.more_apis = more_apis.Rows()

    def run_load(self, name, table, port, load, count=True, connections=None):
        """Warm up, then measure; returns the Figures."""
        connections = connections or self.args.connections
        warmup, load = load.split(self.args.warmup / (self.args.warmup + self.args.duration))
        probe(port, warmup)
        if self.args.warmup > 0:
            self.served += self.generator.measure(port, warmup, self.args.warmup, connections)[0]
        requests, rate, p50, p99, errors = self.generator.measure(port, load, self.args.duration, connections)
        self.served += requests
        ceiling = self.ceilings[-1].rate if self.ceilings else rate
        figures = Figures(name, table, requests, rate, p50, p99, errors, ceiling)
        if count:
            self.figures.append(figures)
        print(f"  {name:<28} {table:>12}  {rate:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  errors {errors}",
              file=sys.stderr, flush=True)  # fmt: skip
        return figures

    def json_create(self, path=CREATE_PATH, headers=None):
        headers = headers or {**self.auth, "Content-Type": "application/json", "Accept": "application/json"}
        return Load("POST", headers, JSON_BODY, [path], 201)

    def xml_create(self):
        headers = {**self.auth, "Content-Type": "application/xml", "Accept": "application/xml"}
        return Load("POST", headers, XML_BODY, [CREATE_PATH], 201)

    def close_load(self, seconds):
        """Close, each request a different open interaction: enough of them
        inserted now that even the ceiling's rate would not run out."""
        upper = max(c.rate for c in self.ceilings) * 1.5 * seconds + 1000
        ids, _ = prefill.insert_interactions(self.database_url, int(upper), ADMIN_SYS_ID, open_ids=True)
        paths = [f"{CREATE_PATH}/{sys_id}/close" for sys_id in ids]
        headers = {**self.auth, "Accept": "application/json"}
        return Load("POST", headers, b"", paths, 200)

    def read_loads(self):
        """The Table API's reads as clients send them, over stored interactions."""
        rows = prefill.sample(self.database_url, 5000)
        headers = {**self.auth, "Accept": "application/json"}
        by_number = [f"{TABLE_PATH}?sysparm_query=number%3D{number}%5EORDERBYsys_id&{PYSNC_PARAMETERS}" for _, number in rows]
        return {
            "Table GET by sys_id": Load("GET", headers, b"", [f"{TABLE_PATH}/{sys_id}" for sys_id, _ in rows], 200),
            "Table list number=…": Load("GET", headers, b"", by_number, 200),
            "Table list of 100 (PySNC page)": Load("GET", headers, b"", [f"{TABLE_PATH}?sysparm_query=ORDERBYsys_id&{PYSNC_PARAMETERS}"], 200),
        }

    def measure_service(self, service, table):
        self.run_load("JSON create", table, service.port, self.json_create())
        self.run_load("XML create", table, service.port, self.xml_create())
        seconds = self.args.warmup + self.args.duration
        self.run_load("close", table, service.port, self.close_load(seconds))
        for name, load in self.read_loads().items():
            self.run_load(name, table, service.port, load)

    def measure_soap(self, service, table):
        """SOAP insert against JSON create, and SOAP get against the Table
        API's GET by sys_id: each SOAP figure between two of its REST
        counterpart, compared with their mean, so that the machine's load
        drifting during the run does not favour either."""
        soap_headers = {**self.auth, "Content-Type": "text/xml;charset=UTF-8"}
        insert = soap_envelope("insert", f"<channel>{CHANNEL}</channel><queue>{QUEUE}</queue>")
        (sys_id,), _ = prefill.insert_interactions(self.database_url, 1, ADMIN_SYS_ID, open_ids=True)
        get = soap_envelope("get", f"<sys_id>{sys_id}</sys_id>")
        rest_get = Load("GET", {**self.auth, "Accept": "application/json"}, b"", [f"{TABLE_PATH}/{sys_id}"], 200)
        pairs = (
            ("SOAP insert", Load("POST", soap_headers, insert, [SOAP_PATH], 200), "JSON create", self.json_create()),
            ("SOAP get", Load("POST", soap_headers, get, [SOAP_PATH], 200), "Table API GET by sys_id", rest_get),
        )
        for soap_name, soap_load, rest_name, rest_load in pairs:
            before = self.run_load(f"{rest_name}, before {soap_name}", table, service.port, rest_load)
            soap = self.run_load(soap_name, table, service.port, soap_load)
            after = self.run_load(f"{rest_name}, after {soap_name}", table, service.port, rest_load)
            share = soap.rate / ((before.rate + after.rate) / 2)
            self.soap_shares.append((f"{soap_name} ≥ {TARGET_SOAP_OF_REST:.2f} × {rest_name}", share))

    def bearer_token(self, port):
        """An access token of the password grant, from a client registered
        at run time (OAUTH.md)."""
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            body = json.dumps({"name": "bench", "user": "admin"})
            connection.request("POST", "/__stand_in/oauth/clients", body, {**self.auth, "Content-Type": "application/json"})
            client = json.loads(connection.getresponse().read())["result"]
            form = (
                f"grant_type=password&username=admin&password={self.password}"
                f"&client_id={client['client_id']}&client_secret={client['client_secret']}"
            )
            connection.request("POST", "/oauth_token.do", form, {"Content-Type": "application/x-www-form-urlencoded"})
            return json.loads(connection.getresponse().read())["access_token"]
        finally:
            connection.close()

    def measure_bearer(self, service, table):
        """JSON create with Basic and with a bearer token, in turn, twice
        each and Basic once more at the end, so that a drift of the
        machine's load falls on both alike; the means compared."""
        headers = {"Authorization": f"Bearer {self.bearer_token(service.port)}",
                   "Content-Type": "application/json", "Accept": "application/json"}  # fmt: skip
        rates = {"Basic": [], "bearer token": []}
        for name in ("Basic", "bearer token", "Basic", "bearer token", "Basic"):
            load = self.json_create(headers=headers if name == "bearer token" else None)
            rates[name].append(self.run_load(f"JSON create, {name}", table, service.port, load).rate)
        basic, bearer = (sum(rates[name]) / len(rates[name]) for name in ("Basic", "bearer token"))
        self.bearer_share = bearer / basic
    def measure_tables(self, service, ceiling):
        """Incident insert against interaction insert through the Table API,
        each with a reference given, the incident between two of the
        interaction's (as measure_soap); then the integrations' caller lookup
        with 10 users and with 100,000, each against its phase's ceiling."""
        headers = {**self.auth, "Content-Type": "application/json", "Accept": "application/json"}
        interaction = Load("POST", headers, f'{{"short_description":"Printer on fire","opened_for":"{ADMIN_SYS_ID}"}}'.encode(),
                           [TABLE_PATH], 201)  # fmt: skip
        incident = Load("POST", headers, f'{{"short_description":"Printer on fire","caller_id":"{ADMIN_SYS_ID}"}}'.encode(),
                        ["/api/now/table/incident"], 201)  # fmt: skip
        before = self.run_load("Table insert interaction", "empty", service.port, interaction)
        measured = self.run_load("Table insert incident", "empty", service.port, incident)
        after = self.run_load("Table insert interaction, after", "empty", service.port, interaction)
        share = measured.rate / ((before.rate + after.rate) / 2)
        self.table_shares.append((f"incident insert ≥ {TARGET_INCIDENT_OF_INTERACTION:.2f} × interaction insert (Table API)", share,
                                  TARGET_INCIDENT_OF_INTERACTION))  # fmt: skip
        stored = 0
        ratios = []
        for users in LOOKUP_USERS:
            prefill.insert_users(self.database_url, users - stored, stored)
            stored = users
            paths = [
                f"/api/now/table/sys_user?sysparm_query=phone%3D{quote(phone)}^ORmobile_phone%3D{quote(phone)}"
                "&sysparm_fields=user_name,sys_id&sysparm_limit=1"
                for phone in (prefill.user_phone(n * 7919 % users + (5_000_000 if n % 2 else 0)) for n in range(2000))
            ]
            self.measure_ceiling(ceiling, f"{users:,} users")
            figures = self.run_load("caller lookup", f"{users:,} users", service.port, Load("GET", headers, b"", paths, 200))
            ratios.append(figures.ratio)
        self.table_shares.append(
            (f"caller lookup with {LOOKUP_USERS[1]:,} users ≥ {TARGET_LOOKUP_MANY_OF_FEW:.2f} × with {LOOKUP_USERS[0]}",
             ratios[1] / ratios[0], TARGET_LOOKUP_MANY_OF_FEW)  # fmt: skip
        )

    def measure_ceiling(self, ceiling, table):
        load = Load("POST", {"Content-Type": "application/json"}, JSON_BODY, ["/"], 201)
        figures = self.run_load("ceiling", table, ceiling.port, load, count=False)
        figures.ceiling = figures.rate
        self.ceilings.append(figures)

    def check_memory(self, service, before):
        """Serve JSON creates until --requests have been served since
        `before` was taken, then take the workers' RSS again."""
        load = self.json_create()
        rate = self.figures[0].rate or 100
        while self.served < self.args.requests:
            remaining = self.args.requests - self.served
            seconds = min(60.0, max(1.0, remaining / rate * 1.05))
            self.served += self.generator.measure(service.port, load, seconds, self.args.connections)[0]
        self.memory = (before, service.worker_rss_mb(), self.served)

    def check_list_memory(self, service):
        """Worker RSS before and after lists of 10,000 records (every field,
        display values and values): what one such answer costs a worker."""
        path = f"{TABLE_PATH}?sysparm_limit=10000&sysparm_display_value=all"
        before = service.worker_rss_mb()
        sizes = []
        for _ in range(4 * self.args.workers):
            connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
            connection.request("GET", path, headers={**self.auth, "Accept": "application/json"})
            response = connection.getresponse()
            sizes.append(len(response.read()))
            connection.close()
        after = service.worker_rss_mb()
        growth = max(after[pid] - before[pid] for pid in before if pid in after)
        self.list_memory = (growth, max(sizes) / 1024 / 1024)

    def run(self):
        started = datetime.datetime.now().astimezone()
        load_at_start = os.getloadavg()
        print(f"bench: {self.generator.name}; files in {self.folder}", file=sys.stderr)
        ceiling = Gunicorn("ceiling:app", BENCH, self.args.workers)
        service = Gunicorn(
            "wsgi:app",
            ROOT,
            self.args.workers,
            {"DATABASE_URL": self.database_url, "ADMIN_PASSWORD": self.password},
            log_path=os.path.join(self.folder, "service.log"),
        )
        try:
            self.served = 0
            self.measure_ceiling(ceiling, "empty")
            # Memory is taken after the first warm-up, so that what a worker
            # builds once (compiled SQL, caches, the connection) is not growth.
            probe(service.port, self.json_create())
            self.generator.measure(service.port, self.json_create(), 1, self.args.connections)
            before = service.worker_rss_mb()
            self.served = 0
            if self.args.only_tables:
                self.measure_tables(service, ceiling)
            else:
                self.measure_service(service, "empty")
                self.measure_soap(service, "empty")
                self.measure_bearer(service, "empty")
                if self.args.tables:
                    self.measure_tables(service, ceiling)
                if self.args.journal:
                    self.measure_journal()
                if self.args.requests:
                    self.check_memory(service, before)
                # After the growth check: a list of 10,000 lifts a worker's RSS to its high-water mark.
                self.check_list_memory(service)
                if self.args.more_apis:
                    self.more_apis.measure(self, service, Gunicorn, ROOT, Load)
                if self.args.wiremock:
                    self.measure_wiremock()
                if self.args.json_server:
                    self.measure_json_server()
                if self.args.prefill:
                    print(f"  prefilling {self.args.prefill:,} interactions ...", file=sys.stderr, flush=True)
                    _, seconds = prefill.insert_interactions(self.database_url, self.args.prefill, ADMIN_SYS_ID)
                    self.prefill_seconds = seconds
                    table = f"+{self.args.prefill:,}"
                    self.measure_ceiling(ceiling, table)
                    self.measure_service(service, table)
        finally:
            service.stop()
            ceiling.stop()
            if not self.args.keep:
                shutil.rmtree(self.folder, ignore_errors=True)
        # Once the gunicorns are gone: the plugin's server is the only one.
        if self.args.fixture:
            self.measure_fixture()
        # Last, with no server running: callgrind takes both cores for minutes.
        if self.args.instructions:
            self.count_instructions()
        print(self.report(started, load_at_start))

    def measure_fixture(self):
        """The pytest plugin's fixture per test, against a JSON create
        through its session (bench/fixture_cost.py)."""
        import fixture_cost

        rounds = self.args.fixture_rounds
        self.fixture = (rounds, *fixture_cost.measure(rounds))
        print(f"  fixture per test {self.fixture[1]:.2f} ms, JSON create {self.fixture[2]:.2f} ms", file=sys.stderr, flush=True)

    def count_instructions(self):
        # 50 first, as the issue's counts: Python 3.11 specializes its
        # bytecode as it runs, and caches fill (2 first counted 20 % more).
        few = 50
        many = few + self.args.instructions
        print(f"  counting instructions per request (callgrind, requests {few + 1} to {many}) ...", file=sys.stderr, flush=True)
        try:
            self.instructions = instructions.count(few=few, many=many)
        except RuntimeError as error:
            self.instructions_note = f"callgrind failed: {error}"
            return
        if self.instructions is None:
            self.instructions_note = "valgrind is not installed (apt-get install valgrind)"
            return
        self.instructions_note = (
            f"instructions per request: callgrind, in one process through Flask's test client on SQLite, "
            f"requests {few + 1} to {many} of each path (bench/instructions.py)"
        )

    def measure_journal(self):
        """JSON create on two new services alike but for the request journal:
        on (the default) and JOURNAL_SIZE=0, measured in turn, twice each,
        so that a drift of the machine's load falls on both alike (the main
        service's table is no longer empty by now)."""
        servers = {}
        try:
            for key, extra in (("on", {}), ("off", {"JOURNAL_SIZE": "0"})):
                url = f"sqlite:///{os.path.join(self.folder, f'journal-{key}.sqlite3')}"
                env = {"DATABASE_URL": url, "ADMIN_PASSWORD": self.password, **extra}
                log_path = os.path.join(self.folder, f"journal-{key}.log")
                servers[key] = Gunicorn("wsgi:app", ROOT, self.args.workers, env, log_path=log_path)
            rates = {"on": [], "off": []}
            for _ in range(2):
                for key in ("off", "on"):
                    name = "JSON create, journal on" if key == "on" else "JSON create, JOURNAL_SIZE=0"
                    rates[key].append(self.run_load(name, "empty", servers[key].port, self.json_create(), count=False))
        finally:
            for server in servers.values():
                server.stop()
        self.journal = {key: sum(f.rate for f in figures) / len(figures) for key, figures in rates.items()}
        self.journal["figures"] = rates

    def measure_wiremock(self):
        server, why_not = WireMock.start(self.folder)
        if server is None:
            self.wiremock_note = why_not
            print(f"  WireMock skipped: {why_not}", file=sys.stderr)
            return
        try:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            self.run_load(f"WireMock {WIREMOCK_VERSION} create", "empty", server.port, self.json_create(CREATE_PATH, headers))
        finally:
            server.stop()

    def measure_json_server(self):
        server, why_not = JsonServer.start(self.folder)
        if server is None:
            self.json_server_note = why_not
            print(f"  json-server skipped: {why_not}", file=sys.stderr)
            return
        try:
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            self.run_load(f"json-server {JSON_SERVER_VERSION} create", "empty", server.port, self.json_create("/interaction", headers))
        finally:
            server.stop()

    def report(self, started, load_at_start):
        args = self.args
        lines = [
            f"### Benchmark, {started:%Y-%m-%d %H:%M %Z}",
            "",
            f"- machine: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gb():.0f} GB; "
            f"load average at start {load_at_start[0]:.2f}, {load_at_start[1]:.2f}, {load_at_start[2]:.2f}",
            f"- command: `{_command_line()}`",
            f"- server: gunicorn, {args.workers} sync workers, on 127.0.0.1; "
            f"SQLite (WAL, synchronous=NORMAL) in a temporary folder; the service as gunicorn.conf.py "
            f"sets it up, its access log (a line per request) written to a file; Python {platform.python_version()}",
            f"- load: {self.generator.name}, {args.connections} connections, "
            f"{args.duration:g} s per measurement after {args.warmup:g} s of warm-up",
            "- ceiling: a bare WSGI app reading the body and answering a fixed 201 (bench/ceiling.py), "
            "measured at the start of each phase (empty table, prefilled table); each ratio is to the "
            "ceiling of its phase, so that it holds while the machine's load drifts",
            f"- {self.instructions_note}" if self.instructions_note else "- instructions per request: not counted",
            "",
            "| measurement | interactions stored | req/s | p50 ms | p99 ms | errors | × ceiling | instructions per request |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        counts = self.instructions or {}
        for f in sorted([*self.ceilings, *self.figures], key=lambda f: f.table != "empty"):
            count = counts.get(f.name) if f.table == "empty" else None
            count = f"{count:,.0f}" if count is not None else ""
            lines.append(
                f"| {f.name} | {f.table} | {f.rate:.0f} | {f.p50_ms:.2f} | {f.p99_ms:.2f} | {f.errors} | {f.ratio:.2f} | {count} |"
            )
        if self.journal:
            off = self.journal["off"]
            lines += ["", "The request journal: JSON create on two new services, measured in turn, twice each (mean req/s):", ""]
            lines += ["| measurement | req/s | runs | × JOURNAL_SIZE=0 |", "|---|---:|---|---:|"]
            for key, label in (("off", "JSON create, JOURNAL_SIZE=0"), ("on", "JSON create, journal on (default)")):
                runs = ", ".join(f"{f.rate:.0f}" for f in self.journal["figures"][key])
                lines.append(f"| {label} | {self.journal[key]:.0f} | {runs} | {self.journal[key] / off:.2f} |")
        if self.memory:
            before, after, served = self.memory
            lines += ["", f"Worker memory (RSS) over {served:,} requests after warm-up:", ""]
            lines += ["| worker | before MB | after MB | growth MB |", "|---|---:|---:|---:|"]
            for pid in sorted(before):
                if pid in after:
                    lines.append(f"| {pid} | {before[pid]:.1f} | {after[pid]:.1f} | {after[pid] - before[pid]:+.1f} |")
        if self.list_memory:
            growth, answer = self.list_memory
            lines += ["", f"A list of 10,000 records with display values: {answer:.1f} MB of JSON; "
                      f"worker RSS grew by at most {growth:+.1f} MB over {4 * args.workers} of them."]
        if self.more_apis.download:
            lines += self.more_apis.report()
        if self.wiremock_note:
            lines += ["", f"WireMock: not measured ({self.wiremock_note})."]
        if self.json_server_note:
            lines += ["", f"json-server: not measured ({self.json_server_note})."]
        if args.prefill:
            lines += ["", f"Prefill: {args.prefill:,} interactions with their documents in {self.prefill_seconds:.0f} s."]
        lines += ["", "| target | measured | holds |", "|---|---|---|"]
        lines += [f"| {target} | {measured} | {'yes' if holds else '**no**'} |" for target, measured, holds in self.targets()]
        if self.fixture:
            import fixture_cost

            lines += ["", *fixture_cost.report(*self.fixture)]
        return "\n".join(lines)

    def targets(self):
        by_name = {}
        for f in self.figures:
            by_name.setdefault(f.name, []).append(f)
        if self.args.only_tables:
            yield from self.table_targets()
            return
        json_create, xml_create, close = (by_name[n][0] for n in ("JSON create", "XML create", "close"))
        ratio = json_create.ratio
        yield f"JSON create ≥ {TARGET_JSON_RATIO:.2f} × ceiling", f"{ratio:.2f}", ratio >= TARGET_JSON_RATIO
        share = xml_create.rate / json_create.rate
        yield f"XML create ≥ {TARGET_XML_OF_JSON:.2f} × JSON create", f"{share:.2f}", share >= TARGET_XML_OF_JSON
        ratio = close.ratio
        yield f"close ≥ {TARGET_JSON_RATIO:.2f} × ceiling", f"{ratio:.2f}", ratio >= TARGET_JSON_RATIO
        for name in (n for n in by_name if n.startswith("json-server")):
            times = json_create.rate / by_name[name][0].rate
            yield f"JSON create ≥ {TARGET_OVER_JSON_SERVER:g} × {name}", f"{times:.1f} ×", times >= TARGET_OVER_JSON_SERVER
        for name in (n for n in by_name if n.startswith("WireMock")):
            times = json_create.rate / by_name[name][0].rate
            yield f"JSON create ≥ {TARGET_OVER_WIREMOCK:g} × {name}", f"{times:.2f} ×", times >= TARGET_OVER_WIREMOCK
        for name, target in TARGET_READS.items():
            ratio = by_name[name][0].ratio
            yield f"{name} ≥ {target:.2f} × ceiling", f"{ratio:.2f}", ratio >= target
        for name, target in instructions.TARGETS.items():
            if self.instructions:
                count = self.instructions[name]
                yield f"{name} ≤ {target / 1e6:g}M instructions per request", f"{count / 1e6:.2f}M", count <= target
        service = [f for f in self.figures if not f.name.startswith(("json-server", "WireMock"))]
        worst = max(service, key=lambda f: f.p99_ms)
        yield (
            f"p99 ≤ {TARGET_P99_MS:g} ms at {self.args.connections} connections",
            f"worst {worst.p99_ms:.1f} ms ({worst.name}, {worst.table})",
            worst.p99_ms <= TARGET_P99_MS,
        )
        for target, share in self.soap_shares:
            yield target, f"{share:.2f}", share >= TARGET_SOAP_OF_REST
        if self.bearer_share is not None:
            yield (
                f"JSON create with a bearer token ≥ {TARGET_BEARER_OF_BASIC:.2f} × with Basic",
                f"{self.bearer_share:.2f}",
                self.bearer_share >= TARGET_BEARER_OF_BASIC,
            )
        yield from self.table_targets()
        errors = sum(f.errors for f in service)
        yield "no errors", str(errors), errors == 0
        if self.more_apis.download:
            yield from self.more_apis.targets()
        if self.args.prefill:
            for name in ("JSON create", "XML create", "close", *TARGET_READS):
                if len(by_name[name]) > 1:
                    # Each rate as a share of its phase's ceiling: the machine's
                    # load may change while the table fills.
                    share = by_name[name][1].ratio / by_name[name][0].ratio
                    yield (
                        f"{name} with {self.args.prefill:,} stored ≥ {TARGET_PREFILLED_OF_EMPTY:.2f} × empty",
                        f"{share:.2f}",
                        share >= TARGET_PREFILLED_OF_EMPTY,
                    )
        if self.journal:
            share = self.journal["on"] / self.journal["off"]
            yield (
                f"JSON create, journal on vs JOURNAL_SIZE=0 ≥ {TARGET_JOURNAL_OF_NONE:.2f} ×",
                f"{share:.2f}",
                share >= TARGET_JOURNAL_OF_NONE,
            )
        if self.memory:
            before, after, served = self.memory
            growth = max(after[pid] - before[pid] for pid in before if pid in after)
            yield (
                f"worker RSS growth ≤ {TARGET_GROWTH_MB:g} MB over {self.args.requests:,} requests",
                f"{growth:+.1f} MB over {served:,}",
                growth <= TARGET_GROWTH_MB and served >= self.args.requests,
            )


    def table_targets(self):
        for target, share, bar in self.table_shares:
            yield target, f"{share:.2f}", share >= bar


def soap_envelope(operation, children):
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f'<{operation} xmlns="http://www.service-now.com/interaction">{children}</{operation}>'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb():
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3


def _command_line():
    return os.environ.get("BENCH_COMMAND") or " ".join(["python bench/run.py", *sys.argv[1:]])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=16, help="concurrent client connections (16)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before each measurement (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, for every server (2)")
    parser.add_argument("--prefill", type=int, default=0, metavar="N", help="then store N interactions and measure again")
    parser.add_argument("--requests", type=int, default=100_000, help="requests the memory check spans; 0 skips it (100000)")
    parser.add_argument("--json-server", action="store_true", help=f"also measure json-server {JSON_SERVER_VERSION} (npx)")
    parser.add_argument("--no-wiremock", dest="wiremock", action="store_false",
                        help=f"skip WireMock {WIREMOCK_VERSION} (npm pack, java), the second peer")  # fmt: skip
    parser.add_argument("--instructions", type=int, default=100, metavar="N",
                        help="count instructions per request over N requests after 50; 0 skips (100)")  # fmt: skip
    parser.add_argument("--generator", choices=("auto", "wrk", "own"), default="auto", help="wrk if installed (auto)")
    parser.add_argument("--no-journal", dest="journal", action="store_false",
                        help="skip the journal's measurement (JSON create with and without it)")  # fmt: skip
    parser.add_argument("--no-tables", dest="tables", action="store_false",
                        help="skip the tables' measurements (incident insert, caller lookup)")  # fmt: skip
    parser.add_argument("--only-tables", action="store_true", help="measure the tables' rows alone")
    parser.add_argument("--no-more-apis", dest="more_apis", action="store_false",
                        help="skip the Attachment and Batch APIs' rows (bench/more_apis.py)")  # fmt: skip
    parser.add_argument("--no-fixture", dest="fixture", action="store_false",
                        help="skip the pytest fixture's cost per test (bench/fixture_cost.py)")  # fmt: skip
    parser.add_argument("--fixture-rounds", type=int, default=500, help="tests and creates the fixture's cost is measured over (500)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (database, scripts)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    Bench(parse_args()).run()
