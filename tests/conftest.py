"""Fixtures: an app on a fresh database of each backend, its test client,
its CLI runner, and credentials; and, under mutmut, the order of the tests.

Every test that takes `app` runs twice: on SQLite (a file of its own) and on
the machine's PostgreSQL (a database of this run's own, dropped at the end).
TEST_POSTGRES=0 leaves PostgreSQL out; otherwise an unreachable server is an
error that says so, never a silent pass.
"""
import base64
import contextlib
import os
import uuid

import pytest

from app import create_app
from app.db import database, journal_database

# A user's project, run by test_pytest_plugin in a pytest of its own.
collect_ignore = ["plugin_project"]

ADMIN_PASSWORD = "admin-secret"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_POSTGRES", "1") != "0" else [])


# Under mutmut, which names its mutant in MUTANT_UNDER_TEST (say
# "app.stand_in.journal.x__body__mutmut_4"), the tests likeliest to fail run
# first, since mutmut stops at the first failure: those that killed another
# mutant of the same function (mutmut runs in mutants/, where this file is
# kept), then the files named for the mutated module. A killed mutant then
# costs a few tests instead of half the suite.
MUTANT_KILLERS = "mutant-killers.txt"


def _mutant():
    """(the mutated function, the words of its module's name), or None."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    module, is_mutant, _ = name.partition(".x")
    return (name.rpartition("__mutmut_")[0], module.split(".")[1:]) if is_mutant else None


def _killers(function):
    try:
        with open(MUTANT_KILLERS) as lines:
            return {nodeid for killed, _, nodeid in (line.rstrip("\n").partition("\t") for line in lines) if killed == function}
    except FileNotFoundError:
        return set()


def pytest_collection_modifyitems(items):
    mutant = _mutant()
    if mutant is None:
        return
    function, words = mutant
    killers = _killers(function)
    items.sort(key=lambda item: (item.nodeid not in killers, -sum(word in item.path.stem for word in words)))


def pytest_runtest_logreport(report):
    mutant = _mutant()
    if mutant is not None and report.failed:
        with open(MUTANT_KILLERS, "a") as killers:
            killers.write(f"{mutant[0]}\t{report.nodeid}\n")


def basic(user_name, password):
    token = base64.b64encode(f"{user_name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@contextlib.contextmanager
def _new_postgres_database():
    """Yields the URL of a new database on the machine's PostgreSQL, dropped
    on exit even while clients are still connected to it."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"interaction_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}\n"
            "Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
            "or run with TEST_POSTGRES=0 to test SQLite alone.",
            pytrace=False,
        )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgres_url():
    """A database of this test run's own, shared by the tests of the run."""
    with _new_postgres_database() as url:
        yield url


@pytest.fixture
def own_postgres_url():
    """A database of this test's own, for servers the test starts itself."""
    if "postgres" not in BACKENDS:
        pytest.skip("TEST_POSTGRES=0 leaves PostgreSQL out")
    with _new_postgres_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'interaction.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def _drop_tables():
    """Every table the test made, declared ones and their triggers' function included."""
    if not database.for_update:
        # The test's last app was on SQLite: its file goes with the test.
        return
    database.connect(reuse_if_open=True)
    database.execute_sql("DROP SCHEMA public CASCADE")
    database.execute_sql("CREATE SCHEMA public")
    database.close()


@pytest.fixture
def make_app(database_url, tmp_path):
    """Creates apps on this test's database; a second call is a restart."""
    apps = []

    def make(from_environment=False, **config):
        # Cheap hashes keep the suite fast; test_auth checks the default.
        settings = {"TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
        if not from_environment:
            settings.update(DATABASE_URL=database_url, ADMIN_PASSWORD=ADMIN_PASSWORD)
        settings.update(config)
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    if apps:
        if database_url.startswith("postgres"):
            _drop_tables()
        database.close_all()
        if journal_database.obj is not database.obj:
            journal_database.close_all()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_auth():
    return basic("admin", ADMIN_PASSWORD)


CHANNEL = "28a59893873103002ae97e2526cb0b5d"
QUEUE = "f3a50867b30303002186a72256a8dcb7"

# The keys of a result, in the order of ServiceNow's page.
RESULT_KEYS = [
    "channel",
    "context",
    "queue",
    "state",
    "number",
    "contextDocument",
    "contextTable",
    "channelMetadataDocument",
    "channelMetadataTable",
    "channel_metadata",
    "sys_id",
    "assigned_to",
    "closed_by",
    "opened_for",
]


def failure(message, detail=None):
    """ServiceNow's error envelope."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


NO_RECORD = failure("No Record found", "Record doesn't exist or ACL restricts the record retrieval")


class Api:
    """The two routes, spoken to through the test client as `admin`."""

    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def _headers(self, extra):
        return {**self.headers, **(extra or {})}

    def create(self, json=None, path="/api/now/interaction", headers=None, **kwargs):
        return self.client.post(path, json=json, headers=self._headers(headers), **kwargs)

    def close(self, sys_id, path="/api/now/interaction/{}/close", headers=None, **kwargs):
        return self.client.post(path.format(sys_id), headers=self._headers(headers), **kwargs)

    def created(self, **fields):
        """The result of a create that must succeed."""
        response = self.create({"channel": CHANNEL, **fields})
        assert response.status_code == 201, response.data
        return response.json["result"]


@pytest.fixture
def api(client, admin_auth):
    return Api(client, admin_auth)
