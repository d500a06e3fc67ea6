"""A stand-in for ServiceNow's Interaction Management REST API."""
import os
import sys

from flask import Flask

from . import attachments, batch, cli, db, errors, health, interactions, openapi, soap, stand_in, stats, table, transactions, users
from .config import from_environment
from .models import MODELS, SysUser, seed_counters
from .oauth import views as oauth
from .records import catalog, counts, declarations, numbers
from .request import ServiceRequest


class Service(Flask):
    """Flask, remembering which functions are plain ones: Flask asks inspect
    whether the view and each hook is a coroutine function on every request
    (flask-httpauth asks three times more), an answer that never changes."""

    request_class = ServiceRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous = set()

    def ensure_sync(self, func):
        try:
            if func in self._synchronous:
                return func
        except TypeError:  # a callable that cannot be hashed: asked each time
            return super().ensure_sync(func)
        synchronous = super().ensure_sync(func)
        # Bounded: bound methods are made anew on each call, equal but many.
        if synchronous is func and len(self._synchronous) < 1024:
            self._synchronous.add(func)
        return synchronous


def create_app(config=None):
    app = Service(__name__)
    app.config.from_mapping(from_environment())
    if config:
        app.config.update(config)
    if not app.config["DATABASE_URL"]:
        # Made only when used: an installed package's instance folder is
        # under the installation's prefix, which a user may not write to.
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "interaction.sqlite3")
    # A double slash is no resource of the API, not a redirect to one.
    app.url_map.merge_slashes = False

    def seed():
        seed_counters()
        for table in catalog.BUILTIN.values():
            if table.number is not None:
                numbers.ensure_counter(table.name, table.number)
        counts.install(counts.COUNTED + catalog.BUILT_MODELS)
        new = not SysUser.select().exists()
        generated = users.ensure_admin(app.config["ADMIN_PASSWORD"])
        if app.config["TABLES_FILE"]:
            declarations.declare_file(app.config["TABLES_FILE"])
        if new and app.config["SEED_FILE"]:
            stand_in.seed_file(app.config["SEED_FILE"])
        return generated

    # The tables this app serves are the built-in ones and those its
    # database declares (read on first use).
    catalog.forget()
    with app.app_context():
        generated_password = db.init_app(app, MODELS + catalog.BUILT_MODELS, seed)
    if generated_password:
        print(
            f"Created user 'admin' with password {generated_password} (shown only this once)",
            file=sys.stderr,
        )

    # How records render and how writes are checked are built once and kept
    # in the process; an app starts afresh, so that they come from the code
    # it runs (mutation testing forks processes that have built them already).
    catalog.forget()
    errors.init_app(app)
    transactions.init_app(app)
    stand_in.init_app(app)
    app.register_blueprint(interactions.bp)
    table.init_app(app)
    app.register_blueprint(attachments.bp)
    app.register_blueprint(batch.bp)
    app.register_blueprint(stats.bp)
    app.register_blueprint(soap.bp)
    oauth.init_app(app)
    app.register_blueprint(health.bp)
    openapi.init_app(app)
    cli.init_app(app)
    return app
