"""The console: server-rendered pages over test support, for a person with
a browser beside their test run (docs/console.md)."""
from flask import redirect, url_for

from .views import bp

__all__ = ["init_app"]


def _front_page():
    return redirect(url_for("console.interactions"))


def init_app(app):
    app.register_blueprint(bp)
    # A person who opens the service's address lands on the console.
    app.add_url_rule("/", "front_page", _front_page)
