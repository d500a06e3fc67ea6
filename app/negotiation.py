"""Which format a request body is in (Content-Type) and which format the
client wants back (Accept).

Both answers depend on a header alone, and clients send the same few headers
again and again, so each is worked out once per distinct header value.
"""
import codecs
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_accept_header, parse_options_header

from . import errors, serialization
from .serialization import JSON, XML

# The media types read and written, in order of preference when the client
# likes several equally.
_MEDIA_TYPES = {"application/json": JSON, "application/xml": XML, "text/xml": XML}
_OFFERED = tuple(_MEDIA_TYPES)


@lru_cache(maxsize=256)
def response_format(accept):
    """JSON or XML as the Accept header asks, q-values honoured; None when
    the client accepts neither."""
    ranges = parse_accept_header(accept, MIMEAccept)
    if not ranges:
        # No header, or one naming no media range at all: the default.
        return JSON
    # Clients add parameters such as charset=utf-8 that say nothing about the
    # format; werkzeug would let them rule a range out.
    ranges = MIMEAccept([(value.partition(";")[0].strip(), quality) for value, quality in ranges])
    return _MEDIA_TYPES.get(ranges.best_match(_OFFERED))


def require_response_format(accept):
    fmt = response_format(accept)
    if fmt is None:
        raise errors.APIError(
            406,
            "Requested response format is not supported",
            "Supported formats: " + ", ".join(_OFFERED),
        )
    return fmt


@lru_cache(maxsize=256)
def body_format(content_type):
    """(format, charset) of a request body from its Content-Type; JSON when
    none is given, as on ServiceNow."""
    if not content_type:
        return JSON, None
    mimetype, options = parse_options_header(content_type)
    fmt = _MEDIA_TYPES.get(mimetype.lower())
    if fmt is None:
        raise errors.APIError(
            415,
            "Unsupported Media Type",
            f"Content-Type {mimetype or content_type!r} is not supported; "
            "use application/json, application/xml or text/xml",
        )
    charset = options.get("charset")
    if charset is not None:
        charset = _readable_charset(charset, fmt)
    return fmt, charset


def _readable_charset(name, fmt):
    """The codec name of a charset the body can be read in; None for a JSON
    body in UTF-8, which orjson reads as it is."""
    try:
        charset = codecs.lookup(name).name
        # Python also has codecs that are no text encoding (rot13, base64, zlib).
        "".encode(charset)
        # Not for XML: the Content-Type's charset wins over the document's
        # declaration (RFC 7303), UTF-8 as much as any other.
        if charset == "utf-8" and fmt == JSON:
            return None
        if fmt == XML:
            serialization.xml_parser(charset)
    except (LookupError, ValueError):
        # Unknown, or known to Python but unusable here (charset=undefined).
        raise errors.APIError(415, "Unsupported Media Type", f"Unknown charset {name!r}") from None
    return charset


def request_body(request):
    """The request body's bytes; RequestEntityTooLarge over the limit, the
    request then marked `body_cut_at_limit`. Kept with the request, where
    the request journal finds it."""
    body = request.get_data()
    # A streamed body (chunked, no Content-Length) is cut at the limit
    # without an error: one byte more means it was over.
    if request.content_length is None and len(body) == request.max_content_length and request.input_stream.read(1):
        request.body_cut_at_limit = True
        raise RequestEntityTooLarge()
    return body


def request_data(request):
    """The request body read by its Content-Type into a dict of fields."""
    fmt, charset = body_format(request.headers.get("Content-Type"))
    body = request_body(request)
    try:
        return serialization.read(body, fmt, charset)
    except serialization.UnreadableBody as error:
        raise errors.APIError(400, "Exception while reading request", str(error)) from None


def negotiate():
    """Before a route of the REST APIs: the response format (406 when none
    is acceptable) and the body's size, refused before it is read, also on
    routes that ignore the body."""
    req = request._get_current_object()
    g._get_current_object().response_format = require_response_format(req.headers.get("Accept"))
    # A request without a body (most reads) need not look up the limit.
    length = req.content_length
    if length and length > req.max_content_length:
        raise RequestEntityTooLarge()
