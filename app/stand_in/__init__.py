"""Test support: reset, the request journal, fault rules, seed and
snapshot, and the console over them, under /__stand_in/ (the design:
docs/test-support.md and docs/console.md).

The journal and the fault check each hook into every request in one place,
here; the views under /__stand_in/ are kept apart, in their own blueprint.
"""
import logging

from . import console, faults, journal
from .seeding import seed_file
from .views import bp

log = logging.getLogger(__name__)

__all__ = ["init_app", "seed_file"]


def init_app(app):
    """Call after transactions.init_app: the hooks rely on its transaction id."""
    if not app.config["TEST_SUPPORT"]:
        log.info("Test support is off (TEST_SUPPORT=off): no /__stand_in/ routes, journal or faults")
        return
    log.info("Test support is on: /__stand_in/ for admin users, journal of %d requests", app.config["JOURNAL_SIZE"])
    app.extensions["stand_in_faults"] = faults.Loaded()
    app.register_blueprint(bp)
    console.init_app(app)
    # after_request functions run last-registered first. Wanted, on the way
    # out: faults.after (an `after` effect replaces the answer), then
    # transactions.finish (headers, log line), then the journal (it sees the
    # final answer), then faults.cut (a drop, once the entry is committed).
    after = app.after_request_funcs.setdefault(None, [])
    if app.config["JOURNAL_SIZE"] > 0:
        after.insert(0, journal.record)
    after.insert(0, faults.cut)
    app.before_request(faults.check)
    app.after_request(faults.after)
