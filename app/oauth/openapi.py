"""The token endpoints and the bearer scheme in the OpenAPI document
(app/openapi.py), written from the views' own names and answers."""
import orjson

from .protocol import ACCESS_DENIED, FORM, GRANTS, PARAMETERS, REVOKE_PATH, SCOPE, TOKEN_PATH

SECURITY = [{"basicAuth": []}, {"bearerAuth": []}]

_FORM_FIELDS = {
    "grant_type": {"type": "string", "enum": list(GRANTS)},
    "username": {"type": "string", "description": "The user's name (password grant)"},
    "password": {"type": "string", "description": "The user's password (password grant)"},
    "refresh_token": {"type": "string", "description": "A refresh token (refresh_token grant)"},
    "scope": {"type": "string", "description": "Ignored: every token's scope is useraccount"},
    "client_id": {"type": "string", "description": "Or in HTTP Basic, with the secret"},
    "client_secret": {"type": "string", "description": "Or in HTTP Basic, with the id"},
    "token": {"type": "string", "description": "The access or refresh token to revoke"},
}

_SCHEMAS = {
    "TokenRequest": {
        "type": "object",
        "required": ["grant_type"],
        "properties": {name: _FORM_FIELDS[name] for name in PARAMETERS if name != "token"},
    },
    "RevokeRequest": {
        "type": "object",
        "required": ["token"],
        "properties": {name: _FORM_FIELDS[name] for name in ("token", "client_id", "client_secret")},
    },
    "Tokens": {
        "type": "object",
        "required": ["access_token", "scope", "token_type", "expires_in"],
        "properties": {
            "access_token": {"type": "string"},
            "refresh_token": {"type": "string", "description": "Not for the client_credentials grant"},
            "scope": {"type": "string", "enum": [SCOPE]},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "Seconds the access token lives, less one"},
        },
    },
    "OAuthError": {
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    },
    "Revoked": {"type": "object", "additionalProperties": False},
}


def _json(schema):
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _operation(summary, request_schema, success_description, success_schema):
    errors = {
        "400": "A parameter missing or given twice, a body that is not a form, another grant type, "
        "or client_credentials for a client with no user",
        "401": f"A wrong client, user, password or token: {orjson.dumps(ACCESS_DENIED).decode()}",
        "413": "A body over 10 MiB",
    }
    return {
        "summary": summary,
        "security": [{"clientBasicAuth": []}, {}],
        "requestBody": {"required": True, "content": {FORM: {"schema": {"$ref": f"#/components/schemas/{request_schema}"}}}},
        "responses": {
            "200": {"description": success_description, **_json(success_schema)},
            **{status: {"description": text, **_json("OAuthError")} for status, text in errors.items()},
        },
    }


def add_to(spec):
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": f"An access token of {TOKEN_PATH}"}
    )
    spec.components.security_scheme(
        "clientBasicAuth", {"type": "http", "scheme": "basic", "description": "client_id:client_secret"}
    )
    for name, schema in _SCHEMAS.items():
        spec.components.schema(name, schema)
    spec.path(TOKEN_PATH, operations={"post": _operation("Get an access token", "TokenRequest", "Tokens", "Tokens")})
    spec.path(REVOKE_PATH, operations={"post": _operation("Revoke a token", "RevokeRequest", "Revoked", "Revoked")})
