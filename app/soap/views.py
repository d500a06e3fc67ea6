"""/{table}.do: the WSDL on GET ?WSDL, a SOAP call on POST ?SOAP
(SOAP.md §1), for every table served. An unknown table's *.do is the app's 404."""
import logging

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import errors, negotiation
from ..auth import StrictBasicAuth, verify_password
from ..records.catalog import UnknownTable, lookup
from . import envelope, wsdl
from .envelope import CLIENT, SERVER, Fault
from .operations import OPERATIONS

log = logging.getLogger(__name__)

bp = Blueprint("soap", __name__)

# Perl's clients send credentials only once challenged; the challenge is
# a bare 401, neither a SOAP fault nor the REST APIs' envelope.
soap_auth = StrictBasicAuth(scheme="Basic", realm="Service-now")
soap_auth.verify_password(verify_password)


@soap_auth.error_handler
def authentication_failed(status):
    return Response(status=status)


WSDL_CONTENT_TYPE = "text/xml"
SOAP_CONTENT_TYPE = "text/xml;charset=UTF-8"


def _keys():
    """The query string's keys, without regard to case; ?WSDL is a key."""
    return {key.lower(): value for key, value in request.args.items()}


def _display(keys):
    display = keys.get("displayvalue", "").lower()
    return display if display in ("true", "all") else "false"


@bp.before_request
def refuse_large_bodies():
    if (request.content_length or 0) > request.max_content_length:
        raise RequestEntityTooLarge()


@bp.route("/<table_name>.do", methods=["GET", "POST"], provide_automatic_options=False)
@soap_auth.login_required
def table_service(table_name):
    try:
        table = lookup(table_name)
    except UnknownTable:
        raise NotFound() from None
    keys = _keys()
    if request.method in ("GET", "HEAD") and "wsdl" in keys:
        return Response(wsdl.document(table, request.host_url.rstrip("/"), _display(keys)), content_type=WSDL_CONTENT_TYPE)
    if request.method == "POST" and "soap" in keys:
        return _call(table, _display(keys))
    # GET and POST both serve, each with its own key.
    raise MethodNotAllowed(valid_methods=["GET", "POST"])


def _call(table, display):
    call = envelope.read(negotiation.request_body(request))
    operation = OPERATIONS.get(call.operation)
    if operation is None:
        raise Fault(CLIENT, f"Unsupported action: {call.operation}")
    body = envelope.response(wsdl.namespace(table), call.operation, operation(table, call.values, display))
    return Response(body, content_type=SOAP_CONTENT_TYPE)


@bp.errorhandler(Fault)
def fault(error):
    return Response(envelope.fault(error), status=error.status, content_type=SOAP_CONTENT_TYPE)


def injected_fault(error):
    """An error a fault rule injects (errors.APIError), as a SOAP fault:
    Client below 500, Server from it, with the rule's status and headers."""
    code = CLIENT if error.status < 500 else SERVER
    response = fault(Fault(code, error.message, error.detail, status=error.status))
    if error.headers:
        response.headers.update(error.headers)
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    limit = request.max_content_length
    return fault(Fault(CLIENT, f"{envelope.UNPARSABLE}: the body is over {limit} bytes", status=413))


@bp.errorhandler(Exception)
def unexpected(error):
    if isinstance(error, HTTPException):
        return errors.handle_http_exception(error)
    transaction_id = g.get("transaction_id", "-")
    log.exception("transaction %s: unexpected error in a SOAP call", transaction_id)
    return fault(Fault(SERVER, "Internal server error", f"transaction {transaction_id}"))
