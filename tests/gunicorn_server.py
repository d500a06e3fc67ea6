"""Real gunicorn masters for the deployment tests: started the way an
operator starts one (`gunicorn wsgi:app` with gunicorn.conf.py, settings in
the environment) on a free loopback port, and stopped without fail."""
import contextlib
import http.client
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Settings of the developer's shell that would change what the test starts.
_FOREIGN_SETTINGS = ("DATABASE_URL", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "HOST", "PORT", "LOG_LEVEL")
_ESTABLISHED = "01"  # a socket's state in /proc/net/tcp


@contextlib.contextmanager
def serving(directory, admin_password, workers=2, **options):
    """A healthy gunicorn on an SQLite file in `directory`, stopped on exit:
    a module's server for the client tests."""
    gunicorn = Gunicorn(directory, f"sqlite:///{directory / 'interaction.sqlite3'}", admin_password, workers, **options)
    try:
        yield gunicorn.wait_until_healthy()
    finally:
        gunicorn.stop()


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    def __init__(self, log_dir, database_url, admin_password, workers, extra_args=(), ssl_context=None):
        self.port = free_port()
        self.ssl_context = ssl_context
        self.log_path = Path(log_dir) / f"gunicorn-{self.port}.log"
        env = {name: value for name, value in os.environ.items() if name not in _FOREIGN_SETTINGS}
        env.update(
            DATABASE_URL=database_url,
            ADMIN_PASSWORD=admin_password,
            WEB_CONCURRENCY=str(workers),
            HOST=HOST,
            PORT=str(self.port),
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "wsgi:app", *extra_args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A group of its own, so that stopping it reaches every worker.
                start_new_session=True,
            )

    @property
    def pid(self):
        return self.process.pid

    def connection(self, timeout=30):
        if self.ssl_context is None:
            return http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        return http.client.HTTPSConnection(HOST, self.port, timeout=timeout, context=self.ssl_context)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_until_healthy(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            connection = self.connection(timeout=2)
            try:
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    return self
            except (OSError, http.client.HTTPException):
                pass  # not listening yet
            finally:
                connection.close()
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn answered no /health within {timeout}s:\n{self.log()}")

    def worker_pids(self):
        """The master's children, read from /proc: its workers."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int(_stat_fields(entry.name)[1])
            except OSError:
                continue  # gone since the listing
            if parent == self.pid:
                children.append(int(entry.name))
        return sorted(children)

    def stop_a_worker_in_a_request(self, timeout=30):
        """Catches a worker holding a client's connection, so that a kill lands
        in the middle of a request: SIGSTOPs every worker, keeps one that holds
        a connection stopped and lets the others go on; returns its pid."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.worker_pids()
            for pid in workers:
                os.kill(pid, signal.SIGSTOP)
            for pid in workers:
                _wait_until_stopped(pid)
            # Read once for all: the table is long on a busy machine.
            connections = self._client_connection_inodes()
            caught = next((pid for pid in workers if _socket_inodes(pid) & connections), None)
            for pid in workers:
                if pid != caught:
                    os.kill(pid, signal.SIGCONT)
            if caught is not None:
                return caught
        raise RuntimeError(f"no worker was caught in a request within {timeout}s")

    def _client_connection_inodes(self):
        """Socket inodes of the established connections to this server's port."""
        inodes = set()
        with open("/proc/net/tcp") as table:
            next(table)  # the heading
            for line in table:
                fields = line.split()
                local_port, state, inode = int(fields[1].rpartition(":")[2], 16), fields[3], fields[9]
                if local_port == self.port and state == _ESTABLISHED:
                    inodes.add(inode)
        return inodes

    def wait_for_workers(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.worker_pids()) != count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn has not {count} workers after {timeout}s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self, timeout=30):
        """SIGTERM, a graceful stop; the whole group is killed if it overruns."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()


def _wait_until_stopped(pid):
    while _stat_fields(pid)[0] not in ("T", "t"):
        time.sleep(0.001)


def _stat_fields(pid):
    """/proc/PID/stat after the command name, which may hold spaces and ')':
    state, parent pid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def _socket_inodes(pid):
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def tls(directory):
    """(a certificate's path, the options that serve Gunicorn over HTTPS
    with it): a self-signed certificate for 127.0.0.1 made in `directory`."""
    certificate, key = make_certificate(directory)
    options = {
        "extra_args": ["--certfile", str(certificate), "--keyfile", str(key)],
        "ssl_context": ssl.create_default_context(cafile=certificate),
    }
    return str(certificate), options


def https_session(certificate, password):
    """A requests session as admin that trusts `certificate`."""
    import requests

    session = requests.Session()
    session.auth = ("admin", password)
    session.verify = str(certificate)
    # Else REQUESTS_CA_BUNDLE, where set, would take the place of `verify`.
    session.trust_env = False
    return session


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1: (certificate path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "cert.pem", directory / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificate_path, key_path
