"""The routes of the Attachment API (MORE_APIS.md §1), unversioned and
under /v1/: negotiate, authenticate, parse, validate, act, render."""
import json

from flask import Blueprint, Response, current_app, g, request, stream_with_context

from .. import negotiation, serialization
from ..auth import auth, current_user
from ..errors import APIError, not_found, render_error
from ..records import attachments
from ..records.errors import QueryError
from ..table import paging, params
from . import spool

bp = Blueprint("attachments", __name__, url_prefix="/api/now")

# Ours: what a multipart body may hold beyond its file (fields, boundaries).
_FORM_ALLOWANCE = spool.MAX_FORM_MEMORY + 64 * 1024
_LIST_LIMIT = 1000
_INVALID_TARGET = "Invalid table or record"


@bp.before_request
def _file_sized_bodies():
    """Files are bounded by ATTACHMENT_MAX_BYTES, not the API's 10 MiB."""
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    # A byte more than a file may have: werkzeug refuses any read past its
    # limit, even one that would find the body ended; the spool counts.
    allowance = _FORM_ALLOWANCE if request.endpoint and "upload" in request.endpoint else 1
    request.max_content_length = limit + allowance
    # A length that says the file is too large: refused before it is read.
    if (request.content_length or 0) > limit + allowance - 1:
        raise spool.too_large(limit)


@bp.before_request
def _negotiate():
    """As every REST route, but a file's download: its answer is the file,
    whatever the client accepts (Accept: image/png); its errors in JSON
    unless XML is asked for."""
    if request.endpoint and request.endpoint.startswith("attachments.download"):
        g.response_format = negotiation.response_format(request.headers.get("Accept")) or serialization.JSON
        return None
    return negotiation.negotiate()


def _base_url():
    return f"{request.scheme}://{request.host}"


def _shown(metadata):
    """The metadata as ServiceNow answers it: every field a string."""
    size = metadata["size_bytes"]
    return {
        **metadata,
        "size_compressed": size,
        "compressed": "false",
        "download_link": f"{_base_url()}/api/now/attachment/{metadata['sys_id']}/file",
        "image_width": "",
        "image_height": "",
        "average_image_color": "",
        "sys_tags": "",
    }


def _metadata(sys_id):
    metadata = attachments.get(sys_id)
    if metadata is None:
        raise not_found()
    return metadata


@auth.login_required
def list_attachments(version):
    wanted = params.list_params(request.args)
    limit = wanted.limit if request.args.get("sysparm_limit") else _LIST_LIMIT
    found, total = attachments.find(wanted.query, current_user(), limit, wanted.offset, wanted.count)
    response = serialization.render({"result": [_shown(m) for m in found]}, 200, g.response_format)
    if total is not None:
        response.headers["X-Total-Count"] = str(total)
    if wanted.paginate:
        link = paging.link_header(request.base_url, request.query_string.decode("latin-1"), limit, wanted.offset, total)
        if link:
            response.headers["Link"] = link
    return response


@auth.login_required
def read_attachment(sys_id, version):
    return serialization.result(_shown(_metadata(sys_id)), 200, g.response_format)


@auth.login_required
def download(sys_id, version):
    metadata = _metadata(sys_id)
    chunks = attachments.chunks(sys_id)
    # The first chunk now: the journal keeps the beginning of the file.
    first = next(chunks, b"")

    def body():
        yield first
        yield from chunks

    response = Response(
        stream_with_context(body()),
        content_type=metadata["content_type"],
        headers={"Content-Length": metadata["size_bytes"], "X-Attachment-Metadata": _header_json(_shown(metadata))},
    )
    response.journal_head = first
    return response


def _header_json(value):
    """JSON fit for a header: ASCII only, a file name's other characters escaped."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def _required(values, name):
    value = values.get(name)
    if not value:
        raise APIError(400, f"Missing parameter: {name}")
    return value


def _stored_text(value, name):
    """A file's name or type as the database keeps it: no NUL, at most 255
    characters, and a type that a header can carry back."""
    if len(value) > 255 or "\x00" in value or (name == "content_type" and not (value.isascii() and value.isprintable())):
        raise APIError(400, f"Invalid {name}", f"{name} must be at most 255 characters, without control characters")
    return value


def _target(values):
    table_name, table_sys_id = _required(values, "table_name"), _required(values, "table_sys_id")
    try:
        attachments.check_target(table_name, table_sys_id)
    except attachments.InvalidTarget:
        raise APIError(400, _INVALID_TARGET) from None
    return table_name, table_sys_id


def _created(table_name, table_sys_id, file_name, content_type, spooled, version):
    user = current_user()
    try:
        metadata = attachments.create(table_name, table_sys_id, file_name, content_type, spooled, user)
    finally:
        spooled.close()
    prefix = "/api/now/v1" if version == 1 else "/api/now"
    shown = {**_shown(metadata), "created_by_name": user.user_name, "updated_by_name": user.user_name}
    response = serialization.result(shown, 201, g.response_format)
    response.headers["Location"] = f"{_base_url()}{prefix}/attachment/{metadata['sys_id']}/file"
    return response


class _JournaledBody:
    """The request's stream, read by the view; on the way out, the request
    keeps its beginning as the copy the journal records (as of any body a
    view reads whole)."""

    def __enter__(self):
        self.stream = spool.Head(request.stream, current_app.config["JOURNAL_BODY_LIMIT"] + 1)
        return self.stream

    def __exit__(self, *exc_info):
        request._cached_data = bytes(self.stream.head)


@auth.login_required
def upload_file(version):
    table_name, table_sys_id = _target(request.args)
    file_name = _stored_text(_required(request.args, "file_name"), "file_name")
    content_type = request.headers.get("Content-Type")
    if not content_type:
        raise APIError(400, "Missing header: Content-Type", "The Content-Type of the file is required")
    _stored_text(content_type, "content_type")
    with _JournaledBody() as stream:
        spooled = spool.raw(stream, current_app.config["ATTACHMENT_MAX_BYTES"])
    return _created(table_name, table_sys_id, file_name, content_type, spooled, version)


@auth.login_required
def upload_multipart(version):
    with _JournaledBody() as stream:
        form, file = spool.multipart(stream, request.headers.get("Content-Type", ""), request.content_length, current_app.config["ATTACHMENT_MAX_BYTES"])
    try:
        table_name, table_sys_id = _target(form)
        if file is None:
            raise APIError(400, "Missing file part", "The multipart body holds no file")
        file_name = _stored_text(file.filename or _required(form, "file_name"), "file_name")
        content_type = _stored_text(file.content_type or "application/octet-stream", "content_type")
    except APIError:
        if file is not None:
            file.close()
        raise
    return _created(table_name, table_sys_id, file_name, content_type, file.stream, version)


@auth.login_required
def delete_attachment(sys_id, version):
    if not attachments.delete(sys_id):
        raise not_found()
    return Response(status=204)


_ROUTE = dict(strict_slashes=False, provide_automatic_options=False)
for _prefix, _version in (("", 2), ("/v1", 1)):
    _base = f"{_prefix}/attachment"
    _defaults = {"version": _version}
    _name = f"v{_version}"
    bp.add_url_rule(_base, f"list_{_name}", list_attachments, methods=["GET"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(f"{_base}/file", f"file_{_name}", upload_file, methods=["POST"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(f"{_base}/upload", f"upload_{_name}", upload_multipart, methods=["POST"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(f"{_base}/<sys_id>", f"read_{_name}", read_attachment, methods=["GET"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(f"{_base}/<sys_id>", f"delete_{_name}", delete_attachment, methods=["DELETE"], defaults=_defaults, **_ROUTE)
    bp.add_url_rule(f"{_base}/<sys_id>/file", f"download_{_name}", download, methods=["GET"], defaults=_defaults, **_ROUTE)


@bp.errorhandler(QueryError)
def bad_query(error):
    return render_error(APIError(400, str(error)))
