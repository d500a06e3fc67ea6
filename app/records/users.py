"""The rules of the tables of people (TABLES.md §2): `name` made from the
first and last names; on sys_user, `user_password` stored as a hash and
never shown, `user_name` required and unique, and the last admin kept."""
from ..models import SysUser
from ..users import hash_password
from .errors import InvalidRecord, Refused
from .rules import Rules, unchanged_dropped


class ContactRules(Rules):
    def changes(self, table, current, given, caller, now):
        changes = dict(given)
        if "first_name" in given or "last_name" in given:
            merged = {**current, **given}
            changes["name"] = " ".join(part for part in (merged.get("first_name"), merged.get("last_name")) if part)
        return unchanged_dropped(current, changes)


class UserRules(ContactRules):
    def new_row(self, table, sys_id, caller, now):
        row = super().new_row(table, sys_id, caller, now)
        # No password: no one can log in as the user until one is set.
        row["password_hash"] = ""
        return row

    def changes(self, table, current, given, caller, now):
        given = dict(given)
        password = given.pop("user_password", None)
        user_name = given.get("user_name", current.get("user_name"))
        if not user_name:
            raise InvalidRecord("user_name: Missing data for required field.")
        if ":" in user_name:
            raise InvalidRecord("user_name: Must not contain ':'.")
        if user_name != current.get("user_name") and SysUser.select().where(SysUser.user_name == user_name).exists():
            raise Refused(f"Error during {'update' if current.get('user_name') else 'insert'} of {table.name} ({user_name})")
        changes = super().changes(table, current, given, caller, now)
        if password:
            changes["password_hash"] = hash_password(password)
        return changes

    def deleting(self, table, sys_ids, caller):
        admins = SysUser.select().where(SysUser.admin & SysUser.active)
        if admins.where(SysUser.sys_id.not_in(sys_ids)).count() == 0 and admins.where(SysUser.sys_id.in_(sys_ids)).exists():
            raise Refused("The last admin cannot be deleted")


RULES = UserRules()
CONTACT_RULES = ContactRules()
