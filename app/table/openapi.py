"""The Table API's part of the OpenAPI document: its routes, parameters and
answers, the write bodies taken from the schemas that validate them, for
every table as it stands when the document is asked for."""
import functools

from ..records import catalog
from ..records.validation import write_schema

_MEDIA_TYPES = ("application/json", "application/xml", "text/xml")
_PREFIXES = ("/api/now/table", "/api/now/v1/table", "/api/now/v2/table")

# What differs from the Interaction API's answers of the same status; the
# rest (401, 406, 413, 415, 500, 503) are theirs, passed to add_to.
_OWN_ERRORS = {
    "400": "An invalid table, parameter, encoded query or value; a body that is not a JSON or XML object",
    "403": "A write to sys_user by a user who is no admin; a write the table's rules refuse",
    "404": "No record with this sys_id (v1: also a list that matches nothing)",
    "405": "A method the route does not take",
}

_VALUE = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "description": "A reference, or any field with display values 'all'",
            "properties": {name: {"type": "string"} for name in ("display_value", "link", "value")},
        },
    ]
}


def _parameter(name, description, schema=None, where="query", required=False):
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema or {"type": "string"}}


_FLAG = {"type": "string", "enum": ["true", "false", "True", "False"]}


def _view_parameters():
    return [
        _parameter("sysparm_fields", "Comma-separated fields to return; one level of dot-walking (opened_by.user_name)"),
        _parameter("sysparm_display_value", "Values, display values, or both", {"type": "string", "enum": ["false", "true", "all"]}),
        _parameter("sysparm_exclude_reference_link", "References as plain sys_ids", _FLAG),
    ]


def _list_parameters():
    return [
        _parameter("sysparm_query", "An encoded query: conditions joined by ^, ^OR, ^NQ; ORDERBY, ORDERBYDESC"),
        _parameter("sysparm_limit", "Records per page, at most 10000", {"type": "integer", "minimum": 0}),
        _parameter("sysparm_offset", "The first record, from 0", {"type": "integer", "minimum": 0}),
        _parameter("sysparm_suppress_pagination_header", "No Link header", _FLAG),
        _parameter("sysparm_no_count", "No X-Total-Count header, and no count", _FLAG),
        *_view_parameters(),
    ]


def _content(schema):
    return {media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for media_type in _MEDIA_TYPES}


def _operation(transaction, errors, summary, status, description, envelope=None, parameters=(), body=False, headers=None):
    success = {"description": description, "headers": {**transaction, **(headers or {})}}
    if envelope:
        success["content"] = _content(envelope)
    responses = {status: success}
    for code, text in sorted(errors.items()):
        responses[code] = {"description": text, "headers": transaction, "content": _content("ErrorEnvelope")}
    operation = {"summary": summary, "security": [{"basicAuth": []}, {"bearerAuth": []}], "parameters": list(parameters), "responses": responses}
    if body:
        operation["requestBody"] = {
            "required": True,
            "description": "One record's fields; those the service sets, and unknown ones, are ignored",
            "content": _content("TableWrite"),
        }
    return operation


def _write_name(table):
    return "".join(part.capitalize() for part in table.name.split("_")) + "Write"


def add_to(spec, transaction_header, errors):
    """Adds the Table API's schemas and paths to an apispec APISpec; every
    answer carries `transaction_header`, and the errors the Interaction API
    shares (`errors`, by status) read as there."""
    operation = functools.partial(_operation, transaction_header, {**errors, **_OWN_ERRORS})
    tables = catalog.tables()
    table = _parameter("table_name", "The table", {"type": "string", "enum": [t.name for t in tables]}, where="path", required=True)
    sys_id = _parameter("sys_id", "The record's sys_id", where="path", required=True)
    for each in tables:
        spec.components.schema(_write_name(each), schema=write_schema(each))
    spec.components.schema(
        "TableWrite",
        {"anyOf": [{"$ref": f"#/components/schemas/{_write_name(each)}"} for each in tables]},
    )
    spec.components.schema("TableRecord", {"type": "object", "additionalProperties": _VALUE})
    spec.components.schema(
        "TableRecordEnvelope",
        {"type": "object", "required": ["result"], "properties": {"result": {"$ref": "#/components/schemas/TableRecord"}}},
    )
    spec.components.schema(
        "TableListEnvelope",
        {
            "type": "object",
            "required": ["result"],
            "properties": {"result": {"type": "array", "items": {"$ref": "#/components/schemas/TableRecord"}}},
        },
    )
    list_headers = {
        "X-Total-Count": {"description": "Records matching over all pages", "schema": {"type": "integer"}},
        "Link": {"description": "first, prev, next and last pages", "schema": {"type": "string"}},
    }
    for prefix in _PREFIXES:
        spec.path(
            f"{prefix}/{{table_name}}",
            operations={
                "get": operation("List records", "200", "A page of records", "TableListEnvelope", [table, *_list_parameters()], headers=list_headers),
                "post": operation(
                    "Insert a record",
                    "201",
                    "Inserted",
                    "TableRecordEnvelope",
                    [table, *_view_parameters()],
                    body=True,
                    headers={"Location": {"description": "The record's URL", "schema": {"type": "string"}}},
                ),
            },
        )
        record = [table, sys_id, *_view_parameters()]
        spec.path(
            f"{prefix}/{{table_name}}/{{sys_id}}",
            operations={
                "get": operation("Read a record", "200", "The record", "TableRecordEnvelope", record),
                "put": operation("Update a record", "200", "Updated", "TableRecordEnvelope", record, body=True),
                "patch": operation("Update a record", "200", "Updated", "TableRecordEnvelope", record, body=True),
                "delete": operation("Delete a record", "204", "Deleted", parameters=[table, sys_id]),
            },
        )
