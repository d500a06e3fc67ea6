"""Writers on SQLite queue on a file lock: the queue must always be left,
whether a transaction commits or fails, and threads of one process must
take turns like processes do."""
import threading

import pytest

from app.db import QueuedWritersSqliteDatabase, open_database


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
