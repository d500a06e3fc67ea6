"""The peewee database: chosen from DATABASE_URL, connected on first use in a
request and handed back to the worker's pool when the request ends."""
import fcntl
import functools
import logging
import operator
import os
import sqlite3
import threading
import time

from peewee import DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase, Value
from playhouse.db_url import connect as connect_url
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledSqliteDatabase

database = DatabaseProxy()
# The request journal's (app/stand_in/journal.py): on SQLite a file of its
# own beside the database, on PostgreSQL the database itself (see init_app).
journal_database = DatabaseProxy()
log = logging.getLogger(__name__)

# The schemes the service runs on (it relies on RETURNING, and on advisory
# locks on PostgreSQL), each served from a pool so that a request does not
# pay for a connect.
_POOLED = {
    "sqlite": "sqlite+pool",
    "sqlite+pool": "sqlite+pool",
    "postgres": "postgresql+pool",
    "postgresql": "postgresql+pool",
    "postgres+pool": "postgresql+pool",
    "postgresql+pool": "postgresql+pool",
}

# Any constant: the key of the advisory lock that serializes table creation
# when several PostgreSQL clients start at once.
SCHEMA_LOCK = 7_290_113


class WalCheckpointer:
    """Copies the WAL back into the database from a thread of the process's
    own, on a connection of its own.

    A checkpoint ends in fsyncs, and on a large table it writes hundreds of
    scattered pages: run in a request, it made that request the slowest in a
    hundred (p99 of 88 ms with a million interactions stored). Here a first
    passive checkpoint does the bulk while writers go on (sqlite3 lets go of
    the GIL meanwhile); a second one, with the writers' queue held, copies
    what they wrote in the meantime. Only a wholly copied WAL is started over
    by the next writer: without the second pass, under steady load it grew
    by every frame ever written.
    """

    def __init__(self, path, queue_lock_path, synchronous):
        self._path = path
        self._queue_lock_path = queue_lock_path
        self._synchronous = synchronous
        self._due = threading.Event()
        self._pid = None

    def wake(self):
        # Started on first use in each process: a thread does not survive fork.
        if self._pid != os.getpid():
            # Opened here rather than in the thread, so that a failure reaches
            # the caller (who logs it) and the next wake tries again.
            connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                # A file description of its own: flock then excludes this
                # process's writers as well as other processes'.
                queue = os.open(self._queue_lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                connection.close()
                raise
            threading.Thread(target=self._run, args=(connection, queue), name="wal-checkpointer", daemon=True).start()
            self._pid = os.getpid()
        self._due.set()

    def _run(self, connection, queue):
        while True:
            self._due.wait()
            self._due.clear()
            try:
                # The checkpoint's fsyncs are the writers' setting's to make or skip.
                connection.execute(f"PRAGMA synchronous={self._synchronous}")
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                fcntl.flock(queue, fcntl.LOCK_EX)
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    fcntl.flock(queue, fcntl.LOCK_UN)
            except (sqlite3.Error, OSError) as error:
                # Nothing is lost: the next checkpoint copies what this one did not.
                log.warning("WAL checkpoint failed, retried on the next: %s", error)


class QueuedWritersSqliteDatabase(PooledSqliteDatabase):
    """SQLite whose writers queue in the kernel rather than in SQLite's busy
    handler, and checkpoint outside the queue.

    A writer that finds the write lock taken sleeps in SQLite's busy handler
    for 1 ms, then 2, then 5, while a create holds the lock for a tenth of
    that: under load, workers slept more than they worked. Here a transaction
    first takes an exclusive flock on a file next to the database (and a
    mutex, for threads of one process), which the kernel hands to the next
    writer the moment it is released. SQLite's own locking still guards the
    data; this only orders the queue, and other clients need not take part.

    COMMIT no longer checkpoints the WAL (see wal_autocheckpoint below), which
    would hold the queue through two fsyncs; every CHECKPOINT_EVERY commits a
    process has its checkpointer thread do it (see WalCheckpointer).
    """

    CHECKPOINT_EVERY = 100

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._mutex = threading.Lock()
        self._holder = None
        self._lock_file = None
        self._lock_pid = None
        self._commits = 0
        self._queue_lock_path = database + "-writers.lock"
        self._checkpointer = WalCheckpointer(database, self._queue_lock_path, dict(self._pragmas)["synchronous"])

    def _queue_lock(self):
        # A forked child must not share its parent's lock: flock belongs to
        # the open file, so each process opens its own.
        if self._lock_pid != os.getpid():
            try:
                self._lock_file = os.open(self._queue_lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as error:
                # Where the lock cannot be, neither can the database: the same failure.
                raise OperationalError(f"unable to open {self._queue_lock_path}: {error}") from error
            self._lock_pid = os.getpid()
        return self._lock_file

    def _enter_queue(self):
        self._mutex.acquire()
        try:
            fcntl.flock(self._queue_lock(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._holder = threading.get_ident()

    def begin(self, lock_type=None):
        self._enter_queue()
        try:
            super().begin(lock_type)
        except BaseException:
            self._leave_queue()
            raise

    def execute_alone(self, sql, params):
        """One statement that writes, in the writers' queue but in no
        transaction of its own: SQLite commits it by itself, which spares
        the BEGIN and COMMIT round trips (a third of a small write's cost)."""
        self._enter_queue()
        try:
            cursor = self.execute_sql(sql, params)
        finally:
            self._leave_queue()
        self._committed()
        return cursor

    def _leave_queue(self):
        """Idempotent: a failed COMMIT is followed by a ROLLBACK."""
        if self._holder != threading.get_ident():
            return
        self._holder = None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def commit(self):
        try:
            super().commit()
        finally:
            self._leave_queue()
        self._committed()

    def _committed(self):
        """Every CHECKPOINT_EVERY commits, the checkpointer copies the WAL
        back, so that it is started over rather than grown."""
        self._commits += 1
        if self._commits % self.CHECKPOINT_EVERY == 0:
            try:
                self._checkpointer.wake()
            except Exception:
                # The commit stands; an error here must not turn it into a rollback.
                log.exception("Could not start the WAL checkpointer")

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._leave_queue()


def open_database(url, sqlite_synchronous="NORMAL", sqlite_busy_timeout=10.0):
    scheme, _, rest = url.partition("://")
    if scheme not in _POOLED:
        raise ValueError(f"DATABASE_URL must be sqlite:///PATH or postgresql://..., not {scheme}://")
    scheme = _POOLED[scheme]
    options = {"max_connections": 32, "stale_timeout": 300}
    if scheme.startswith("postgres"):
        return connect_url(f"{scheme}://{rest}", **options)
    options["pragmas"] = {
        "journal_mode": "wal",
        "synchronous": sqlite_synchronous,
        "busy_timeout": int(sqlite_busy_timeout * 1000),
    }
    # Writers take the lock when they begin, not halfway through, so a
    # transaction never fails on a lock it could have waited for.
    options["lock_type"] = "IMMEDIATE"
    settings = {**parse_url(f"{scheme}://{rest}"), **options}
    if settings["database"].startswith(":memory:"):
        # Each pooled connection would be a database of its own.
        raise ValueError("SQLite in memory cannot be shared by a pool: give DATABASE_URL a file")
    # Checkpoints are the checkpointer thread's; SQLite's own, at a far
    # higher mark than its default of 1000 pages, only stands in if that
    # thread cannot run.
    settings["pragmas"]["wal_autocheckpoint"] = 20_000
    # The pool hands a connection to whichever thread asks next, one thread
    # at a time, so sqlite3's same-thread check would only get in the way.
    settings["check_same_thread"] = False
    return QueuedWritersSqliteDatabase(**settings)


def create_tables(models, seed):
    """Create missing tables and run `seed`, one process at a time however
    many start at once; returns what `seed` returns."""
    with database.atomic():
        if isinstance(database.obj, PostgresqlDatabase):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        # Only the missing tables: CREATE INDEX IF NOT EXISTS locks its table
        # even when the index exists, and held to the end of this transaction
        # that lock deadlocks with the creates of workers already serving.
        existing = [model for model in models if model.table_exists()]
        database.create_tables([model for model in models if model not in existing], safe=True)
        for model in existing:
            add_missing_columns(model)
        return seed()


def add_missing_columns(model):
    """Columns a newer release added to a table made by an older one.

    ADD COLUMN with a constant default fills every row at once on both
    engines (no table copy, as playhouse.migrate makes on SQLite), so an
    upgrade of a large table starts in milliseconds. A NOT NULL field added
    in a release therefore names its default in SQL too, as a constraint
    (see SysUser.admin): peewee's `default` is Python's, not the table's.
    """
    table, db = model._meta.table_name, model._meta.database
    present = {column.name for column in db.get_columns(table)}
    added = False
    for field in model._meta.sorted_fields:
        if field.column_name in present:
            continue
        context = db.get_sql_context()
        column_sql, _ = context.sql(field.ddl(context)).query()
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {column_sql}')
        log.warning("Added column %s.%s to the existing database", table, field.column_name)
        added = True
    if added:
        # The indexes of the columns added (the others exist already).
        model._schema.create_indexes(safe=True)


def atomic():
    """A transaction (or savepoint) on the database in use. peewee's proxy
    has an atomic() of its own that sends every step of the transaction
    back through the proxy: on the database itself a create's transaction
    costs about 48,000 instructions less."""
    return database.obj.atomic()


def close_connection(exc=None):
    """Hands the request's connection back to the pool. The journal's SQLite
    connection stays with the main thread, which serves every request of a
    sync worker: every request writes an entry, and a checkout and return
    each time cost a fifth of that write. Any other thread hands it back
    too: a server may start a thread per request (werkzeug's, which the
    pytest plugin runs), and a connection kept by a thread that has ended
    never returns to the pool, which after 32 of them refused every entry."""
    # Through the proxies' objects: a method read through a peewee proxy
    # first fails as the proxy's own, which builds an AttributeError.
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()
    if threading.current_thread() is not threading.main_thread():
        journal = journal_database.obj
        if journal is not None and not journal.is_closed():
            journal.close()


def close_all_connections():
    for proxy in (database, journal_database):
        if proxy.obj is not None and not proxy.is_closed():
            proxy.close()


def init_app(app, models, seed):
    url = app.config["DATABASE_URL"]
    settings = (app.config["SQLITE_SYNCHRONOUS"], app.config["SQLITE_BUSY_TIMEOUT"])
    database.initialize(open_database(url, *settings))
    if isinstance(database.obj, PostgresqlDatabase):
        journal_database.initialize(database.obj)
    else:
        # SQLite empties a connection's page cache whenever another process
        # changed the file: a journal write per request in the same file made
        # every worker re-read its pages twice as often, which cost more than
        # the write itself. A file of its own also keeps the journal's writes
        # out of the writers' queue. It is written without fsync: a power
        # loss may cost the journal (a record of requests, not their data),
        # where the fsyncs of its checkpoints cost every request.
        journal_database.initialize(
            open_database(f"sqlite:///{database.obj.database}-stand-in", "OFF", app.config["SQLITE_BUSY_TIMEOUT"])
        )
    app.teardown_appcontext(close_connection)
    # Hosts and database often start together: wait for it a while rather
    # than fail, which would stop gunicorn's master altogether.
    deadline = time.monotonic() + app.config["DATABASE_STARTUP_TIMEOUT"]
    while True:
        try:
            return create_tables(models, seed)
        except (OperationalError, InterfaceError) as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("The database is not available yet, retrying: %s", error)
            time.sleep(1)
        finally:
            close_all_connections()


class Param(str):
    """The name of a value that a compiled query takes when it runs."""


def param(name):
    return Value(Param(name), converter=False)


class Compiled:
    """A peewee query turned into SQL once and run many times with new values.

    Building a peewee query costs more than running it on SQLite, so the
    statements on the request path are built from the models at first use.
    `db` is the database itself: a method read through its proxy first
    fails as the proxy's own, which builds an AttributeError (about 5k
    instructions a statement).
    """

    __slots__ = ("sql", "_values_of", "_database")

    def __init__(self, query, db):
        self._database = db
        self.sql, params = query.sql()
        if not all(isinstance(p, Param) for p in params):
            raise ValueError(f"every value of a compiled query must be a param: {params}")
        if len(params) > 1:
            self._values_of = operator.itemgetter(*params)
        elif params:
            getter = operator.itemgetter(*params)
            self._values_of = lambda values: (getter(values),)
        else:
            self._values_of = lambda values: ()

    def execute(self, **values):
        return self._database.execute_sql(self.sql, self._values_of(values))

    def write(self, **values):
        """Runs a statement that writes, outside any transaction: it commits
        by itself, on SQLite in the writers' queue (PostgreSQL's row locks
        need none)."""
        db = self._database
        return getattr(db, "execute_alone", db.execute_sql)(self.sql, self._values_of(values))


def compiled(build, proxy=database):
    """Decorates a function that builds a query: calling it gives the query
    compiled for the database in use, built once per database."""
    cache = {}

    @functools.wraps(build)
    def get():
        db = proxy.obj
        try:
            return cache[db]
        except KeyError:
            statement = cache[db] = Compiled(build(), db)
            return statement

    return get


def compiled_for_journal(build):
    """compiled, for statements on the journal's database."""
    return compiled(build, journal_database)
