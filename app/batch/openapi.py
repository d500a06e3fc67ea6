"""The Batch API's part of the OpenAPI document."""
from .schemas import BatchSchema

_MEDIA_TYPES = ("application/json", "application/xml", "text/xml")
_OWN_ERRORS = {
    "400": "A body that is no batch: rest_requests missing or not a list, an item without id, method or url, a body that is no base64",
    "404": "Never: an inner request's 404 is in its item",
}

_SERVICED = {
    "type": "object",
    "required": ["id", "body", "status_code", "status_text", "headers", "execution_time"],
    "properties": {
        "id": {"type": "string"},
        "body": {"type": "string", "description": "The answer's body, base64"},
        "status_code": {"type": "integer"},
        "status_text": {"type": "string"},
        "headers": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
        },
        "execution_time": {"type": "integer", "description": "Milliseconds"},
    },
}


def _content(schema):
    return {media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for media_type in _MEDIA_TYPES}


def add_to(spec, transaction_header, errors):
    spec.components.schema("BatchRequest", schema=BatchSchema)
    spec.components.schema(
        "BatchAnswer",
        {
            "type": "object",
            "required": ["batch_request_id", "serviced_requests", "unserviced_requests"],
            "properties": {
                "batch_request_id": {"type": "string"},
                "serviced_requests": {"type": "array", "items": _SERVICED},
                "unserviced_requests": {"type": "array", "items": {"type": "string"}},
            },
        },
    )
    responses = {"200": {"description": "Each inner request served, in order, with its own status", "headers": transaction_header, "content": _content("BatchAnswer")}}
    for status, text in sorted({**errors, **_OWN_ERRORS}.items()):
        responses[status] = {"description": text, "headers": transaction_header, "content": _content("ErrorEnvelope")}
    for prefix in ("/api/now", "/api/now/v1"):
        spec.path(
            f"{prefix}/batch",
            operations={
                "post": {
                    "summary": "Run REST requests in one, each as the caller",
                    "security": [{"basicAuth": []}, {"bearerAuth": []}],
                    "requestBody": {"required": True, "description": "The requests, their bodies base64", "content": _content("BatchRequest")},
                    "responses": responses,
                }
            },
        )
