"""The rules of an incident (TABLES.md §2): its priority computed from
impact and urgency, who opened it and when, and what its state sets."""
from .rules import Rules, unchanged_dropped

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
LEVELS = {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"}
PRIORITIES = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
CONTACT_TYPES = {
    "email": "Email",
    "phone": "Phone",
    "self-service": "Self-service",
    "walk-in": "Walk-in",
    "chat": "Chat",
    "virtual_agent": "Virtual Agent",
}
RESOLVED = "6"
CLOSED = "7"
CANCELED = "8"
OPEN_STATES = frozenset(("1", "2", "3"))
# ServiceNow's default priority lookup: (impact, urgency) -> priority.
PRIORITY = {
    ("1", "1"): "1", ("1", "2"): "2", ("1", "3"): "3",
    ("2", "1"): "2", ("2", "2"): "3", ("2", "3"): "4",
    ("3", "1"): "3", ("3", "2"): "4", ("3", "3"): "5",
}  # fmt: skip
_LOWEST = "5"


class IncidentRules(Rules):
    def new_row(self, table, sys_id, caller, now):
        row = super().new_row(table, sys_id, caller, now)
        row.update(opened_by=caller.sys_id, opened_at=now)
        return row

    def changes(self, table, current, given, caller, now):
        changes = dict(given)
        merged = {**current, **changes}
        # Stored values outside the choices (given as such) have no priority of their own.
        changes["priority"] = PRIORITY.get((merged.get("impact"), merged.get("urgency")), _LOWEST)
        state, before = merged.get("state"), current.get("state")
        if state != before:
            if state == RESOLVED:
                changes.update(resolved_at=now, closed_at=None)
            elif state == CLOSED:
                changes["closed_at"] = now
                if not current.get("resolved_at"):
                    changes["resolved_at"] = now
            elif state in OPEN_STATES:
                changes.update(resolved_at=None, closed_at=None)
            changes["active"] = state not in (CLOSED, CANCELED)
        return unchanged_dropped(current, changes)


RULES = IncidentRules()
