"""The WSDL of the interaction table (SOAP.md §2), built with lxml from
the table's fields, and the order of the columns every response follows."""
from lxml import etree

from ..records import fields as F

TABLE = F.INTERACTION
TNS = f"http://www.service-now.com/{TABLE.name}"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
_NSMAP = {"wsdl": WSDL_NS, "soap": SOAP_BINDING_NS, "xsd": XSD_NS, "tns": TNS}

OPERATIONS = ("insert", "get", "getRecords", "getKeys", "update", "deleteRecord", "deleteMultiple")
# The parameters of getKeys and getRecords after the columns, alphabetical.
QUERY_PARAMETERS = (
    "__encoded_query",
    "__exclude_columns",
    "__first_row",
    "__last_row",
    "__limit",
    "__order_by",
    "__order_by_desc",
    "__use_view",
)

COLUMNS = tuple(sorted(TABLE.fields, key=lambda field: field.name))
WRITABLE = tuple(field for field in COLUMNS if field.writable)
_XSD_TYPES = {F.INTEGER: "xsd:integer"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def record_columns(display):
    """(element, field, part) of a record as get and getRecords write it, in
    order: `part` picks from a display-value pair; with `all` each reference
    is followed by its dv_ element holding the display value."""
    columns = []
    for field in COLUMNS:
        reference = field.kind == F.REFERENCE
        columns.append((field.name, field, "display_value" if reference and display == "true" else "value"))
        if reference and display == "all":
            columns.append((f"dv_{field.name}", field, "display_value"))
    return tuple(columns)


def _type(field):
    return _XSD_TYPES.get(field.kind, "xsd:string")


def _element(parent, name, xsd_type="xsd:string", min_occurs="0", max_occurs="1"):
    """An element declaration; xsd_type None for one whose type is inside it."""
    attributes = {"maxOccurs": max_occurs, "minOccurs": min_occurs, "name": name}
    if xsd_type:
        attributes["type"] = xsd_type
    return etree.SubElement(parent, f"{{{XSD_NS}}}element", attributes)


def _sequence(parent):
    complex_type = etree.SubElement(parent, f"{{{XSD_NS}}}complexType")
    return etree.SubElement(complex_type, f"{{{XSD_NS}}}sequence")


def _global(schema, name):
    return _sequence(etree.SubElement(schema, f"{{{XSD_NS}}}element", name=name))


def _columns(sequence, columns, required=()):
    for field in columns:
        _element(sequence, field.name, _type(field), "1" if field.name in required else "0")


def _records(sequence, display):
    for name, field, _ in record_columns(display):
        _element(sequence, name, _type(field))


def _query(sequence):
    """The children of getKeys and getRecords: the columns, then the parameters."""
    _columns(sequence, COLUMNS)
    for name in QUERY_PARAMETERS:
        _element(sequence, name)


def _schema(types, display):
    schema = etree.SubElement(types, f"{{{XSD_NS}}}schema", elementFormDefault="unqualified", targetNamespace=TNS)
    _columns(_global(schema, "insert"), WRITABLE)
    sequence = _global(schema, "insertResponse")
    _element(sequence, "sys_id")
    _element(sequence, "number")

    update = sorted((*WRITABLE, TABLE.field("sys_id")), key=lambda field: field.name)
    _columns(_global(schema, "update"), update, required=("sys_id",))
    _element(_global(schema, "updateResponse"), "sys_id")

    sequence = _global(schema, "get")
    _element(sequence, "sys_id", min_occurs="1")
    _element(sequence, "__exclude_columns")
    _element(sequence, "__use_view")
    _records(_global(schema, "getResponse"), display)

    _query(_global(schema, "getKeys"))
    sequence = _global(schema, "getKeysResponse")
    _element(sequence, "sys_id", max_occurs="unbounded")
    _element(sequence, "count")

    _query(_global(schema, "getRecords"))
    result = _element(_global(schema, "getRecordsResponse"), "getRecordsResult", None, max_occurs="unbounded")
    _records(_sequence(result), display)

    _element(_global(schema, "deleteRecord"), "sys_id", min_occurs="1")
    _element(_global(schema, "deleteRecordResponse"), "count")
    _columns(_global(schema, "deleteMultiple"), COLUMNS)
    _element(_global(schema, "deleteMultipleResponse"), "count")


def _sub(parent, namespace, tag, **attributes):
    return etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)


def document(base_url, display):
    """The WSDL as bytes, for a request to `base_url` (scheme and host)
    asking for display values `display` ("false", "true" or "all"). Built
    on each request (a client loads it once; it takes about a millisecond)."""
    definitions = etree.Element(f"{{{WSDL_NS}}}definitions", nsmap=_NSMAP, targetNamespace=TNS)
    _schema(_sub(definitions, WSDL_NS, "types"), display)
    for operation in OPERATIONS:
        for suffix, element in (("SoapIn", operation), ("SoapOut", f"{operation}Response")):
            message = _sub(definitions, WSDL_NS, "message", name=f"{operation}{suffix}")
            _sub(message, WSDL_NS, "part", name=TABLE.name, element=f"tns:{element}")
    port_type = _sub(definitions, WSDL_NS, "portType", name="ServiceNowSoap")
    for operation in OPERATIONS:
        declared = _sub(port_type, WSDL_NS, "operation", name=operation)
        _sub(declared, WSDL_NS, "input", message=f"tns:{operation}SoapIn")
        _sub(declared, WSDL_NS, "output", message=f"tns:{operation}SoapOut")
    binding = _sub(definitions, WSDL_NS, "binding", name="ServiceNowSoap", type="tns:ServiceNowSoap")
    _sub(binding, SOAP_BINDING_NS, "binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")
    for operation in OPERATIONS:
        bound = _sub(binding, WSDL_NS, "operation", name=operation)
        _sub(bound, SOAP_BINDING_NS, "operation", soapAction=f"{TNS}/{operation}", style="document")
        for direction in ("input", "output"):
            _sub(_sub(bound, WSDL_NS, direction), SOAP_BINDING_NS, "body", use="literal")
    service = _sub(definitions, WSDL_NS, "service", name=f"ServiceNow_{TABLE.name}")
    port = _sub(service, WSDL_NS, "port", binding="tns:ServiceNowSoap", name="ServiceNowSoap")
    location = f"{base_url}/{TABLE.name}.do?SOAP" + (f"&displayvalue={display}" if display != "false" else "")
    _sub(port, SOAP_BINDING_NS, "address", location=location)
    return XML_DECLARATION + etree.tostring(definitions, encoding="UTF-8")
