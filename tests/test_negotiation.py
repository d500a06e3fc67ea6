"""Content negotiation (§2): the body read by Content-Type, the answer
written as Accept asks."""
import pytest
from conftest import CHANNEL

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"
XML_BODY = f"<request><entry><channel>{CHANNEL}</channel></entry></request>"


@pytest.mark.parametrize(
    "accept, content_type",
    [
        (None, JSON_TYPE),
        ("", JSON_TYPE),
        (",", JSON_TYPE),
        ("*/*", JSON_TYPE),
        ("application/*", JSON_TYPE),
        ("application/json", JSON_TYPE),
        ("application/json; charset=utf-8", JSON_TYPE),
        ("application/xml", XML_TYPE),
        ("text/xml", XML_TYPE),
        ("text/*", XML_TYPE),
        ("application/json;q=0.5, application/xml", XML_TYPE),
        ("application/xml;q=0.9, application/json;q=0.8", XML_TYPE),
        ("application/json;q=0, */*", XML_TYPE),
        ("text/html, */*;q=0.1", JSON_TYPE),
        # Equally welcome: the page's default wins.
        ("application/xml, application/json", JSON_TYPE),
    ],
)
def test_the_answer_is_written_as_accept_asks(api, accept, content_type):
    headers = {} if accept is None else {"Accept": accept}
    response = api.create({"channel": CHANNEL}, headers=headers)
    assert response.status_code == 201
    assert response.headers["Content-Type"] == content_type
    if content_type == XML_TYPE:
        assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><channel>')
    else:
        assert response.json["result"]["channel"] == CHANNEL


@pytest.mark.parametrize("accept", ["text/html", "application/json;q=0", "image/png, text/plain"])
def test_nothing_acceptable_is_a_406_in_json(api, app, accept):
    response = api.create({"channel": CHANNEL}, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json == {
        "error": {
            "message": "Requested response format is not supported",
            "detail": "Supported formats: application/json, application/xml, text/xml",
        },
        "status": "failure",
    }


def test_a_406_comes_before_authentication(client):
    response = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers={"Accept": "text/html"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", f'{{"channel": "{CHANNEL}"}}'),
        ("application/json; charset=UTF-8", f'{{"channel": "{CHANNEL}"}}'),
        ("APPLICATION/JSON;charset=utf-8", f'{{"channel": "{CHANNEL}"}}'),
        (None, f'{{"channel": "{CHANNEL}"}}'),
        ("application/xml", XML_BODY),
        ("application/xml; charset=UTF-8", XML_BODY),
        ("text/xml", XML_BODY),
    ],
)
def test_the_body_is_read_by_its_content_type(api, content_type, body):
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = api.create(data=body.encode(), headers=headers)
    assert response.status_code == 201
    assert response.json["result"]["channel"] == CHANNEL


XML_CAFE = "<request><channel>caf\u00e9</channel></request>"


@pytest.mark.parametrize(
    "body, content_type",
    [
        ('{"channel": "caf\u00e9"}'.encode("latin-1"), "application/json; charset=ISO-8859-1"),
        (XML_CAFE.encode("latin-1"), "text/xml; charset=ISO-8859-1"),
        # The Content-Type's charset wins over the XML declaration (RFC 7303).
        (f'<?xml version="1.0" encoding="ISO-8859-1"?>{XML_CAFE}'.encode(), "application/xml; charset=UTF-8"),
        (f'<?xml version="1.0" encoding="UTF-8"?>{XML_CAFE}'.encode("latin-1"), "application/xml; charset=ISO-8859-1"),
    ],
)
def test_a_body_is_decoded_in_the_charset_its_content_type_names(api, body, content_type):
    response = api.create(data=body, headers={"Content-Type": content_type})
    assert response.status_code == 201
    assert response.json["result"]["channel"] == "caf\u00e9"


def test_a_json_body_named_utf_8_that_is_not_is_a_400_saying_so(api):
    body = '{"channel": "caf\u00e9"}'.encode("latin-1")
    response = api.create(data=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 400
    assert response.json == {
        "error": {
            "message": "Exception while reading request",
            "detail": "Invalid JSON: the body is not UTF-8; name its charset in the Content-Type",
        },
        "status": "failure",
    }


@pytest.mark.parametrize(
    "content_type, detail",
    [
        (
            "text/plain",
            "Content-Type 'text/plain' is not supported; use application/json, application/xml or text/xml",
        ),
        (
            "application/x-www-form-urlencoded",
            "Content-Type 'application/x-www-form-urlencoded' is not supported; use application/json, application/xml or text/xml",
        ),
        ("application/json; charset=klingon", "Unknown charset 'klingon'"),
    ],
)
@pytest.mark.parametrize("accept, fmt", [("application/json", "json"), ("application/xml", "xml")])
def test_an_unsupported_body_is_a_415_in_the_format_asked(api, content_type, detail, accept, fmt):
    response = api.create(data=b"channel=x", headers={"Content-Type": content_type, "Accept": accept})
    assert response.status_code == 415
    if fmt == "json":
        assert response.json == {
            "error": {"message": "Unsupported Media Type", "detail": detail},
            "status": "failure",
        }
    else:
        assert response.headers["Content-Type"] == XML_TYPE
        assert response.data == (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error>'
            b"<message>Unsupported Media Type</message><detail>" + detail.encode() + b"</detail>"
            b"</error><status>failure</status></response>"
        )
