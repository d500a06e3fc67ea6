"""The OpenAPI document: valid OpenAPI 3, served without credentials, and
made from the schemas that validate requests."""
import orjson
from openapi_spec_validator import validate

from app.interactions.schemas import CreateSchema, ResultSchema, UpdateSchema
from app.records.catalog import INTERACTION
from app.records.validation import write_schema

PATH = "/api/now/doc/openapi.json"

# Every key and text of the document, each once: what a reader or a code
# generator sees. A change to the document changes this list with it.
DOCUMENT_STRINGS = [
    "#/components/schemas/CreateRequest",
    "#/components/schemas/CustomerContactWrite",
    "#/components/schemas/Error",
    "#/components/schemas/ErrorEnvelope",
    "#/components/schemas/IncidentWrite",
    "#/components/schemas/InteractionJsonBlobWrite",
    "#/components/schemas/InteractionRelatedRecordWrite",
    "#/components/schemas/InteractionWrite",
    "#/components/schemas/OAuthError",
    "#/components/schemas/RevokeRequest",
    "#/components/schemas/Revoked",
    "#/components/schemas/LiveGroupProfileWrite",
    "#/components/schemas/Present",
    "#/components/schemas/Result",
    "#/components/schemas/ResultEnvelope",
    "#/components/schemas/SysUserWrite",
    "#/components/schemas/TableListEnvelope",
    "#/components/schemas/TableRecord",
    "#/components/schemas/TableRecordEnvelope",
    "#/components/schemas/TableWrite",
    "#/components/schemas/TokenRequest",
    "#/components/schemas/Tokens",
    "#/components/schemas/UpdateRequest",
    "$ref",
    "/api/now/doc/openapi.json",
    "/api/now/interaction",
    "/api/now/interaction/{interaction_id}/close",
    "/api/now/table/{table_name}",
    "/api/now/table/{table_name}/{sys_id}",
    "/api/now/v1/interaction",
    "/api/now/v1/interaction/{interaction_id}/close",
    "/api/now/v1/table/{table_name}",
    "/api/now/v1/table/{table_name}/{sys_id}",
    "/api/now/v2/table/{table_name}",
    "/api/now/v2/table/{table_name}/{sys_id}",
    "/oauth_revoke_token.do",
    "/oauth_token.do",
    "1",
    "200",
    "201",
    "204",
    "3.0.3",
    "400",
    "401",
    "403",
    "404",
    "405",
    "406",
    "413",
    "415",
    "500",
    "503",
    "A Content-Type other than JSON or XML, or an unknown charset",
    "A body over 10 MiB",
    "A body over 10 MiB (10485760 bytes)",
    "A fault of the service; the detail holds the transaction id to find it in the log",
    "A field missing or invalid, a body that is not a JSON or XML object, or an unknown path",
    "A map: a JSON object (in XML, child elements), or a string holding a JSON object",
    "A method the route does not take",
    "A new interaction; or, naming the sys_id of one, the fields to change (§4.4)",
    "A page of records",
    "A parameter missing or given twice, a body that is not a form, another grant type, or client_credentials for a client with no user",
    "A reference, or any field with display values 'all'",
    "A refresh token (refresh_token grant)",
    "A stand-in for ServiceNow's Interaction Management REST API and its Table API.",
    "A wrong client, user, password or token: {\"error_description\":\"access_denied\",\"error\":\"server_error\"}",
    "An access token of /oauth_token.do",
    "A write to sys_user by a user who is no admin; a write the table's rules refuse",
    "An encoded query: conditions joined by ^, ^OR, ^NQ; ORDERBY, ORDERBYDESC",
    "An invalid table, parameter, encoded query or value; a body that is not a JSON or XML object",
    "Any method but POST (Allow: POST)",
    "Bearer",
    "Close an interaction",
    "Closed",
    "Comma-separated fields to return; one level of dot-walking (opened_by.user_name)",
    "Create an interaction, or update one",
    "CreateRequest",
    "Created or updated",
    "CustomerContactWrite",
    "Delete a record",
    "Deleted",
    "Error",
    "ErrorEnvelope",
    "False",
    "Get an access token",
    "Ignored: every token's scope is useraccount",
    "IncidentWrite",
    "Insert a record",
    "Inserted",
    "Interaction Management API and Table API",
    "InteractionJsonBlobWrite",
    "InteractionRelatedRecordWrite",
    "InteractionWrite",
    "Link",
    "List records",
    "LiveGroupProfileWrite",
    "Location",
    "No Link header",
    "No X-Total-Count header, and no count",
    "No acceptable response format (answered in JSON)",
    "No interaction with this sys_id",
    "No or wrong credentials, an inactive user, or a refused bearer token (WWW-Authenticate: BASIC or Bearer)",
    "No record with this sys_id (v1: also a list that matches nothing)",
    "Not for the client_credentials grant",
    "OAuthError",
    "One record's fields; those the service sets, and unknown ones, are ignored",
    "Or in HTTP Basic, with the id",
    "Or in HTTP Basic, with the secret",
    "Present",
    "Read a record",
    "Records matching over all pages",
    "Records per page, at most 10000",
    "References as plain sys_ids",
    "Result",
    "ResultEnvelope",
    "Revoke a token",
    "RevokeRequest",
    "Revoked",
    "Seconds the access token lives, less one",
    "SysUserWrite",
    "TableListEnvelope",
    "TableRecord",
    "TableRecordEnvelope",
    "TableWrite",
    "The OpenAPI document",
    "The access or refresh token to revoke",
    "The database is unavailable",
    "The first record, from 0",
    "The id of this request in the service's log",
    "The record",
    "The record's URL",
    "The record's sys_id",
    "The sys_id of the interaction",
    "The table",
    "The user's name (password grant)",
    "The user's password (password grant)",
    "This document",
    "TokenRequest",
    "Tokens",
    "True",
    "Update a record",
    "UpdateRequest",
    "Updated",
    "Values, display values, or both",
    "X-Total-Count",
    "X-Transaction-ID",
    "^IMS[0-9]{7,}$",
    "^[0-9a-f]{16}$",
    "^[0-9a-f]{32}$",
    "^[a-z0-9_]{0,80}$",
    "^[a-z0-9_]{1,80}$",
    "access_token",
    "account",
    "active",
    "additionalProperties",
    "all",
    "anyOf",
    "application/json",
    "application/x-www-form-urlencoded",
    "application/xml",
    "array",
    "assigned_to",
    "basic",
    "basicAuth",
    "bearer",
    "bearerAuth",
    "boolean",
    "caller_id",
    "channel",
    "channelMetadataDocument",
    "channelMetadataTable",
    "channel_metadata",
    "channel_metadata_document",
    "channel_metadata_id",
    "channel_metadata_table",
    "clientBasicAuth",
    "client_credentials",
    "client_id",
    "client_id:client_secret",
    "client_secret",
    "close_code",
    "close_notes",
    "closed_by",
    "components",
    "contact_type",
    "content",
    "context",
    "contextDocument",
    "contextTable",
    "context_document",
    "context_id",
    "context_table",
    "customer_contact",
    "delete",
    "description",
    "detail",
    "display_value",
    "document_id",
    "document_table",
    "email",
    "enum",
    "error",
    "error_description",
    "expires_in",
    "failure",
    "false",
    "first, prev, next and last pages",
    "first_name",
    "get",
    "grant_type",
    "headers",
    "http",
    "impact",
    "in",
    "incident",
    "info",
    "integer",
    "interaction",
    "interaction_id",
    "interaction_json_blob",
    "interaction_related_record",
    "items",
    "last_name",
    "link",
    "live_group_profile",
    "maxLength",
    "message",
    "minLength",
    "minimum",
    "mobile_phone",
    "name",
    "nullable",
    "number",
    "object",
    "openapi",
    "opened_by",
    "opened_for",
    "parameters",
    "password",
    "patch",
    "path",
    "paths",
    "pattern",
    "phone",
    "post",
    "present",
    "properties",
    "put",
    "query",
    "queue",
    "refresh_token",
    "requestBody",
    "required",
    "responses",
    "result",
    "schema",
    "schemas",
    "scheme",
    "scope",
    "security",
    "securitySchemes",
    "short_description",
    "state",
    "status",
    "string",
    "summary",
    "sys_id",
    "sys_user",
    "sysparm_display_value",
    "sysparm_exclude_reference_link",
    "sysparm_fields",
    "sysparm_limit",
    "sysparm_no_count",
    "sysparm_offset",
    "sysparm_query",
    "sysparm_suppress_pagination_header",
    "table_name",
    "text/xml",
    "title",
    "token",
    "token_type",
    "true",
    "type",
    "useraccount",
    "username",
    "urgency",
    "user_name",
    "user_password",
    "value",
    "version",
]
# The Attachment, Batch and Aggregate APIs' (MORE_APIS.md).
DOCUMENT_STRINGS = sorted(DOCUMENT_STRINGS + [
    "",
    "#/components/schemas/AttachmentEnvelope",
    "#/components/schemas/AttachmentListEnvelope",
    "#/components/schemas/AttachmentMetadata",
    "#/components/schemas/BatchAnswer",
    "#/components/schemas/BatchRequest",
    "#/components/schemas/Header",
    "#/components/schemas/RestRequest",
    "#/components/schemas/StatsEnvelope",
    "*/*",
    "/api/now/attachment",
    "/api/now/attachment/file",
    "/api/now/attachment/upload",
    "/api/now/attachment/{sys_id}",
    "/api/now/attachment/{sys_id}/file",
    "/api/now/batch",
    "/api/now/stats/{table_name}",
    "/api/now/v1/attachment",
    "/api/now/v1/attachment/file",
    "/api/now/v1/attachment/upload",
    "/api/now/v1/attachment/{sys_id}",
    "/api/now/v1/attachment/{sys_id}/file",
    "/api/now/v1/batch",
    "/api/now/v1/stats/{table_name}",
    "A body that is no batch: rest_requests missing or not a list, an item without id, method or url, a body that is no base64",
    "A file over ATTACHMENT_MAX_BYTES (64 MiB by default)",
    "A method other than GET",
    "A missing table_name, table_sys_id or file_name; a table not served or a record that does not exist; a raw upload without a Content-Type; a malformed multipart body or one without a file part",
    "A page of metadata",
    "An attachment's file",
    "An attachment's metadata",
    "An encoded query over the attachments' metadata",
    "An encoded query: which records",
    "An invalid table, encoded query or sysparm_having; an aggregate of a field that is not numeric",
    "An upload body that is not multipart/form-data",
    "Attach a file sent as multipart/form-data",
    "Attach a file sent as the body",
    "Attached",
    "AttachmentEnvelope",
    "AttachmentListEnvelope",
    "AttachmentMetadata",
    "Attachments matching over all pages",
    "Attachments per page, 1000 unless given",
    "BatchAnswer",
    "BatchRequest",
    "Comma-separated <aggregate>^<field>^<operator>^<number>, e.g. count^state^>^5",
    "Comma-separated fields to group by",
    "Comma-separated group-by fields or <aggregate>^<field>, each ^DESC for descending",
    "Comma-separated numeric fields: their avg",
    "Comma-separated numeric fields: their max",
    "Comma-separated numeric fields: their min",
    "Comma-separated numeric fields: their sum",
    "Count and aggregate records",
    "Count the records",
    "Delete an attachment",
    "Each inner request served, in order, with its own status",
    "Group values with their display values",
    "Header",
    "List attachments",
    "Milliseconds",
    "Never: an inner request's 404 is in its item",
    "Never: no match is an empty answer",
    "No attachment with this sys_id",
    "RestRequest",
    "Run REST requests in one, each as the caller",
    "StatsEnvelope",
    "The answer's body, base64",
    "The attachment's sys_id",
    "The bytes, in the file's Content-Type",
    "The file's URL",
    "The file's name",
    "The file; its Content-Type is the file's",
    "The first attachment, from 0",
    "The metadata",
    "The metadata as JSON",
    "The requests, their bodies base64",
    "The stats, or a group's stats each",
    "The table of the record",
    "X-Attachment-Metadata",
    "application/octet-stream",
    "average_image_color",
    "avg",
    "batch_request_id",
    "binary",
    "body",
    "compressed",
    "content_type",
    "count",
    "created_by_name",
    "default",
    "download_link",
    "enforce_order",
    "exclude_response_headers",
    "execution_time",
    "field",
    "file",
    "file_name",
    "format",
    "groupby_fields",
    "hash",
    "id",
    "image_height",
    "image_width",
    "max",
    "method",
    "min",
    "multipart/form-data",
    "oneOf",
    "rest_requests",
    "serviced_requests",
    "size_bytes",
    "size_compressed",
    "stats",
    "status_code",
    "status_text",
    "sum",
    "sys_created_by",
    "sys_created_on",
    "sys_mod_count",
    "sys_tags",
    "sys_updated_by",
    "sys_updated_on",
    "sysparm_avg_fields",
    "sysparm_count",
    "sysparm_group_by",
    "sysparm_having",
    "sysparm_max_fields",
    "sysparm_min_fields",
    "sysparm_order_by",
    "sysparm_sum_fields",
    "table_name and table_sys_id fields, then the file part (any name)",
    "table_sys_id",
    "text/plain",
    "unserviced_requests",
    "updated_by_name",
    "url",
])


def test_the_document_is_valid_openapi_3(client):
    response = client.get(PATH)
    assert response.status_code == 200
    assert response.content_type == "application/json;charset=UTF-8"
    assert response.headers["Cache-Control"] == "no-cache,no-store,must-revalidate,max-age=-1"
    assert "X-Transaction-ID" in response.headers
    document = orjson.loads(response.data)
    validate(document)
    assert document["openapi"] == "3.0.3"


def test_the_document_names_every_route_of_the_api(client):
    document = orjson.loads(client.get(PATH).data)
    assert {path: sorted(operations) for path, operations in document["paths"].items()} == {
        "/api/now/interaction": ["post"],
        "/api/now/v1/interaction": ["post"],
        "/api/now/interaction/{interaction_id}/close": ["post"],
        "/api/now/v1/interaction/{interaction_id}/close": ["post"],
        **{
            path: operations
            for prefix in ("/api/now/table", "/api/now/v1/table", "/api/now/v2/table")
            for path, operations in (
                (f"{prefix}/{{table_name}}", ["get", "post"]),
                (f"{prefix}/{{table_name}}/{{sys_id}}", ["delete", "get", "patch", "put"]),
            )
        },
        **{
            path: operations
            for prefix in ("/api/now", "/api/now/v1")
            for path, operations in (
                (f"{prefix}/attachment", ["get"]),
                (f"{prefix}/attachment/file", ["post"]),
                (f"{prefix}/attachment/upload", ["post"]),
                (f"{prefix}/attachment/{{sys_id}}", ["delete", "get"]),
                (f"{prefix}/attachment/{{sys_id}}/file", ["get"]),
                (f"{prefix}/batch", ["post"]),
                (f"{prefix}/stats/{{table_name}}", ["get"]),
            )
        },
        PATH: ["get"],
        "/oauth_token.do": ["post"],
        "/oauth_revoke_token.do": ["post"],
    }
    create = document["paths"]["/api/now/interaction"]["post"]
    assert sorted(create["responses"]) == ["201", "400", "401", "404", "405", "406", "413", "415", "500", "503"]
    assert create["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    assert document["components"]["securitySchemes"] == {
        "basicAuth": {"type": "http", "scheme": "basic"},
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An access token of /oauth_token.do"},
        "clientBasicAuth": {"type": "http", "scheme": "basic", "description": "client_id:client_secret"},
    }


def test_the_document_follows_the_schemas(client):
    schemas = orjson.loads(client.get(PATH).data)["components"]["schemas"]
    assert list(schemas["CreateRequest"]["properties"]) == list(CreateSchema().fields)
    assert list(schemas["UpdateRequest"]["properties"]) == list(UpdateSchema().fields)
    assert schemas["CreateRequest"]["required"] == ["channel"]
    assert schemas["UpdateRequest"]["required"] == ["sys_id"]
    assert schemas["CreateRequest"]["properties"]["channel"] == {"type": "string", "minLength": 1, "maxLength": 32}
    assert list(schemas["Result"]["properties"]) == list(ResultSchema().fields)


def test_a_result_matches_the_documented_shape(client, admin_auth):
    """The result schema documents what service.to_result makes."""
    created = client.post("/api/now/interaction", json={"channel": "c"}, headers=admin_auth)
    result = created.json["result"]
    assert list(result) == list(ResultSchema().fields)
    assert ResultSchema().validate(result) == {}


def test_the_document_needs_no_credentials_and_only_get(client):
    assert client.get(PATH).status_code == 200
    refused = client.post(PATH)
    assert refused.status_code == 405
    assert sorted(refused.headers["Allow"].split(", ")) == ["GET", "HEAD"]  # in no set order
    assert refused.json == {
        "error": {"message": "Method not Supported", "detail": "POST method not supported for API"},
        "status": "failure",
    }


def test_the_table_apis_write_bodies_follow_the_schemas_that_validate_them(client):
    schemas = orjson.loads(client.get(PATH).data)["components"]["schemas"]
    assert list(schemas["InteractionWrite"]["properties"]) == list(write_schema(INTERACTION).fields)
    assert schemas["InteractionWrite"]["properties"]["short_description"] == {"type": "string", "maxLength": 160, "nullable": True}
    assert list(schemas["InteractionJsonBlobWrite"]["properties"]) == ["value"]
    assert "user_password" in schemas["SysUserWrite"]["properties"]
    table = orjson.loads(client.get(PATH).data)["paths"]["/api/now/table/{table_name}"]["get"]
    assert table["parameters"][0]["schema"]["enum"] == ["interaction", "interaction_json_blob", "live_group_profile", "sys_user", "customer_contact", "incident", "interaction_related_record"]
    assert sorted(table["responses"]) == ["200", "400", "401", "403", "404", "405", "406", "413", "415", "500", "503"]


def references(node):
    """Every $ref in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_every_reference_names_a_schema_of_the_document_and_every_schema_is_used(client):
    document = orjson.loads(client.get(PATH).data)
    prefix = "#/components/schemas/"
    refs = set(references(document))
    assert all(ref.startswith(prefix) for ref in refs), refs
    assert {ref.removeprefix(prefix) for ref in refs} == set(document["components"]["schemas"])


TRANSACTION_HEADER = {
    "X-Transaction-ID": {
        "description": "The id of this request in the service's log",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    }
}


def content(schema):
    return {media_type: {"schema": schema} for media_type in ("application/json", "application/xml", "text/xml")}


def test_every_answer_is_an_envelope_with_its_transaction_id(client):
    document = orjson.loads(client.get(PATH).data)
    schemas = document["components"]["schemas"]
    assert schemas["ErrorEnvelope"] == {
        "type": "object",
        "properties": {
            "error": {"$ref": "#/components/schemas/Error"},
            "status": {"type": "string", "enum": ["failure"]},
        },
        "required": ["error", "status"],
        "additionalProperties": False,
    }
    assert schemas["Error"] == {
        "type": "object",
        "properties": {"message": {"type": "string"}, "detail": {"type": "string", "nullable": True}},
        "required": ["detail", "message"],
        "additionalProperties": False,
    }
    create = document["paths"]["/api/now/v1/interaction"]["post"]
    assert create["responses"]["201"] == {
        "description": "Created or updated",
        "headers": TRANSACTION_HEADER,
        "content": content({"$ref": "#/components/schemas/ResultEnvelope"}),
    }
    assert create["responses"]["503"] == {
        "description": "The database is unavailable",
        "headers": TRANSACTION_HEADER,
        "content": content({"$ref": "#/components/schemas/ErrorEnvelope"}),
    }
    assert create["requestBody"] == {
        "required": True,
        "description": "A new interaction; or, naming the sys_id of one, the fields to change (§4.4)",
        "content": content(
            {"anyOf": [{"$ref": "#/components/schemas/CreateRequest"}, {"$ref": "#/components/schemas/UpdateRequest"}]}
        ),
    }
    assert "parameters" not in create


def test_the_close_route_requires_its_path_parameter(client):
    document = orjson.loads(client.get(PATH).data)
    for prefix in ("/api/now", "/api/now/v1"):
        close = document["paths"][f"{prefix}/interaction/{{interaction_id}}/close"]["post"]
        assert close["parameters"] == [
            {
                "name": "interaction_id",
                "in": "path",
                "required": True,
                "description": "The sys_id of the interaction",
                "schema": {"type": "string"},
            }
        ]
        assert close["summary"] == "Close an interaction"
        assert close["responses"]["200"]["description"] == "Closed"
        assert "requestBody" not in close


def test_the_document_describes_itself_and_the_service(client):
    document = orjson.loads(client.get(PATH).data)
    assert {key: value for key, value in document.items() if key not in ("paths", "components")} == {
        "openapi": "3.0.3",
        "info": {
            "title": "Interaction Management API and Table API",
            "version": "1",
            "description": "A stand-in for ServiceNow's Interaction Management REST API and its Table API.",
        },
    }
    assert document["paths"][PATH] == {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    for prefix in ("/api/now", "/api/now/v1"):
        assert document["paths"][f"{prefix}/interaction"]["post"]["summary"] == "Create an interaction, or update one"


def test_a_map_is_documented_as_an_object_or_json_text(client):
    properties = orjson.loads(client.get(PATH).data)["components"]["schemas"]["CreateRequest"]["properties"]
    for name in ("context", "channel_metadata"):
        assert properties[name] == {
            "nullable": True,
            "type": "object",
            "description": "A map: a JSON object (in XML, child elements), or a string holding a JSON object",
        }
    assert properties["context_table"] == {"type": "string", "pattern": "^[a-z0-9_]{1,80}$", "nullable": True}
    assert properties["context_id"] == {"type": "string", "maxLength": 32, "nullable": True}


def test_a_result_documents_its_references_as_sys_ids(client):
    properties = orjson.loads(client.get(PATH).data)["components"]["schemas"]["Result"]["properties"]
    for name in ("contextDocument", "channelMetadataDocument", "assigned_to", "closed_by", "opened_for"):
        assert properties[name] == {"type": "string", "maxLength": 32}


def strings_of(node):
    if isinstance(node, dict):
        return set(node).union(*(strings_of(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(strings_of(value) for value in node))
    return {node} if isinstance(node, str) else set()


def test_every_name_and_text_of_the_document_is_the_reviewed_one(client):
    """The checks above hold for a summary, a description or an enum value
    written wrong: this one does not."""
    assert sorted(strings_of(orjson.loads(client.get(PATH).data))) == DOCUMENT_STRINGS


def query_parameter(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or {"type": "string"}}


FLAG = {"type": "string", "enum": ["true", "false", "True", "False"]}
TABLE_PARAMETER = {
    "name": "table_name",
    "in": "path",
    "required": True,
    "description": "The table",
    "schema": {"type": "string", "enum": ["interaction", "interaction_json_blob", "live_group_profile", "sys_user", "customer_contact", "incident", "interaction_related_record"]},
}
SYS_ID_PARAMETER = {"name": "sys_id", "in": "path", "required": True, "description": "The record's sys_id", "schema": {"type": "string"}}
VIEW_PARAMETERS = [
    query_parameter("sysparm_fields", "Comma-separated fields to return; one level of dot-walking (opened_by.user_name)"),
    query_parameter("sysparm_display_value", "Values, display values, or both", {"type": "string", "enum": ["false", "true", "all"]}),
    query_parameter("sysparm_exclude_reference_link", "References as plain sys_ids", FLAG),
]
LIST_PARAMETERS = [
    query_parameter("sysparm_query", "An encoded query: conditions joined by ^, ^OR, ^NQ; ORDERBY, ORDERBYDESC"),
    query_parameter("sysparm_limit", "Records per page, at most 10000", {"type": "integer", "minimum": 0}),
    query_parameter("sysparm_offset", "The first record, from 0", {"type": "integer", "minimum": 0}),
    query_parameter("sysparm_suppress_pagination_header", "No Link header", FLAG),
    query_parameter("sysparm_no_count", "No X-Total-Count header, and no count", FLAG),
    *VIEW_PARAMETERS,
]
TABLE_WRITE_BODY = {
    "required": True,
    "description": "One record's fields; those the service sets, and unknown ones, are ignored",
    "content": content({"$ref": "#/components/schemas/TableWrite"}),
}
RECORD_CONTENT = content({"$ref": "#/components/schemas/TableRecordEnvelope"})


def success(operation):
    """An operation without its error answers, checked by the tests above."""
    return {
        **{key: value for key, value in operation.items() if key not in ("summary", "security")},
        "responses": {status: answer for status, answer in operation["responses"].items() if status < "400"},
    }


def test_the_table_routes_document_their_parameters_bodies_and_answers(client):
    document = orjson.loads(client.get(PATH).data)
    assert document["components"]["schemas"]["TableRecordEnvelope"] == {
        "type": "object",
        "required": ["result"],
        "properties": {"result": {"$ref": "#/components/schemas/TableRecord"}},
    }
    record = [TABLE_PARAMETER, SYS_ID_PARAMETER, *VIEW_PARAMETERS]
    for prefix in ("/api/now/table", "/api/now/v1/table", "/api/now/v2/table"):
        table = document["paths"][f"{prefix}/{{table_name}}"]
        assert {method: success(operation) for method, operation in table.items()} == {
            "get": {
                "parameters": [TABLE_PARAMETER, *LIST_PARAMETERS],
                "responses": {
                    "200": {
                        "description": "A page of records",
                        "headers": {
                            **TRANSACTION_HEADER,
                            "X-Total-Count": {"description": "Records matching over all pages", "schema": {"type": "integer"}},
                            "Link": {"description": "first, prev, next and last pages", "schema": {"type": "string"}},
                        },
                        "content": content({"$ref": "#/components/schemas/TableListEnvelope"}),
                    }
                },
            },
            "post": {
                "parameters": [TABLE_PARAMETER, *VIEW_PARAMETERS],
                "requestBody": TABLE_WRITE_BODY,
                "responses": {
                    "201": {
                        "description": "Inserted",
                        "headers": {**TRANSACTION_HEADER, "Location": {"description": "The record's URL", "schema": {"type": "string"}}},
                        "content": RECORD_CONTENT,
                    }
                },
            },
        }
        updated = {"200": {"description": "Updated", "headers": TRANSACTION_HEADER, "content": RECORD_CONTENT}}
        assert {method: success(operation) for method, operation in document["paths"][f"{prefix}/{{table_name}}/{{sys_id}}"].items()} == {
            "get": {
                "parameters": record,
                "responses": {"200": {"description": "The record", "headers": TRANSACTION_HEADER, "content": RECORD_CONTENT}},
            },
            "put": {"parameters": record, "requestBody": TABLE_WRITE_BODY, "responses": updated},
            "patch": {"parameters": record, "requestBody": TABLE_WRITE_BODY, "responses": updated},
            "delete": {
                "parameters": [TABLE_PARAMETER, SYS_ID_PARAMETER],
                "responses": {"204": {"description": "Deleted", "headers": TRANSACTION_HEADER}},
            },
        }


def test_the_attachment_stats_batch_and_oauth_routes_document_their_parameters_bodies_and_answers(client):
    document = orjson.loads(client.get(PATH).data)
    metadata = {"$ref": "#/components/schemas/AttachmentMetadata"}
    assert document["components"]["schemas"]["AttachmentEnvelope"] == {"type": "object", "required": ["result"], "properties": {"result": metadata}}
    assert document["components"]["schemas"]["AttachmentListEnvelope"] == {
        "type": "object",
        "required": ["result"],
        "properties": {"result": {"type": "array", "items": metadata}},
    }

    def required(name, description):
        return {**query_parameter(name, description), "required": True}

    sys_id = [{"name": "sys_id", "in": "path", "required": True, "description": "The attachment's sys_id", "schema": {"type": "string"}}]
    binary = {"type": "string", "format": "binary"}
    string = {"type": "string"}
    location = {**TRANSACTION_HEADER, "Location": {"description": "The file's URL", "schema": string}}
    attached = {"201": {"description": "Attached", "headers": location, "content": content({"$ref": "#/components/schemas/AttachmentEnvelope"})}}
    for prefix in ("/api/now", "/api/now/v1"):
        routes = {
            path.removeprefix(f"{prefix}/attachment"): {method: success(operation) for method, operation in operations.items()}
            for path, operations in document["paths"].items()
            if path.startswith(f"{prefix}/attachment")
        }
        assert routes == {
            "": {
                "get": {
                    "parameters": [
                        query_parameter("sysparm_query", "An encoded query over the attachments' metadata"),
                        query_parameter("sysparm_limit", "Attachments per page, 1000 unless given", {"type": "integer", "minimum": 0}),
                        query_parameter("sysparm_offset", "The first attachment, from 0", {"type": "integer", "minimum": 0}),
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of metadata",
                            "headers": {
                                **TRANSACTION_HEADER,
                                "X-Total-Count": {"description": "Attachments matching over all pages", "schema": {"type": "integer"}},
                                "Link": {"description": "first, prev, next and last pages", "schema": string},
                            },
                            "content": content({"$ref": "#/components/schemas/AttachmentListEnvelope"}),
                        }
                    },
                }
            },
            "/file": {
                "post": {
                    "parameters": [
                        required("table_name", "The table of the record"),
                        required("table_sys_id", "The record's sys_id"),
                        required("file_name", "The file's name"),
                    ],
                    "requestBody": {
                        "required": True,
                        "description": "The file; its Content-Type is the file's",
                        "content": {"application/octet-stream": {"schema": binary}, "text/plain": {"schema": binary}},
                    },
                    "responses": attached,
                }
            },
            "/upload": {
                "post": {
                    "parameters": [],
                    "requestBody": {
                        "required": True,
                        "description": "table_name and table_sys_id fields, then the file part (any name)",
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["table_name", "table_sys_id", "file"],
                                    "properties": {"table_name": string, "table_sys_id": string, "file": binary},
                                }
                            }
                        },
                    },
                    "responses": attached,
                }
            },
            "/{sys_id}": {
                "get": {
                    "parameters": sys_id,
                    "responses": {"200": {"description": "The metadata", "headers": TRANSACTION_HEADER, "content": content({"$ref": "#/components/schemas/AttachmentEnvelope"})}},
                },
                "delete": {"parameters": sys_id, "responses": {"204": {"description": "Deleted", "headers": TRANSACTION_HEADER}}},
            },
            "/{sys_id}/file": {
                "get": {
                    "parameters": sys_id,
                    "responses": {
                        "200": {
                            "description": "The bytes, in the file's Content-Type",
                            "headers": {**TRANSACTION_HEADER, "X-Attachment-Metadata": {"description": "The metadata as JSON", "schema": string}},
                            "content": {"*/*": {"schema": binary}},
                        }
                    },
                }
            },
        }
        assert document["paths"][f"{prefix}/stats/{{table_name}}"]["get"]["parameters"] == [
            TABLE_PARAMETER,
            query_parameter("sysparm_query", "An encoded query: which records"),
            query_parameter("sysparm_count", "Count the records", FLAG),
            *(query_parameter(f"sysparm_{function}_fields", f"Comma-separated numeric fields: their {function}") for function in ("avg", "min", "max", "sum")),
            query_parameter("sysparm_group_by", "Comma-separated fields to group by"),
            query_parameter("sysparm_having", "Comma-separated <aggregate>^<field>^<operator>^<number>, e.g. count^state^>^5"),
            query_parameter("sysparm_order_by", "Comma-separated group-by fields or <aggregate>^<field>, each ^DESC for descending"),
            query_parameter("sysparm_display_value", "Group values with their display values", {"type": "string", "enum": ["false", "true", "all"]}),
        ]
    for path in ("/api/now/batch", "/api/now/v1/batch"):
        assert document["paths"][path]["post"]["requestBody"] == {
            "required": True,
            "description": "The requests, their bodies base64",
            "content": content({"$ref": "#/components/schemas/BatchRequest"}),
        }
    for path, schema in (("/oauth_token.do", "TokenRequest"), ("/oauth_revoke_token.do", "RevokeRequest")):
        assert document["paths"][path]["post"]["requestBody"] == {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
