"""What a write follows beyond the table's declaration: the generic rules,
which the tables with rules of their own (interactions.py, incidents.py,
users.py) extend."""

_ABSENT = object()


class Rules:
    """The rules of a table with none of its own."""

    def new_row(self, table, sys_id, caller, now):
        """Every column of a new record made by `caller`, before its values."""
        row = dict(table.blank_row)
        row.update(
            sys_id=sys_id,
            sys_created_on=now,
            sys_created_by=caller.user_name,
            sys_updated_on=now,
            sys_updated_by=caller.user_name,
            sys_mod_count=0,
        )
        return row

    def changes(self, table, current, given, caller, now):
        """The columns a write of `given` changes on the record `current`
        (a dict of its columns; {} for a new one)."""
        return unchanged_dropped(current, given)

    def deleting(self, table, sys_ids, caller):
        """Before the records are deleted, in the same transaction: raise to refuse."""


def unchanged_dropped(current, changes):
    return {name: value for name, value in changes.items() if current.get(name, _ABSENT) != value}


GENERIC = Rules()
