"""Hostile and broken input to /interaction.do?SOAP (SOAP.md §1, §4): a
SOAP fault each, never a stack trace, and no file or URL ever opened."""
import os
import threading

import pytest
from conftest import CHANNEL
from lxml import etree
from soap_envelopes import SOAP_CONTENT_TYPE, SOAP_ENV, answer, canonical, envelope, fault_xml, post

UNPARSABLE = "Unable to parse SOAP document"
NO_DOCTYPE = f"{UNPARSABLE}: a DOCTYPE is not allowed"
INSERT = f"<insert><channel>{CHANNEL}</channel></insert>"


def wrapped(inner, prolog=""):
    return f'{prolog}<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body>{inner}</e:Body></e:Envelope>'.encode()


def fault_of(response):
    assert response.status_code == 500, response.data
    assert response.headers["Content-Type"] == SOAP_CONTENT_TYPE
    assert b"Traceback" not in response.data
    fault = dict(answer(response))
    return fault["faultcode"], fault["faultstring"]


def count(client, admin_auth):
    return dict(answer(post(client, admin_auth, envelope("getKeys"))))["count"]


BILLION_LAUGHS = (
    '<!DOCTYPE e:Envelope [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
OWN_MESSAGES = {
    "doctype": (wrapped(INSERT, "<!DOCTYPE e:Envelope>"), "Client", NO_DOCTYPE),
    "internal entity": (
        wrapped("<insert><channel>&c;</channel></insert>", f'<!DOCTYPE e:Envelope [<!ENTITY c "{CHANNEL}">]>'),
        "Client",
        NO_DOCTYPE,
    ),
    "entity expansion": (wrapped("<insert><channel>&lol3;</channel></insert>", BILLION_LAUGHS), "Client", NO_DOCTYPE),
    "no envelope": (INSERT.encode(), "Client", f"{UNPARSABLE}: the root element is <insert>, not an Envelope"),
    "no body": (
        f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Header/></e:Envelope>'.encode(),
        "Client",
        f"{UNPARSABLE}: the Envelope has no Body",
    ),
    "empty body": (wrapped(""), "Client", f"{UNPARSABLE}: the Body is empty"),
    "body of text": (wrapped("insert"), "Client", f"{UNPARSABLE}: the Body is empty"),
    "soap 1.2": (
        f'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{INSERT}</env:Body></env:Envelope>'.encode(),
        "VersionMismatch",
        f"The Envelope is not in the SOAP 1.1 namespace {SOAP_ENV}",
    ),
    "no namespace": (
        f"<Envelope><Body>{INSERT}</Body></Envelope>".encode(),
        "VersionMismatch",
        f"The Envelope is not in the SOAP 1.1 namespace {SOAP_ENV}",
    ),
}


@pytest.mark.parametrize("body, code, string", OWN_MESSAGES.values(), ids=OWN_MESSAGES.keys())
def test_broken_envelopes_are_faults_with_the_contracts_texts(client, admin_auth, body, code, string):
    response = post(client, admin_auth, body)
    assert canonical(response.data) == canonical(fault_xml(code, string))
    assert fault_of(response) == (f"SOAP-ENV:{code}", string)
    assert count(client, admin_auth) == "0"


PARSER_MESSAGES = {
    "empty": (b"", "Document is empty"),
    "not xml": (b"channel=x", "Start tag expected"),
    "truncated": (f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body><insert>'.encode(), "Premature end of data"),
    "undefined entity": (wrapped("<insert><channel>&nope;</channel></insert>"), "Entity 'nope' not defined"),
    "bad character reference": (
        wrapped("<insert><channel>&#x1;</channel></insert>"),
        "xmlParseCharRef: invalid xmlChar value 1",
    ),
    "not utf-8": (
        wrapped("<insert><channel>caf\xe9</channel></insert>").replace(b"\xc3\xa9", b"\xe9"),
        "Invalid bytes in character encoding",
    ),
    "deep nesting": (wrapped("<a>" * 300 + "</a>" * 300), "elements nested deeper than 256 levels"),
}


@pytest.mark.parametrize("body, message", PARSER_MESSAGES.values(), ids=PARSER_MESSAGES.keys())
def test_what_the_parser_refuses_is_a_client_fault_saying_why(client, admin_auth, body, message):
    code, string = fault_of(post(client, admin_auth, body))
    assert code == "SOAP-ENV:Client"
    assert string.startswith(f"{UNPARSABLE}: {message}"), string
    assert "XML_PARSE_HUGE" not in string


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-CONTENT")
    return path


def external(path):
    """Documents that would read `path` if the parser opened anything."""
    url = f"file://{path}"
    return {
        "external entity": wrapped(
            "<insert><channel>&xxe;</channel></insert>", f'<!DOCTYPE e:Envelope [<!ENTITY xxe SYSTEM "{url}">]>'
        ),
        "external dtd": wrapped(INSERT, f'<!DOCTYPE e:Envelope SYSTEM "{url}">'),
        "parameter entity": wrapped(INSERT, f'<!DOCTYPE e:Envelope [<!ENTITY % p SYSTEM "{url}"> %p;]>'),
        "xinclude": wrapped(
            f'<insert><channel><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}" parse="text"/></channel></insert>'
        ),
    }


@pytest.mark.parametrize("name", list(external("x")))
def test_xxe_reads_nothing(client, admin_auth, secret, name):
    response = post(client, admin_auth, external(secret)[name])
    assert b"TOP-SECRET" not in response.data
    if name != "xinclude":
        assert fault_of(response) == ("SOAP-ENV:Client", NO_DOCTYPE)
    else:
        # Not an XInclude processor: the element is one more unknown child.
        assert response.status_code == 200
    for record in answer(post(client, admin_auth, envelope("getRecords"))):
        assert "TOP-SECRET" not in str(record)


@pytest.mark.parametrize("name", list(external("x")))
def test_no_file_is_even_opened(client, admin_auth, tmp_path, name):
    """A FIFO blocks whoever opens it for reading until a writer comes: a
    parser that opened the file the document names would hang."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    responses = []
    worker = threading.Thread(target=lambda: responses.append(post(client, admin_auth, external(fifo)[name])))
    worker.start()
    worker.join(10)
    if worker.is_alive():
        # Release the parser before failing.
        os.close(os.open(fifo, os.O_WRONLY))
        worker.join()
        pytest.fail(f"the parser opened {fifo}")
    assert responses[0].status_code in (200, 500)


def test_a_body_over_10_mib_is_a_413_client_fault(client, admin_auth):
    body = wrapped(f"<insert><short_description>{'x' * (10 * 1024 * 1024)}</short_description></insert>")
    response = post(client, admin_auth, body)
    assert response.status_code == 413
    assert response.headers["Content-Type"] == SOAP_CONTENT_TYPE
    assert canonical(response.data) == canonical(fault_xml("Client", f"{UNPARSABLE}: the body is over 10485760 bytes"))


def test_a_body_of_exactly_10_mib_is_read(client, admin_auth):
    empty = wrapped("<getKeys></getKeys>")
    # Unknown children of 1 MB of text each: one text node of 10 MB is
    # libxml2's limit, and millions of small ones would time the reader's loop.
    padding = 10 * 1024 * 1024 - len(empty)
    child = b"<p>" + b"x" * (1024 * 1024 - 7) + b"</p>"
    rest = padding % len(child)
    filler = child * (padding // len(child)) + b"<p>" + b"x" * (rest - 7) + b"</p>"
    body = empty.replace(b"</getKeys>", filler + b"</getKeys>")
    assert len(body) == 10 * 1024 * 1024
    assert post(client, admin_auth, body).status_code == 200


def test_a_large_body_is_refused_before_the_credentials_are_checked(client):
    response = client.post("/interaction.do?SOAP", data=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413


def test_no_content_type_or_soapaction_is_needed_and_any_is_accepted(client, admin_auth):
    body = envelope("getKeys")
    for headers in (
        {},
        {"Content-Type": "application/json"},
        {"Content-Type": "text/plain; charset=nonsense"},
        {"SOAPAction": '"urn:whatever"'},
    ):
        assert post(client, admin_auth, body, **headers).status_code == 200


def test_a_call_needs_credentials(client):
    response = client.post("/interaction.do?SOAP", data=envelope("getKeys"))
    assert (response.status_code, response.headers["WWW-Authenticate"], response.data) == (
        401,
        'Basic realm="Service-now"',
        b"",
    )


def test_the_fault_text_is_escaped_and_printable(client, admin_auth):
    response = post(client, admin_auth, envelope("getRecords", [("__encoded_query", "bad\tquery <&>")]))
    code, string = fault_of(response)
    assert code == "SOAP-ENV:Client"
    assert string == "Invalid condition 'bad\\tquery <&>' in the encoded query: expected <field><operator><value>"
    etree.fromstring(response.data)
