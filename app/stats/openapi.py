"""The Aggregate API's part of the OpenAPI document."""
from ..records import catalog

_MEDIA_TYPES = ("application/json", "application/xml", "text/xml")
_OWN_ERRORS = {
    "400": "An invalid table, encoded query or sysparm_having; an aggregate of a field that is not numeric",
    "404": "Never: no match is an empty answer",
    "405": "A method other than GET",
}
_FLAG = {"type": "string", "enum": ["true", "false", "True", "False"]}
_STATS = {
    "type": "object",
    "properties": {
        "count": {"type": "string"},
        **{function: {"type": "object", "additionalProperties": {"type": "string"}} for function in ("avg", "min", "max", "sum")},
    },
}


def _parameter(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or {"type": "string"}}


def add_to(spec, transaction_header, errors):
    spec.components.schema(
        "StatsEnvelope",
        {
            "type": "object",
            "required": ["result"],
            "properties": {
                "result": {
                    "oneOf": [
                        {"type": "object", "required": ["stats"], "properties": {"stats": _STATS}},
                        {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["stats", "groupby_fields"],
                                "properties": {
                                    "stats": _STATS,
                                    "groupby_fields": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {name: {"type": "string"} for name in ("field", "value", "display_value")},
                                        },
                                    },
                                },
                            },
                        },
                    ]
                }
            },
        },
    )
    content = {media_type: {"schema": {"$ref": "#/components/schemas/StatsEnvelope"}} for media_type in _MEDIA_TYPES}
    responses = {"200": {"description": "The stats, or a group's stats each", "headers": transaction_header, "content": content}}
    for status, text in sorted({**errors, **_OWN_ERRORS}.items()):
        error = {media_type: {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}} for media_type in _MEDIA_TYPES}
        responses[status] = {"description": text, "headers": transaction_header, "content": error}
    parameters = [
        {"name": "table_name", "in": "path", "required": True, "description": "The table", "schema": {"type": "string", "enum": [table.name for table in catalog.tables()]}},
        _parameter("sysparm_query", "An encoded query: which records"),
        _parameter("sysparm_count", "Count the records", _FLAG),
        *(_parameter(f"sysparm_{function}_fields", f"Comma-separated numeric fields: their {function}") for function in ("avg", "min", "max", "sum")),
        _parameter("sysparm_group_by", "Comma-separated fields to group by"),
        _parameter("sysparm_having", "Comma-separated <aggregate>^<field>^<operator>^<number>, e.g. count^state^>^5"),
        _parameter("sysparm_order_by", "Comma-separated group-by fields or <aggregate>^<field>, each ^DESC for descending"),
        _parameter("sysparm_display_value", "Group values with their display values", {"type": "string", "enum": ["false", "true", "all"]}),
    ]
    for prefix in ("/api/now", "/api/now/v1"):
        spec.path(
            f"{prefix}/stats/{{table_name}}",
            operations={"get": {"summary": "Count and aggregate records", "security": [{"basicAuth": []}, {"bearerAuth": []}], "parameters": parameters, "responses": responses}},
        )
