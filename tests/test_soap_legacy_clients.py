"""The legacy clients themselves against a real gunicorn: PHP's SoapClient
(WSDL mode) and Perl's SOAP::Lite (no WSDL, as ServiceNow's old
documentation shows it), each a script in tests/soap/clients/ run as a
user runs it. Each prints JSON of what every call answered; the test
compares it whole with the records as the Table API reads them, and the
requests as the journal saw them (SOAPAction, the 401 challenges)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from gunicorn_server import serving

from app.models import ADMIN_SYS_ID

CLIENTS = Path(__file__).parent / "soap" / "clients"
PASSWORD = "legacy-secret"
SERVER_FAULT = "com.glide.processors.soap.SOAPProcessingException: {} Aborted : {}"


def _perl_has_soap_lite():
    if shutil.which("perl") is None:
        return False
    return subprocess.run(["perl", "-MSOAP::Lite", "-e1"], capture_output=True).returncode == 0


def _php_has_soap():
    if shutil.which("php") is None:
        return False
    probe = ["php", "-r", "exit(class_exists('SoapClient') ? 0 : 1);"]
    return subprocess.run(probe, capture_output=True).returncode == 0


needs_php = pytest.mark.skipif(
    not _php_has_soap(), reason="no php with SoapClient: apt-get install php-cli php-soap (.ci/run does)"
)
needs_soap_lite = pytest.mark.skipif(
    not _perl_has_soap_lite(), reason="no perl with SOAP::Lite: apt-get install libsoap-lite-perl (.ci/run does)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("gunicorn"), PASSWORD) as gunicorn:
        yield f"http://127.0.0.1:{gunicorn.port}"


@pytest.fixture
def api(server):
    session = requests.Session()
    session.auth = ("admin", PASSWORD)
    session.post(f"{server}/__stand_in/reset").raise_for_status()
    return session


def run(command, server):
    finished = subprocess.run([*command, server, PASSWORD], capture_output=True, timeout=300)
    assert (finished.returncode, finished.stderr) == (0, b"")
    return json.loads(finished.stdout)


def records(api, server, channel):
    """The channel's records as the Table API reads them, by queue."""
    response = api.get(
        f"{server}/api/now/table/interaction",
        params={"sysparm_query": f"channel={channel}^ORDERBYqueue", "sysparm_exclude_reference_link": "true"},
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()["result"]


def exchanges(api, server):
    """The SOAP requests the journal saw, oldest first: (method, query,
    status, user, SOAPAction, whether credentials were sent)."""
    response = api.get(f"{server}/__stand_in/requests", params={"path": "/interaction.do"}, timeout=30)
    assert response.status_code == 200
    return [
        (e["method"], e["query"], e["status"], e["user"], e["request"]["headers"].get("Soapaction"),
         "Authorization" in e["request"]["headers"])
        for e in reversed(response.json()["result"])
    ]  # fmt: skip


def without(record, *names):
    return {name: value for name, value in record.items() if name not in names}


@needs_php
def test_php_soapclient(server, api):
    answered = run(["php", str(CLIENTS / "php_client.php")], server)
    first, second = records(api, server, "php-soapclient")
    assert (first["short_description"], first["opened_for"], first["state"]) == (
        "From PHP & SoapClient: café ☕",
        ADMIN_SYS_ID,
        "queued",
    )
    assert (second["short_description"], second["state"], second["sys_mod_count"]) == (
        "updated",
        "work_in_progress",
        "1",
    )
    # The WSDL declares sys_mod_count an xsd:integer: PHP makes it an int.
    first, second = ({**record, "sys_mod_count": int(record["sys_mod_count"])} for record in (first, second))
    missing_from = f"{server}/interaction.do?WSDL"
    assert answered == {
        "insert": {"sys_id": first["sys_id"], "number": first["number"]},
        "insert_status": "HTTP/1.1 200 OK",
        "second_insert": {"sys_id": second["sys_id"], "number": second["number"]},
        "deleteRecord": {"count": "1"},
        "deleteRecord_again": {"count": "0"},
        "update": {"sys_id": second["sys_id"]},
        "get": first,
        # An empty getResponse: an object without properties.
        "get_unknown": {},
        "getRecords": {"getRecordsResult": [without(first, "short_description"), without(second, "short_description")]},
        # One result is the object itself, not a list of one (SoapClient's
        # default without SOAP_SINGLE_ELEMENT_ARRAYS).
        "getRecords_one": {"getRecordsResult": second},
        "getRecords_none": {},
        "getKeys": {"sys_id": f"{second['sys_id']},{first['sys_id']}", "count": "2"},
        # The WSDL makes update's sys_id required: SoapClient refuses to send it.
        "update_without_sys_id": {
            "faultcode": "Client",
            "faultstring": "SOAP-ERROR: Encoding: object has no 'sys_id' property",
        },
        "update_unknown": {
            "faultcode": "SOAP-ENV:Server",
            "faultstring": SERVER_FAULT.format("Update", "missing record"),
        },
        "update_unknown_status": "HTTP/1.1 500 INTERNAL SERVER ERROR",
        "insert_too_long": {
            "faultcode": "SOAP-ENV:Server",
            "faultstring": SERVER_FAULT.format("Insert", "channel: Longer than maximum length 32."),
        },
        "bad_limit": {
            "faultcode": "SOAP-ENV:Client",
            "faultstring": "Invalid value for __limit: 'many' is not a non-negative integer",
        },
        "get_all": {
            **first,
            "dv_assigned_to": "",
            "dv_closed_by": "",
            "dv_opened_by": "admin",
            "dv_opened_for": "admin",
        },
        "wrong_password": {
            "faultcode": "WSDL",
            "faultstring": f"SOAP-ERROR: Parsing WSDL: Couldn't load from '{missing_from}' :"
            f' failed to load external entity "{missing_from}"\n',
        },
    }

    def action(operation):
        return f'"http://www.service-now.com/interaction/{operation}"'

    # SoapClient sends credentials at once, and the WSDL's SOAPAction; the
    # displayvalue=all WSDL's address keeps the mode. The refused update
    # without sys_id never left the client.
    assert exchanges(api, server) == [
        ("GET", "WSDL", 200, "admin", None, True),
        *[("POST", "SOAP", 200, "admin", action(operation), True) for operation in
          ["insert", "insert", "insert", "deleteRecord", "deleteRecord", "update", "get", "get",
           "getRecords", "getRecords", "getRecords", "getKeys"]],
        ("POST", "SOAP", 500, "admin", action("update"), True),
        ("POST", "SOAP", 500, "admin", action("insert"), True),
        ("POST", "SOAP", 500, "admin", action("getRecords"), True),
        ("GET", "displayvalue=all&WSDL", 200, "admin", None, True),
        ("POST", "SOAP&displayvalue=all", 200, "admin", action("get"), True),
        ("GET", "WSDL", 401, None, None, True),
    ]  # fmt: skip


@needs_soap_lite
def test_perl_soap_lite(server, api):
    answered = run(["perl", str(CLIENTS / "perl_soap_lite.pl")], server)
    first, second = records(api, server, "perl-soap-lite")
    assert (first["short_description"], first["opened_for"]) == ("From Perl & SOAP::Lite: café ☕", ADMIN_SYS_ID)
    assert answered == {
        "insert": {"sys_id": first["sys_id"], "number": first["number"]},
        "second_insert": {"sys_id": second["sys_id"], "number": second["number"]},
        "deleteRecord": {"count": "1"},
        # Without an xsi:type SOAP::Lite reads every value as a string.
        "get": first,
        # An untyped 'café' went as xsd:base64Binary, and xsi:type is
        # ignored (SOAP.md §3): the record holds the base64 text.
        "getRecords": [first, {**second, "short_description": "Y2Fmw6k="}],
        "getKeys": {"sys_id": f"{first['sys_id']},{second['sys_id']}", "count": "2"},
        "update_without_sys_id": {
            "faultcode": "SOAP-ENV:Server",
            "faultstring": SERVER_FAULT.format("Update", "missing record"),
        },
        "update_without_sys_id_status": "500 INTERNAL SERVER ERROR",
        "unknown_operation": {"faultcode": "SOAP-ENV:Client", "faultstring": "Unsupported action: getEverything"},
        "wrong_password": "401 UNAUTHORIZED",
    }

    def documented(operation):
        return f'"http://www.service-now.com/#{operation}"'

    # LWP sends credentials only once challenged, then keeps them for the
    # realm: each new client is challenged once. A wrong password is
    # challenged again, and LWP gives up.
    assert exchanges(api, server) == [
        ("POST", "SOAP", 401, None, documented("insert"), False),
        *[("POST", "SOAP", 200, "admin", documented(operation), True) for operation in
          ["insert", "insert", "insert", "deleteRecord", "get"]],
        ("POST", "SOAP", 401, None, "http://www.service-now.com/interaction/getRecords", False),
        ("POST", "SOAP", 200, "admin", "http://www.service-now.com/interaction/getRecords", True),
        ("POST", "SOAP", 200, "admin", "http://www.service-now.com/interaction/getKeys", True),
        ("POST", "SOAP", 500, "admin", documented("update"), True),
        ("POST", "SOAP", 500, "admin", documented("getEverything"), True),
        ("POST", "SOAP", 401, None, documented("getKeys"), False),
        ("POST", "SOAP", 401, None, documented("getKeys"), True),
    ]  # fmt: skip
