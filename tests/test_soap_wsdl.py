"""The WSDL of /interaction.do (SOAP.md §1, §2): its elements in the
contract's order, its address, and who may fetch it."""
import pytest
from lxml import etree
from soap_envelopes import TNS, WSDL, XSD

from app.records.catalog import INTERACTION
from app.soap.wsdl import document

WRITABLE = [
    "assigned_to",
    "channel",
    "channel_metadata_document",
    "channel_metadata_table",
    "context_document",
    "context_table",
    "opened_for",
    "queue",
    "short_description",
    "state",
]
EVERY_COLUMN = [
    "assigned_to",
    "channel",
    "channel_metadata_document",
    "channel_metadata_table",
    "closed_at",
    "closed_by",
    "context_document",
    "context_table",
    "number",
    "opened_at",
    "opened_by",
    "opened_for",
    "queue",
    "short_description",
    "state",
    "sys_created_by",
    "sys_created_on",
    "sys_id",
    "sys_mod_count",
    "sys_updated_by",
    "sys_updated_on",
]
QUERY = [
    "__encoded_query",
    "__exclude_columns",
    "__first_row",
    "__last_row",
    "__limit",
    "__order_by",
    "__order_by_desc",
    "__use_view",
]
REFERENCES = ("assigned_to", "closed_by", "opened_by", "opened_for")
WITH_DV = [
    name for column in EVERY_COLUMN for name in ((column, f"dv_{column}") if column in REFERENCES else (column,))
]

ELEMENTS = {
    "insert": WRITABLE,
    "insertResponse": ["sys_id", "number"],
    "update": sorted([*WRITABLE, "sys_id"]),
    "updateResponse": ["sys_id"],
    "get": ["sys_id", "__exclude_columns", "__use_view"],
    "getResponse": EVERY_COLUMN,
    "getKeys": EVERY_COLUMN + QUERY,
    "getKeysResponse": ["sys_id", "count"],
    "getRecords": EVERY_COLUMN + QUERY,
    "getRecordsResponse": ["getRecordsResult"],
    "deleteRecord": ["sys_id"],
    "deleteRecordResponse": ["count"],
    "deleteMultiple": EVERY_COLUMN,
    "deleteMultipleResponse": ["count"],
}
OPERATIONS = ["insert", "get", "getRecords", "getKeys", "update", "deleteRecord", "deleteMultiple"]
NS = {"wsdl": WSDL, "xsd": XSD, "soap": "http://schemas.xmlsoap.org/wsdl/soap/"}


def fetch(client, auth, query="WSDL"):
    response = client.get(f"/interaction.do?{query}", headers=auth)
    assert response.status_code == 200, response.data
    return response


def parse(response):
    return etree.fromstring(response.data)


def sequence(root, element):
    """(name, type, minOccurs, maxOccurs) of a global element's children."""
    (declared,) = root.xpath(f"wsdl:types/xsd:schema/xsd:element[@name='{element}']", namespaces=NS)
    return [
        (child.get("name"), child.get("type"), child.get("minOccurs"), child.get("maxOccurs"))
        for child in declared.xpath("xsd:complexType/xsd:sequence/xsd:element", namespaces=NS)
    ]


def names(root, element):
    return [name for name, *_ in sequence(root, element)]


def test_the_wsdl_is_text_xml_exactly_and_the_same_each_time(client, admin_auth):
    first = fetch(client, admin_auth)
    assert first.headers["Content-Type"] == "text/xml"
    assert first.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<wsdl:definitions')
    assert fetch(client, admin_auth).data == first.data


def test_definitions_and_schema_name_the_tables_namespace(client, admin_auth):
    root = parse(fetch(client, admin_auth))
    assert root.tag == f"{{{WSDL}}}definitions"
    assert root.get("targetNamespace") == TNS
    assert root.nsmap["tns"] == TNS
    (schema,) = root.xpath("wsdl:types/xsd:schema", namespaces=NS)
    assert (schema.get("elementFormDefault"), schema.get("targetNamespace")) == ("unqualified", TNS)
    assert [e.get("name") for e in schema] == list(ELEMENTS)


@pytest.mark.parametrize("element", ELEMENTS)
def test_each_element_lists_the_contracts_children_in_order(client, admin_auth, element):
    assert names(parse(fetch(client, admin_auth)), element) == ELEMENTS[element]


def test_occurrences_and_types(client, admin_auth):
    root = parse(fetch(client, admin_auth))
    for element in ELEMENTS:
        for name, xsd_type, min_occurs, max_occurs in sequence(root, element):
            required = name == "sys_id" and element in ("update", "get", "deleteRecord")
            assert min_occurs == ("1" if required else "0"), (element, name)
            unbounded = (element, name) in (("getKeysResponse", "sys_id"), ("getRecordsResponse", "getRecordsResult"))
            assert max_occurs == ("unbounded" if unbounded else "1"), (element, name)
            if name == "getRecordsResult":
                assert xsd_type is None
            else:
                assert xsd_type == ("xsd:integer" if name == "sys_mod_count" else "xsd:string"), (element, name)


def test_a_record_result_holds_every_column(client, admin_auth):
    root = parse(fetch(client, admin_auth))
    (result,) = root.xpath(".//xsd:element[@name='getRecordsResult']", namespaces=NS)
    assert [
        e.get("name") for e in result.xpath("xsd:complexType/xsd:sequence/xsd:element", namespaces=NS)
    ] == EVERY_COLUMN


@pytest.mark.parametrize("query", ["displayvalue=all&WSDL", "WSDL&displayvalue=all", "wsdl&DisplayValue=ALL"])
def test_display_value_all_adds_a_dv_column_after_each_reference(client, admin_auth, query):
    root = parse(fetch(client, admin_auth, query))
    assert names(root, "getResponse") == WITH_DV
    (result,) = root.xpath(".//xsd:element[@name='getRecordsResult']", namespaces=NS)
    assert [e.get("name") for e in result.xpath("xsd:complexType/xsd:sequence/xsd:element", namespaces=NS)] == WITH_DV
    # Input elements do not change.
    assert names(root, "getRecords") == EVERY_COLUMN + QUERY


def test_display_value_true_has_no_dv_columns(client, admin_auth):
    assert names(parse(fetch(client, admin_auth, "WSDL&displayvalue=true")), "getResponse") == EVERY_COLUMN


def test_messages_port_type_binding_and_service(client, admin_auth):
    root = parse(fetch(client, admin_auth))
    messages = root.xpath("wsdl:message", namespaces=NS)
    assert [(m.get("name"), [(p.tag, p.get("name"), p.get("element")) for p in m]) for m in messages] == [
        (f"{op}{suffix}", [(f"{{{WSDL}}}part", "interaction", f"tns:{element}")])
        for op in OPERATIONS
        for suffix, element in (("SoapIn", op), ("SoapOut", f"{op}Response"))
    ]
    (port_type,) = root.xpath("wsdl:portType", namespaces=NS)
    assert port_type.get("name") == "ServiceNowSoap"
    assert [(o.tag, o.get("name"), [(c.tag, c.get("message")) for c in o]) for o in port_type] == [
        (f"{{{WSDL}}}operation", op, [(f"{{{WSDL}}}input", f"tns:{op}SoapIn"), (f"{{{WSDL}}}output", f"tns:{op}SoapOut")])
        for op in OPERATIONS
    ]
    (binding,) = root.xpath("wsdl:binding", namespaces=NS)
    assert (binding.get("name"), binding.get("type")) == ("ServiceNowSoap", "tns:ServiceNowSoap")
    (soap_binding,) = binding.xpath("soap:binding", namespaces=NS)
    assert soap_binding.get("style") == "document"
    assert soap_binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
    for operation in binding.xpath("wsdl:operation", namespaces=NS):
        assert [child.tag for child in operation] == [f"{{{NS['soap']}}}operation", f"{{{WSDL}}}input", f"{{{WSDL}}}output"]
        (soap_operation,) = operation.xpath("soap:operation", namespaces=NS)
        assert dict(soap_operation.attrib) == {"soapAction": f"{TNS}/{operation.get('name')}", "style": "document"}
        assert operation.xpath("wsdl:input/soap:body/@use | wsdl:output/soap:body/@use", namespaces=NS) == ["literal"] * 2
    assert [o.get("name") for o in binding.xpath("wsdl:operation", namespaces=NS)] == OPERATIONS
    (service,) = root.xpath("wsdl:service", namespaces=NS)
    assert service.get("name") == "ServiceNow_interaction"
    (port,) = service.xpath("wsdl:port", namespaces=NS)
    assert (port.get("name"), port.get("binding")) == ("ServiceNowSoap", "tns:ServiceNowSoap")


@pytest.mark.parametrize(
    "query, location",
    [
        ("WSDL", "http://localhost/interaction.do?SOAP"),
        ("displayvalue=all&WSDL", "http://localhost/interaction.do?SOAP&displayvalue=all"),
        ("WSDL&displayvalue=true&sysparm_view=x", "http://localhost/interaction.do?SOAP&displayvalue=true"),
        ("WSDL&displayvalue=nonsense", "http://localhost/interaction.do?SOAP"),
    ],
)
def test_the_address_is_the_requests_own_host(client, admin_auth, query, location):
    assert parse(fetch(client, admin_auth, query)).xpath("//soap:address/@location", namespaces=NS) == [location]


def test_the_address_follows_scheme_and_host(client, admin_auth):
    response = client.get("/interaction.do?WSDL", headers=admin_auth, base_url="https://example.test:8443")
    assert parse(response).xpath("//soap:address/@location", namespaces=NS) == [
        "https://example.test:8443/interaction.do?SOAP"
    ]


def test_the_same_request_gets_the_same_document():
    assert document(INTERACTION, "http://a", "false") == document(INTERACTION, "http://a", "false")
    assert document(INTERACTION, "http://a", "false") != document(INTERACTION, "http://b", "false")


def test_the_wsdl_needs_credentials_and_challenges_with_servicenows_realm(client):
    response = client.get("/interaction.do?WSDL")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Service-now"'
    assert response.data == b""
    wrong = client.get("/interaction.do?WSDL", headers={"Authorization": "Basic YWRtaW46d3Jvbmc="})
    assert (wrong.status_code, wrong.headers["WWW-Authenticate"]) == (401, 'Basic realm="Service-now"')


def test_an_unknown_tables_wsdl_is_not_found(client, admin_auth):
    assert client.get("/u_nothing.do?WSDL", headers=admin_auth).status_code == 404
    assert client.post("/u_nothing.do?SOAP", headers=admin_auth).status_code == 404


@pytest.mark.parametrize(
    "method, query",
    [("POST", "WSDL"), ("GET", "SOAP"), ("GET", ""), ("POST", ""), ("PUT", "SOAP"), ("DELETE", "WSDL")],
)
def test_other_methods_and_keys_are_405(client, admin_auth, method, query):
    response = client.open(f"/interaction.do?{query}", method=method, headers=admin_auth)
    assert response.status_code == 405
    assert response.json["error"]["message"] == "Method not Supported"


def test_head_of_the_wsdl_answers_as_get_without_a_body(client, admin_auth):
    response = client.head("/interaction.do?WSDL", headers=admin_auth)
    assert (response.status_code, response.headers["Content-Type"], response.data) == (200, "text/xml", b"")
