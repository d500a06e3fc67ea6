"""Whatever a client sends, the service answers with the status the contract
names, in ServiceNow's envelope and the format the client asked for, and
keeps serving.

The bad-input table runs as subtests against one app per backend: an app
costs a password hash to create and another on the first request, which
over a hundred cases in two formats would add up.
"""
import base64
import io
import pathlib
import re
from dataclasses import dataclass, field

import orjson
import pytest
from lxml import etree
from peewee import InterfaceError, OperationalError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from conftest import ADMIN_PASSWORD, RESULT_KEYS, basic

CREATE = "/api/now/interaction"
CLOSE = "/api/now/interaction/{}/close"
JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MiB = 1024 * 1024
LIMIT = 10 * MiB

READ = "Exception while reading request"
NO_RESOURCE = "Requested URI does not represent any resource"
NO_RECORD = ("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
NOT_AUTHENTICATED = ("User Not Authenticated", "Required to provide Auth information")
NOT_ACCEPTABLE = (
    "Requested response format is not supported",
    "Supported formats: application/json, application/xml, text/xml",
)
UNSUPPORTED = "Unsupported Media Type"
DOCTYPE = "Invalid XML: a DOCTYPE is not allowed"
TOO_LARGE = f"Rejected large REST payload with content-length = {LIMIT + 1} bytes. Max allowed: {LIMIT} bytes."
ADMIN = basic("admin", ADMIN_PASSWORD)


def unsupported_type(mimetype):
    return f"Content-Type {mimetype!r} is not supported; use application/json, application/xml or text/xml"


def json_body(value):
    return orjson.dumps(value)


def nested_map(depth):
    """`depth` maps, one in another: {"k": {"k": ... {"k": "v"}}}."""
    value = "v"
    for _ in range(depth):
        value = {"k": value}
    return value


def nested_xml(depth):
    """What makes <context> `depth` maps, one in another: <k> elements with
    children, the last holding text."""
    return b"<k>" * depth + b"v" + b"</k>" * depth


def xml_request(inner, declaration=b""):
    return declaration + b"<request>" + inner + b"</request>"


@dataclass(frozen=True)
class Case:
    """One request and what the service must answer.

    For an error, `message` and `detail` are the envelope's (a pattern
    where the detail quotes the parser). For a success, `result` holds the
    fields of the result to check, besides its keys and their order."""

    name: str
    status: int
    message: str | None = None
    detail: str | re.Pattern | None = None
    body: bytes = b""
    content_type: str | None = "application/json"
    method: str = "POST"
    path: str = CREATE
    headers: dict = field(default_factory=dict)
    # Sent as a stream without Content-Length, as gunicorn hands a chunked body on.
    chunked: bool = False
    # 406 is answered in JSON whatever was asked.
    always_json: bool = False
    result: dict = field(default_factory=dict)


def wrong_types():
    """Every field with a value of each wrong JSON type."""
    strings = ["channel", "queue", "context_table", "context_id", "channel_metadata_table", "channel_metadata_id"]
    for name in strings + ["sys_id"]:
        for value in (5, 1.5, True, [1], {"a": 1}):
            body = {"channel": "c", name: value}
            yield Case(f"{name} as {type(value).__name__}", 400, f"{name}: Not a valid string.", body=json_body(body))
    # Falsy, yet no more "no sys_id" than a truthy one of the wrong type.
    for value in (0, False, [], {}):
        body = {"channel": "c", "sys_id": value}
        yield Case(f"sys_id as {value!r}", 400, "sys_id: Not a valid string.", body=json_body(body))
    for name in ("context", "channel_metadata"):
        for value in (5, 1.5, True, [1], "x", "[1]"):
            yield Case(
                f"{name} as {value!r}",
                400,
                f"{name}: Must be an object, or a string holding a JSON object.",
                body=json_body({"channel": "c", name: value}),
            )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE request [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<request><channel>&lol9;</channel></request>"""

JSON_CASES = [
    Case("truncated JSON", 400, READ, re.compile(r"Invalid JSON: unexpected end of data: .*"), b'{"channel": "a'),
    Case(
        "invalid UTF-8",
        400,
        READ,
        "Invalid JSON: the body is not UTF-8; name its charset in the Content-Type",
        b'{"channel": "\xff"}',
    ),
    Case("lone surrogate, escaped", 400, READ, re.compile(r"Invalid JSON: .*surrogate.*"), b'{"channel": "\\ud800"}'),
    Case("lone surrogate, encoded", 400, READ, re.compile(r"Invalid JSON: .*"), b'{"channel": "\xed\xa0\x80"}'),
    # RFC 8259 leaves duplicate names to the parser; like most, the last wins.
    Case("duplicate keys", 201, body=b'{"channel": "first", "channel": "second"}', result={"channel": "second"}),
    Case("100000 nested arrays", 400, READ, re.compile(r"Invalid JSON: depth limit exceeded: .*"), b"[" * 100_000),
    Case("100000 nested objects", 400, READ, re.compile(r"Invalid JSON: depth limit exceeded: .*"), b'{"a":' * 100_000),
    Case(
        "map 65 levels deep",
        400,
        "context: Must not nest deeper than 64 levels.",
        body=json_body({"channel": "c", "context": nested_map(65)}),
    ),
    Case("map 64 levels deep", 201, body=json_body({"channel": "c", "context": nested_map(64)})),
    Case(
        "number beyond a double",
        400,
        READ,
        re.compile(r"Invalid JSON: number is infinity when parsed as double: .*"),
        b'{"channel": "c", "context": {"n": 1e400}}',
    ),
    Case(
        "400-digit integer",
        400,
        READ,
        re.compile(r"Invalid JSON: number is infinity when parsed as double: .*"),
        b'{"channel": "c", "context": {"n": 1' + b"0" * 400 + b"}}",
    ),
    # Beyond 64 bits an integer is kept as a double (RFC 8259 section 6).
    Case("30-digit integer", 201, body=b'{"channel": "c", "context": {"n": 123456789012345678901234567890}}'),
    *wrong_types(),
    Case("channel null", 400, "channel: Field may not be null.", body=b'{"channel": null}'),
    Case("channel missing", 400, "channel: Missing data for required field.", body=b"{}"),
    Case("channel blank", 400, "channel: Length must be between 1 and 32.", body=b'{"channel": "   "}'),
    Case("channel 33 long", 400, "channel: Length must be between 1 and 32.", body=json_body({"channel": "c" * 33})),
    Case("channel control", 400, "channel: Must not contain control characters.", body=b'{"channel": "a\\u0000"}'),
    Case("queue 33 long", 400, "queue: Longer than maximum length 32.", body=json_body({"channel": "c", "queue": "q" * 33})),
    Case(
        "bad table name",
        400,
        "context_table: Must be a table name: 1 to 80 of a-z, 0-9 and _.",
        body=b'{"channel": "c", "context_table": "Bad-Name", "context_id": "x"}',
    ),
    Case(
        "table without id",
        400,
        "context_id: Required together with context_table.",
        body=b'{"channel": "c", "context_table": "t"}',
    ),
    Case(
        "map and pair",
        400,
        "context: Give either context or context_table and context_id, not both.",
        body=b'{"channel": "c", "context": {}, "context_table": "t", "context_id": "x"}',
    ),
    Case("sys_id control", 400, "sys_id: Must not contain control characters.", body=b'{"sys_id": "a\\u0000"}'),
    Case("sys_id unknown", 404, *NO_RECORD, body=b'{"sys_id": "0123456789abcdef0123456789abcdef"}'),
    Case("unknown fields", 201, body=b'{"channel": "c", "foo": {"deep": [1, 2]}}', result={"channel": "c"}),
    Case("empty body", 400, READ, "The request body is empty"),
    Case("empty body, no Content-Type", 400, READ, "The request body is empty", content_type=None),
    Case("blank body", 400, READ, "The request body is empty", b" \r\n\t"),
    *(
        Case(f"body {body.decode()}", 400, READ, "The request body must be an object", body)
        for body in (b"[]", b'"x"', b"1", b"null", b"true")
    ),
    Case("JSON, no Content-Type", 201, body=b'{"channel": "c"}', content_type=None),
    Case("UTF-8 byte order mark", 400, READ, re.compile(r"Invalid JSON: .*BOM.*"), b'\xef\xbb\xbf{"channel": "c"}'),
]

CONTENT_TYPE_CASES = [
    Case("text/plain", 415, UNSUPPORTED, unsupported_type("text/plain"), b'{"channel": "c"}', "text/plain"),
    Case("garbage type", 415, UNSUPPORTED, unsupported_type(";;;"), b'{"channel": "c"}', ";;;"),
    Case(
        "form",
        415,
        UNSUPPORTED,
        unsupported_type("application/x-www-form-urlencoded"),
        b"channel=c",
        "application/x-www-form-urlencoded",
    ),
    Case(
        "multipart",
        415,
        UNSUPPORTED,
        unsupported_type("multipart/form-data"),
        b"--x--",
        "multipart/form-data; boundary=x",
    ),
    Case(
        "unknown charset",
        415,
        UNSUPPORTED,
        "Unknown charset 'foo'",
        b'{"channel": "c"}',
        "application/json; charset=foo",
    ),
    *(
        Case(
            f"charset {name}, no text encoding",
            415,
            UNSUPPORTED,
            f"Unknown charset {name!r}",
            b'{"channel": "c"}',
            f"application/json; charset={name}",
        )
        for name in ("rot13", "base64", "hex", "zlib", "undefined")
    ),
    Case(
        "charset punycode, a codec bytes rarely decode in",
        400,
        READ,
        re.compile(r"Invalid JSON: not readable as punycode: .*"),
        b'{"channel": "\xff"}',
        "application/json; charset=punycode",
    ),
    *(
        Case(
            f"XML charset {name}, unknown to libxml2",
            415,
            UNSUPPORTED,
            f"Unknown charset {name!r}",
            b"<request/>",
            f"application/xml; charset={name}",
        )
        for name in ("idna", "rot13", "punycode", "undefined")
    ),
    Case(
        "charset utf-16",
        201,
        body='{"channel": "c"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    ),
    Case(
        "charset latin-1",
        201,
        body='{"channel": "é"}'.encode("latin-1"),
        content_type="application/json; charset=ISO-8859-1",
        result={"channel": "é"},
    ),
    Case(
        "charset utf-16 XML",
        201,
        body="<request><channel>c</channel></request>".encode("utf-16"),
        content_type="application/xml; charset=UTF-16",
    ),
    Case("upper case type", 201, body=b'{"channel": "c"}', content_type="APPLICATION/JSON;CHARSET=UTF-8"),
    Case("text/xml", 201, body=b"<request><channel>c</channel></request>", content_type="text/xml"),
    Case("XML sent as JSON", 400, READ, re.compile(r"Invalid JSON: .*"), b"<request/>"),
    Case("JSON sent as XML", 400, READ, re.compile(r"Invalid XML: .*"), b'{"channel": "c"}', "application/xml"),
]

ACCEPT_CASES = [
    *(
        Case(f"Accept {accept}", 406, *NOT_ACCEPTABLE, body=b'{"channel": "c"}', headers={"Accept": accept}, always_json=True)
        for accept in (
            "image/png",
            "application/json;q=0",
            ",,;;==",
            "text/html, application/xhtml+xml",
        )
    ),
    # RFC 9110: an item with a bad q is ignored; a header left with no item
    # at all says nothing, like a missing one.
    *(
        Case(f"Accept {accept}", 201, body=b'{"channel": "c"}', headers={"Accept": accept})
        for accept in ("application/json;q=abc", "application/xml;q=2")
    ),
    Case(
        "q-values prefer JSON",
        201,
        body=b'{"channel": "c"}',
        headers={"Accept": "application/xml;q=0.5, application/json;q=0.9"},
    ),
    Case("q-values prefer XML", 201, body=b'{"channel": "c"}', headers={"Accept": "application/json;q=0.5, application/xml"}),
    Case("Accept text/*", 201, body=b'{"channel": "c"}', headers={"Accept": "text/*"}),
    Case("unknown Accept-Charset", 201, body=b'{"channel": "c"}', headers={"Accept-Charset": "koi8-r"}),
]

METHOD_CASES = [
    Case(
        f"{method} {name}",
        405,
        "Method not Supported",
        f"{method} method not supported for API",
        method=method,
        path=path,
        headers={"X-Expect-Allow": "POST"},
    )
    for method in ("GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND")
    for name, path in (("create", CREATE), ("close", CLOSE.format("x")), ("v1 create", "/api/now/v1/interaction"))
]

PATH_CASES = [
    Case("double slash", 400, NO_RESOURCE, body=b'{"channel": "c"}', path="/api/now//interaction"),
    Case("encoded slash in id", 400, NO_RESOURCE, path=CLOSE.format("a%2Fb")),
    Case("unknown version", 400, NO_RESOURCE, body=b'{"channel": "c"}', path="/api/now/v9/interaction"),
    Case("unknown API path", 400, NO_RESOURCE, method="GET", path="/api/now/v3/table/interaction"),
    Case("outside the API", 404, "Not Found", "/nothing is not a resource of this service", method="GET", path="/nothing"),
    Case(
        "control character outside the API",
        404,
        "Not Found",
        "/\\x01 is not a resource of this service",
        method="GET",
        path="/%01",
    ),
    Case("5000-character id", 404, *NO_RECORD, path=CLOSE.format("a" * 5000)),
    Case("NUL in id", 404, *NO_RECORD, path=CLOSE.format("a%00b")),
    Case("invalid UTF-8 in id", 404, *NO_RECORD, path=CLOSE.format("%ff%fe")),
    Case("encoded surrogate in id", 404, *NO_RECORD, path=CLOSE.format("%ED%A0%80")),
    Case("trailing slash, close", 404, *NO_RECORD, path=CLOSE.format("x") + "/"),
    Case("trailing slash, create", 201, body=b'{"channel": "c"}', path=CREATE + "/"),
    Case("odd query", 201, body=b'{"channel": "c"}', path=CREATE + "?sysparm_limit=%ff&&=x&a"),
]

SIZE_CASES = [
    Case("body over the limit", 413, READ, TOO_LARGE, b"x" * (LIMIT + 1)),
    Case("body over the limit, close", 413, READ, TOO_LARGE, b"x" * (LIMIT + 1), path=CLOSE.format("x")),
    Case(
        "streamed body over the limit",
        413,
        READ,
        f"Rejected large REST payload with more than {LIMIT} bytes, streamed. Max allowed: {LIMIT} bytes.",
        b'{"channel": "c"}' + b" " * LIMIT,
        chunked=True,
    ),
    Case("body at the limit", 201, body=b'{"channel": "c"}'.ljust(LIMIT)),
    Case("streamed body at the limit", 201, body=b'{"channel": "c"}'.ljust(LIMIT), chunked=True),
]

XML = "application/xml"
XML_CASES = [
    Case("truncated XML", 400, READ, re.compile(r"Invalid XML: .*"), b"<request><channel>a</chan", XML),
    Case("invalid UTF-8 XML", 400, READ, re.compile(r"Invalid XML: .*"), xml_request(b"<channel>\xff</channel>"), XML),
    Case("billion laughs", 400, READ, DOCTYPE, BILLION_LAUGHS, XML),
    Case(
        "external entity",
        400,
        READ,
        DOCTYPE,
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><request><channel>&x;</channel></request>',
        XML,
    ),
    Case(
        "parameter entity",
        400,
        READ,
        DOCTYPE,
        b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><request/>',
        XML,
    ),
    # libxml2 used to open these files: a different error for a missing one.
    *(
        Case(f"external DTD {url}", 400, READ, DOCTYPE, f'<!DOCTYPE request SYSTEM "{url}"><request/>'.encode(), XML)
        for url in ("file:///etc/passwd", "file:///no/such/file", "http://127.0.0.1:9/x.dtd")
    ),
    Case(
        "10000 nested elements",
        400,
        READ,
        re.compile(r"Invalid XML: elements nested deeper than 256 levels, line 1, column \d+"),
        xml_request(b"<a>" * 10_000 + b"</a>" * 10_000),
        XML,
    ),
    Case(
        "XML map 65 levels deep",
        400,
        "context: Must not nest deeper than 64 levels.",
        body=xml_request(b"<channel>c</channel><context>" + nested_xml(65) + b"</context>"),
        content_type=XML,
    ),
    Case(
        "XML map 64 levels deep",
        201,
        body=xml_request(b"<channel>c</channel><context>" + nested_xml(64) + b"</context>"),
        content_type=XML,
    ),
    Case("wrong root", 400, READ, "Invalid XML: the root element must be <request>, not <foo>", b"<foo/>", XML),
    Case(
        "namespaced root",
        400,
        READ,
        "Invalid XML: the root element must be <request>, not <{urn:x}request>",
        b'<x:request xmlns:x="urn:x"/>',
        XML,
    ),
    Case("repeated channel", 400, "channel: Not a valid string.", body=xml_request(b"<channel>a</channel>" * 2), content_type=XML),
    Case("NUL reference", 400, READ, re.compile(r"Invalid XML: .*"), xml_request(b"<channel>&#0;</channel>"), XML),
    Case("surrogate reference", 400, READ, re.compile(r"Invalid XML: .*"), xml_request(b"<channel>&#xD800;</channel>"), XML),
    Case("undefined entity", 400, READ, re.compile(r"Invalid XML: Entity 'nbsp' not defined.*"), xml_request(b"<channel>&nbsp;</channel>"), XML),
    Case(
        "unknown declared encoding",
        400,
        READ,
        re.compile(r"Invalid XML: Unsupported encoding.*"),
        xml_request(b"<channel>c</channel>", b'<?xml version="1.0" encoding="foo"?>'),
        XML,
    ),
    Case(
        "declared latin-1",
        201,
        body=xml_request("<channel>é</channel>".encode("latin-1"), b'<?xml version="1.0" encoding="ISO-8859-1"?>'),
        content_type=XML,
        result={"channel": "é"},
    ),
    Case("empty XML body", 400, READ, "The request body is empty", content_type=XML),
    Case("empty request", 400, "channel: Missing data for required field.", body=b"<request/>", content_type=XML),
]

AUTHORIZATION_CASES = [
    Case(f"Authorization {name}", 401, *NOT_AUTHENTICATED, body=b'{"channel": "c"}', headers={"Authorization": value})
    for name, value in (
        ("Basic !!!", "Basic !!!"),
        ("Basic, no token", "Basic"),
        ("Basic and a space", "Basic "),
        ("Bearer with Basic credentials", "Bearer " + base64.b64encode(b"admin:admin-secret").decode()),
        ("Digest with Basic credentials", "Digest " + base64.b64encode(b"admin:admin-secret").decode()),
        ("junk after the token", ADMIN["Authorization"] + "!!!"),
        ("no colon", "Basic " + base64.b64encode(b"admin").decode()),
        ("non-UTF-8", "Basic " + base64.b64encode(b"adm\xe9n:admin-secret").decode()),
        ("NUL in the name", "Basic " + base64.b64encode(b"adm\x00in:admin-secret").decode()),
        ("1000-character name", "Basic " + base64.b64encode(b"a" * 1000 + b":x").decode()),
        ("empty name", "Basic " + base64.b64encode(b":admin-secret").decode()),
        ("wrong password", "Basic " + base64.b64encode(b"admin:wrong").decode()),
    )
]

CASES = JSON_CASES + CONTENT_TYPE_CASES + ACCEPT_CASES + METHOD_CASES + PATH_CASES + SIZE_CASES + XML_CASES + AUTHORIZATION_CASES


def send(client, case, accept):
    headers = {**ADMIN, "Accept": accept, **case.headers}
    if case.content_type:
        headers["Content-Type"] = case.content_type
    if case.chunked:
        environ = EnvironBuilder(
            case.path, method=case.method, input_stream=io.BytesIO(case.body), headers=headers
        ).get_environ()
        # As gunicorn hands a chunked body on: no length, a stream that ends.
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True
        return client.open(Request(environ))
    return client.open(case.path, method=case.method, data=case.body, headers=headers)


def envelope_of(response):
    """The body as a dict, read from JSON or from ServiceNow's XML."""
    if response.content_type == JSON_TYPE:
        return orjson.loads(response.data)
    assert response.content_type == XML_TYPE
    assert response.data.startswith(XML_DECLARATION)
    root = etree.fromstring(response.data)
    assert root.tag == "response"
    return _xml_value(root)


def _xml_value(element):
    if len(element):
        return {child.tag: _xml_value(child) for child in element}
    return element.text


def check(response, case, fmt):
    assert response.status_code == case.status
    for name, value in response.headers.items():
        assert "Traceback" not in value
    if case.method == "HEAD":
        return
    expected_type = JSON_TYPE if case.always_json or fmt == "json" else XML_TYPE
    assert response.content_type == expected_type
    body = envelope_of(response)
    if case.message is None:
        check_result(body, case, fmt)
        return
    detail = case.detail
    if isinstance(detail, re.Pattern):
        assert detail.fullmatch(body["error"]["detail"]), body
        detail = body["error"]["detail"]
    assert body == {"error": {"message": case.message, "detail": detail}, "status": "failure"}
    if case.status == 401:
        # A refused bearer token is challenged as RFC 6750 says (OAUTH.md §3).
        bearer = case.headers.get("Authorization", "").startswith("Bearer ")
        challenge = 'Bearer realm="Service-now", error="invalid_token"' if bearer else 'BASIC realm="Service-now"'
        assert response.headers["WWW-Authenticate"] == challenge
    if case.status == 405:
        assert response.headers["Allow"] == case.headers["X-Expect-Allow"]


def check_result(body, case, fmt):
    assert list(body) == ["result"]
    result = body["result"]
    assert list(result) == RESULT_KEYS
    assert re.fullmatch(r"[0-9a-f]{32}", result["sys_id"])
    assert re.fullmatch(r"IMS\d{7,}", result["number"])
    present = "true" if fmt == "xml" else True
    assert result["context"] == result["channel_metadata"] == {"present": present}
    for name, value in case.result.items():
        assert result[name] == value


def response_format(case, accept):
    """Which format the answer must be in: the one the case's own Accept
    prefers, else the one asked for."""
    if "Accept" not in case.headers:
        return "xml" if accept == XML else "json"
    preferred = {
        "application/xml;q=0.5, application/json;q=0.9": "json",
        "application/json;q=0.5, application/xml": "xml",
        "text/*": "xml",
    }
    return preferred.get(case.headers["Accept"], "json")


def test_bad_input_gets_the_contracts_answer(client, subtests):
    for case in CASES:
        for accept in ("application/json", XML):
            with subtests.test(case=case.name, accept=accept):
                fmt = response_format(case, accept)
                check(send(client, case, accept), case, fmt)
    # And it keeps serving.
    created = client.post(CREATE, json={"channel": "c"}, headers=ADMIN)
    assert created.status_code == 201


def test_head_is_refused_without_a_body(client):
    response = client.head(CREATE, headers=ADMIN)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.data == b""


def without_transaction_id(response):
    return sorted((name, value) for name, value in response.headers.items() if name != "X-Transaction-ID")


def test_unknown_user_and_wrong_password_answer_alike(client):
    client.post(CREATE, json={"channel": "c"}, headers=ADMIN)  # the admin's credentials are now remembered
    unknown = client.post(CREATE, json={"channel": "c"}, headers=basic("nobody", ADMIN_PASSWORD))
    wrong = client.post(CREATE, json={"channel": "c"}, headers=basic("admin", "wrong"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.data == wrong.data
    assert without_transaction_id(unknown) == without_transaction_id(wrong)


def test_passwords_are_stored_as_hashes_and_compared_in_constant_time(app, client, monkeypatch):
    from werkzeug.security import check_password_hash

    from app import auth
    from app.models import SysUser

    with app.app_context():
        stored = SysUser.get(SysUser.user_name == "admin").password_hash
    assert ADMIN_PASSWORD not in stored
    assert stored.startswith("pbkdf2:sha256:1000$")  # the suite's cheap method; test_auth checks the default
    assert check_password_hash(stored, ADMIN_PASSWORD)

    compared = []
    real_compare = auth.hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: compared.append(1) or real_compare(a, b))
    for _ in range(2):  # the second time from the worker's memory of verified credentials
        assert client.post(CREATE, json={"channel": "c"}, headers=ADMIN).status_code == 201
    assert compared
    assert all(ADMIN_PASSWORD.encode() not in digest for _, digest in auth._verified.values())


def test_inactive_user_is_refused_at_once(client, runner):
    assert runner.invoke(args=["user", "add", "bob", "--password", "bob-secret"]).exit_code == 0
    bob = basic("bob", "bob-secret")
    assert client.post(CREATE, json={"channel": "c"}, headers=bob).status_code == 201
    assert runner.invoke(args=["user", "deactivate", "bob"]).exit_code == 0
    refused = client.post(CREATE, json={"channel": "c"}, headers=bob)
    unknown = client.post(CREATE, json={"channel": "c"}, headers=basic("nobody", "bob-secret"))
    assert refused.status_code == 401
    assert refused.data == unknown.data
    assert without_transaction_id(refused) == without_transaction_id(unknown)


def test_password_change_and_deactivation_hold_at_once_on_every_worker(make_app):
    """Two apps on one database stand for two workers (or hosts): each has
    verified the old password before it changes through the other."""
    workers = [make_app(), make_app()]
    clients = [worker.test_client() for worker in workers]
    runner = workers[1].test_cli_runner()
    assert runner.invoke(args=["user", "add", "carol", "--password", "old-secret"]).exit_code == 0

    def status(client, password):
        return client.post(CREATE, json={"channel": "c"}, headers=basic("carol", password)).status_code

    assert [status(client, "old-secret") for client in clients] == [201, 201]
    assert runner.invoke(args=["user", "passwd", "carol", "--password", "new-secret"]).exit_code == 0
    assert [status(client, "old-secret") for client in clients] == [401, 401]
    assert [status(client, "new-secret") for client in clients] == [201, 201]
    assert runner.invoke(args=["user", "deactivate", "carol"]).exit_code == 0
    assert [status(client, "new-secret") for client in clients] == [401, 401]


def test_credentials_never_reach_the_log(client, caplog):
    caplog.set_level("DEBUG")
    token = ADMIN["Authorization"].split()[1]
    client.post(CREATE, json={"channel": "c"}, headers=ADMIN)
    client.post(CREATE, json={"channel": "c"}, headers=basic("admin", "wrong-secret"))
    client.post(CREATE, json={"channel": "c"}, headers=basic("nobody", ADMIN_PASSWORD))
    assert caplog.records
    for text in (ADMIN_PASSWORD, "wrong-secret", token):
        assert text not in caplog.text
        assert all(text not in str(record.args) for record in caplog.records)


@pytest.mark.parametrize("accept, fmt", [("application/json", "json"), ("application/xml", "xml")])
def test_a_fault_is_a_500_with_the_transaction_id_and_the_trace_only_in_the_log(client, monkeypatch, caplog, accept, fmt):
    from app.interactions import service

    def broken(fields, user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "create", broken)
    response = client.post(CREATE, json={"channel": "c"}, headers={**ADMIN, "Accept": accept})
    transaction_id = response.headers["X-Transaction-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", transaction_id)
    assert response.status_code == 500
    assert response.content_type == (JSON_TYPE if fmt == "json" else XML_TYPE)
    assert envelope_of(response) == {
        "error": {"message": "Internal server error", "detail": f"transaction {transaction_id}"},
        "status": "failure",
    }
    assert b"secret internals" not in response.data and b"Traceback" not in response.data
    [fault] = [record for record in caplog.records if record.name == "app.errors"]
    assert (fault.levelname, fault.getMessage()) == ("ERROR", f"transaction {transaction_id}: unexpected error")
    assert fault.exc_info[0] is RuntimeError
    assert "secret internals" in caplog.text and "Traceback" in caplog.text
    monkeypatch.undo()
    assert client.post(CREATE, json={"channel": "c"}, headers=ADMIN).status_code == 201


class DatabaseOutage:
    """Takes this test's database away and brings it back, for real.

    SQLite: its folder is renamed, so a new connection cannot open the file,
    and the idle pooled connections are closed as a restarted worker's would
    be. PostgreSQL: the database stops taking connections and its sessions
    are terminated, as when the server goes down."""

    def __init__(self, database_url):
        self.url = database_url

    def __enter__(self):
        from app.db import database

        if self.url.startswith("sqlite"):
            self.folder = pathlib.Path(self.url.removeprefix("sqlite:///")).parent
            self.folder.rename(self.folder.with_name(self.folder.name + "-away"))
            database.close_idle()
        else:
            self._postgres(False)
        return self

    def __exit__(self, *exc_info):
        if self.url.startswith("sqlite"):
            self.folder.with_name(self.folder.name + "-away").rename(self.folder)
        else:
            self._postgres(True)

    def _postgres(self, allow):
        import psycopg2

        from conftest import POSTGRES_ADMIN_URL

        name = self.url.rpartition("/")[2]
        admin = psycopg2.connect(POSTGRES_ADMIN_URL)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
        admin.close()


def test_a_database_that_is_down_gives_503_and_the_service_recovers(client, database_url, caplog):
    created = client.post(CREATE, json={"channel": "c"}, headers=ADMIN)
    assert created.status_code == 201
    sys_id = created.json["result"]["sys_id"]
    with DatabaseOutage(database_url):
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json == {"status": "unavailable", "database": "unreachable"}
        for path, accept in ((CREATE, "application/json"), (CLOSE.format(sys_id), "application/xml")):
            response = client.post(path, json={"channel": "c"}, headers={**ADMIN, "Accept": accept})
            transaction_id = response.headers["X-Transaction-ID"]
            assert response.status_code == 503
            assert envelope_of(response) == {
                "error": {
                    "message": "Service Unavailable",
                    "detail": f"The database is unavailable; transaction {transaction_id}",
                },
                "status": "failure",
            }
            [logged] = [record for record in caplog.records if record.name == "app.errors"]
            caplog.clear()
            assert logged.levelname == "ERROR"
            assert logged.getMessage() == f"transaction {transaction_id}: database unavailable: {logged.exc_info[1]}"
            assert isinstance(logged.exc_info[1], (OperationalError, InterfaceError))
    assert client.get("/health").status_code == 200
    assert client.post(CLOSE.format(sys_id), headers=ADMIN).json["result"]["state"] == "closed_complete"
    assert client.post(CREATE, json={"channel": "c"}, headers=ADMIN).status_code == 201


ACCESS_LINE = re.compile(
    r"(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) user=(?P<user>\S+) (?P<ms>\d+\.\d)ms txn=(?P<txn>[0-9a-f]{16})"
)


def test_one_log_line_per_request_without_password_or_body(client, caplog, monkeypatch):
    from app.interactions import service

    caplog.set_level("INFO", logger="app.access")
    body_text = "body-text-never-logged"
    requests = [
        ("POST", CREATE, {"json": {"channel": body_text}}, ADMIN, 201, "admin"),
        ("POST", CREATE, {"data": b"{" + body_text.encode()}, ADMIN, 400, "admin"),
        ("POST", CREATE, {"json": {"channel": body_text}}, basic("admin", "wrong-secret"), 401, "-"),
        ("POST", CLOSE.format("unknown"), {}, ADMIN, 404, "admin"),
        ("GET", CREATE, {}, ADMIN, 405, "-"),
        ("POST", CREATE, {"json": {}}, {**ADMIN, "Accept": "image/png"}, 406, "-"),
        ("POST", CREATE, {"data": b"x" * (LIMIT + 1)}, ADMIN, 413, "-"),
        ("POST", CREATE, {"data": body_text, "content_type": "text/plain"}, ADMIN, 415, "admin"),
        ("GET", "/health", {}, {}, 200, "-"),
        ("POST", "/api/now/interaction/x%0APOST/close", {}, ADMIN, 404, "admin"),
    ]
    for method, path, kwargs, headers, status, user in requests:
        caplog.clear()
        response = client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code == status
        [line] = [record.getMessage() for record in caplog.records if record.name == "app.access"]
        match = ACCESS_LINE.fullmatch(line)
        assert match, line
        assert match["method"] == method
        assert match["status"] == str(status)
        assert match["user"] == user
        assert match["txn"] == response.headers["X-Transaction-ID"]
        assert "\n" not in line
        for secret in (ADMIN_PASSWORD, "wrong-secret", body_text):
            assert secret not in line
    assert match["path"] == "/api/now/interaction/x\\nPOST/close"

    caplog.clear()
    monkeypatch.setattr(service, "create", lambda fields, user: 1 / 0)
    response = client.post(CREATE, json={"channel": "c"}, headers=ADMIN)
    assert response.status_code == 500
    [line] = [record.getMessage() for record in caplog.records if record.name == "app.access"]
    assert ACCESS_LINE.fullmatch(line)["status"] == "500"


def test_the_log_line_times_the_request_in_milliseconds(client, caplog, monkeypatch):
    import time

    from app.interactions import service

    create = service.create

    def slow_create(fields, user):
        time.sleep(0.05)
        return create(fields, user)

    caplog.set_level("INFO", logger="app.access")
    monkeypatch.setattr(service, "create", slow_create)
    assert client.post(CREATE, json={"channel": "c"}, headers=ADMIN).status_code == 201
    [line] = [record.getMessage() for record in caplog.records if record.name == "app.access"]
    assert 50 <= float(ACCESS_LINE.fullmatch(line)["ms"]) < 5000, line
