"""Writers on SQLite queue on a file lock: the queue must always be left,
whether a transaction commits or fails, and threads of one process must
take turns like processes do."""
import functools
import os
import sqlite3
import threading
import time

import pytest
from peewee import OperationalError, Table

from app.db import Compiled, QueuedWritersSqliteDatabase, WalCheckpointer, open_database, param


@pytest.fixture
def db(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'writers.sqlite3'}")
    assert isinstance(database, QueuedWritersSqliteDatabase)
    with database.connection_context():
        database.execute_sql("CREATE TABLE t (n INTEGER)")
    yield database
    database.close_all()


def count(db):
    with db.connection_context():
        return db.execute_sql("SELECT count(*) FROM t").fetchone()[0]


def test_a_failed_transaction_leaves_the_queue(db):
    with db.connection_context():
        with pytest.raises(ZeroDivisionError):
            with db.atomic():
                db.execute_sql("INSERT INTO t VALUES (1)")
                1 / 0
        with db.atomic():
            db.execute_sql("INSERT INTO t VALUES (2)")
    assert count(db) == 1


def test_a_failed_single_statement_leaves_the_queue_and_another_thread_writes(db):
    with db.connection_context():
        with pytest.raises(OperationalError):
            db.execute_alone("INSERT INTO nowhere VALUES (1)", ())
    # Another thread would wait forever on a queue left held.
    writer = threading.Thread(target=insert, args=(db, 2))
    writer.start()
    writer.join(timeout=10)
    assert not writer.is_alive()
    assert count(db) == 1


def test_threads_take_turns(db):
    def write():
        with db.connection_context():
            for n in range(50):
                with db.atomic():
                    db.execute_sql("INSERT INTO t VALUES (?)", (n,))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert count(db) == 200


def insert(db, n):
    with db.connection_context(), db.atomic():
        db.execute_sql("INSERT INTO t VALUES (?)", (n,))


def wal_restarts(path):
    """The checkpoint sequence number in the WAL's header: a writer starts the
    WAL over, and counts one more, only once a checkpoint has copied all of it
    back into the database (https://www.sqlite.org/fileformat.html#walformat)."""
    with open(f"{path}-wal", "rb") as wal:
        return int.from_bytes(wal.read(16)[12:16], "big")


def checkpointers():
    threads = [thread for thread in threading.enumerate() if thread.name == "wal-checkpointer"]
    # A thread that is not a daemon would keep its process from exiting.
    assert all(thread.daemon for thread in threads)
    return len(threads)


def test_one_checkpointer_thread_copies_the_wal_back_every_hundred_commits(db, tmp_path, caplog):
    path = tmp_path / "writers.sqlite3"
    threads = checkpointers()
    insert(db, 0)
    first = wal_restarts(path)
    restarts_after = []
    for n in range(1, 3 * db.CHECKPOINT_EVERY):
        insert(db, n)
        restarts_after.append(wal_restarts(path) - first)
        # Time for the checkpointer, woken by the hundredth and the two
        # hundredth commit, to copy the WAL back before the next writer.
        time.sleep(0.002)
    assert restarts_after[: db.CHECKPOINT_EVERY - 1] == [0] * (db.CHECKPOINT_EVERY - 1)
    # On a loaded machine the second checkpoint may finish late: writers go on
    # until it has, for a while.
    deadline = time.monotonic() + 10
    while wal_restarts(path) - first < 2 and time.monotonic() < deadline:
        insert(db, n)
        time.sleep(0.01)
    assert wal_restarts(path) - first >= 2
    assert checkpointers() == threads + 1
    assert caplog.records == []


def test_single_statements_in_the_queue_count_towards_checkpoints_too(db, tmp_path):
    path = tmp_path / "writers.sqlite3"

    def write(n):
        with db.connection_context():
            db.execute_alone("INSERT INTO t VALUES (?)", (n,))

    write(0)
    first = wal_restarts(path)
    written = 1
    deadline = time.monotonic() + 10
    while wal_restarts(path) == first and time.monotonic() < deadline:
        write(written)
        written += 1
        time.sleep(0.002)
    assert wal_restarts(path) > first
    assert written > db.CHECKPOINT_EVERY


def test_compiled_writes_are_single_statements_in_the_queue(db, monkeypatch):
    """As the journal writes: they count towards checkpoints like transactions."""
    woken = []
    monkeypatch.setattr(db._checkpointer, "wake", lambda: woken.append(True))
    statement = Compiled(Table("t", ("n",)).bind(db).insert(n=param("n")), db)
    with db.connection_context():
        for n in range(db.CHECKPOINT_EVERY):
            statement.write(n=n)
    assert woken == [True]
    assert count(db) == db.CHECKPOINT_EVERY


def test_the_checkpointer_syncs_as_its_database_is_set_to(tmp_path, monkeypatch):
    executed = []

    class Recording(sqlite3.Connection):
        def execute(self, sql, *args):
            executed.append(sql)
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", functools.partial(sqlite3.connect, factory=Recording))
    db = open_database(f"sqlite:///{tmp_path / 'writers.sqlite3'}", "OFF")
    try:
        with db.connection_context():
            db.execute_sql("CREATE TABLE t (n INTEGER)")
        for n in range(db.CHECKPOINT_EVERY):
            insert(db, n)
        deadline = time.monotonic() + 10
        while "PRAGMA wal_checkpoint(PASSIVE)" not in executed and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        db.close_all()
    assert executed[executed.index("PRAGMA synchronous=OFF") + 1 :][:1] == ["PRAGMA wal_checkpoint(PASSIVE)"]


def test_a_checkpointer_that_cannot_start_is_logged_and_the_commit_stands(db, monkeypatch, caplog):
    error = RuntimeError("can't start new thread")

    def refuse():
        raise error

    monkeypatch.setattr(db._checkpointer, "wake", refuse)
    for n in range(db.CHECKPOINT_EVERY):
        insert(db, n)
    assert count(db) == db.CHECKPOINT_EVERY
    assert [(record.levelname, record.getMessage(), record.exc_info[1]) for record in caplog.records] == [
        ("ERROR", "Could not start the WAL checkpointer", error)
    ]


def test_a_checkpointer_that_cannot_open_its_files_is_logged_and_tried_again(db, tmp_path, caplog):
    threads = checkpointers()
    queue_lock = db._checkpointer._queue_lock_path
    db._checkpointer._queue_lock_path = str(tmp_path / "missing" / "writers.lock")
    for n in range(db.CHECKPOINT_EVERY):
        insert(db, n)
    [record] = caplog.records
    assert (record.levelname, record.getMessage(), type(record.exc_info[1])) == (
        "ERROR",
        "Could not start the WAL checkpointer",
        FileNotFoundError,
    )
    assert checkpointers() == threads
    db._checkpointer._queue_lock_path = queue_lock
    for n in range(db.CHECKPOINT_EVERY):
        insert(db, n)
    assert checkpointers() == threads + 1
    assert count(db) == 2 * db.CHECKPOINT_EVERY


def test_a_failed_checkpoint_is_logged_and_the_next_one_still_runs(tmp_path, caplog):
    not_a_database = tmp_path / "garbage.sqlite3"
    not_a_database.write_bytes(b"not a database" * 512)
    checkpointer = WalCheckpointer(str(not_a_database), str(tmp_path / "garbage.lock"), "NORMAL")

    def warnings_within(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            logged = [(record.levelname, record.getMessage()) for record in caplog.records]
            if logged:
                return logged
            time.sleep(0.01)
        return []

    for _ in range(2):
        caplog.clear()
        checkpointer.wake()
        assert warnings_within(5) == [("WARNING", "WAL checkpoint failed, retried on the next: file is not a database")]


def open_descriptors_of(path):
    opened = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            opened.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            # The descriptor listdir itself used, closed since.
            continue
    return opened.count(str(path))


def test_a_process_opens_the_queue_lock_once_and_it_is_private(db, tmp_path):
    for n in range(10):
        insert(db, n)
    lock = tmp_path / "writers.sqlite3-writers.lock"
    assert open_descriptors_of(lock) == 1
    # Like the database itself: only its owner may take the writers' queue.
    assert lock.stat().st_mode & 0o777 == 0o600


def test_a_compiled_statement_takes_no_value_but_its_params(db):
    with pytest.raises(ValueError, match=r"^every value of a compiled query must be a param: \[1\]$"):
        Compiled(Table("t", ("n",)).bind(db).insert(n=1), db)
