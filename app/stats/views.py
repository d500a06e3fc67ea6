"""GET /api/now/stats/{table} (MORE_APIS.md §3): negotiate, authenticate,
read the parameters, compute in the database, render."""
from flask import Blueprint, g, request

from .. import negotiation, serialization
from ..auth import auth, current_user
from ..errors import APIError
from ..records import aggregates
from ..records.errors import QueryError
from ..records.catalog import UnknownTable, lookup
from . import params

bp = Blueprint("stats", __name__, url_prefix="/api/now")
bp.before_request(negotiation.negotiate)


@auth.login_required
def stats(table_name):
    try:
        table = lookup(table_name)
    except UnknownTable as error:
        raise APIError(400, str(error)) from None
    asked = params.asked(request.args)
    try:
        groups = aggregates.compute(table, params.query(request.args), current_user(), asked)
    except QueryError as error:
        raise APIError(400, str(error)) from None
    if not asked.group_by:
        return serialization.result({"stats": groups[0].stats}, 200, g.response_format)
    return serialization.result([_grouped(group, asked.display) for group in groups], 200, g.response_format)


def _grouped(group, display):
    fields = []
    for name, value, shown in group.values:
        field = {"field": name, "value": value}
        if display:
            field["display_value"] = shown
        fields.append(field)
    return {"stats": group.stats, "groupby_fields": fields}


for _prefix in ("", "/v1"):
    bp.add_url_rule(f"{_prefix}/stats/<table_name>", f"stats{_prefix.replace('/', '_')}", stats, methods=["GET", "HEAD"], strict_slashes=False, provide_automatic_options=False)
