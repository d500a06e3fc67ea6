"""Every request is a transaction: an id in the X-Transaction-ID header and
in its one log line, and the headers ServiceNow sends on every response."""
import logging
import os
import time

from flask import g, request

from .auth import checked_user, current_user
from .serialization import printable

log = logging.getLogger("app.access")

STANDARD_HEADERS = {
    "Cache-Control": "no-cache,no-store,must-revalidate,max-age=-1",
    "Pragma": "no-store,no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
}
_STANDARD_ITEMS = tuple(STANDARD_HEADERS.items())
# Lowercase, as werkzeug compares names: the headers finish sets.
_SET_HERE = frozenset(name.lower() for name in (*STANDARD_HEADERS, "X-Transaction-ID"))


# Each hook resolves Flask's proxies once: every attribute read through one
# costs about eight times the read itself.


def begin():
    context = g._get_current_object()
    context.transaction_id = os.urandom(8).hex()
    context.started = time.perf_counter()


def finish(response):
    context = g._get_current_object()
    headers = response.headers
    if _SET_HERE.isdisjoint([name.lower() for name, _ in headers]):
        # None there yet (an injected fault's answer may have some): appended
        # in one slice, where update and set look each one up (less than half the cost).
        headers[len(headers) :] = (*_STANDARD_ITEMS, ("X-Transaction-ID", context.transaction_id))
    else:
        headers.update(STANDARD_HEADERS)
        headers["X-Transaction-ID"] = context.transaction_id
    if log.isEnabledFor(logging.INFO):
        req = request._get_current_object()
        # A fault rule's answer stands in for the view, whose login_required
        # would have named the user: the user the rule's match verified.
        user = current_user() or (checked_user() if context.get("fault") is not None else None)
        log.info(
            "%s %s %s user=%s %.1fms txn=%s",
            req.method,
            # A %0A in the URL must not start a forged log line.
            printable(req.path),
            response.status_code,
            user.user_name if user else "-",
            (time.perf_counter() - context.started) * 1000,
            context.transaction_id,
        )
    return response


def init_app(app):
    app.before_request(begin)
    app.after_request(finish)
