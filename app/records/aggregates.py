"""Counts, averages, minimums, maximums and sums of a table's records,
grouped, filtered by HAVING and ordered: one SQL statement (the Aggregate
API). Unknown fields are dropped, as in queries; an aggregate of a field
that is not numeric is a QueryError naming it."""
from typing import NamedTuple

from peewee import SQL, Expression, fn

from ..db import Compiled, database
from . import catalog as C
from . import query as Q
from .errors import QueryError
from .values import TEXT

FUNCTIONS = ("avg", "min", "max", "sum")
HAVING_OPERATORS = ("=", "!=", ">", ">=", "<", "<=")


class Asked(NamedTuple):
    """What to compute: `fields` maps each of FUNCTIONS to field names;
    `having` holds (function, field, operator, number); `order_by` holds
    (function or None, field or None, descending)."""

    count: bool = False
    fields: dict = {}
    group_by: tuple = ()
    having: tuple = ()
    order_by: tuple = ()
    display: bool = False


class Group(NamedTuple):
    """One group's stats, and its values: (field, value, display value)."""

    stats: dict
    values: tuple


def _numeric(field):
    """Integers, and choices whose values are all integers (impact, priority)."""
    if field.kind == C.INTEGER:
        return True
    return field.kind == C.CHOICE and bool(field.choices) and all(value.lstrip("-").isdigit() for value in field.choices)


def _number_of(field, column):
    """The column as a number: a choice is stored as text, '' when unset."""
    return column if field.kind == C.INTEGER else fn.NULLIF(column, SQL("''")).cast("INTEGER")


class _Builder:
    def __init__(self, table):
        self.table = table
        self.statement = Q.Statement(table)

    def field(self, name):
        """None for a field no query may read (unknown, or write-only)."""
        field = self.table.field(name)
        return None if field is None or field.write_only else field

    def aggregate(self, function, name):
        """The SQL of function(field); None for an unknown field."""
        if function == "count":
            return fn.COUNT(SQL("*"))
        field = self.field(name)
        if field is None:
            return None
        if not _numeric(field):
            raise QueryError(f"{name} is not a numeric field: its {function} cannot be computed")
        return getattr(fn, function.upper())(_number_of(field, self.statement.column(Q.Column(name))))


def compute(table, query, caller, asked):
    """The stats of the records of `table` matching `query` (a parsed
    Query): one Group when nothing is grouped, else a Group per group."""
    resolved = Q.resolve(table, query, caller)
    builder = _Builder(table)
    statement = builder.statement
    # Each aggregate once, in the order of the answer: (function, field, SQL).
    aggregates = [("count", None, fn.COUNT(SQL("*")))] if asked.count else []
    for function in FUNCTIONS:
        for name in asked.fields.get(function, ()):
            expression = builder.aggregate(function, name)
            if expression is not None and (function, name) not in [(a[0], a[1]) for a in aggregates]:
                aggregates.append((function, name, expression))
    groups = []
    for name in asked.group_by:
        field = builder.field(name)
        if field is not None and field not in (g[0] for g in groups):
            display = None
            if asked.display and field.kind == C.REFERENCE:
                target = C.table(field.reference)
                display = statement.column(Q.Column(target.display_field, name))
            groups.append((field, statement.column(Q.Column(name)), display))
    if not groups and not aggregates:
        # Nothing to compute; grouped by unknown fields only, one group of
        # everything, as when there are aggregates.
        return [Group({}, ())]
    selected = [column for _, column, _ in groups] + [display for _, _, display in groups if display is not None]
    selected += [expression for _, _, expression in aggregates]
    sql = statement.model.select(*selected)
    where = statement.where(resolved.shape)
    values = {f"p{i}": value for i, value in enumerate(resolved.values)}
    having = []
    for function, name, operator, number in asked.having:
        expression = builder.aggregate(function, name)
        if expression is not None:
            placeholder = statement.param()
            values[placeholder.value] = number
            having.append(Expression(expression, operator, placeholder))
    order = []
    grouped = {field.name: column for field, column, _ in groups}
    for function, name, descending in asked.order_by:
        expression = grouped.get(name) if function is None else builder.aggregate(function, name)
        if expression is not None:
            order.append(expression.desc() if descending else expression.asc())
    # Groups in a stable order: by their values after what was asked.
    order += [column.asc() for column in grouped.values()]
    sql = statement.from_(sql)
    if where is not None:
        sql = sql.where(where)
    if groups:
        sql = sql.group_by(*[column for _, column, _ in groups], *[display for _, _, display in groups if display is not None])
    if having:
        sql = sql.having(*having)
    if order:
        sql = sql.order_by(*order)
    rows = Compiled(sql, database.obj).execute(**values).fetchall()
    return [_group(row, groups, aggregates) for row in rows]


def _group(row, groups, aggregates):
    at = len(groups)
    values = []
    for index, (field, _, display_column) in enumerate(groups):
        value = TEXT.get(field.kind, _text)(row[index])
        if display_column is not None:
            display = (row[at] or "") if value else ""
            at += 1
        else:
            display = field.choices.get(value, value)
        values.append((field.name, value, display))
    stats = {}
    for (function, name, _), result in zip(aggregates, row[at:]):
        if function == "count":
            stats["count"] = str(result)
        else:
            stats.setdefault(function, {})[name] = _number(function, result)
    return Group(stats, tuple(values))


def _text(value):
    return "" if value is None else value


def _number(function, result):
    """Every number a string; averages with four decimals; '' over no rows."""
    if result is None:
        return ""
    if function == "avg":
        return format(result, ".4f")
    return str(int(result))
