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
