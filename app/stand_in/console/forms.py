"""What the console's forms accept: the filters of its two lists (plain GET
forms, so every view is a URL) and the fault rules its presets make.

Each parser raises APIError 400 with a message naming the field; the views
show it above the form."""
from datetime import timedelta

import orjson
from marshmallow import EXCLUDE, Schema, fields, validate

from ...errors import APIError
from ...oauth import clients as oauth_clients
from ...records import interactions
from ...records import query as Q
from .. import schemas

PAGE_SIZE = 25
REQUESTS_PAGE_SIZE = 50
# The Interaction API's close route, with or without /v1: what the 503 preset matches.
CLOSE_PATH = "^/api/now(/v1)?/interaction/[^/]+/close$"


def _given(args):
    """An empty field of a GET form is no filter."""
    return {name: value for name, value in args.items() if value.strip()}


class _Form(Schema):
    class Meta:
        # The page's other parameters (refresh, done) are not filters.
        unknown = EXCLUDE


class InteractionFilters(_Form):
    state = fields.String(validate=validate.OneOf(tuple(interactions.STATE_LABELS)))
    number = fields.String(validate=validate.Length(max=40))
    text = fields.String(validate=validate.Length(max=160))
    queue = fields.String(validate=validate.Length(max=32))
    opened_from = fields.Date()
    opened_to = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


_interaction_filters = InteractionFilters()
# Newest first; the number breaks ties between interactions opened in one second.
_NEWEST_FIRST = Q.Query((), (Q.Ordering("opened_at", True), Q.Ordering("number", True)))


def interaction_filters(args):
    """(filters, query): the form's values, and the encoded query they make,
    built as conditions rather than text so that no value can add a term."""
    filters = schemas.load(_interaction_filters, _given(args))
    query = _NEWEST_FIRST
    for name, field, operator in (
        ("state", "state", "="),
        ("number", "number", "LIKE"),
        ("text", "short_description", "LIKE"),
        ("queue", "queue", "="),
    ):
        if name in filters:
            query = Q.condition(field, operator, filters[name].strip()) + query
    if "opened_from" in filters:
        query = Q.condition("opened_at", ">=", filters["opened_from"].isoformat()) + query
    if "opened_to" in filters:
        # The whole of the last day.
        query = Q.condition("opened_at", "<", (filters["opened_to"] + timedelta(days=1)).isoformat()) + query
    return filters, query


class TableFilters(_Form):
    query = fields.String(validate=validate.Length(max=4000))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


_table_filters = TableFilters()


def table_filters(args):
    """(query, page) of a table's records page: the encoded query as the Table API reads it."""
    filters = schemas.load(_table_filters, _given(args))
    return Q.parse(filters.get("query", "")), filters["page"]


class RequestFilters(_Form, schemas.JournalMatchSchema):
    """The journal API's filters (method, path, status, user, since), paged."""

    # A query string's status is text: not strict, as the API's view converts it too.
    status = fields.Integer(validate=validate.Range(100, 599))
    since = fields.String(validate=validate.Length(max=23))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


_request_filters = RequestFilters()


def request_filters(args):
    """(match, since, page) for journal.matching."""
    filters = schemas.load(_request_filters, _given(args))
    page = filters.pop("page")
    since = filters.pop("since", None)
    return filters, since, page


# --- fault rules -------------------------------------------------------------

PRESETS = ("close503", "delay", "drop", "json")
_rule_schema = schemas.RuleSchema()


class _Preset(_Form):
    preset = fields.String(required=True, validate=validate.OneOf(PRESETS))
    times = fields.Integer(validate=validate.Range(min=1))
    path = fields.String()
    ms = fields.Integer()
    mode = fields.String()
    rule = fields.String()


_preset = _Preset()


def fault_rule(form):
    """The rule a fault form describes, validated as POST /__stand_in/faults
    validates it."""
    given = schemas.load(_preset, _given(form))
    preset = given["preset"]
    if preset == "json":
        try:
            rule = orjson.loads(given.get("rule", ""))
        except orjson.JSONDecodeError as error:
            raise APIError(400, f"rule: Not valid JSON: {error}") from None
        if not isinstance(rule, dict):
            raise APIError(400, "rule: Must be an object.")
        return schemas.load(_rule_schema, rule)
    if preset == "close503":
        rule = {"match": {"method": "POST", "path": CLOSE_PATH}, "effect": {"type": "error", "status": 503}}
    else:
        effect = {"type": preset, **{name: given[name] for name in ("ms", "mode") if name in given}}
        rule = {"match": {}, "effect": effect}
    if "path" in given:
        rule["match"]["path"] = given["path"]
    if "times" in given:
        rule["times"] = given["times"]
    return schemas.load(_rule_schema, rule)


class _OAuthClientForm(_Form):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    user = fields.String(validate=validate.Length(1, 40))
    access_token_lifespan = fields.Integer(validate=validate.Range(1, oauth_clients.MAX_LIFESPAN))
    refresh_token_lifespan = fields.Integer(validate=validate.Range(1, oauth_clients.MAX_LIFESPAN))


_oauth_client_form = _OAuthClientForm()


def oauth_client(form):
    """The client a form describes; empty fields take their defaults."""
    return schemas.load(_oauth_client_form, _given(form))
