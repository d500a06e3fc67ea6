"""The docs run as printed: every ```sh, ```bash and ```python block of
README.md and docs/*.md, in the order of its file, against a real gunicorn
served with ADMIN_PASSWORD=s3cret on SQLite (the examples are about the
clients; the backends are the other tests' subject).

The convention (docs/development.md, "Examples that run"):

- A block runs when its language is `sh`, `bash` or `python`. Output,
  documents and commands a reader runs elsewhere (one that starts the
  service, installs, or takes minutes) are fenced as something else:
  `text`, `json`, `xml`, `sql`, `perl`, `php`.
- Each file is a reader's session of its own: its shell blocks run in one
  bash (`set -euo pipefail`), its Python blocks in one interpreter, so a
  variable set in one block is there in the next, and one set in another
  file is not. Each file starts from a reset service (users but admin,
  interactions, journal and fault rules gone), in a folder of its own that
  holds what a reader in the clone has: `.venv`, `wsgi.py`, `app`, and the
  `cert.pem` of the TLS recipe.
- A Python block that defines `test_` functions is a test module of the
  reader's project: it runs under pytest, with the plugin.
- Every request a block makes must answer below 400 (the servers' access
  lines say), unless its fence names the statuses it shows on purpose,
  e.g. ```python expect=500; those must then occur.
- No fault rule may be left when a file ends.
- An output block marked `output` (```json output) right after a block that
  runs is what that block prints, `…` standing for any text; it is compared.

- The examples run with `REQUESTS_CA_BUNDLE` and `CURL_CA_BUNDLE` naming a
  bundle of public CAs (certifi's), as on many machines and CI images: one
  that does not hold `cert.pem`. requests lets that variable replace a
  session's `verify`, so an example that gives a session the certificate
  must also turn `trust_env` off (or name it in the variable).

The examples say http://127.0.0.1:8080 (the service) and
https://127.0.0.1:8443 (the same service over TLS, sharing its database).
The suite serves both on free ports and rewrites only those host:port pairs,
so that it never talks to a service someone else runs on 8080.
"""
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import certifi
import pytest
import requests

from gunicorn_server import ROOT, Gunicorn, make_certificate

PASSWORD = "s3cret"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = {"sh": "sh", "bash": "sh", "python": "python"}
PORTS = {"8080": "http", "8443": "https"}
BLOCK_TIMEOUT = 60
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# What the developer's shell may hold that a reader's would not: the
# password the examples must set themselves, CA bundles (replaced below by
# READER_BUNDLES), the service's and the plugin's settings.
FOREIGN_SETTINGS = {
    "ADMIN_PASSWORD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "PYTEST_ADDOPTS", "PYTHONPATH",
    "HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "TEST_SUPPORT", "SEED_FILE", "TABLES_FILE", "JOURNAL_SIZE",
    "STAND_IN_URL", "STAND_IN_USER", "STAND_IN_PASSWORD", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
}
# What a reader's machine often has (Debian's and Ubuntu's CI images, many
# Docker images): requests takes these over a session's own `verify`, and
# curl takes CURL_CA_BUNDLE where no --cacert is given. A bundle without the
# docs' certificate, so an example that relies on `verify` alone fails here.
READER_BUNDLES = {"REQUESTS_CA_BUNDLE": certifi.where(), "CURL_CA_BUNDLE": certifi.where()}
ACCESS_LINE = re.compile(r"\[INFO\] (?P<method>[A-Z]+) (?P<path>.*) (?P<status>\d{3}) user=\S+ [\d.]+ms txn=")

# Runs a file's Python blocks in one namespace: each line on stdin names a
# block's file; its line numbers are the document's, so a traceback points
# into the .md file.
PYTHON_SESSION = """
import sys, traceback
namespace = {"__name__": "__main__"}
for line in sys.stdin:
    path, document, first = line.rstrip("\\n").split("\\t")
    source = "\\n" * (int(first) - 1) + open(path).read()
    try:
        exec(compile(source, document, "exec"), namespace)
        outcome = "ok"
    except BaseException:
        traceback.print_exc()
        outcome = "failed"
    sys.stdout.flush()
    sys.stderr.flush()
    open(path + ".done", "w").write(outcome)
"""


class Block:
    def __init__(self, document, line, info, body):
        self.document = document
        self.line = line
        words = info.split()
        self.language = RUN.get(words[0]) if words else None
        self.expected = set()
        self.is_output = "output" in words[1:]
        self.shows = None
        for word in words[1:]:
            name, _, value = word.partition("=")
            if name == "expect":
                self.expected.update(int(status) for status in value.split(","))
        self.body = body

    @property
    def where(self):
        name = self.document.relative_to(ROOT) if self.document.is_relative_to(ROOT) else self.document.name
        return f"{name}:{self.line}"

    def is_test_module(self):
        return self.language == "python" and re.search(r"^def test_\w+\(", self.body, re.MULTILINE) is not None


def blocks(document):
    text = document.read_text()
    found, end = [], None
    for match in FENCE.finditer(text):
        block = Block(document, text.count("\n", 0, match.start()) + 2, match["info"], match["body"])
        if block.is_output and found and found[-1].language and not text[end : match.start()].strip():
            found[-1].shows = block.body
        found.append(block)
        end = match.end()
    return found


def printed_as_shown(printed, shown):
    """Whether a block printed what its output block shows, `…` being any text."""
    pattern = ".*?".join(re.escape(part) for part in shown.strip().split("…"))
    return re.fullmatch(pattern, printed.strip(), re.DOTALL) is not None


def test_the_convention_finds_blocks_to_run_and_skips_output():
    found = blocks(ROOT / "README.md")
    assert {block.language for block in found} >= {"sh", "python", None}
    assert any(block.shows for block in found)


def test_an_output_block_is_matched_whole_with_an_ellipsis_for_any_text():
    assert printed_as_shown('{"a": 1, "b": "x"}\n', '{"a": 1, "b": "…"}')
    assert not printed_as_shown('{"result": []}', '{"result": [{"number": "IMS0000001"}]}')
    assert not printed_as_shown('{"a": 1} and more', '{"a": 1}')


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The service on a free port, and the same over TLS on another, sharing
    one SQLite file: ({"http": server, "https": server}, the certificate and
    key, the database's URL)."""
    folder = tmp_path_factory.mktemp("served")
    certificate, key = make_certificate(folder)
    database_url = f"sqlite:///{folder / 'interaction.sqlite3'}"
    servers = {
        "http": Gunicorn(folder, database_url, PASSWORD, workers=2),
        "https": Gunicorn(
            folder,
            database_url,
            PASSWORD,
            workers=1,
            extra_args=["--certfile", str(certificate), "--keyfile", str(key)],
            ssl_context=ssl.create_default_context(cafile=certificate),
        ),
    }
    try:
        for server in servers.values():
            server.wait_until_healthy()
        yield servers, certificate, key, database_url
    finally:
        for server in servers.values():
            server.stop()


class Reader:
    """A reader's shell and Python, in a folder like the clone's."""

    def __init__(self, folder, servers, database_url):
        self.folder = folder
        self.servers = servers
        self.scratch = folder / ".blocks"
        self.scratch.mkdir()
        self.transcript = folder / ".transcript"
        env = {name: value for name, value in os.environ.items() if name not in FOREIGN_SETTINGS}
        env.update(
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            DATABASE_URL=database_url,
            PYTHONDONTWRITEBYTECODE="1",
            **READER_BUNDLES,
        )
        self.env = env
        self.output = open(self.transcript, "ab")
        self.shell = None
        self.python = None
        self.count = 0

    def close(self):
        for process in (self.shell, self.python):
            if process is not None and process.poll() is None:
                process.stdin.close()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.output.close()

    def _start(self, command):
        return subprocess.Popen(
            command, cwd=self.folder, env=self.env, stdin=subprocess.PIPE, stdout=self.output, stderr=subprocess.STDOUT
        )

    def run(self, block):
        """Runs one block; returns what failed, or None."""
        self.count += 1
        source = self.rewrite(block.body)
        path = self.scratch / f"block-{self.count}"
        path.write_text(source)
        self.output.write(f"\n===== {block.where} ({block.language}) =====\n".encode())
        self.output.flush()
        self.printed_from = self.transcript.stat().st_size
        if block.is_test_module():
            module = self.scratch / f"test_{self.count}"
            module.mkdir()
            (module / "test_example.py").write_text(source)
            outcome = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
                cwd=module, env=self.env, stdout=self.output, stderr=subprocess.STDOUT, timeout=BLOCK_TIMEOUT * 2,
            )
            return None if outcome.returncode == 0 else f"pytest exited with {outcome.returncode}"
        if block.language == "sh":
            if self.shell is None:
                self.shell = self._start(["bash", "--noprofile", "--norc"])
                self._send(self.shell, "set -euo pipefail\n")
            self._send(self.shell, f". {path} </dev/null; echo ok > {path}.done\n")
            return self._wait(self.shell, path)
        if self.python is None:
            self.python = self._start([sys.executable, "-c", PYTHON_SESSION])
        self._send(self.python, f"{path}\t{block.where.rpartition(':')[0]}\t{block.line}\n")
        return self._wait(self.python, path)

    def printed(self):
        """What the last block printed."""
        with open(self.transcript, "rb") as transcript:
            transcript.seek(self.printed_from)
            return transcript.read().decode(errors="replace")

    def rewrite(self, text):
        for port, scheme in PORTS.items():
            for host in ("127.0.0.1", "localhost"):
                text = text.replace(f"{host}:{port}", f"127.0.0.1:{self.servers[scheme].port}")
        return text

    @staticmethod
    def _send(process, line):
        process.stdin.write(line.encode())
        process.stdin.flush()

    @staticmethod
    def _wait(process, path):
        done = Path(f"{path}.done")
        deadline = time.monotonic() + BLOCK_TIMEOUT
        while not done.exists():
            if process.poll() is not None:
                return f"the session exited with {process.returncode}"
            if time.monotonic() > deadline:
                return f"no end within {BLOCK_TIMEOUT} s"
            time.sleep(0.02)
        outcome = done.read_text().strip()
        return None if outcome == "ok" else outcome


def access_lines(server, start):
    """(method, path, status) of the requests the server logged after `start` bytes."""
    with open(server.log_path, "rb") as log:
        log.seek(start)
        text = log.read().decode(errors="replace")
    return [(line["method"], line["path"], int(line["status"])) for line in ACCESS_LINE.finditer(text)]


def admin(servers):
    session = requests.Session()
    session.auth = ("admin", PASSWORD)
    session.base_url = f"http://127.0.0.1:{servers['http'].port}"
    return session


def run_examples(served, folder, document):
    """Runs a document's examples as a reader would; what went wrong, or None."""
    servers, certificate, key, database_url = served
    session = admin(servers)
    session.post(session.base_url + "/__stand_in/reset", json={"scope": "all"}).raise_for_status()
    for name, target in {".venv": Path(sys.prefix), "wsgi.py": ROOT / "wsgi.py", "app": ROOT / "app"}.items():
        (folder / name).symlink_to(target)
    shutil.copy(certificate, folder / "cert.pem")
    shutil.copy(key, folder / "key.pem")

    reader = Reader(folder, servers, database_url)
    try:
        for block in blocks(document):
            if not block.language:
                continue
            starts = {scheme: server.log_path.stat().st_size for scheme, server in servers.items()}
            failure = reader.run(block)
            answered = [line for scheme, server in servers.items() for line in access_lines(server, starts[scheme])]
            refused = [line for line in answered if line[2] >= 400 and line[2] not in block.expected]
            missing = block.expected - {status for _, _, status in answered}
            shown = None if block.shows is None else reader.rewrite(block.shows)
            if not failure and shown is not None and not printed_as_shown(reader.printed(), shown):
                failure = f"printed what the output block after it does not show:\n{block.shows}"
            if failure or refused or missing:
                return (
                    f"{block.where}: {failure or ''}"
                    + (f"\nanswered {refused}" if refused else "")
                    + (f"\nexpected but not answered: {sorted(missing)}" if missing else "")
                    + f"\n--- the session so far:\n{reader.transcript.read_text(errors='replace')[-6000:]}"
                )
    finally:
        reader.close()
    left = session.get(session.base_url + "/__stand_in/faults").json()["result"]
    if left:
        return f"{document.name} leaves fault rules behind: {left}"
    return None


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_every_example_runs_as_printed(served, tmp_path, document):
    if not any(block.language for block in blocks(document)):
        pytest.skip(f"{document.name} has no example to run")
    failure = run_examples(served, tmp_path, document)
    if failure:
        pytest.fail(failure, pytrace=False)


# Pages with one mistake each, as the issue found them in the docs: each
# must fail, and the same page put right must pass.
CURL = 'curl -s -u admin:"$ADMIN_PASSWORD" http://127.0.0.1:8080/api/now/table/interaction'
MISTAKES = {
    "a wrong password": ("```sh\nexport ADMIN_PASSWORD=secret\n" + CURL + "\n```\n", "answered [('GET'"),
    "a password never set": ("```sh\n" + CURL + "\n```\n", "ADMIN_PASSWORD: unbound variable"),
    "a missing import": (
        '```python\nsession = requests.Session()\n```\n', "NameError: name 'requests' is not defined"
    ),
    "an undefined name": (
        '```python\nimport requests\nrequests.get("http://127.0.0.1:8080/health", auth=("admin", password))\n```\n',
        "NameError: name 'password' is not defined",
    ),
    "a leftover fault rule": (
        "```sh\ncurl -s -u admin:s3cret http://127.0.0.1:8080/__stand_in/faults"
        """ -H Content-Type:application/json -d '{"effect": {"type": "delay", "ms": 1}}'\n```\n""",
        "leaves fault rules behind",
    ),
    "an error not announced": (
        "```sh\ncurl -s -u admin:s3cret http://127.0.0.1:8080/api/now/table/nothing\n```\n",
        "answered [('GET', '/api/now/table/nothing', 400)]",
    ),
    "an announced error that does not happen": (
        "```sh expect=503\ncurl -s http://127.0.0.1:8080/health\n```\n", "expected but not answered: [503]"
    ),
    "output that is not printed": (
        "```sh\n" + CURL.replace("$ADMIN_PASSWORD", "s3cret") + "\n```\n\n```json output\n"
        '{"result":[{"number":"IMS0000001"}]}\n```\n',
        "printed what the output block after it does not show",
    ),
    "a verify that REQUESTS_CA_BUNDLE replaces": (
        '```python\nimport requests\nsession = requests.Session()\nsession.verify = "cert.pem"\n'
        'session.get("https://127.0.0.1:8443/health").raise_for_status()\n```\n',
        "CERTIFICATE_VERIFY_FAILED",
    ),
    "a failing test module": (
        "```python\ndef test_nothing_is_there(stand_in):\n"
        '    assert stand_in.session.get(stand_in.base_url + "/api/now/table/interaction").json()["result"]\n```\n',
        "pytest exited with 1",
    ),
}


@pytest.mark.parametrize("page, complaint", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_in_an_example_fails(served, tmp_path, page, complaint):
    document = tmp_path / "page.md"
    document.write_text("# A page\n\n" + page)
    folder = tmp_path / "reader"
    folder.mkdir()
    failure = run_examples(served, folder, document)
    assert failure is not None and complaint in failure, failure


def test_a_page_without_mistakes_passes(served, tmp_path):
    document = tmp_path / "page.md"
    document.write_text(
        "```sh\nexport ADMIN_PASSWORD=s3cret\n"
        + CURL
        + "\n```\n\n```json output\n"
        + '{"result":[]}\n```\n\n'
        + '```python\nimport requests\nrequests.get("http://127.0.0.1:8080/health").raise_for_status()\n'
        + 'session = requests.Session()\nsession.verify = "cert.pem"\nsession.trust_env = False\n'
        + 'session.get("https://127.0.0.1:8443/health").raise_for_status()\n```\n'
    )
    folder = tmp_path / "reader"
    folder.mkdir()
    assert run_examples(served, folder, document) is None
