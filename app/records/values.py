"""A record as ServiceNow writes it: every value a string, dates in UTC,
references as links, display values false, true or all."""
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from . import catalog as C
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
TEXT = {C.DATETIME: _datetime, C.BOOLEAN: _boolean, C.INTEGER: _integer}


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
        # (sys_id column, table column) of each document_id whose display
        # value is shown: looked up per page (see with_documents).
        self.documents = []
        self._view = view
        names = view.fields if view.fields is not None else tuple(f.name for f in table.shown_fields)
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
            if reference is None or reference.kind != C.REFERENCE:
                return None
            target = C.table(reference.reference).field(field_name)
            if target is None or target.write_only:
                return None
            return _plain(self._index(Column(field_name, through)), TEXT.get(target.kind, _string), view.display == "all")
        field = self.table.field(name)
        if field is None or field.write_only:
            return None
        index = self._index(Column(name))
        if field.kind == C.REFERENCE:
            target = C.table(field.reference)
            shown = self._index(Column(target.display_field, name)) if view.display != "false" else None
            return _reference(index, shown, f"/api/now/table/{target.name}/", view)
        if field.kind == C.DOCUMENT_ID:
            table_index = self._index(Column(field.table_field))
            shown = None
            if view.display != "false":
                self.documents.append((index, table_index))
                # Past the columns: with_documents appends the display values.
                shown = -len(self.documents)
            return _document(index, table_index, shown, view)
        convert = TEXT.get(field.kind, _string)
        if view.display == "false" or not field.choices:
            return _plain(index, convert, view.display == "all")
        return _choice(index, convert, field.choices, view.display == "all")

    def render(self, row, base_url):
        """A row of `self.columns` as a dict of the names asked for."""
        return {name: renderer(row, base_url) for name, renderer in self._renderers}

    def with_documents(self, rows):
        """The rows, each followed by the display values of its document_ids
        (in reverse order, as their renderers index them from the end): one
        query per table the page's documents are in."""
        if not self.documents:
            return rows
        shown = {}
        wanted = {}
        for row in rows:
            for index, table_index in self.documents:
                if row[index] and row[table_index]:
                    wanted.setdefault(row[table_index], set()).add(row[index])
        for name, sys_ids in wanted.items():
            target = C.known(name)
            if target is None:
                continue
            model = target.model
            display = getattr(model, target.display_field)
            convert = TEXT.get(target.field(target.display_field).kind, _string)
            for sys_id, value in model.select(model.sys_id, display).where(model.sys_id.in_(sorted(sys_ids))).tuples():
                shown[(name, sys_id)] = convert(value)
        return [
            (*row, *(shown.get((row[t], row[i]), "") for i, t in reversed(self.documents)))
            for row in rows
        ]


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


def _document(index, table_index, shown, view):
    """A document_id: a reference to the table its table_name field names."""
    links = not view.exclude_links

    def render(row, base):
        value = row[index] or ""
        link = f"{base}/api/now/table/{row[table_index]}/{value}" if links and value and row[table_index] else None
        if view.display == "false":
            return {"link": link, "value": value} if link else value
        display = row[shown] if value else ""
        if view.display == "true":
            return {"display_value": display, "link": link} if link else display
        if link:
            return {"display_value": display, "link": link, "value": value}
        return {"display_value": display, "value": value}

    return render


@lru_cache(maxsize=256)
def projection(table, view):
    return Projection(table, view)


# A table declared again is a new Table, and a table a reference points at
# may have changed: nothing built from the old ones stays.
C.on_change(projection.cache_clear)

