"""The numbers of numbered tables (IMS0000001, INC0010001): one counter row
per table, bumped atomically, so that no two workers or hosts ever hand out
the same number and none is skipped."""
import re
from typing import NamedTuple

from peewee import SQL, Case

from ..db import compiled, param
from ..models import SysNumberCounter

_NUMBER = re.compile(r"^([A-Z]+)(\d+)$")


class Number(NamedTuple):
    """A table's number: its field, prefix, digits and first value."""

    field: str
    prefix: str
    digits: int = 7
    first: int = 1

    def format(self, value):
        return f"{self.prefix}{value:0{self.digits}d}"


@compiled
def _next_number():
    counter = SysNumberCounter
    return (
        counter.update(number=counter.number + SQL("1"))
        .where(counter.category == param("category"))
        .returning(counter.number)
    )


def next_number(table_name, number):
    """The next number of the table; inside the transaction that stores its record."""
    return number.format(_next_number().execute(category=table_name).fetchone()[0])


def ensure_counter(table_name, number):
    """The table's counter, made when missing: the next number is the first."""
    SysNumberCounter.insert(category=table_name, prefix=number.prefix, number=number.first - 1).on_conflict_ignore().execute()


def restart(table_name, number):
    SysNumberCounter.update(number=number.first - 1).where(SysNumberCounter.category == table_name).execute()


def move_past(table_name, number, given):
    """So that a number given (seeded, restored) is never handed out again."""
    match = _NUMBER.match(given or "")
    if match is None or match.group(1) != number.prefix:
        return
    value = int(match.group(2))
    counter = SysNumberCounter
    counter.update(number=Case(None, [(counter.number < value, value)], counter.number)).where(
        counter.category == table_name
    ).execute()


def forget_counter(table_name):
    SysNumberCounter.delete().where(SysNumberCounter.category == table_name).execute()
