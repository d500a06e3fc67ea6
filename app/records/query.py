"""Encoded queries: parsed, resolved against a table, compiled to SQL.

A query goes through three steps:
- `parse` reads the text into groups of conditions and orderings;
- `resolve` checks it against a table and the caller: unknown fields drop
  out, scripts are evaluated, values take their column's type. What is left
  is a *shape* (which columns, which operators, how many values) and the
  values themselves;
- `Statement` builds the SQL of a shape with peewee, once: the statement
  is cached by its shape and run with each request's values, so a client
  repeating `number=IMS…` with another number reuses the same SQL.
"""
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from peewee import JOIN, SQL, Expression, NodeList, fn

from ..db import Compiled, param
from ..models import utcnow
from . import catalog as C
from .errors import QueryError


# Longest first, so that `NOT LIKE` is not read as `NOT` and `>=` as `>`.
OPERATORS = (
    "ISNOTEMPTY",
    "EMPTYSTRING",
    "STARTSWITH",
    "NOT LIKE",
    "ENDSWITH",
    "ANYTHING",
    "NOT IN",
    "BETWEEN",
    "ISEMPTY",
    "NSAMEAS",
    "SAMEAS",
    "LIKE",
    "!=",
    ">=",
    "<=",
    "IN",
    "=",
    ">",
    "<",
)
# Each negative operator is its positive one, negated in the SQL.
_NEGATIONS = {"!=": "=", "NOT IN": "IN", "NOT LIKE": "LIKE"}
UNARY = frozenset(("ISEMPTY", "ISNOTEMPTY", "ANYTHING", "EMPTYSTRING"))
LIST_OPERATORS = frozenset(("IN", "NOT IN"))
# Fields are named in lower case, operators in upper case or symbols: the
# first place where an operator starts ends the field's name.
_CONDITION = re.compile(
    r"([A-Za-z0-9_.]+?)(" + "|".join(re.escape(op) for op in OPERATORS) + r")(.*)\Z",
    re.DOTALL,
)


class Condition(NamedTuple):
    field: str
    operator: str
    value: str


class Ordering(NamedTuple):
    field: str
    descending: bool


class Query(NamedTuple):
    """Groups (`^NQ`) of terms ANDed (`^`), each term conditions ORed (`^OR`)."""

    groups: tuple
    orderings: tuple

    def __add__(self, other):
        """Both queries' conditions ANDed, this one's orderings first."""
        if not self.groups or not other.groups:
            groups = self.groups or other.groups
        else:
            groups = tuple(mine + theirs for mine in self.groups for theirs in other.groups)
        return Query(groups, self.orderings + other.orderings)


EMPTY = Query((), ())


def condition(field, operator, value=""):
    """A query of one condition."""
    return Query((((Condition(field, operator, value),),),), ())


# More than a request line can carry through gunicorn; beyond it SQLite
# refuses the expression (a depth of 1000) with an error that is no client's.
MAX_CONDITIONS = 500


def parse(text):
    """The encoded query `text` as a Query; QueryError when it is malformed."""
    if (text or "").count("^") >= MAX_CONDITIONS:
        raise QueryError(f"The encoded query has more than {MAX_CONDITIONS} terms")
    groups = []
    terms = []
    orderings = []
    for token in (text or "").split("^"):
        if token in ("", "EQ"):
            continue
        if token.startswith("ORDERBYDESC"):
            orderings.append(Ordering(token[len("ORDERBYDESC") :], True))
        elif token.startswith("ORDERBY"):
            orderings.append(Ordering(token[len("ORDERBY") :], False))
        elif token.startswith("NQ"):
            if terms:
                groups.append(tuple(terms))
            terms = [(_condition(token[2:]),)]
        elif token.startswith("OR") and terms:
            terms[-1] = terms[-1] + (_condition(token[2:]),)
        else:
            terms.append((_condition(token),))
    if terms:
        groups.append(tuple(terms))
    return Query(tuple(groups), tuple(orderings))


def _condition(text):
    match = _CONDITION.match(text)
    if match is None:
        raise QueryError(f"Invalid condition {text!r} in the encoded query: expected <field><operator><value>")
    return Condition(*match.groups())


# What a query resolves to.


class Column(NamedTuple):
    """A field of the table, or (`through` set) of the record a reference points at."""

    name: str
    through: str | None = None


class Resolved(NamedTuple):
    shape: tuple
    values: tuple
    orderings: tuple


class Caller(NamedTuple):
    sys_id: str
    user_name: str


def resolve(table, query, caller, now=None):
    """The shape and values of `query` on `table`, as the caller sees it."""
    resolver = _Resolver(table, caller, now or utcnow())
    groups = []
    for group in query.groups:
        terms = []
        for term in group:
            alternatives = tuple(filter(None, map(resolver.condition, term)))
            if alternatives:
                terms.append(alternatives)
        # A group whose every condition was dropped matches every record,
        # and so does the query it belongs to.
        if not terms:
            groups = None
            break
        groups.append(tuple(terms))
    orderings = []
    for ordering in query.orderings:
        column = resolver.column(ordering.field)
        if column is not None and column not in (o[0] for o in orderings):
            orderings.append((column, ordering.descending))
    return Resolved(tuple(groups or ()), tuple(resolver.values), tuple(orderings))


# groups, of terms, of alternatives: one condition.
_BY_SYS_ID = ((((Column("sys_id"), "=", 1),),),)


def by_sys_id(sys_id):
    """What `sys_id=<sys_id>` resolves to on any table, without parsing it:
    a read by sys_id is the commonest request of all."""
    return Resolved(_BY_SYS_ID, (sys_id,), ())


def field_of(table, column):
    """The Field a resolved column stands for."""
    if column.through is None:
        return table.field(column.name)
    return C.table(table.field(column.through).reference).field(column.name)


def _stored(field):
    """A field a query may name: one the table stores (not user_password)."""
    return field is not None and not field.write_only


class _Resolver:
    def __init__(self, table, caller, now):
        self.table = table
        self.caller = caller
        self.now = now
        self.values = []

    def column(self, name):
        """The column a field name stands for; None when the table has no such field."""
        through, dot, name = name.rpartition(".")
        if not dot:
            return Column(name) if _stored(self.table.field(name)) else None
        reference = self.table.field(through)
        if reference is None or reference.kind != C.REFERENCE:
            return None
        return Column(name, through) if _stored(C.table(reference.reference).field(name)) else None

    def condition(self, condition):
        column = self.column(condition.field)
        if column is None:
            return None
        op = condition.operator
        if op in UNARY:
            return (column, op)
        if op in ("SAMEAS", "NSAMEAS"):
            other = self.column(condition.value)
            return (column, op, other) if other is not None else None
        kind = field_of(self.table, column).kind
        if op in LIST_OPERATORS:
            items = [self.value(item, kind) for item in condition.value.split(",")]
        elif op == "BETWEEN":
            low, at, high = condition.value.partition("@")
            if not at:
                raise QueryError(f"BETWEEN needs two values joined by @, not {condition.value!r}")
            items = [self.value(low, kind), self.value(high, kind)]
        elif op in ("LIKE", "NOT LIKE", "STARTSWITH", "ENDSWITH"):
            items = [_like_pattern(op, self.text(condition.value))]
        else:
            items = [self.value(condition.value, kind)]
        self.values.extend(items)
        return (column, op, len(items))

    def text(self, value):
        if "\x00" in value:
            # No stored value holds one, and PostgreSQL refuses it in a query.
            raise QueryError("A value in the encoded query must not contain a NUL character")
        return self.script(value) if value.startswith("javascript:") else value

    def value(self, value, kind):
        value = self.text(value)
        if kind == C.DATETIME:
            return _datetime_text(value)
        if kind == C.INTEGER:
            try:
                number = int(value)
            except ValueError:
                raise QueryError(f"{value!r} is not an integer") from None
            if not -_INT64 <= number < _INT64:
                raise QueryError(f"{value!r} is out of range")
            return number
        if kind == C.BOOLEAN:
            lowered = value.lower()
            if lowered not in _BOOLEANS:
                raise QueryError(f"{value!r} is not true or false")
            return _BOOLEANS[lowered]
        return value

    def script(self, text):
        """The value of one of the scripts ServiceNow's clients send; no other runs."""
        source = text[len("javascript:") :].strip().rstrip(";").strip()
        match = _SCRIPT.fullmatch(source)
        if match is None:
            raise QueryError(f"Unsupported script in the encoded query: {text!r}")
        name, arguments = match.group(1), match.group(2).strip()
        today = self.now.replace(hour=0, minute=0, second=0)
        if name in _NO_ARGUMENTS:
            if arguments:
                raise QueryError(f"gs.{name}() takes no arguments: {text!r}")
            return {
                "getUserID": self.caller.sys_id,
                "getUserName": self.caller.user_name,
                "beginningOfToday": _format(today),
                "endOfToday": _format(today + timedelta(days=1, seconds=-1)),
            }[name]
        if name == "dateGenerate":
            return _date_generate(arguments, text)
        if not re.fullmatch(r"-?\d{1,6}", arguments):
            raise QueryError(f"gs.{name}() takes a whole number: {text!r}")
        n = int(arguments)
        return _format(
            {
                "daysAgo": lambda: self.now - timedelta(days=n),
                "daysAgoStart": lambda: today - timedelta(days=n),
                "daysAgoEnd": lambda: today - timedelta(days=n - 1, seconds=1),
                "hoursAgo": lambda: self.now - timedelta(hours=n),
                "minutesAgo": lambda: self.now - timedelta(minutes=n),
            }[name]()
        )


_INT64 = 2**63
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_NO_ARGUMENTS = ("getUserID", "getUserName", "beginningOfToday", "endOfToday")
_SCRIPT = re.compile(
    r"gs\.(getUserID|getUserName|beginningOfToday|endOfToday|dateGenerate"
    r"|daysAgoStart|daysAgoEnd|daysAgo|hoursAgo|minutesAgo)\((.*)\)"
)
_QUOTED = r"""(?:'([^']*)'|"([^"]*)")"""
_DATE_GENERATE = re.compile(rf"{_QUOTED}(?:\s*,\s*{_QUOTED})?")


def _date_generate(arguments, text):
    match = _DATE_GENERATE.fullmatch(arguments)
    if match is None:
        raise QueryError(f"gs.dateGenerate() takes a date and a time: {text!r}")
    date = match.group(1) if match.group(1) is not None else match.group(2)
    time = match.group(3) if match.group(3) is not None else match.group(4)
    if time is not None:
        time = {"start": "00:00:00", "end": "23:59:59"}.get(time, time)
        date = f"{date} {time}"
    return _datetime_text(date)


def _format(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _datetime_text(value):
    """A date-time as the database stores it: `YYYY-MM-DD HH:MM:SS`, UTC."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return _format(datetime.strptime(value.strip(), pattern))
        except ValueError:
            continue
    raise QueryError(f"{value!r} is not a date-time (YYYY-MM-DD HH:MM:SS)")


def _like_pattern(op, value):
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "LIKE": "%{}%",
        "NOT LIKE": "%{}%",
        "STARTSWITH": "{}%",
        "ENDSWITH": "%{}",
    }[op].format(escaped)


# From a shape to SQL.


class Statement:
    """Builds the SQL of one shape on one table, taking its joins as needed."""

    def __init__(self, table):
        self.table = table
        self.model = table.model
        self.joins = {}
        self._next = 0

    def column(self, column):
        if column.through is None:
            return getattr(self.model, column.name)
        alias = self.joins.get(column.through)
        if alias is None:
            target = C.table(self.table.field(column.through).reference).model
            alias = self.joins[column.through] = target.alias(f"ref_{column.through}")
        return getattr(alias, column.name)

    def nullable(self, column):
        return column.through is not None or getattr(self.model, column.name).null

    def param(self):
        name = f"p{self._next}"
        self._next += 1
        return param(name)

    def where(self, shape):
        if not shape:
            return None
        groups = []
        for group in shape:
            terms = [_any(self.condition(c) for c in term) for term in group]
            groups.append(_all(terms))
        return _any(groups)

    def condition(self, resolved):
        column, op = resolved[0], resolved[1]
        lhs = self.column(column)
        field = field_of(self.table, column)
        textual = field.kind in C.TEXTUAL
        if op == "ANYTHING":
            return SQL("1 = 1")
        if op in ("ISEMPTY", "EMPTYSTRING") and not textual:
            return lhs.is_null()
        if op == "ISEMPTY":
            return lhs.is_null() | (lhs == _EMPTY_TEXT)
        if op == "EMPTYSTRING":
            return lhs == _EMPTY_TEXT
        if op == "ISNOTEMPTY":
            return lhs.is_null(False) if not textual else (lhs.is_null(False) & (lhs != _EMPTY_TEXT))
        if op in ("SAMEAS", "NSAMEAS"):
            rhs = self.column(resolved[2])
            other = field_of(self.table, resolved[2])
            # PostgreSQL compares no number with text: fields of two kinds are
            # compared as their text, as SQLite's affinities already do.
            if other.kind != field.kind and not (textual and other.kind in C.TEXTUAL):
                lhs = lhs if textual else lhs.cast("TEXT")
                rhs = rhs if other.kind in C.TEXTUAL else rhs.cast("TEXT")
            return lhs == rhs if op == "SAMEAS" else lhs != rhs
        params = [self.param() for _ in range(resolved[2])]
        positive = _NEGATIONS.get(op, op)
        if positive == "IN":
            expression = lhs.in_(params)
        elif positive == "BETWEEN":
            expression = (lhs >= params[0]) & (lhs <= params[1])
        elif positive in ("LIKE", "STARTSWITH", "ENDSWITH"):
            text = lhs if textual else lhs.cast("TEXT")
            expression = NodeList((fn.LOWER(text), SQL("LIKE"), fn.LOWER(params[0]), SQL("ESCAPE '\\'")))
        else:
            expression = Expression(lhs, positive, params[0])
        if positive == op:
            return expression
        # As on ServiceNow, "is not" also matches an empty value.
        return (~expression | lhs.is_null()) if self.nullable(column) else ~expression

    def from_(self, query):
        for through, alias in self.joins.items():
            query = query.join(alias, JOIN.LEFT_OUTER, on=(alias.sys_id == getattr(self.model, through)))
        return query

    def order(self, orderings):
        clauses = [self.column(c).desc() if descending else self.column(c).asc() for c, descending in orderings]
        # Offset paging must never show a row twice or skip one.
        if Column("sys_id") not in (c for c, _ in orderings):
            clauses.append(self.model.sys_id.asc())
        return clauses


# A constant in the SQL: every value that varies is a parameter.
_EMPTY_TEXT = SQL("''")


def _any(expressions):
    return _joined(expressions, " OR ")


def _all(expressions):
    return _joined(expressions, " AND ")


def _joined(expressions, glue):
    """Flat `(a OR b OR c)`: a tree of pairs nests a pair of parentheses per
    condition, and SQLite's parser overflows at about a hundred."""
    expressions = list(expressions)
    return expressions[0] if len(expressions) == 1 else NodeList(expressions, glue=glue, parens=True)


@lru_cache(maxsize=512)
def select_statement(database_key, table, columns, shape, orderings, paged):
    """SELECT columns ... WHERE shape ORDER BY ... [LIMIT/OFFSET], compiled."""
    statement = Statement(table)
    selected = [statement.column(c) for c in columns]
    where = statement.where(shape)
    order = statement.order(orderings)
    query = statement.from_(statement.model.select(*selected))
    if where is not None:
        query = query.where(where)
    query = query.order_by(*order)
    if paged:
        query = query.limit(param("limit")).offset(param("offset"))
    return Compiled(query, database_key)


@lru_cache(maxsize=512)
def count_statement(database_key, table, shape):
    statement = Statement(table)
    where = statement.where(shape)
    query = statement.model.select(fn.COUNT(SQL("*")))
    if where is not None:
        # The joins are those the conditions took.
        query = statement.from_(query).where(where)
    return Compiled(query, database_key)


@lru_cache(maxsize=512)
def keys_statement(database_key, table, shape):
    """The sys_ids matching a shape, for writes that touch many records."""
    statement = Statement(table)
    where = statement.where(shape)
    query = statement.model.select(statement.model.sys_id)
    if where is not None:
        query = statement.from_(query).where(where)
    return Compiled(query, database_key)


@C.on_change
def _forget_statements():
    # A table a statement joins may have been declared again.
    for cached in (select_statement, count_statement, keys_statement):
        cached.cache_clear()
