"""Settings read from the environment, with their defaults.

`create_app` resolves the defaults that depend on the instance folder
(the SQLite file) once the folder is known.
"""
import os

MiB = 1024 * 1024


def from_environment():
    return {
        # Any URL playhouse.db_url understands; None means SQLite under instance/.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or None,
        # Password for the `admin` user created on a first start with no users.
        "ADMIN_PASSWORD": os.environ.get("ADMIN_PASSWORD") or None,
        # ServiceNow rejects REST payloads over 10 MiB; so do we.
        "MAX_CONTENT_LENGTH": 10 * MiB,
        # WAL with synchronous=NORMAL keeps every commit through a killed
        # process; FULL also survives a power cut, at an fsync per commit.
        "SQLITE_SYNCHRONOUS": os.environ.get("SQLITE_SYNCHRONOUS", "NORMAL").upper(),
        # werkzeug's method for new password hashes; its default costs ~100 ms
        # a check, which a repeat of verified credentials never pays (auth.py).
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Seconds a starting worker waits for the database to answer.
        "DATABASE_STARTUP_TIMEOUT": float(os.environ.get("DATABASE_STARTUP_TIMEOUT", "20")),
        # Seconds a writer waits for SQLite's lock held by another program
        # (the service's own writers queue on a lock file, see db.py).
        "SQLITE_BUSY_TIMEOUT": float(os.environ.get("SQLITE_BUSY_TIMEOUT", "10")),
        # The routes under /__stand_in/, the request journal and fault rules
        # (app/stand_in); "off" leaves all three out.
        "TEST_SUPPORT": os.environ.get("TEST_SUPPORT", "on").strip().lower() not in ("off", "0", "false", "no"),
        # The newest requests the journal keeps; 0 keeps none.
        "JOURNAL_SIZE": int(os.environ.get("JOURNAL_SIZE", "1000")),
        # Bytes of a request or response body a journal entry keeps.
        "JOURNAL_BODY_LIMIT": int(os.environ.get("JOURNAL_BODY_LIMIT", "65536")),
        # Tables of the user's own (TABLES.md §3), declared at every start.
        "TABLES_FILE": os.environ.get("TABLES_FILE") or None,
        # The largest attachment taken (app/attachments); API bodies' 10 MiB
        # limit does not apply to files.
        "ATTACHMENT_MAX_BYTES": int(os.environ.get("ATTACHMENT_MAX_BYTES", str(64 * MiB))),
        # A seed document (see /__stand_in/seed) applied when the database is new.
        "SEED_FILE": os.environ.get("SEED_FILE") or None,
    }
