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


def text(value, kind):
    """A stored value as ServiceNow writes it; "" when unset."""
    if value is None:
        return ""
    if kind == F.DATETIME:
        # SQLite hands back the stored text, PostgreSQL a datetime.
        return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value[:19]
    if kind == F.BOOLEAN:
        return "true" if value else "false"
    if kind == F.INTEGER:
        return str(value)
    return value


class Projection:
    """Which columns a view of a table needs, and how a row of them is shown.

    Built once per (table, view) and kept: rendering a row is then a walk
    over a list of small functions.
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
            return _walked(self._index(Column(field_name, through)), target.kind, view.display == "all")
        field = self.table.field(name)
        if field is None:
            return None
        index = self._index(Column(name))
        if field.kind == F.REFERENCE:
            target = F.TABLES[field.reference]
            shown = self._index(Column(target.display_field, name)) if view.display != "false" else None
            return _reference(index, shown, f"/api/now/table/{target.name}/", view)
        if view.display == "false":
            return lambda row, base: text(row[index], field.kind)
        if field.kind == F.CHOICE:
            labels = field.choices
            display = lambda value: labels.get(value, value)  # noqa: E731
        else:
            display = lambda value: value  # noqa: E731
        if view.display == "true":
            return lambda row, base: display(text(row[index], field.kind))

        def both(row, base):
            value = text(row[index], field.kind)
            return {"display_value": display(value), "value": value}

        return both

    def render(self, row, base_url):
        """A row of `self.columns` as a dict of the names asked for."""
        return {name: renderer(row, base_url) for name, renderer in self._renderers}


def _walked(index, kind, both):
    if both:

        def render(row, base):
            value = text(row[index], kind)
            return {"display_value": value, "value": value}

        return render
    return lambda row, base: text(row[index], kind)


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

