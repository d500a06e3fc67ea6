"""gunicorn's settings, read by `gunicorn wsgi:app` from the working directory.

Every value can still be overridden on the command line or in
GUNICORN_CMD_ARGS, e.g. `--certfile cert.pem --keyfile key.pem` for TLS.
"""
import gc
import os

# Loopback unless told otherwise: serving other hosts is a decision (HOST=0.0.0.0).
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"]


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# gunicorn's own rule of thumb: a worker waits on the database about as often
# as it computes, so two per core keep the cores busy, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores() + 1)

# Each worker opens its own database connections after the fork: a SQLite or
# PostgreSQL connection must never be shared across processes, and creating
# the tables is already safe when several workers start at once.
preload_app = False


def post_worker_init(worker):
    """The app is loaded: what it built lives as long as the worker, and
    the collector need not walk it again. A full collection over it took
    13 ms, a wait for every request queued behind it."""
    gc.freeze()

# A worker silent for this long is killed and replaced, which also frees the
# SQLite writers' queue if it held it. It must outlast a writer waiting for
# another program's SQLite lock (SQLITE_BUSY_TIMEOUT, 10 s) plus the
# request's own work, so only a truly stuck worker is killed.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))

# On SIGTERM workers stop accepting and finish the requests they hold for up
# to this long. A request cut short anyway rolls back its transaction: nothing
# half-written, and nothing answered is lost.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))

# The headers are bounded before the app sees them (gunicorn's defaults,
# made explicit so that they are a decision); gunicorn answers a request over
# them itself, with a plain 431. The request line is not: gunicorn's bounded
# values stop at 8190 bytes, and PySNC puts up to 10,000 characters of
# encoded query in it (sys_idIN with a list of ids) before it moves to the
# Batch API, more once URL-encoded. A line that never ends ends with the
# worker's timeout.
limit_request_line = 0
limit_request_fields = 100
limit_request_field_size = 8190

# gunicorn 25.1+ opens a control socket for `gunicornc` at one path per user,
# which several masters on one host would take from one another: it is opened
# only where CONTROL_SOCKET names a path of this master's own.
if os.environ.get("CONTROL_SOCKET"):
    control_socket = os.environ["CONTROL_SOCKET"]
else:
    control_socket_disable = True

# One line per request, written by the app (logger `app.access`): it carries
# the transaction id the response carries in X-Transaction-ID, names the user
# the password was verified for rather than the one claimed in the header,
# and is the same line whatever server runs the app. It holds no password and
# no body. gunicorn's own access log would repeat it, so it is silenced here:
# this dictionary also removes a handler `--access-logfile` would add.
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
_format = {"format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "datefmt": "[%Y-%m-%d %H:%M:%S %z]"}
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "generic": _format,
        "named": {**_format, "format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "access": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stdout"},
        "server": {"class": "logging.StreamHandler", "formatter": "generic", "stream": "ext://sys.stderr"},
        "errors": {"class": "logging.StreamHandler", "formatter": "named", "stream": "ext://sys.stderr"},
    },
    "root": {"level": "WARNING", "handlers": ["errors"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["server"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        "app": {"level": loglevel.upper(), "handlers": ["errors"], "propagate": False},
        "app.access": {"level": loglevel.upper(), "handlers": ["access"], "propagate": False},
    },
}
