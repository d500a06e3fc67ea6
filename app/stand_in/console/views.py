"""The console's pages: each view parses, validates, acts and renders."""
from flask import Blueprint, redirect, render_template, request, url_for

from ... import serialization
from ...auth import current_user
from ...errors import APIError
from ...interactions import service
from ...models import CHANNEL_METADATA_TABLE, CONTEXT_TABLE
from ...oauth import clients as oauth_clients
from ...records import catalog
from ...records import interactions as rules
from ...records import store
from ...records.errors import QueryError
from ...records.values import View
from .. import access, faults, journal, scope, seeding
from . import csrf, curl, forms, overview, pretty

bp = Blueprint(
    "console",
    __name__,
    url_prefix=scope.PREFIX + "/console",
    template_folder="templates",
    static_folder="static",
)
bp.before_request(access.require_admin)
bp.before_request(csrf.protect)

LIST_FIELDS = (
    "sys_id",
    "number",
    "state",
    "channel",
    "queue",
    "short_description",
    "opened_by",
    "opened_for",
    "assigned_to",
    "opened_at",
    "sys_updated_on",
)
# Display values and values, without links: references show user names.
_LIST_VIEW = View(fields=LIST_FIELDS, display="all", exclude_links=True)
_RECORD_VIEW = View(display="all", exclude_links=True)
_DOCUMENT_VIEW = View(fields=("value",))
_DOCUMENTS = (
    ("Context", "context_table", "context_document", CONTEXT_TABLE),
    ("Channel metadata", "channel_metadata_table", "channel_metadata_document", CHANNEL_METADATA_TABLE),
)
# What a redirect after a form says; a fixed text per key, so that no
# query string puts words of its own on the page.
NOTICES = {
    "closed": "The interaction is closed.",
    "fault-added": "The fault rule is added.",
    "fault-deleted": "The fault rule is deleted.",
    "faults-deleted": "Every fault rule is deleted.",
    "oauth-client-deleted": "The OAuth client is deleted; its tokens no longer work.",
    "reset-interactions": "Reset: interactions, documents, the journal and fault rules are gone.",
    "reset-all": "Reset: interactions, documents, the journal, fault rules, OAuth clients and every user but admin are gone.",
}
MAX_REFRESH_SECONDS = 3600


# The navigation entry each page belongs to.
SECTIONS = {
    "console.interaction": "console.interactions",
    "console.close_interaction": "console.interactions",
    "console.request_entry": "console.requests",
    "console.add_fault": "console.fault_rules",
    "console.reset": "console.reset_page",
    "console.add_oauth_client": "console.oauth",
    "console.table_records": "console.tables",
}


def here(**changes):
    """This page's URL with some parameters changed (None removes one); a
    notice is never carried over."""
    args = {**request.view_args, **request.args.to_dict(), **changes}
    args.pop("done", None)
    return url_for(request.endpoint, **{name: value for name, value in args.items() if value is not None})


@bp.context_processor
def _page_context():
    refresh = request.args.get("refresh", "")
    return {
        "here": here,
        "section": SECTIONS.get(request.endpoint, request.endpoint),
        "csrf_token": csrf.token,
        "csrf_field": csrf.FIELD,
        "refresh": int(refresh) if refresh.isdigit() and 0 < int(refresh) <= MAX_REFRESH_SECONDS else None,
        "notice": NOTICES.get(request.args.get("done", "")),
        "database": overview.database(),
        "state_counts": overview.state_counts(),
        "version": overview.version(),
    }


@bp.after_request
def _headers(response):
    # No script, frame or foreign resource on any page: an escaping slip
    # still runs nothing, and no other site can frame a button. (No page is
    # cached: every answer of the service says no-store, transactions.py.)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.errorhandler(APIError)
def _error(error):
    # A user who is no admin learns nothing of the service from the page.
    return render_template("console/error.html", error=error, bare=error.status == 403), error.status


def _base_url():
    return f"{request.scheme}://{request.host}"


def _page_links(page, total, size):
    """URLs of the previous and next pages, the filters kept."""
    return {
        "newer": here(page=page - 1) if page > 1 else None,
        "older": here(page=page + 1) if page * size < total else None,
        "first": (page - 1) * size + 1,
        "last": min(page * size, total),
        "total": total,
    }


# --- interactions -------------------------------------------------------------


@bp.get("/")
def interactions():
    try:
        filters, query = forms.interaction_filters(request.args)
        page = store.find(
            catalog.INTERACTION,
            query,
            _LIST_VIEW,
            current_user(),
            _base_url(),
            limit=forms.PAGE_SIZE,
            offset=(filters["page"] - 1) * forms.PAGE_SIZE,
        )
    except (APIError, QueryError) as error:
        message = error.message if isinstance(error, APIError) else str(error)
        return render_template("console/interactions.html", error=message, records=[], states=rules.STATE_LABELS), 400
    return render_template(
        "console/interactions.html",
        records=page.records,
        paging=_page_links(filters["page"], page.total, forms.PAGE_SIZE),
        states=rules.STATE_LABELS,
    )


@bp.get("/interactions/<sys_id>")
def interaction(sys_id):
    record = store.get(catalog.INTERACTION, sys_id, _RECORD_VIEW, _base_url())
    if record is None:
        raise APIError(404, "No Record found", f"No interaction {sys_id}")
    documents = []
    for title, table_field, id_field, stored_table in _DOCUMENTS:
        table, document_id = record[table_field]["value"], record[id_field]["value"]
        stored = store.get(catalog.table(stored_table), document_id, _DOCUMENT_VIEW, "") if table == stored_table else None
        documents.append((title, table, document_id, pretty.body(stored["value"], "json") if stored else None))
    answer = {"result": service.find_result(sys_id)}
    return render_template(
        "console/interaction.html",
        record=record,
        documents=documents,
        answer_json=pretty.body(serialization.write_json(answer).decode(), "json"),
        answer_xml=pretty.body(serialization.write_xml(answer).decode(), "xml"),
        entries=journal.mentioning(sys_id, record["number"]["value"]),
        closed=record["state"]["value"] in rules.CLOSED_STATES,
    )


@bp.post("/interactions/<sys_id>/close")
def close_interaction(sys_id):
    service.close(sys_id, current_user())
    return redirect(url_for(".interaction", sys_id=sys_id, done="closed"), 303)


# --- every table ----------------------------------------------------------------


@bp.get("/tables")
def tables():
    catalog.refresh()
    listed = [(table, table.model.select().count()) for table in catalog.tables()]
    return render_template("console/tables.html", tables=listed)


@bp.get("/tables/<name>")
def table_records(name):
    try:
        table = catalog.lookup(name)
    except catalog.UnknownTable as error:
        raise APIError(404, "No Record found", str(error)) from None
    try:
        query, page = forms.table_filters(request.args)
        found = store.find(
            table, query, _RECORD_VIEW, current_user(), _base_url(), limit=forms.PAGE_SIZE, offset=(page - 1) * forms.PAGE_SIZE
        )
    except (APIError, QueryError) as error:
        message = error.message if isinstance(error, APIError) else str(error)
        return render_template("console/table.html", table=table, error=message, records=[]), 400
    return render_template(
        "console/table.html", table=table, records=found.records, paging=_page_links(page, found.total, forms.PAGE_SIZE)
    )


# --- requests -----------------------------------------------------------------


@bp.get("/requests")
def requests():
    try:
        match, since, page = forms.request_filters(request.args)
    except APIError as error:
        return render_template("console/requests.html", error=error.message, entries=[]), 400
    entries = journal.matching(match, since)
    size = forms.REQUESTS_PAGE_SIZE
    return render_template(
        "console/requests.html",
        entries=entries[(page - 1) * size : page * size],
        paging=_page_links(page, len(entries), size),
    )


@bp.get("/requests/<transaction_id>")
def request_entry(transaction_id):
    entry = journal.find(transaction_id)
    if entry is None:
        raise APIError(404, "No Record found", f"No request {transaction_id} in the journal")
    bodies = {
        part: pretty.body(entry[part]["body"], _content_type(entry[part]["headers"]))
        for part in ("request", "response")
    }
    return render_template(
        "console/request.html", entry=entry, bodies=bodies, curl=curl.command(entry, _base_url())
    )


def _content_type(headers):
    return next((value for name, value in headers.items() if name.lower() == "content-type"), "")


# --- faults -------------------------------------------------------------------


def _faults_page(error=None, form=None, status=200):
    return (
        render_template(
            "console/faults.html",
            rules=faults.listing(),
            error=error,
            form=form or {},
            close_path=forms.CLOSE_PATH,
            json_text=pretty.json_text,
        ),
        status,
    )


@bp.get("/faults")
def fault_rules():
    return _faults_page()


@bp.post("/faults")
def add_fault():
    try:
        rule = forms.fault_rule(request.form)
    except APIError as error:
        return _faults_page(error.message, request.form, 400)
    faults.add(rule)
    return redirect(url_for(".fault_rules", done="fault-added"), 303)


@bp.post("/faults/<int:rule_id>/delete")
def delete_fault(rule_id):
    if not faults.remove(rule_id):
        raise APIError(404, "No Record found", f"No fault rule {rule_id}")
    return redirect(url_for(".fault_rules", done="fault-deleted"), 303)


@bp.post("/faults/delete")
def delete_faults():
    faults.remove()
    return redirect(url_for(".fault_rules", done="faults-deleted"), 303)


# --- OAuth clients --------------------------------------------------------------


def _oauth_page(added=None, error=None, form=None, status=200):
    """The clients, never a secret but the one just made, shown this once."""
    return (
        render_template(
            "console/oauth.html",
            clients=[oauth_clients.describe(row) for row in oauth_clients.listing()],
            added=added,
            error=error,
            form=form or {},
        ),
        status,
    )


@bp.get("/oauth")
def oauth():
    return _oauth_page()


@bp.post("/oauth")
def add_oauth_client():
    try:
        given = forms.oauth_client(request.form)
        row, secret = oauth_clients.add(**given)
    except APIError as error:
        return _oauth_page(error=error.message, form=request.form, status=400)
    except oauth_clients.ClientError as error:
        return _oauth_page(error=str(error), form=request.form, status=400)
    return _oauth_page(added=oauth_clients.describe(row, secret), status=201)


@bp.post("/oauth/<client_id>/delete")
def delete_oauth_client(client_id):
    if not oauth_clients.remove(client_id):
        raise APIError(404, "No Record found", "No OAuth client with this client_id")
    return redirect(url_for(".oauth", done="oauth-client-deleted"), 303)


# --- reset --------------------------------------------------------------------

RESET_SCOPES = ("interactions", "all")


@bp.get("/reset")
def reset_page():
    """The first step: the choice of scope, then what that scope deletes,
    with the button that does it."""
    chosen = request.args.get("scope")
    if chosen is not None and chosen not in RESET_SCOPES:
        return render_template("console/reset.html", error="scope: Must be one of: interactions, all."), 400
    counts = overview.reset_counts(chosen) if chosen else None
    return render_template("console/reset.html", chosen=chosen, counts=counts)


@bp.post("/reset")
def reset():
    chosen = request.form.get("scope")
    if chosen not in RESET_SCOPES:
        return render_template("console/reset.html", error="scope: Must be one of: interactions, all."), 400
    seeding.reset(chosen)
    return redirect(url_for(".interactions", done=f"reset-{chosen}"), 303)
