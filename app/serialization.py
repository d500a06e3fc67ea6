"""JSON and XML: a request body read into a dict, an envelope written out.

XML is read with an lxml parser that loads no DTD, expands no entity and
touches no network, and a document that declares a DOCTYPE is refused.
"""
import re
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

# Maps nested deeper than this are refused: nothing real needs it, and the
# JSON writer stops at 254 levels.
MAX_DEPTH = 64

_parser_options = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)
_XML_PARSER = etree.XMLParser(**_parser_options)


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
    except (orjson.JSONDecodeError, UnicodeDecodeError) as error:
        raise UnreadableBody(f"Invalid JSON: {error}") from None


def read_xml(body, charset=None):
    parser = _XML_PARSER if charset is None else etree.XMLParser(encoding=charset, **_parser_options)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise UnreadableBody(f"Invalid XML: {error}") from None
    if root.getroottree().docinfo.doctype:
        raise UnreadableBody("Invalid XML: a DOCTYPE is not allowed")
    if root.tag != "request":
        raise UnreadableBody(f"Invalid XML: the root element must be <request>, not <{root.tag}>")
    entries = [child for child in root if child.tag == "entry"]
    if len(root) == 1 and entries:
        root = entries[0]
    return _element_value(root) if len(root) else {}


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
    """The envelope as an XML document, written as text: building an lxml
    tree for a dozen elements costs several times as much. Anything the text
    writer is not sure to write as lxml would (a name that is not a plain XML
    name, a character XML cannot hold) goes to lxml, which has the last word."""
    parts = ["<response>"]
    try:
        _write_fields(parts, envelope)
    except _NeedsLxml:
        return write_xml_with_lxml(envelope)
    parts.append("</response>")
    return _XML_DECLARATION + "".join(parts).encode("utf-8")


class _NeedsLxml(Exception):
    pass


_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
# What lxml escapes in text (& < > and a carriage return), and what it refuses.
_SPECIAL_TEXT = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _write_fields(parts, mapping):
    for key, value in mapping.items():
        opening, closing, empty = _tags(key)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, dict):
                if item:
                    parts.append(opening)
                    _write_fields(parts, item)
                    parts.append(closing)
                else:
                    parts.append(empty)
            elif isinstance(item, bool):
                parts += (opening, "true" if item else "false", closing)
            elif item is None or item == "":
                parts.append(empty)
            else:
                parts += (opening, _escape(str(item)), closing)


@lru_cache(maxsize=256)
def _tags(name):
    """Opening, closing and empty tag of an element; envelopes use a few
    names over and over."""
    if not _XML_NAME.match(name):
        raise _NeedsLxml
    return f"<{name}>", f"</{name}>", f"<{name}/>"


def _escape(text):
    if not _SPECIAL_TEXT.search(text):
        return text
    if _NOT_XML_TEXT.search(text):
        raise _NeedsLxml
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def write_xml_with_lxml(envelope):
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
