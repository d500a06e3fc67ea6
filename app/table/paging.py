"""The headers of a list answer: X-Total-Count, and Link to its other pages."""
from urllib.parse import parse_qsl, urlencode

_PAGING = ("sysparm_limit", "sysparm_offset")


def _pieces(query_string):
    """The request's query, each parameter URL-encoded once, as (hole, text)
    pieces: sysparm_limit and sysparm_offset are holes (their name in place
    of text) where each first stood, or appended when absent; a repeat of
    either goes."""
    pieces, placed = [], set()
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name in _PAGING:
            if name not in placed:
                placed.add(name)
                pieces.append((name, None))
        else:
            pieces.append((None, urlencode(((name, value),))))
    pieces.extend((name, None) for name in _PAGING if name not in placed)
    return pieces


def _page_url(base_url, pieces, limit, offset):
    """The request's own URL with sysparm_limit and sysparm_offset set."""
    wanted = {"sysparm_limit": limit, "sysparm_offset": offset}
    return base_url + "?" + "&".join(text if hole is None else f"{hole}={wanted[hole]}" for hole, text in pieces)


def link_header(base_url, query_string, limit, offset, total):
    """Link to the first, previous, next and last pages; None when there
    is nothing to page through. The query is read and encoded once for all
    four links."""
    if not total or not limit:
        return None
    links = [("first", 0)]
    if offset > 0:
        links.append(("prev", max(0, offset - limit)))
    if offset + limit < total:
        links.append(("next", offset + limit))
    links.append(("last", (total - 1) // limit * limit))
    pieces = _pieces(query_string)
    return ",".join(f'<{_page_url(base_url, pieces, limit, at)}>;rel="{rel}"' for rel, at in links)
