"""A record as ServiceNow writes it: every value a string, dates in UTC,
references as links, display values false, true or all."""
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from . import fields as F
from .query import Column

DISPLAY_MODES = ("false", "true", "all")


class View(NamedTuple):
    """How a client asked to see records."""

    # sysparm_fields: the names asked for, or None for every field.
    fields: tuple | None = None
    display: str = "false"
    exclude_links: bool = False


def _string(value):
    return "" if value is None else value


def _datetime(value):
    if value is None:
        return ""
    # SQLite hands back the stored text, PostgreSQL a datetime.
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value[:19]


def _boolean(value):
    return "" if value is None else ("true" if value else "false")


def _integer(value):
    return "" if value is None else str(value)


# How a stored value of each kind is written: a string, "" when unset.
TEXT = {F.DATETIME: _datetime, F.BOOLEAN: _boolean, F.INTEGER: _integer}


class Projection:
    """Which columns a view of a table needs, and how a row of them is shown.

    Built once per (table, view) and kept: rendering a row is then a walk
    over a list of small functions, each bound to its column and converter
    when built (a page of 100 records with display values runs 2,000 of them).
    """

    def __init__(self, table, view):
        self.table = table
        self.columns = []
        self._renderers = []
        names = view.fields if view.fields is not None else tuple(f.name for f in table.fields)
        seen = set()
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            renderer = self._renderer(name, view)
            if renderer is not None:
                self._renderers.append((name, renderer))
        self.columns = tuple(self.columns)

    def _index(self, column):
        if column not in self.columns:
            self.columns.append(column)
        return self.columns.index(column)

    def _renderer(self, name, view):
        through, dot, field_name = name.rpartition(".")
        if dot:
            reference = self.table.field(through)
            if reference is None or reference.kind != F.REFERENCE:
                return None
            target = F.TABLES[reference.reference].field(field_name)
            if target is None:
                return None
            return _plain(self._index(Column(field_name, through)), TEXT.get(target.kind, _string), view.display == "all")
        field = self.table.field(name)
        if field is None:
            return None
        index = self._index(Column(name))
        if field.kind == F.REFERENCE:
            target = F.TABLES[field.reference]
            shown = self._index(Column(target.display_field, name)) if view.display != "false" else None
            return _reference(index, shown, f"/api/now/table/{target.name}/", view)
        convert = TEXT.get(field.kind, _string)
        if view.display == "false" or not field.choices:
            return _plain(index, convert, view.display == "all")
        return _choice(index, convert, field.choices, view.display == "all")

    def render(self, row, base_url):
        """A row of `self.columns` as a dict of the names asked for."""
        return {name: renderer(row, base_url) for name, renderer in self._renderers}


def _plain(index, convert, both):
    """A value whose display value is itself."""
    if both:

        def render(row, base):
            value = convert(row[index])
            return {"display_value": value, "value": value}

        return render
    return lambda row, base: convert(row[index])


def _choice(index, convert, labels, both):
    """A choice shown by its label; a value with no label as itself."""
    if both:

        def render(row, base):
            value = convert(row[index])
            return {"display_value": labels.get(value, value), "value": value}

        return render

    def label(row, base):
        value = convert(row[index])
        return labels.get(value, value)

    return label


def _reference(index, shown, path, view):
    links = not view.exclude_links

    def render(row, base):
        value = row[index] or ""
        if view.display == "false":
            return {"link": base + path + value, "value": value} if links and value else value
        display = (row[shown] or "") if value else ""
        if view.display == "true":
            return {"display_value": display, "link": base + path + value} if links and value else display
        if links and value:
            return {"display_value": display, "link": base + path + value, "value": value}
        return {"display_value": display, "value": value}

    return render


@lru_cache(maxsize=256)
def projection(table_name, view):
    return Projection(F.TABLES[table_name], view)

