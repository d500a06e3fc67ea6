"""The Aggregate API's parameters (MORE_APIS.md §3), read into what the
records layer computes."""
import math

from ..errors import APIError
from ..records.aggregates import FUNCTIONS, HAVING_OPERATORS, Asked
from ..table.params import flag, query

_ALL_FUNCTIONS = ("count", *FUNCTIONS)
_INT64 = 2**63


def _names(args, name):
    return tuple(part.strip() for part in (args.get(name) or "").split(",") if part.strip())


def _number(text):
    """An integer the databases take, else a finite float; ValueError else."""
    try:
        number = int(text)
        if -_INT64 <= number < _INT64:
            return number
    except ValueError:
        pass
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _having(text):
    """count^state^>^5: the aggregate, its field, an operator, a number."""
    parts = text.split("^")
    if len(parts) != 4 or parts[0].lower() not in _ALL_FUNCTIONS or parts[2] not in HAVING_OPERATORS:
        raise APIError(400, f"Invalid value for sysparm_having: {text!r} is not <aggregate>^<field>^<operator>^<number>")
    try:
        number = _number(parts[3])
    except ValueError:
        raise APIError(400, f"Invalid value for sysparm_having: {parts[3]!r} is not a number") from None
    return parts[0].lower(), parts[1], parts[2], number


def _ordering(text):
    """A group-by field or <aggregate>^<field> (count alone), ^DESC after
    either; None for what is neither."""
    parts = text.split("^")
    descending = len(parts) > 1 and parts[-1].upper() == "DESC"
    if descending:
        parts = parts[:-1]
    if len(parts) == 1 and parts[0].lower() == "count":
        return "count", None, descending
    if len(parts) == 1:
        return None, parts[0], descending
    if len(parts) == 2 and parts[0].lower() in _ALL_FUNCTIONS:
        return parts[0].lower(), parts[1], descending
    return None


def asked(args):
    return Asked(
        count=flag(args, "sysparm_count"),
        fields={function: _names(args, f"sysparm_{function}_fields") for function in FUNCTIONS},
        group_by=_names(args, "sysparm_group_by"),
        having=tuple(_having(text) for text in _names(args, "sysparm_having")),
        order_by=tuple(filter(None, map(_ordering, _names(args, "sysparm_order_by")))),
        display=(args.get("sysparm_display_value") or "").lower() in ("true", "all"),
    )


__all__ = ["asked", "query"]
