"""One inner request of a batch, run as a WSGI call to the service itself:
the caller's credentials, the inner request's own method, URL, headers and
body. Every hook a request meets on the wire (negotiation, authentication,
validation, fault rules, the journal) meets it here too, by construction.
"""
import base64
import io
import time
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from .. import negotiation, serialization

MiB = 1024 * 1024
# As ServiceNow documents for the Batch API (in MiB here, as the service's
# own 10 MiB body limit is).
MAX_BODY = 5 * MiB
MAX_ANSWER = 10 * MiB
METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE"))
# Marks an inner request's environ, so a batch inside a batch is refused.
MARK = "stand_in.batch.inner"

# What the inner request keeps of the batch's own environ: the server, the
# connection, and the caller's credentials (an inner request runs as the
# batch's caller, whatever Authorization it names).
_KEPT = (
    "wsgi.version",
    "wsgi.url_scheme",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "HTTP_HOST",
    "HTTP_AUTHORIZATION",
)
# Headers an inner request cannot set: the ones above, and the framing of
# its body, which is the item's `body`.
_IGNORED = frozenset(("HTTP_HOST", "HTTP_AUTHORIZATION", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"))


def _latin1(text):
    """WSGI carries headers as latin-1 strings; other text as its UTF-8
    bytes, as a server would hand them on."""
    return text.encode("utf-8").decode("latin-1")


def _environ(outer, item):
    environ = {key: outer[key] for key in _KEPT if key in outer}
    path, _, query = item["url"].partition("?")
    body = item["body"]
    environ.update(
        {
            "REQUEST_METHOD": item["method"],
            # The path as a server decodes it: %-escapes undone, bytes as latin-1.
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": _latin1(query),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            MARK: True,
        }
    )
    for header in item["headers"]:
        name = header["name"].strip().upper().replace("-", "_")
        key = "CONTENT_TYPE" if name == "CONTENT_TYPE" else f"HTTP_{name}"
        if key in _IGNORED:
            continue
        value = _latin1(header["value"])
        environ[key] = f"{environ[key]},{value}" if key in environ and key != "CONTENT_TYPE" else value
    return environ


def _refused(status, message, detail, headers):
    """An item answered without running it, in the format it asked for."""
    accept = next((h["value"] for h in headers if h["name"].strip().lower() == "accept"), None)
    fmt = negotiation.response_format(accept) or serialization.JSON
    envelope = {"error": {"message": message, "detail": detail}, "status": "failure"}
    body = serialization.render(envelope, status, fmt).get_data()
    return status, [("Content-Type", serialization.CONTENT_TYPES[fmt])], body


def _run(app, environ):
    """(status, headers, body) of the app's answer; a 500 when the answer
    is over MAX_ANSWER (its work is done: only the answer is lost)."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers
        return chunks.append

    chunks = []
    size = 0
    # An app context of its own: `g` and the database connection's
    # teardown belong to the inner request, not to the batch around it.
    with app.app_context():
        iterable = app.wsgi_app(environ, start_response)
        try:
            for chunk in iterable:
                size += len(chunk)
                if size > MAX_ANSWER:
                    break
                chunks.append(chunk)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
    if size > MAX_ANSWER:
        return _refused(500, "Internal server error", f"The answer is over {MAX_ANSWER} bytes, the Batch API's limit", [])
    return int(answer["status"].split(" ", 1)[0]), answer["headers"], b"".join(chunks)


def serve(app, outer_environ, item):
    """One serviced request of the batch's answer (its body base64)."""
    started = time.perf_counter()
    method = item["method"].upper()
    path = unquote_to_bytes(item["url"].partition("?")[0]).decode("latin-1")
    if method not in METHODS:
        status, headers, body = _refused(405, "Method not Supported", f"{serialization.printable(method)} method not supported for API", item["headers"])
    elif not path.startswith("/api/now/"):
        status, headers, body = _refused(400, "Invalid batch request", "An inner request's url must be a path under /api/now/", item["headers"])
    elif len(item["body"]) > MAX_BODY:
        status, headers, body = _refused(
            413, "Exception while reading request", f"Rejected large REST payload of {len(item['body'])} bytes. Max allowed: {MAX_BODY} bytes.", item["headers"]
        )
    else:
        status, headers, body = _run(app, _environ(outer_environ, {**item, "method": method}))
    return {
        "id": item["id"],
        "body": base64.b64encode(body).decode("ascii"),
        "status_code": status,
        "status_text": _phrase(status),
        "headers": [] if item["exclude_response_headers"] else [{"name": name, "value": value} for name, value in headers],
        "execution_time": round((time.perf_counter() - started) * 1000),
    }


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
