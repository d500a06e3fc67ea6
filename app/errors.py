"""The API's error type, and the handlers that answer every failure with
ServiceNow's error envelope in the format the client asked for."""
import logging

from flask import g, request
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from . import negotiation, serialization

log = logging.getLogger(__name__)


class APIError(Exception):
    def __init__(self, status, message, detail=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers


NO_RESOURCE = "Requested URI does not represent any resource"


def not_found():
    return APIError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def render_error(error):
    fmt = negotiation.response_format(request.headers.get("Accept")) or serialization.JSON
    # Messages echo client input (a table name, a path, a parameter), which
    # may hold control characters that XML cannot carry: every message is
    # made writable here, once, in both formats alike.
    detail = None if error.detail is None else serialization.printable(error.detail)
    envelope = {"error": {"message": serialization.printable(error.message), "detail": detail}, "status": "failure"}
    response = serialization.render(envelope, error.status, fmt)
    if error.headers:
        response.headers.update(error.headers)
    return response


def _from_http_exception(exc):
    if exc.code == 404:
        if request.path.startswith("/api/"):
            return APIError(400, NO_RESOURCE)
        return APIError(404, "Not Found", f"{request.path} is not a resource of this service")
    if exc.code == 405:
        return APIError(
            405,
            "Method not Supported",
            f"{request.method} method not supported for API",
            {"Allow": ", ".join(exc.valid_methods or ())},
        )
    if exc.code == 413:
        length = request.content_length
        limit = request.max_content_length
        # A streamed body has no length to quote: it was cut at the limit.
        size = f"content-length = {length} bytes" if length is not None else f"more than {limit} bytes, streamed"
        return APIError(
            413,
            "Exception while reading request",
            f"Rejected large REST payload with {size}. Max allowed: {limit} bytes.",
        )
    return APIError(exc.code, exc.name, exc.description)


def handle_http_exception(exc):
    return render_error(_from_http_exception(exc))


def handle_unexpected(exc):
    transaction_id = g.get("transaction_id", "-")
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.error("transaction %s: database unavailable: %s", transaction_id, exc, exc_info=exc)
        return render_error(APIError(503, "Service Unavailable", f"The database is unavailable; transaction {transaction_id}"))
    log.exception("transaction %s: unexpected error", transaction_id)
    return render_error(APIError(500, "Internal server error", f"transaction {transaction_id}"))


def init_app(app):
    app.register_error_handler(APIError, render_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
