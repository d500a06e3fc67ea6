"""The Table API's query parameters (§4), read into what the records layer takes."""
from typing import NamedTuple

from ..errors import APIError
from ..records import query as Q
from ..records.store import MAX_LIMIT
from ..records.values import DISPLAY_MODES, View


_LARGEST = 2**63 - 1


class ListParams(NamedTuple):
    query: Q.Query
    view: View
    limit: int
    offset: int
    paginate: bool
    count: bool


def _given(args, name):
    """A parameter's value; an empty one counts as not given."""
    # Looked for first: werkzeug's get of a missing name raises, and catches,
    # a BadRequestKeyError (three times the cost of a read).
    return (args[name] or None) if name in args else None


def flag(args, name):
    """true/false without regard to case, as pysnow sends True/False."""
    return (_given(args, name) or "").lower() == "true"


def _count(args, name, default):
    value = _given(args, name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise APIError(400, f"Invalid value for {name}: {value!r} is not a non-negative integer")
    # Past any table's size, and within what the databases take.
    return min(int(value), _LARGEST)


def view(args):
    """How the records are to be shown: sysparm_fields, display values, links."""
    fields = _given(args, "sysparm_fields")
    display = (_given(args, "sysparm_display_value") or "false").lower()
    return View(
        fields=tuple(name.strip() for name in fields.split(",") if name.strip()) if fields else None,
        display=display if display in DISPLAY_MODES else "false",
        exclude_links=flag(args, "sysparm_exclude_reference_link"),
    )


def query(args):
    """sysparm_query, or else the name=value filters ANDed."""
    text = _given(args, "sysparm_query")
    try:
        if text is not None:
            return Q.parse(text)
        filters = Q.EMPTY
        for name, value in args.items(multi=True):
            if not name.startswith("sysparm_"):
                filters = filters + Q.condition(name, "=", value)
        return filters
    except Q.QueryError as error:
        raise APIError(400, str(error)) from None


def list_params(args):
    no_count = flag(args, "sysparm_no_count")
    return ListParams(
        query=query(args),
        view=view(args),
        limit=min(_count(args, "sysparm_limit", MAX_LIMIT), MAX_LIMIT),
        offset=_count(args, "sysparm_offset", 0),
        paginate=not no_count and not flag(args, "sysparm_suppress_pagination_header"),
        count=not no_count,
    )
