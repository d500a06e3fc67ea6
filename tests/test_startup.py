"""Starting a process on a database that others are already serving from."""
import threading
import time

import pytest

from app import create_app
from app.db import database, journal_database

from conftest import ADMIN_PASSWORD

INSERT_INTERACTION = """
    INSERT INTO interaction (sys_id, sys_created_on, sys_created_by, sys_updated_on, sys_updated_by,
        sys_mod_count, number, state, channel, queue, context_table, context_document,
        channel_metadata_table, channel_metadata_document, opened_by, opened_for, assigned_to,
        closed_by, opened_at)
    VALUES ('feed', now(), 'admin', now(), 'admin', 0, 'IMS9999999', 'new', 'c', '', '', '', '', '',
        '', '', '', '', now())
"""


def test_a_start_hands_back_the_connections_it_opened(app):
    # One left open would stay with the thread that started the worker, which
    # serves no request: a connection held for the worker's whole life.
    assert database.is_closed()
    assert journal_database.is_closed()


def test_a_worker_starting_during_a_create_on_postgresql_does_not_deadlock_it(own_postgres_url):
    psycopg2 = pytest.importorskip("psycopg2")
    settings = {"TESTING": True, "DATABASE_URL": own_postgres_url, "ADMIN_PASSWORD": ADMIN_PASSWORD}
    create_app(settings)
    database.close_all()

    # A create in flight, as create() runs it: the counter row bumped first,
    # the interaction inserted next.
    serving = psycopg2.connect(own_postgres_url)
    booted = []
    try:
        cursor = serving.cursor()
        cursor.execute("SET lock_timeout = '10s'")
        cursor.execute("UPDATE sys_number_counter SET number = number + 1 WHERE category = 'interaction'")

        def boot():
            booted.append(create_app(settings))

        booting = threading.Thread(target=boot, daemon=True)
        booting.start()
        # The starting worker waits for the create's counter row...
        while booting.is_alive():
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.01)
        # ...and must not hold anything the create needs to finish.
        cursor.execute(INSERT_INTERACTION)
        serving.commit()
        booting.join(timeout=30)
        assert booted, "the starting worker failed"
    finally:
        serving.close()
        database.close_all()
