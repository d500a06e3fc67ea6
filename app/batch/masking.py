"""What the request journal keeps of a batch's envelope: its inner
requests with their credentials masked as the journal masks any request's,
a header's value by `header(name, value)` and a body (base64 in the
envelope) by `body(bytes)`. An envelope with nothing to mask is kept as it
came; one that cannot be read is kept as *** whole, as a secret may be
anywhere in it."""
import base64
import binascii

import orjson
from lxml import etree

from .. import serialization

BLUEPRINT = "batch"
MASK = b"***"


def envelope(data, content_type, header, body):
    if not data:
        return data
    fmt = serialization.XML if serialization.XML in (content_type or "").lower() else serialization.JSON
    try:
        return _xml(data, header, body) if fmt == serialization.XML else _json(data, header, body)
    except (orjson.JSONDecodeError, etree.XMLSyntaxError, LookupError, ValueError):
        return MASK


def _masked_body(text, body):
    try:
        # Leniently, as a reader of the journal may: a body the batch
        # refuses for a stray character may still hold a password.
        data = base64.b64decode(text)
    except (binascii.Error, ValueError):
        # No base64 at all: its words kept as they came.
        return text
    masked = body(data)
    return text if masked == data else base64.b64encode(masked).decode("ascii")


def _json(data, header, body):
    document = orjson.loads(data)
    changed = False
    requests = document.get("rest_requests") if isinstance(document, dict) else None
    for request in requests if isinstance(requests, list) else ():
        if not isinstance(request, dict):
            continue
        headers = request.get("headers")
        for each in headers if isinstance(headers, list) else ():
            if isinstance(each, dict) and isinstance(each.get("name"), str) and isinstance(each.get("value"), str):
                masked = header(each["name"], each["value"])
                changed |= masked != each["value"]
                each["value"] = masked
        if isinstance(request.get("body"), str):
            masked = _masked_body(request["body"], body)
            changed |= masked != request["body"]
            request["body"] = masked
    return orjson.dumps(document) if changed else data


def _xml(data, header, body):
    root = etree.fromstring(data, serialization.xml_parser())
    changed = False
    for each in root.iter("headers"):
        name, value = each.find("name"), each.find("value")
        if name is not None and value is not None and name.text and value.text:
            masked = header(name.text, value.text)
            changed |= masked != value.text
            value.text = masked
    for element in root.iter("body"):
        if element.text:
            masked = _masked_body(element.text, body)
            changed |= masked != element.text
            element.text = masked
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True) if changed else data
