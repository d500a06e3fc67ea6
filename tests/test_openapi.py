"""The OpenAPI document: valid OpenAPI 3, served without credentials, and
made from the schemas that validate requests."""
import orjson
from openapi_spec_validator import validate

from app.interactions.schemas import CreateSchema, ResultSchema, UpdateSchema
from app.records.validation import write_schema

PATH = "/api/now/doc/openapi.json"


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
        PATH: ["get"],
    }
    create = document["paths"]["/api/now/interaction"]["post"]
    assert sorted(create["responses"]) == ["201", "400", "401", "404", "405", "406", "413", "415", "500", "503"]
    assert create["security"] == [{"basicAuth": []}]
    assert document["components"]["securitySchemes"] == {"basicAuth": {"type": "http", "scheme": "basic"}}


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
    assert list(schemas["InteractionWrite"]["properties"]) == list(write_schema("interaction").fields)
    assert schemas["InteractionWrite"]["properties"]["short_description"] == {"type": "string", "maxLength": 160, "nullable": True}
    assert list(schemas["DocumentWrite"]["properties"]) == ["value"]
    table = orjson.loads(client.get(PATH).data)["paths"]["/api/now/table/{table_name}"]["get"]
    assert table["parameters"][0]["schema"]["enum"] == ["interaction", "interaction_json_blob", "live_group_profile", "sys_user"]
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
