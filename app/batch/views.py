"""POST /api/now/v1/batch (MORE_APIS.md §2): negotiate, authenticate,
read and check the whole envelope, then run its requests in order, each
through the service as the caller, one failing never stopping the others."""
from flask import Blueprint, current_app, g, request

from .. import negotiation, serialization
from ..auth import auth
from ..errors import APIError
from ..stand_in.schemas import describe
from . import inner, masking, schemas

bp = Blueprint(masking.BLUEPRINT, __name__, url_prefix="/api/now")
bp.before_request(negotiation.negotiate)


@auth.login_required
def batch():
    if request.environ.get(inner.MARK):
        raise APIError(400, "Invalid batch request", "A batch cannot hold a batch")
    data = negotiation.request_data(request)
    if negotiation.body_format(request.headers.get("Content-Type"))[0] == serialization.XML:
        data = schemas.from_xml(data)
    try:
        wanted = schemas.load(data)
    except schemas.ValidationError as error:
        raise APIError(400, "Invalid batch request", describe(error.messages)) from None
    app = current_app._get_current_object()
    requests = wanted["rest_requests"]
    served = [inner.serve(app, request.environ, item) for item in requests[: schemas.MAX_REQUESTS]]
    unserviced = [item["id"] for item in requests[schemas.MAX_REQUESTS :]]
    envelope = {"batch_request_id": wanted["batch_request_id"], "serviced_requests": served, "unserviced_requests": unserviced}
    return serialization.render(envelope, 200, g.response_format)


for _prefix in ("", "/v1"):
    bp.add_url_rule(f"{_prefix}/batch", f"batch{_prefix.replace('/', '_')}", batch, methods=["POST"], strict_slashes=False, provide_automatic_options=False)
