"""Helpers of the SOAP tests: envelopes built and posted through the test
client, answers read back, XML compared canonically."""
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "http://www.service-now.com/interaction"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP_CONTENT_TYPE = "text/xml;charset=UTF-8"
FILES = Path(__file__).parent / "soap"


def envelope(operation, children=(), namespace=TNS):
    """An envelope calling `operation` with unqualified (name, text) children."""
    inner = "".join(f"<{name}>{escape(value)}</{name}>" if value != "" else f"<{name}/>" for name, value in children)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body>'
        f"<{operation}{xmlns}>{inner}</{operation}></soapenv:Body></soapenv:Envelope>"
    ).encode()


def post(client, auth, body, query="SOAP", **headers):
    return client.post(f"/interaction.do?{query}", data=body, headers={**auth, **headers})


def canonical(xml):
    """XML text or bytes in canonical form, whitespace between elements dropped."""
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml, parser)
    return etree.tostring(root, method="c14n")


def response_xml(operation, inner):
    """The whole envelope the service answers `operation` with."""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}"><SOAP-ENV:Body>'
        f'<tns:{operation}Response xmlns:tns="{TNS}">{inner}</tns:{operation}Response>'
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def fault_xml(code, string, detail=None):
    detail = f"<detail>{escape(detail)}</detail>" if detail else ""
    return (
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        f"<faultcode>SOAP-ENV:{code}</faultcode><faultstring>{escape(string)}</faultstring>{detail}"
        "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def answer(response):
    """The children of the response element as (name, text) pairs; nested
    elements as (name, pairs)."""
    body = etree.fromstring(response.data).find(f"{{{SOAP_ENV}}}Body")
    return _pairs(body[0])


def _pairs(element):
    return [(child.tag, _pairs(child) if len(child) else (child.text or "")) for child in element]
