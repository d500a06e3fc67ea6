"""Settings read from the environment (config.py), and what the app makes of
them: the SQLite file it picks, the SQLite settings it applies."""
import sqlite3
import threading

import pytest
from flask import Flask
from peewee import PostgresqlDatabase
from playhouse.pool import PooledPostgresqlDatabase

from app import create_app
from app.config import from_environment
from app.db import QueuedWritersSqliteDatabase, database, journal_database, open_database
from app.models import SysUser
from conftest import ADMIN_PASSWORD, CHANNEL, basic

SETTINGS = (
    "DATABASE_URL",
    "ADMIN_PASSWORD",
    "SQLITE_SYNCHRONOUS",
    "PASSWORD_HASH_METHOD",
    "DATABASE_STARTUP_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT",
    "TEST_SUPPORT",
    "JOURNAL_SIZE",
    "JOURNAL_BODY_LIMIT",
    "SEED_FILE",
    "ATTACHMENT_MAX_BYTES",
)


@pytest.fixture
def environ(monkeypatch):
    """An environment that sets none of the service's settings."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_defaults(environ):
    assert from_environment() == {
        "DATABASE_URL": None,
        "ADMIN_PASSWORD": None,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "SQLITE_SYNCHRONOUS": "NORMAL",
        "PASSWORD_HASH_METHOD": "scrypt",
        "DATABASE_STARTUP_TIMEOUT": 20.0,
        "SQLITE_BUSY_TIMEOUT": 10.0,
        "TEST_SUPPORT": True,
        "JOURNAL_SIZE": 1000,
        "JOURNAL_BODY_LIMIT": 65536,
        "TABLES_FILE": None,
        "SEED_FILE": None,
        "ATTACHMENT_MAX_BYTES": 64 * 1024 * 1024,
    }


def test_every_setting_is_read(environ):
    environ.setenv("DATABASE_URL", "postgresql://db.example/interactions")
    environ.setenv("ADMIN_PASSWORD", "from-env")
    environ.setenv("SQLITE_SYNCHRONOUS", "full")
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    environ.setenv("DATABASE_STARTUP_TIMEOUT", "2.5")
    environ.setenv("SQLITE_BUSY_TIMEOUT", "0.25")
    environ.setenv("TEST_SUPPORT", " Off ")
    environ.setenv("JOURNAL_SIZE", "0")
    environ.setenv("JOURNAL_BODY_LIMIT", "10")
    environ.setenv("SEED_FILE", "seed.json")
    environ.setenv("TABLES_FILE", "tables.json")
    environ.setenv("ATTACHMENT_MAX_BYTES", "1000")
    assert from_environment() == {
        "DATABASE_URL": "postgresql://db.example/interactions",
        "ADMIN_PASSWORD": "from-env",
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "SQLITE_SYNCHRONOUS": "FULL",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "DATABASE_STARTUP_TIMEOUT": 2.5,
        "SQLITE_BUSY_TIMEOUT": 0.25,
        "TEST_SUPPORT": False,
        "JOURNAL_SIZE": 0,
        "JOURNAL_BODY_LIMIT": 10,
        "SEED_FILE": "seed.json",
        "TABLES_FILE": "tables.json",
        "ATTACHMENT_MAX_BYTES": 1000,
    }


def test_empty_settings_are_unset(environ):
    environ.setenv("DATABASE_URL", "")
    environ.setenv("ADMIN_PASSWORD", "")
    settings = from_environment()
    assert (settings["DATABASE_URL"], settings["ADMIN_PASSWORD"]) == (None, None)


@pytest.fixture
def make_sqlite_app(tmp_path):
    """Apps on a SQLite file of this test's own, configured from `environ`
    and the settings given."""

    def make(**config):
        return create_app({"TESTING": True, "ADMIN_PASSWORD": ADMIN_PASSWORD, **config})

    yield make
    database.close_all()


def assert_creates_interactions_in(app, path):
    response = app.test_client().post("/api/now/interaction", json={"channel": CHANNEL}, headers=basic("admin", ADMIN_PASSWORD))
    assert response.status_code == 201
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT number FROM interaction").fetchall() == [("IMS0000001",)]


def test_without_a_database_url_sqlite_lives_in_the_instance_folder(environ, tmp_path, make_sqlite_app):
    # Where Flask looks for the instance folder, so the test's is a new one.
    environ.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    app = make_sqlite_app()
    path = tmp_path / "instance" / "interaction.sqlite3"
    assert app.config["DATABASE_URL"] == f"sqlite:///{path}"
    assert_creates_interactions_in(app, path)


def test_with_a_database_url_the_instance_folder_is_not_needed(environ, tmp_path, make_sqlite_app):
    # An installed package's instance folder is under the installation's
    # prefix, which the user may not write to: here, under a file.
    (tmp_path / "read-only").write_text("")
    environ.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "read-only" / "instance"))
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path / 'interaction.sqlite3'}")
    assert_creates_interactions_in(app, tmp_path / "interaction.sqlite3")


def test_a_sqlite_path_may_hold_what_looks_like_a_scheme(environ, tmp_path, make_sqlite_app):
    # Only the first "://" ends the scheme; the rest is the file's path.
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    (tmp_path / "a:").mkdir()
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path}/a://interaction.sqlite3")
    assert_creates_interactions_in(app, tmp_path / "a:" / "interaction.sqlite3")


def test_passwords_are_hashed_with_scrypt_by_default(environ, tmp_path, make_sqlite_app):
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with app.app_context():
        assert SysUser.get(SysUser.user_name == "admin").password_hash.startswith("scrypt:")


def pragmas(app, db=database):
    with app.app_context():
        return {
            name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "busy_timeout", "wal_autocheckpoint")
        }


def test_sqlite_runs_in_wal_with_the_default_settings(environ, tmp_path, make_sqlite_app):
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    # synchronous: 1 is NORMAL; busy_timeout is in milliseconds.
    assert pragmas(app) == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 10000, "wal_autocheckpoint": 20000}


def test_sqlite_settings_from_the_environment_are_applied(environ, tmp_path, make_sqlite_app):
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    environ.setenv("SQLITE_SYNCHRONOUS", "full")
    environ.setenv("SQLITE_BUSY_TIMEOUT", "2.5")
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert pragmas(app) == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 2500, "wal_autocheckpoint": 20000}


def test_the_sqlite_journal_is_written_without_fsync_whatever_the_database_s_setting(environ, tmp_path, make_sqlite_app):
    environ.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    environ.setenv("SQLITE_SYNCHRONOUS", "full")
    environ.setenv("SQLITE_BUSY_TIMEOUT", "2.5")
    app = make_sqlite_app(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    journal = pragmas(app, journal_database)
    assert journal == {"journal_mode": "wal", "synchronous": 0, "busy_timeout": 2500, "wal_autocheckpoint": 20000}


def test_a_sqlite_transaction_takes_the_write_lock_when_it_begins(tmp_path):
    path = tmp_path / "db.sqlite3"
    db = open_database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0)
    try:
        with db.connection_context(), db.atomic():
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        db.close_all()


def test_a_pooled_sqlite_connection_serves_any_thread(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    opened_elsewhere = threading.Thread(target=lambda: db.connect() and db.close())
    opened_elsewhere.start()
    opened_elsewhere.join()
    try:
        # The connection the other thread opened, handed back to the pool.
        with db.connection_context():
            assert db.execute_sql("SELECT 1").fetchone() == (1,)
    finally:
        db.close_all()


@pytest.mark.parametrize(
    "url, kind",
    [
        ("sqlite:///{tmp}/a.sqlite3", QueuedWritersSqliteDatabase),
        ("sqlite+pool:///{tmp}/a.sqlite3", QueuedWritersSqliteDatabase),
        ("postgres://u@db.example/interactions", PooledPostgresqlDatabase),
        ("postgresql://u@db.example/interactions", PooledPostgresqlDatabase),
        ("postgres+pool://u@db.example/interactions", PooledPostgresqlDatabase),
        ("postgresql+pool://u@db.example/interactions", PooledPostgresqlDatabase),
    ],
)
def test_every_scheme_is_served_from_a_pool(tmp_path, url, kind):
    db = open_database(url.format(tmp=tmp_path))
    assert type(db) is kind
    # Connections older than five minutes are replaced; no more than 32 at once.
    assert (db._max_connections, db._stale_timeout) == (32, 300)
    if isinstance(db, PostgresqlDatabase):
        assert (db.database, db.connect_params) == ("interactions", {"user": "u", "host": "db.example"})
