"""The error rows of §3 that are about routes and the service itself, and
the headers every response carries."""
import re
from urllib.parse import quote

import pytest
from conftest import CHANNEL
from werkzeug.exceptions import NotImplemented, RequestedRangeNotSatisfiable

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


@pytest.mark.parametrize(
    "exception, status, message, detail",
    [
        (NotImplemented, 501, "Not Implemented", "The server does not support the action requested by the browser."),
        (RequestedRangeNotSatisfiable, 416, "Requested Range Not Satisfiable", "The server cannot provide the requested range."),
    ],
)
def test_any_other_http_error_keeps_its_status_in_the_envelope(app, exception, status, message, detail):
    """werkzeug raises these itself (a Range request, a method it cannot
    serve); no route of the API does yet, so a route of the test's raises one."""

    def fail():
        raise exception()

    app.add_url_rule("/fails", view_func=fail)
    client = app.test_client()
    response = client.get("/fails")
    assert response.status_code == status
    assert response.json == {"error": {"message": message, "detail": detail}, "status": "failure"}
    in_xml = client.get("/fails", headers={"Accept": "application/xml"})
    assert (in_xml.status_code, in_xml.data) == (
        status,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>' + message.encode()
        + b"</message><detail>" + detail.encode() + b"</detail></error><status>failure</status></response>",
    )


def test_outside_the_api_an_unknown_path_is_a_404(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json == {
        "error": {"message": "Not Found", "detail": "/nothing/here is not a resource of this service"},
        "status": "failure",
    }


def test_a_printable_path_is_quoted_as_it_is(client):
    response = client.get("/nothing/héré")
    assert response.status_code == 404
    assert response.json == {
        "error": {"message": "Not Found", "detail": "/nothing/héré is not a resource of this service"},
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


def test_a_fault_before_the_transaction_began_is_still_answered(app):
    """Should anything fail before the request has its transaction id."""
    with app.test_request_context("/api/now/interaction", method="POST"):
        response = app.handle_user_exception(RuntimeError("early"))
    assert response.status_code == 500
    assert response.json == {"error": {"message": "Internal server error", "detail": "transaction -"}, "status": "failure"}


# Every message that echoes what the client sent, with control characters in
# it (NUL, SOH) and markup: (method, path, JSON body, status, message, detail).
# XML cannot carry a control character, so each comes back escaped, as the
# log line shows it; the markup is escaped by the XML writer.
CONTROL = "a\x00b\x01<&>"
ESCAPED = "a\\x00b\\x01<&>"
IN_URL = quote(CONTROL)
ECHOES = {
    "table name": ("GET", f"/api/now/table/sys_user{IN_URL}", None, 400, f"Invalid table sys_user{ESCAPED}", None),
    "field name in a query": (
        "GET", f"/api/now/table/interaction?sysparm_query={IN_URL}=1", None, 400,
        f"Invalid condition '{ESCAPED}=1' in the encoded query: expected <field><operator><value>", None,
    ),
    "field name in a fault rule": (
        "POST", "/__stand_in/faults", {"match": {CONTROL: 1}, "effect": {"type": "error", "status": 503}}, 400,
        f"match.{ESCAPED}: Unknown field.", None,
    ),
    "field name in a snapshot": (
        "POST", "/__stand_in/snapshot", {CONTROL: 1}, 400,
        f"format: Missing data for required field.; tables: Missing data for required field.; "
        f"{ESCAPED}: Unknown field.",
        None,
    ),
    "parameter name": ("GET", f"/__stand_in/requests?{IN_URL}=1", None, 400, f"{ESCAPED}: Unknown parameter.", None),
    "parameter value": (
        "GET", f"/api/now/table/interaction?sysparm_limit={IN_URL}", None, 400,
        f"Invalid value for sysparm_limit: '{ESCAPED}' is not a non-negative integer", None,
    ),
    "query value": (
        "GET", f"/api/now/table/interaction?sysparm_query=opened_atBETWEEN{IN_URL}", None, 400,
        f"BETWEEN needs two values joined by @, not '{ESCAPED}'", None,
    ),
    "path": (
        "GET", f"/nothing/{IN_URL}", None, 404, "Not Found", f"/nothing/{ESCAPED} is not a resource of this service",
    ),
    "transaction id in a path": (
        "GET", f"/__stand_in/requests/{IN_URL}", None, 404, "No Record found", f"No request {ESCAPED} in the journal",
    ),
    "media type": (
        "POST", "/api/now/interaction", None, 415, "Unsupported Media Type",
        f"Content-Type 'application/{ESCAPED}' is not supported; "
        "use application/json, application/xml or text/xml",
    ),
    # A user name holds no control character (seed refuses one), but markup
    # and letters beyond ASCII, which come back as they were.
    "user name": (
        "POST", "/__stand_in/seed", {"users": [{"user_name": "zoë<&>", "password": "pw"}] * 2}, 409, "Conflict",
        "Nothing was created: user_name zoë<&> is given twice",
    ),
}


def _xml_text(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()


@pytest.mark.parametrize("method, path, body, status, message, detail", ECHOES.values(), ids=ECHOES.keys())
def test_a_message_that_echoes_client_input_is_written_in_xml(
    client, admin_auth, method, path, body, status, message, detail
):
    headers = {**admin_auth, "Accept": "application/xml"}
    # The one POST without a body is the media type's case: its input is the Content-Type.
    if body is None and method == "POST":
        headers["Content-Type"] = f"application/{CONTROL}"
    response = client.open(path, method=method, json=body, headers=headers)
    written_detail = b"<detail/>" if detail is None else b"<detail>" + _xml_text(detail) + b"</detail>"
    assert (response.status_code, response.data) == (
        status,
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>' + _xml_text(message)
        + b"</message>" + written_detail + b"</error><status>failure</status></response>",
    )
