"""The routes under /__stand_in/: JSON in and out, admins only."""
from flask import Blueprint, request

from .. import serialization
from ..auth import current_user
from ..errors import APIError
from ..records import catalog, declarations
from ..records.errors import DeclarationConflict, InvalidDeclaration
from ..serialization import JSON
from . import access, faults, journal, schemas, scope, seeding

bp = Blueprint("stand_in", __name__, url_prefix=scope.PREFIX)
bp.before_request(access.require_admin)

_match_schema = schemas.JournalMatchSchema()
_rule_schema = schemas.RuleSchema()
_wait_schema = schemas.WaitSchema()
_reset_schema = schemas.ResetSchema()
_seed_schema = schemas.SeedSchema()
_snapshot_schema = schemas.SnapshotSchema()


def _body(optional=False):
    data = request.get_data(cache=False)
    if optional and not data.strip():
        return {}
    try:
        body = serialization.read(data, JSON)
    except serialization.UnreadableBody as error:
        raise APIError(400, "Exception while reading request", str(error)) from None
    return body


def _result(result, status=200, headers=None):
    response = serialization.result(result, status, JSON)
    if headers:
        response.headers.update(headers)
    return response


def _not_found(what):
    return APIError(404, "No Record found", f"No {what}")


@bp.post("/reset")
def reset():
    scope_ = schemas.load(_reset_schema, _body(optional=True))["scope"]
    return _result({"deleted": seeding.reset(scope_)})


# --- journal ---------------------------------------------------------------

_LIST_FILTERS = {"method", "path", "status", "user", "since", "limit", "offset"}


@bp.get("/requests")
def list_requests():
    args = request.args.to_dict()
    unknown = sorted(set(args) - _LIST_FILTERS)
    if unknown:
        raise APIError(400, f"{unknown[0]}: Unknown parameter.")
    paging = {}
    for name, default in (("limit", 100), ("offset", 0)):
        value = args.pop(name, str(default))
        if not value.isdigit():
            raise APIError(400, f"{name}: Must be a whole number.")
        paging[name] = int(value)
    since = args.pop("since", None)
    if since is not None and schemas.CONTROL_CHARACTERS.search(since):
        raise APIError(400, "since: Must not contain control characters.")
    if "status" in args:
        if not args["status"].isdigit():
            raise APIError(400, "status: Not a valid integer.")
        args["status"] = int(args["status"])
    total, page = journal.page(schemas.load(_match_schema, args), since, paging["offset"], paging["limit"])
    return _result(page, headers={"X-Total-Count": str(total)})


@bp.get("/requests/<transaction_id>")
def get_request(transaction_id):
    entry = journal.find(transaction_id)
    if entry is None:
        raise _not_found(f"request {transaction_id} in the journal")
    return _result(entry)


@bp.post("/requests/count")
def count_requests():
    match = schemas.load(_match_schema, _body(optional=True))
    return _result({"count": journal.count(match)})


@bp.post("/requests/wait")
def wait_for_requests():
    wait = schemas.load(_wait_schema, _body(optional=True))
    reached, entries = journal.wait(wait["match"], wait["count"], wait["timeout_ms"])
    if not reached:
        raise APIError(
            408,
            "Request Timeout",
            f"{entries} of {wait['count']} matching requests within {wait['timeout_ms']} ms",
        )
    return _result(entries)


@bp.delete("/requests")
def clear_requests():
    return _result({"deleted": journal.clear()})


# --- faults ----------------------------------------------------------------


@bp.get("/faults")
def list_faults():
    return _result(faults.listing())


@bp.post("/faults")
def add_fault():
    return _result(faults.add(schemas.load(_rule_schema, _body())), 201)


@bp.get("/faults/<int:rule_id>")
def get_fault(rule_id):
    rule = faults.get(rule_id)
    if rule is None:
        raise _not_found(f"fault rule {rule_id}")
    return _result(rule)


@bp.delete("/faults/<int:rule_id>")
def remove_fault(rule_id):
    if not faults.remove(rule_id):
        raise _not_found(f"fault rule {rule_id}")
    return _result({"deleted": 1})


@bp.delete("/faults")
def remove_faults():
    return _result({"deleted": faults.remove()})


# --- seed and snapshot -----------------------------------------------------


@bp.post("/seed")
def seed():
    data = schemas.load(_seed_schema, _body())
    return _result(seeding.seed(data, current_user()), 201)


@bp.get("/snapshot")
def get_snapshot():
    # The document itself, not in a result: what POST takes back as it is.
    return serialization.render(seeding.snapshot(), 200, JSON)


@bp.post("/snapshot")
def put_snapshot():
    document = schemas.load(_snapshot_schema, _body())
    return _result({"restored": seeding.restore(document)})


# --- tables ----------------------------------------------------------------


@bp.get("/tables")
def list_tables():
    catalog.refresh()
    return _result([catalog.describe(table) for table in catalog.tables()])


@bp.get("/tables/<name>")
def get_table(name):
    try:
        table = catalog.lookup(name)
    except catalog.UnknownTable:
        raise _not_found(f"table {name}") from None
    return _result(catalog.describe(table))


@bp.post("/tables")
def declare_table():
    try:
        table, created = declarations.declare(_body())
    except InvalidDeclaration as error:
        raise APIError(400, f"Invalid declaration: {error}") from None
    except DeclarationConflict as error:
        raise APIError(409, "Conflict", str(error)) from None
    return _result(catalog.describe(table), 201 if created else 200)
