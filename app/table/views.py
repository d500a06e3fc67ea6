"""The routes of the Table API (TABLE_API.md §1). Each reads like
ServiceNow's page: negotiate, authenticate, parse, validate, act, render."""
from flask import Blueprint, Response, g, request

from .. import negotiation, serialization
from ..auth import auth, current_user
from ..errors import APIError, not_found, render_error
from ..records import store, validation
from ..records.catalog import UnknownTable, lookup
from ..records.errors import InvalidRecord, NotFound, QueryError, Refused
from . import paging, params

bp = Blueprint("table", __name__, url_prefix="/api/now")
bp.before_request(negotiation.negotiate)

_ROUTE = dict(strict_slashes=False, provide_automatic_options=False)


def _table(name):
    try:
        return lookup(name)
    except UnknownTable as error:
        raise APIError(400, str(error)) from None


# Each view resolves Flask's request proxy once and passes the request on:
# every read through the proxy costs eight times the read itself.


def _base_url(req):
    """Links point where the request came: its scheme and host. (Built from
    the two, not request.host_url, which costs a URL round trip per call.)"""
    return f"{req.scheme}://{req.host}"


def _record(req, table, sys_id):
    record = store.get(table, sys_id, params.view(req.args), _base_url(req))
    if record is None:
        raise not_found()
    return record


def _answer(req, table, sys_id, status, headers=None):
    if params.flag(req.headers, "X-no-response-body"):
        return Response(status=status, headers=headers)
    response = serialization.result(_record(req, table, sys_id), status, g._get_current_object().response_format)
    response.headers.update(headers or {})
    return response


def _body(req, table):
    return validation.load(table, negotiation.request_data(req))


@auth.login_required
def list_records(table_name, version):
    req = request._get_current_object()
    table = _table(table_name)
    wanted = params.list_params(req.args)
    page = store.find(
        table,
        wanted.query,
        wanted.view,
        current_user(),
        _base_url(req),
        limit=wanted.limit,
        offset=wanted.offset,
        count=wanted.count,
    )
    if version == 1 and not page.records:
        raise APIError(404, "No Record found", "Records matching query not found. Check query parameter or offset parameter")
    response = serialization.render({"result": page.records}, 200, g._get_current_object().response_format)
    if page.total is not None:
        response.headers["X-Total-Count"] = str(page.total)
    if wanted.paginate:
        link = paging.link_header(req.base_url, req.query_string.decode("latin-1"), wanted.limit, wanted.offset, page.total)
        if link:
            response.headers["Link"] = link
    return response


@auth.login_required
def insert_record(table_name, version):
    req = request._get_current_object()
    table = _table(table_name)
    sys_id = store.insert(table, _body(req, table), current_user())
    return _answer(req, table, sys_id, 201, {"Location": f"{req.base_url.rstrip('/')}/{sys_id}"})


@auth.login_required
def read_record(table_name, sys_id, version):
    record = _record(request._get_current_object(), _table(table_name), sys_id)
    return serialization.result(record, 200, g._get_current_object().response_format)


@auth.login_required
def update_record(table_name, sys_id, version):
    req = request._get_current_object()
    table = _table(table_name)
    store.update(table, sys_id, _body(req, table), current_user())
    return _answer(req, table, sys_id, 200)


@auth.login_required
def delete_record(table_name, sys_id, version):
    table = _table(table_name)
    if not store.delete(table, sys_id, current_user()):
        raise not_found()
    return Response(status=204)


for _prefix, _version in (("", 2), ("/v1", 1), ("/v2", 2)):
    _collection = f"{_prefix}/table/<table_name>"
    _one = f"{_collection}/<sys_id>"
    _defaults = {"version": _version}
    _name = f"v{_version}{_prefix.replace('/', '_')}"
    bp.add_url_rule(_collection, f"list_{_name}", list_records, methods=["GET", "HEAD"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(_collection, f"insert_{_name}", insert_record, methods=["POST"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(_one, f"read_{_name}", read_record, methods=["GET", "HEAD"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(_one, f"update_{_name}", update_record, methods=["PUT", "PATCH"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(_one, f"delete_{_name}", delete_record, methods=["DELETE"], defaults=_defaults, **_ROUTE)


@bp.errorhandler(QueryError)
@bp.errorhandler(InvalidRecord)
def bad_request(error):
    return render_error(APIError(400, str(error)))


@bp.errorhandler(NotFound)
def no_record(error):
    return render_error(not_found())


@bp.errorhandler(Refused)
def refused(error):
    return render_error(APIError(403, "Operation Failed", str(error)))
