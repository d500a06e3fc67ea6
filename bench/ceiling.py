"""The ceiling: a bare WSGI app that reads the body and answers a fixed 201
JSON envelope. No Python service behind the same gunicorn can beat it, so
the service's figures are given as a share of its rate."""

_BODY = b'{"result":{"status":"created"}}'
_HEADERS = [
    ("Content-Type", "application/json;charset=UTF-8"),
    ("Content-Length", str(len(_BODY))),
]


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("201 Created", _HEADERS)
    return [_BODY]
