"""What the request journal keeps of the token endpoints (OAUTH.md §4):
the form with its secrets' values as ***, and answers with their tokens
as ***. Applied to a whole body before the journal cuts it to its limit,
so that no part of a secret survives a cut."""
from urllib.parse import unquote_plus

import orjson

MASK = b"***"
SECRET_FIELDS = frozenset(("password", "client_secret", "refresh_token", "token", "access_token"))
SECRET_ANSWERS = ("access_token", "refresh_token")
FORM = "application/x-www-form-urlencoded"


def form(data):
    """A form (bytes) with each secret field's value as ***."""
    fields = []
    for field in data.split(b"&"):
        name, equals, _ = field.partition(b"=")
        if equals and unquote_plus(name.decode("latin-1")) in SECRET_FIELDS:
            field = name + equals + MASK
        fields.append(field)
    return b"&".join(fields)


def request_body(data, content_type):
    """A form is kept masked; any other body, which the endpoint refuses,
    is kept as *** whole: a secret may be anywhere in it."""
    if not data:
        return data
    return form(data) if (content_type or "").split(";")[0].strip().lower() == FORM else MASK


def answer(data):
    """A token endpoint's JSON answer with its tokens as ***."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        return data
    if not isinstance(body, dict):
        return data
    for name in SECRET_ANSWERS:
        if name in body:
            body[name] = "***"
    return orjson.dumps(body)
