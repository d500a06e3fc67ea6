"""SOAP 1.1 envelopes: a call read from a request body, a response or a
fault written (SOAP.md §3, §4).

A call is read by local names alone: clients put the operation in any of
several namespaces, or none, and qualify its children or not.
"""
import copy
from functools import lru_cache
from typing import NamedTuple

from lxml import etree

from ..serialization import plain_parse_error, printable, xml_parser
from .wsdl import XML_DECLARATION

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_BODY = f"{{{SOAP_ENV}}}Body"
_FAULT = f"{{{SOAP_ENV}}}Fault"
_NSMAP = {"SOAP-ENV": SOAP_ENV}

CLIENT = "Client"
SERVER = "Server"
VERSION_MISMATCH = "VersionMismatch"
UNPARSABLE = "Unable to parse SOAP document"


class Fault(Exception):
    """A SOAP fault to answer with: `code` one of the three above."""

    def __init__(self, code, string, detail=None, status=500):
        super().__init__(string)
        self.code = code
        self.string = string
        self.detail = detail
        self.status = status


class Call(NamedTuple):
    operation: str
    # Local name -> text of the operation's children; the first of a name wins.
    values: dict


def _local(tag):
    return tag.rpartition("}")[2]


def _unparsable(what):
    return Fault(CLIENT, f"{UNPARSABLE}: {what}")


def read(body):
    """The call a request body holds; Fault when it holds none."""
    try:
        root = etree.fromstring(body, xml_parser())
    except etree.XMLSyntaxError as error:
        raise _unparsable(plain_parse_error(error.msg)) from None
    if root.getroottree().docinfo.doctype:
        # SOAP 1.1 allows none, and a DTD is where entity attacks live.
        raise _unparsable("a DOCTYPE is not allowed")
    if _local(root.tag) != "Envelope":
        raise _unparsable(f"the root element is <{_local(root.tag)}>, not an Envelope")
    if root.tag != _ENVELOPE:
        raise Fault(VERSION_MISMATCH, f"The Envelope is not in the SOAP 1.1 namespace {SOAP_ENV}")
    body = next((child for child in root.iterchildren(etree.Element) if _local(child.tag) == "Body"), None)
    if body is None:
        raise _unparsable("the Envelope has no Body")
    operation = next(body.iterchildren(etree.Element), None)
    if operation is None:
        raise _unparsable("the Body is empty")
    values = {}
    for child in operation.iterchildren(etree.Element):
        values.setdefault(_local(child.tag), child.text or "")
    return Call(_local(operation.tag), values)


def _envelope():
    envelope = etree.Element(_ENVELOPE, nsmap=_NSMAP)
    return envelope, etree.SubElement(envelope, _BODY)


def _append(parent, children):
    for name, text in children:
        etree.SubElement(parent, name).text = text or None


@lru_cache(maxsize=256)
def _empty_response(tns, operation, names):
    """The envelope answering `operation`, with an empty element for each of
    `names`: copied and filled, it costs half of building one anew (lxml
    copies a tree in C, where Python makes each element)."""
    envelope, body = _envelope()
    element = etree.SubElement(body, f"{{{tns}}}{operation}Response", nsmap={"tns": tns})
    for name in names:
        etree.SubElement(element, name)
    return envelope


def response(tns, operation, children):
    """The envelope answering `operation` in the namespace `tns` (the
    table's): children are (name, text) pairs, or (name, pairs) for a
    record of getRecords, unqualified as the WSDL says."""
    envelope = copy.deepcopy(_empty_response(tns, operation, tuple(name for name, _ in children)))
    for element, (_, value) in zip(envelope[0][0], children):
        if isinstance(value, str):
            element.text = value or None
        else:
            _append(element, value)
    return XML_DECLARATION + etree.tostring(envelope, encoding="UTF-8")


def fault(error):
    """The envelope of a Fault."""
    envelope, body = _envelope()
    element = etree.SubElement(body, _FAULT)
    etree.SubElement(element, "faultcode").text = f"SOAP-ENV:{error.code}"
    etree.SubElement(element, "faultstring").text = printable(error.string)
    if error.detail:
        etree.SubElement(element, "detail").text = printable(error.detail)
    return XML_DECLARATION + etree.tostring(envelope, encoding="UTF-8")
