"""GET /api/now/doc/openapi.json: the OpenAPI 3 document of this API, made
from the marshmallow schemas that validate requests, so it cannot drift
from them. Built once, when the app is created.

No authentication: like ServiceNow's published API documentation it holds
the contract only, no data, and tools (client generators, schemathesis)
fetch it before they have credentials.
"""
import orjson
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, current_app

from .interactions.schemas import (
    CreateSchema,
    ErrorEnvelopeSchema,
    Map,
    ResultEnvelopeSchema,
    UpdateSchema,
)
from .records import catalog
from .serialization import CONTENT_TYPES, JSON
from .attachments import openapi as attachments_openapi
from .batch import openapi as batch_openapi
from .oauth import openapi as oauth_openapi
from .stats import openapi as stats_openapi
from .table import openapi as table_openapi

PATH = "/api/now/doc/openapi.json"

bp = Blueprint("openapi", __name__)

_MEDIA_TYPES = ("application/json", "application/xml", "text/xml")

_ERRORS = {
    "400": "A field missing or invalid, a body that is not a JSON or XML object, or an unknown path",
    "401": "No or wrong credentials, an inactive user, or a refused bearer token (WWW-Authenticate: BASIC or Bearer)",
    "404": "No interaction with this sys_id",
    "405": "Any method but POST (Allow: POST)",
    "406": "No acceptable response format (answered in JSON)",
    "413": "A body over 10 MiB (10485760 bytes)",
    "415": "A Content-Type other than JSON or XML, or an unknown charset",
    "500": "A fault of the service; the detail holds the transaction id to find it in the log",
    "503": "The database is unavailable",
}

_TRANSACTION_HEADER = {
    "X-Transaction-ID": {
        "description": "The id of this request in the service's log",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    }
}


def _map_property(self, field, **kwargs):
    """A map is a JSON object; in XML, child elements."""
    if isinstance(field, Map):
        return {
            "type": "object",
            "description": "A map: a JSON object (in XML, child elements), or a string holding a JSON object",
        }
    return {}


def _content(schema):
    return {media_type: {"schema": schema} for media_type in _MEDIA_TYPES}


def _operation(summary, success_status, success_description, request_body=None, parameters=()):
    responses = {
        success_status: {
            "description": success_description,
            "headers": _TRANSACTION_HEADER,
            "content": _content("ResultEnvelope"),
        }
    }
    for status, description in _ERRORS.items():
        responses[status] = {"description": description, "headers": _TRANSACTION_HEADER, "content": _content("ErrorEnvelope")}
    operation = {"summary": summary, "security": oauth_openapi.SECURITY, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if request_body:
        operation["requestBody"] = request_body
    return operation


def build():
    """The document, as a dict."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Interaction Management API and Table API",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "A stand-in for ServiceNow's Interaction Management REST API and its Table API."},
    )
    plugin.converter.add_attribute_function(_map_property)
    spec.components.security_scheme("basicAuth", {"type": "http", "scheme": "basic"})
    spec.components.schema("CreateRequest", schema=CreateSchema)
    spec.components.schema("UpdateRequest", schema=UpdateSchema)
    spec.components.schema("ResultEnvelope", schema=ResultEnvelopeSchema)
    spec.components.schema("ErrorEnvelope", schema=ErrorEnvelopeSchema)

    request_body = {
        "required": True,
        "description": "A new interaction; or, naming the sys_id of one, the fields to change (§4.4)",
        "content": {
            media_type: {"schema": {"anyOf": [{"$ref": "#/components/schemas/CreateRequest"}, {"$ref": "#/components/schemas/UpdateRequest"}]}}
            for media_type in _MEDIA_TYPES
        },
    }
    interaction_id = {
        "name": "interaction_id",
        "in": "path",
        "required": True,
        "description": "The sys_id of the interaction",
        "schema": {"type": "string"},
    }
    for prefix in ("/api/now", "/api/now/v1"):
        spec.path(
            f"{prefix}/interaction",
            operations={"post": _operation("Create an interaction, or update one", "201", "Created or updated", request_body)},
        )
        spec.path(
            f"{prefix}/interaction/{{interaction_id}}/close",
            operations={"post": _operation("Close an interaction", "200", "Closed", parameters=[interaction_id])},
        )
    table_openapi.add_to(spec, _TRANSACTION_HEADER, _ERRORS)
    for api in (attachments_openapi, batch_openapi, stats_openapi):
        api.add_to(spec, _TRANSACTION_HEADER, _ERRORS)
    oauth_openapi.add_to(spec)
    spec.path(
        PATH,
        operations={
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
    )
    return spec.to_dict()


@bp.get(PATH, provide_automatic_options=False)
def document():
    # Built on the first request, not at start: it was a quarter of an app's
    # start, paid by every worker, while few ever serve it; and again when
    # the declared tables changed. Two first requests at once build the
    # same document twice, harmlessly.
    catalog.refresh()
    built = current_app.extensions.get("openapi")
    if built is None or built[0] != catalog.generation():
        built = current_app.extensions["openapi"] = (catalog.generation(), orjson.dumps(build()))
    return Response(built[1], content_type=CONTENT_TYPES[JSON])


def init_app(app):
    app.register_blueprint(bp)
