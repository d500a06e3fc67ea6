"""The error rows of §3 that are about routes and the service itself, and
the headers every response carries."""
import re

import pytest
from conftest import CHANNEL

NO_RESOURCE = {
    "error": {"message": "Requested URI does not represent any resource", "detail": None},
    "status": "failure",
}
STANDARD_HEADERS = {
    "Cache-Control": "no-cache,no-store,must-revalidate,max-age=-1",
    "Pragma": "no-store,no-cache",
    "Expires": "0",
    "X-Content-Type-Options": "nosniff",
}


@pytest.mark.parametrize(
    "path",
    [
        "/api/now/v9/interaction",
        "/api/now/v2/interaction",
        "/api/now/interactions",
        "/api/now/interaction/abc",
        "/api/now/interaction/abc/open",
        "/api/now//interaction",
        "/api/now/v3/table/interaction",
        "/api/",
        "/api/now/interaction/a/b/close",
    ],
)
def test_unknown_paths_and_versions_are_a_400(api, path):
    response = api.create({"channel": CHANNEL}, path=path)
    assert response.status_code == 400
    assert response.json == NO_RESOURCE


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize(
    "path", ["/api/now/interaction", "/api/now/v1/interaction", "/api/now/interaction/abc/close"]
)
def test_other_methods_are_a_405_with_allow(client, admin_auth, method, path):
    response = client.open(path, method=method, headers=admin_auth)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json == {
        "error": {"message": "Method not Supported", "detail": f"{method} method not supported for API"},
        "status": "failure",
    }


def test_a_405_in_xml(client, admin_auth):
    response = client.get("/api/now/interaction", headers={**admin_auth, "Accept": "application/xml"})
    assert response.status_code == 405
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>Method not Supported</message>'
        b"<detail>GET method not supported for API</detail></error><status>failure</status></response>"
    )


def test_a_body_over_10_mib_is_a_413(api):
    body = b'{"channel": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = api.create(data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json == {
        "error": {
            "message": "Exception while reading request",
            "detail": f"Rejected large REST payload with content-length = {len(body)} bytes. "
            "Max allowed: 10485760 bytes.",
        },
        "status": "failure",
    }


def test_a_body_of_exactly_10_mib_is_read(api):
    padding = 10 * 1024 * 1024 - len(f'{{"channel": "{CHANNEL}", "pad": ""}}')
    body = f'{{"channel": "{CHANNEL}", "pad": "{"x" * padding}"}}'.encode()
    assert len(body) == 10 * 1024 * 1024
    assert api.create(data=body, headers={"Content-Type": "application/json"}).status_code == 201


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"", "The request body is empty"),
        (b"   ", "The request body is empty"),
        (b"[1, 2]", "The request body must be an object"),
        (b'"channel"', "The request body must be an object"),
        (b"null", "The request body must be an object"),
        (b'{"channel": ', "Invalid JSON: "),
        (b"{'channel': 'x'}", "Invalid JSON: "),
        (b'{"channel": "\xff"}', "Invalid JSON: "),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400(api, body, detail):
    response = api.create(data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["status"] == "failure"
    assert response.json["error"]["message"] == "Exception while reading request"
    assert response.json["error"]["detail"].startswith(detail)


def test_outside_the_api_an_unknown_path_is_a_404(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json == {
        "error": {"message": "Not Found", "detail": "/nothing/here is not a resource of this service"},
        "status": "failure",
    }


@pytest.mark.parametrize(
    "method, path, authenticated, status",
    [
        ("POST", "/api/now/interaction", True, 201),
        ("POST", "/api/now/interaction", False, 401),
        ("GET", "/api/now/interaction", True, 405),
        ("POST", "/api/now/v9/interaction", True, 400),
        ("POST", "/api/now/interaction/nope/close", True, 404),
        ("GET", "/health", False, 200),
    ],
)
def test_every_response_carries_the_standard_headers(client, admin_auth, method, path, authenticated, status):
    response = client.open(
        path, method=method, json={"channel": CHANNEL}, headers=admin_auth if authenticated else {}
    )
    assert response.status_code == status
    for name, value in STANDARD_HEADERS.items():
        assert response.headers[name] == value
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["X-Transaction-ID"])


def test_transaction_ids_differ(api):
    ids = {api.create({"channel": CHANNEL}).headers["X-Transaction-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "reachable"}
