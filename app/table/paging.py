"""The headers of a list answer: X-Total-Count, and Link to its other pages."""
from urllib.parse import parse_qsl, urlencode


def page_url(base_url, query_string, limit, offset):
    """The request's own URL with sysparm_limit and sysparm_offset set in
    place, or appended when absent."""
    wanted = {"sysparm_limit": str(limit), "sysparm_offset": str(offset)}
    pairs = []
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name in wanted:
            if wanted[name] is None:
                continue  # given twice: set once, where it first stood
            value, wanted[name] = wanted[name], None
        pairs.append((name, value))
    pairs.extend((name, value) for name, value in wanted.items() if value is not None)
    return f"{base_url}?{urlencode(pairs)}"


def link_header(base_url, query_string, limit, offset, total):
    """Link to the first, previous, next and last pages; None when there
    is nothing to page through."""
    if not total or not limit:
        return None
    links = [("first", 0)]
    if offset > 0:
        links.append(("prev", max(0, offset - limit)))
    if offset + limit < total:
        links.append(("next", offset + limit))
    links.append(("last", (total - 1) // limit * limit))
    return ",".join(f'<{page_url(base_url, query_string, limit, at)}>;rel="{rel}"' for rel, at in links)
