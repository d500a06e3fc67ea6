"""Bodies made readable: JSON indented, XML indented with lxml. A body that
is neither (or is cut short by the journal's limit) is shown as it is."""
import orjson
from lxml import etree

from ... import serialization


def json_text(value):
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def body(text, content_type=""):
    """`text` indented when it is the JSON or XML its content type says (or,
    with none, its first character suggests); else unchanged."""
    if not text:
        return text
    content_type = (content_type or "").lower()
    start = text.lstrip()[:1]
    if "json" in content_type or (not content_type and start in "{["):
        return _json(text)
    if "xml" in content_type or (not content_type and start == "<"):
        return _xml(text)
    return text


def _json(text):
    try:
        return json_text(orjson.loads(text))
    except orjson.JSONDecodeError:
        return text


def _xml(text):
    try:
        # The service's hardened parser (no DTD, entity or file is loaded),
        # keeping the comments and processing instructions that were sent.
        parser = serialization.xml_parser(keep_comments=True)
        root = etree.fromstring(text.encode("utf-8", "surrogateescape"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return text
    if root.getroottree().docinfo.doctype:
        # Written out again it would lose its DOCTYPE: show what was sent.
        return text
    # Whitespace between elements would keep lxml from indenting.
    for element in root.iter():
        if element.text is not None and not element.text.strip() and len(element):
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    # The tree, not the root alone: with the comments and instructions around it.
    return etree.tostring(root.getroottree(), pretty_print=True, encoding="unicode").rstrip("\n")
