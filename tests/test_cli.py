"""flask --app wsgi user ...: managing users from the command line, and the
admin a first start creates (§6)."""
import re
from datetime import datetime

import pytest
from conftest import CHANNEL, basic

from app.models import SysUser


def create(app, user, password):
    return app.test_client().post("/api/now/interaction", json={"channel": CHANNEL}, headers=basic(user, password))


def test_add_then_authenticate(app, runner):
    result = runner.invoke(args=["user", "add", "alice", "--password", "alice-pw"])
    assert (result.exit_code, result.output) == (0, "Added alice\n")
    assert create(app, "alice", "alice-pw").status_code == 201


def test_add_asks_for_the_password(app, runner):
    result = runner.invoke(args=["user", "add", "bob"], input="bob-pw\nbob-pw\n")
    assert result.exit_code == 0
    assert "bob-pw" not in result.output
    assert create(app, "bob", "bob-pw").status_code == 201


def test_add_refuses_a_duplicate_or_a_bad_name(runner):
    duplicate = runner.invoke(args=["user", "add", "admin", "--password", "x"])
    assert duplicate.exit_code == 1
    assert "User 'admin' already exists" in duplicate.output
    colon = runner.invoke(args=["user", "add", "a:b", "--password", "x"])
    assert colon.exit_code == 1
    assert "without ':'" in colon.output


def test_passwd_changes_the_password(app, runner):
    result = runner.invoke(args=["user", "passwd", "admin", "--password", "changed"])
    assert (result.exit_code, result.output) == (0, "Password changed for admin\n")
    assert create(app, "admin", "changed").status_code == 201


def test_passwd_of_an_unknown_user_fails(runner):
    result = runner.invoke(args=["user", "passwd", "ghost", "--password", "x"])
    assert result.exit_code == 1
    assert "No user 'ghost'" in result.output


def test_deactivate_and_list(app, runner):
    runner.invoke(args=["user", "add", "zoe", "--password", "zoe-pw"])
    runner.invoke(args=["user", "add", "carol", "--password", "carol-pw"])
    result = runner.invoke(args=["user", "deactivate", "carol"])
    assert (result.exit_code, result.output) == (0, "Deactivated carol\n")
    assert create(app, "carol", "carol-pw").status_code == 401

    with app.app_context():
        carol = SysUser.get(SysUser.user_name == "carol")
        zoe = SysUser.get(SysUser.user_name == "zoe")
    listing = runner.invoke(args=["user", "list"])
    assert listing.exit_code == 0
    assert listing.output == (
        "admin\t6816f79cc0a8016401c5a33be04be441\tactive\tadmin\n"
        f"carol\t{carol.sys_id}\tinactive\n"
        f"zoe\t{zoe.sys_id}\tactive\n"
    )


def test_a_first_start_without_admin_password_prints_a_random_one_once(make_app, capsys):
    app = make_app(ADMIN_PASSWORD=None)
    printed = capsys.readouterr().err
    assert printed.startswith("Created user 'admin' with password ")
    password = printed.split("password ")[1].split(" ")[0]
    # 12 random bytes, URL-safe base64.
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", password)
    assert create(app, "admin", password).status_code == 201

    make_app(ADMIN_PASSWORD=None)
    assert capsys.readouterr().err == ""


def test_the_database_and_admin_password_come_from_the_environment(make_app, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ADMIN_PASSWORD", "from-env")
    app = make_app(from_environment=True)
    assert app.config["DATABASE_URL"] == database_url
    assert create(app, "admin", "from-env").status_code == 201


def test_a_restart_keeps_the_data(make_app):
    first = make_app()
    client = first.test_client()
    admin = basic("admin", "admin-secret")
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin).json["result"]

    second = make_app(ADMIN_PASSWORD="ignored-now")
    client = second.test_client()
    closed = client.post(f"/api/now/interaction/{created['sys_id']}/close", headers=admin)
    assert closed.status_code == 200
    assert closed.json["result"]["number"] == created["number"]
    following = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin).json["result"]
    assert following["number"] == "IMS0000002"


def test_a_start_waits_for_the_database(make_app, tmp_path, caplog):
    import threading

    folder = tmp_path / "not-yet"
    # SQLite cannot open a file in a folder that does not exist: the database
    # "comes up" when the folder appears.
    threading.Timer(1.5, folder.mkdir).start()
    app = make_app(DATABASE_URL=f"sqlite:///{folder / 'interaction.sqlite3'}", DATABASE_STARTUP_TIMEOUT=30)
    assert create(app, "admin", "admin-secret").status_code == 201
    waits = [(record.levelname, record.getMessage()) for record in caplog.records if record.name == "app.db"]
    assert waits
    for level, message in waits:
        assert level == "WARNING"
        assert re.fullmatch(r"The database is not available yet, retrying: unable to open .+", message)


def test_a_start_gives_up_when_the_database_stays_away(make_app, tmp_path):
    from peewee import OperationalError

    with pytest.raises(OperationalError):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'never' / 'x.sqlite3'}", DATABASE_STARTUP_TIMEOUT=0)


def test_only_sqlite_files_and_postgresql_are_served(make_app):
    with pytest.raises(ValueError, match=r"must be sqlite:///PATH or postgresql://\.\.\., not mysql://"):
        make_app(DATABASE_URL="mysql://root@127.0.0.1/test")
    with pytest.raises(ValueError, match="^SQLite in memory cannot be shared by a pool: give DATABASE_URL a file$"):
        make_app(DATABASE_URL="sqlite:///:memory:")


BAD_NAME = "Error: A user name is 1 to 40 printable characters, without ':'\n"


@pytest.mark.parametrize("user_name", ["", "n" * 41, "tab\there"], ids=["empty", "41 characters", "control"])
def test_add_refuses_a_name_of_no_or_too_many_or_unprintable_characters(app, runner, user_name):
    result = runner.invoke(args=["user", "add", user_name, "--password", "x"])
    assert (result.exit_code, result.output) == (1, BAD_NAME)
    with app.app_context():
        assert [user.user_name for user in SysUser.select()] == ["admin"]


def test_a_name_of_40_characters_is_a_user_with_a_new_sys_id(app, runner):
    name = "n" * 40
    result = runner.invoke(args=["user", "add", name, "--password", "long-pw"])
    assert (result.exit_code, result.output) == (0, f"Added {name}\n")
    assert create(app, name, "long-pw").status_code == 201
    with app.app_context():
        user = SysUser.get(SysUser.user_name == name)
    assert len(user.sys_id) == 32 and int(user.sys_id, 16) >= 0
    assert (user.active, user.sys_mod_count) == (True, 0)
    assert user.sys_created_on == user.sys_updated_on


def test_add_refuses_an_empty_password(app, runner):
    result = runner.invoke(args=["user", "add", "dave", "--password", ""])
    assert (result.exit_code, result.output) == (1, "Error: The password must not be empty\n")


def test_each_change_of_a_user_counts(app, runner):
    runner.invoke(args=["user", "add", "erin", "--password", "erin-pw"])
    long_ago = datetime(2001, 1, 1)
    with app.app_context():
        SysUser.update(sys_updated_on=long_ago).execute()
    for args in (["passwd", "erin", "--password", "new-pw"], ["deactivate", "erin"], ["activate", "erin"]):
        assert runner.invoke(args=["user", *args]).exit_code == 0
    with app.app_context():
        erin = SysUser.get(SysUser.user_name == "erin")
        admin = SysUser.get(SysUser.user_name == "admin")
    assert (erin.sys_mod_count, erin.active, admin.sys_mod_count) == (3, True, 0)
    assert (erin.sys_updated_on > long_ago, admin.sys_updated_on) == (True, long_ago)
    assert create(app, "erin", "new-pw").status_code == 201


@pytest.mark.parametrize("command", ["deactivate", "activate"])
def test_deactivate_or_activate_an_unknown_user_fails(runner, command):
    result = runner.invoke(args=["user", command, "ghost"])
    assert (result.exit_code, result.output) == (1, "Error: No user 'ghost'\n")


def test_a_first_start_with_admin_password_prints_nothing(make_app, capsys):
    make_app()
    assert capsys.readouterr().err == ""
