"""The WSDL of a table (SOAP.md §2), built with lxml from the table's
fields, and the order of the columns every response follows."""
from functools import lru_cache

from lxml import etree

from ..records import catalog as C

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

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

_XSD_TYPES = {C.INTEGER: "xsd:integer"}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Shown by their display values with displayvalue=true, and followed by a
# dv_ column with all.
_REFERENCES = frozenset((C.REFERENCE, C.DOCUMENT_ID))


def namespace(table):
    return f"http://www.service-now.com/{table.name}"


@lru_cache(maxsize=256)
def columns(table):
    """The table's columns in alphabetical order: what its records show."""
    return tuple(sorted(table.shown_fields, key=lambda field: field.name))


@lru_cache(maxsize=256)
def writable(table):
    """The columns insert and update take, alphabetical (user_password too)."""
    return tuple(sorted(table.writable_fields, key=lambda field: field.name))


@lru_cache(maxsize=256)
def record_columns(table, display):
    """(element, field, part) of a record as get and getRecords write it, in
    order: `part` picks from a display-value pair; with `all` each reference
    is followed by its dv_ element holding the display value."""
    result = []
    for field in columns(table):
        reference = field.kind in _REFERENCES
        result.append((field.name, field, "display_value" if reference and display == "true" else "value"))
        if reference and display == "all":
            result.append((f"dv_{field.name}", field, "display_value"))
    return tuple(result)


for _cached in (columns, writable, record_columns):
    C.on_change(_cached.cache_clear)


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


def _records(sequence, table, display):
    for name, field, _ in record_columns(table, display):
        _element(sequence, name, _type(field))


def _query(sequence, table):
    """The children of getKeys and getRecords: the columns, then the parameters."""
    _columns(sequence, columns(table))
    for name in QUERY_PARAMETERS:
        _element(sequence, name)


def insert_response(table):
    """What insertResponse holds: the sys_id, and the number of a numbered table."""
    return ("sys_id",) + ((table.number.field,) if table.number is not None else ())


def _schema(types, table, display):
    schema = etree.SubElement(types, f"{{{XSD_NS}}}schema", elementFormDefault="unqualified", targetNamespace=namespace(table))
    _columns(_global(schema, "insert"), writable(table))
    sequence = _global(schema, "insertResponse")
    for name in insert_response(table):
        _element(sequence, name)

    update = sorted((*writable(table), table.field("sys_id")), key=lambda field: field.name)
    _columns(_global(schema, "update"), update, required=("sys_id",))
    _element(_global(schema, "updateResponse"), "sys_id")

    sequence = _global(schema, "get")
    _element(sequence, "sys_id", min_occurs="1")
    _element(sequence, "__exclude_columns")
    _element(sequence, "__use_view")
    _records(_global(schema, "getResponse"), table, display)

    _query(_global(schema, "getKeys"), table)
    sequence = _global(schema, "getKeysResponse")
    _element(sequence, "sys_id", max_occurs="unbounded")
    _element(sequence, "count")

    _query(_global(schema, "getRecords"), table)
    result = _element(_global(schema, "getRecordsResponse"), "getRecordsResult", None, max_occurs="unbounded")
    _records(_sequence(result), table, display)

    _element(_global(schema, "deleteRecord"), "sys_id", min_occurs="1")
    _element(_global(schema, "deleteRecordResponse"), "count")
    _columns(_global(schema, "deleteMultiple"), columns(table))
    _element(_global(schema, "deleteMultipleResponse"), "count")


def _sub(parent, namespace, tag, **attributes):
    return etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)


def document(table, base_url, display):
    """The WSDL of `table` as bytes, for a request to `base_url` (scheme and
    host) asking for display values `display` ("false", "true" or "all").
    Built on each request (a client loads it once; it takes about a millisecond)."""
    tns = namespace(table)
    nsmap = {"wsdl": WSDL_NS, "soap": SOAP_BINDING_NS, "xsd": XSD_NS, "tns": tns}
    definitions = etree.Element(f"{{{WSDL_NS}}}definitions", nsmap=nsmap, targetNamespace=tns)
    _schema(_sub(definitions, WSDL_NS, "types"), table, display)
    for operation in OPERATIONS:
        for suffix, element in (("SoapIn", operation), ("SoapOut", f"{operation}Response")):
            message = _sub(definitions, WSDL_NS, "message", name=f"{operation}{suffix}")
            _sub(message, WSDL_NS, "part", name=table.name, element=f"tns:{element}")
    port_type = _sub(definitions, WSDL_NS, "portType", name="ServiceNowSoap")
    for operation in OPERATIONS:
        declared = _sub(port_type, WSDL_NS, "operation", name=operation)
        _sub(declared, WSDL_NS, "input", message=f"tns:{operation}SoapIn")
        _sub(declared, WSDL_NS, "output", message=f"tns:{operation}SoapOut")
    binding = _sub(definitions, WSDL_NS, "binding", name="ServiceNowSoap", type="tns:ServiceNowSoap")
    _sub(binding, SOAP_BINDING_NS, "binding", style="document", transport="http://schemas.xmlsoap.org/soap/http")
    for operation in OPERATIONS:
        bound = _sub(binding, WSDL_NS, "operation", name=operation)
        _sub(bound, SOAP_BINDING_NS, "operation", soapAction=f"{tns}/{operation}", style="document")
        for direction in ("input", "output"):
            _sub(_sub(bound, WSDL_NS, direction), SOAP_BINDING_NS, "body", use="literal")
    service = _sub(definitions, WSDL_NS, "service", name=f"ServiceNow_{table.name}")
    port = _sub(service, WSDL_NS, "port", binding="tns:ServiceNowSoap", name="ServiceNowSoap")
    location = f"{base_url}/{table.name}.do?SOAP" + (f"&displayvalue={display}" if display != "false" else "")
    _sub(port, SOAP_BINDING_NS, "address", location=location)
    return XML_DECLARATION + etree.tostring(definitions, encoding="UTF-8")
