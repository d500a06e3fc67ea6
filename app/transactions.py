"""Every request is a transaction: an id in the X-Transaction-ID header and
in its one log line, and the headers ServiceNow sends on every response."""
import logging
import os
import time

from flask import g, request

from .auth import current_user
from .serialization import printable

log = logging.getLogger("app.access")

STANDARD_HEADERS = {
    "Cache-Control": "no-cache,no-store,must-revalidate,max-age=-1",
    "Pragma": "no-store,no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
}


def begin():
    g.transaction_id = os.urandom(8).hex()
    g.started = time.perf_counter()


def finish(response):
    response.headers.update(STANDARD_HEADERS)
    response.headers["X-Transaction-ID"] = g.transaction_id
    if log.isEnabledFor(logging.INFO):
        user = current_user()
        log.info(
            "%s %s %s user=%s %.1fms txn=%s",
            request.method,
            # A %0A in the URL must not start a forged log line.
            printable(request.path),
            response.status_code,
            user.user_name if user else "-",
            (time.perf_counter() - g.started) * 1000,
            g.transaction_id,
        )
    return response


def init_app(app):
    app.before_request(begin)
    app.after_request(finish)
