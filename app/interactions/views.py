"""The routes. Each reads like ServiceNow's page for it: negotiate,
authenticate, parse, validate, act, render."""
from flask import Blueprint, g, request

from .. import negotiation, serialization
from ..auth import auth, current_user
from . import schemas, service

bp = Blueprint("interactions", __name__, url_prefix="/api/now")

# Only POST: anything else is a 405 naming it, OPTIONS included.
POST_ONLY = dict(methods=["POST"], strict_slashes=False, provide_automatic_options=False)

bp.before_request(negotiation.negotiate)


@bp.route("/interaction", **POST_ONLY)
@bp.route("/v1/interaction", **POST_ONLY)
@auth.login_required
def create_interaction():
    # The proxy resolved once: each read through it costs eight times the read.
    fields = schemas.load(negotiation.request_data(request._get_current_object()))
    if "sys_id" in fields:
        record = service.update(fields, current_user())
    else:
        record = service.create(fields, current_user())
    return serialization.result(record, 201, g._get_current_object().response_format)


@bp.route("/interaction/<interaction_id>/close", **POST_ONLY)
@bp.route("/v1/interaction/<interaction_id>/close", **POST_ONLY)
@auth.login_required
def close_interaction(interaction_id):
    record = service.close(interaction_id, current_user())
    return serialization.result(record, 200, g._get_current_object().response_format)
