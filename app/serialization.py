"""JSON and XML: a request body read into a dict, an envelope written out.

XML is read with an lxml parser that loads no DTD, expands no entity and
touches no network, and a document that declares a DOCTYPE is refused.
"""
from functools import lru_cache

import orjson
from flask import Response
from lxml import etree

JSON = "json"
XML = "xml"

CONTENT_TYPES = {
    JSON: "application/json;charset=UTF-8",
    XML: "application/xml;charset=UTF-8",
}

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


class _NoExternalResources(etree.Resolver):
    """Whatever a libxml2 release decides to fetch, it gets nothing: a
    second guard, beside the options, that no local file is ever read."""

    def resolve(self, system_url, public_id, context):
        return self.resolve_string("", context)


@lru_cache(maxsize=16)
def xml_parser(charset=None, keep_comments=False):
    """The hardened parser, for a body in `charset` (None: as the document
    says, UTF-8 by default); LookupError when libxml2 cannot decode it.
    Comments and processing instructions are dropped unless `keep_comments`."""
    parser = etree.XMLParser(
        encoding=charset,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=not keep_comments,
        remove_pis=not keep_comments,
        # No collect_ids=False: lxml then sets XML_SKIP_IDS in libxml2's
        # `loadsubset`, which makes libxml2 open the file a DOCTYPE names
        # (`SYSTEM "file:///etc/passwd"`), telling which files exist.
    )
    parser.resolvers.add(_NoExternalResources())
    return parser


def printable(text):
    """`text` with control characters escaped: safe in a log line and in XML."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


class UnreadableBody(ValueError):
    """The body is not a well-formed document of its format, or not an object."""


def read(body, fmt, charset=None):
    """The request body as a dict of fields; UnreadableBody says what is wrong."""
    if not body.strip():
        raise UnreadableBody("The request body is empty")
    data = read_json(body, charset) if fmt == JSON else read_xml(body, charset)
    if not isinstance(data, dict):
        raise UnreadableBody("The request body must be an object")
    return data


def read_json(body, charset=None):
    try:
        if charset is not None:
            body = body.decode(charset)
        return orjson.loads(body)
    except UnicodeError as error:
        raise UnreadableBody(f"Invalid JSON: not readable as {charset}: {error}") from None
    except orjson.JSONDecodeError as error:
        # orjson calls bytes that are not UTF-8 a string with surrogates.
        if error.msg.startswith("str is not valid UTF-8"):
            raise UnreadableBody(
                "Invalid JSON: the body is not UTF-8; name its charset in the Content-Type"
            ) from None
        raise UnreadableBody(f"Invalid JSON: {error}") from None


def read_xml(body, charset=None):
    try:
        root = etree.fromstring(body, xml_parser(charset))
    except etree.XMLSyntaxError as error:
        raise UnreadableBody(f"Invalid XML: {plain_parse_error(error.msg)}") from None
    if root.getroottree().docinfo.doctype:
        raise UnreadableBody("Invalid XML: a DOCTYPE is not allowed")
    if root.tag != "request":
        raise UnreadableBody(f"Invalid XML: the root element must be <request>, not <{root.tag}>")
    entries = [child for child in root if child.tag == "entry"]
    if len(entries) > 1:
        raise UnreadableBody("Invalid XML: a request holds one <entry>, not several")
    if len(root) == 1 and entries:
        root = entries[0]
    return _element_value(root) if len(root) else {}


def plain_parse_error(message):
    """libxml2's message, without its advice on libxml2's own options."""
    if message.startswith("Excessive depth in document"):
        return "elements nested deeper than 256 levels" + message.partition("option")[2]
    return message


def _element_value(element):
    """Text for a leaf element; for one with children, a dict of their values
    in which a repeated child becomes a list."""
    if not len(element):
        return element.text or ""
    values = {}
    repeated = set()
    for child in element:
        key = child.tag
        value = _element_value(child)
        if key not in values:
            values[key] = value
        elif key in repeated:
            values[key].append(value)
        else:
            values[key] = [values[key], value]
            repeated.add(key)
    return values


def write_json(envelope):
    return orjson.dumps(envelope)


def write_xml(envelope):
    root = etree.Element("response")
    _append_fields(root, envelope)
    return _XML_DECLARATION + etree.tostring(root, encoding="UTF-8")


def _append_fields(parent, mapping):
    for key, value in mapping.items():
        for item in value if isinstance(value, list) else (value,):
            element = etree.SubElement(parent, key)
            if isinstance(item, dict):
                _append_fields(element, item)
            elif isinstance(item, bool):
                element.text = "true" if item else "false"
            elif item is not None and item != "":
                element.text = str(item)


_WRITERS = {JSON: write_json, XML: write_xml}


def render(envelope, status, fmt):
    return Response(_WRITERS[fmt](envelope), status=status, content_type=CONTENT_TYPES[fmt])


def result(record, status, fmt):
    return render({"result": record}, status, fmt)
