"""The peewee database: chosen from DATABASE_URL, connected on first use in a
request and handed back to the worker's pool when the request ends."""
import functools
import logging
import operator
import time

from peewee import DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase, Value
from playhouse.db_url import connect as connect_url

database = DatabaseProxy()
log = logging.getLogger(__name__)

# Every scheme is served from a pool, so a request does not pay for a connect.
_POOLED = {
    "sqlite": "sqlite+pool",
    "postgres": "postgresql+pool",
    "postgresql": "postgresql+pool",
}

# Any constant: the key of the advisory lock that serializes table creation
# when several PostgreSQL clients start at once.
_SCHEMA_LOCK = 7_290_113


def open_database(url, sqlite_synchronous="NORMAL", sqlite_busy_timeout=10.0):
    scheme, _, rest = url.partition("://")
    scheme = _POOLED.get(scheme, scheme)
    options = {"max_connections": 32, "stale_timeout": 300}
    if scheme.startswith("sqlite"):
        options["pragmas"] = {
            "journal_mode": "wal",
            "synchronous": sqlite_synchronous,
            "busy_timeout": int(sqlite_busy_timeout * 1000),
        }
        # Writers take the lock when they begin, not halfway through, so a
        # transaction never fails on a lock it could have waited for.
        options["lock_type"] = "IMMEDIATE"
    return connect_url(f"{scheme}://{rest}", **options)


def create_tables(models, seed):
    """Create missing tables and run `seed`, one process at a time however
    many start at once; returns what `seed` returns."""
    with database.atomic():
        if isinstance(database.obj, PostgresqlDatabase):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        # Only the missing tables: CREATE INDEX IF NOT EXISTS locks its table
        # even when the index exists, and held to the end of this transaction
        # that lock deadlocks with the creates of workers already serving.
        database.create_tables([model for model in models if not model.table_exists()], safe=True)
        return seed()


def close_connection(exc=None):
    if not database.is_closed():
        database.close()


def init_app(app, models, seed):
    url = app.config["DATABASE_URL"]
    database.initialize(
        open_database(
            url,
            app.config["SQLITE_SYNCHRONOUS"],
            app.config["SQLITE_BUSY_TIMEOUT"],
        )
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
            close_connection()


class Param(str):
    """The name of a value that a compiled query takes when it runs."""


def param(name):
    return Value(Param(name), converter=False)


class Compiled:
    """A peewee query turned into SQL once and run many times with new values.

    Building a peewee query costs more than running it on SQLite, so the
    statements on the request path are built from the models at first use.
    """

    __slots__ = ("sql", "_values_of")

    def __init__(self, query):
        self.sql, params = query.sql()
        if not all(isinstance(p, Param) for p in params):
            raise ValueError(f"every value of a compiled query must be a param: {params}")
        getter = operator.itemgetter(*params)
        self._values_of = getter if len(params) > 1 else (lambda values: (getter(values),))

    def execute(self, **values):
        return database.execute_sql(self.sql, self._values_of(values))


def compiled(build):
    """Decorates a function that builds a query: calling it gives the query
    compiled for the database in use, built once per database."""
    cache = {}

    @functools.wraps(build)
    def get():
        db = database.obj
        try:
            return cache[db]
        except KeyError:
            statement = cache[db] = Compiled(build())
            return statement

    return get
