"""Who may do what in a household: the one table every app consults.

| action                          | owner | caretaker | viewer |
|---------------------------------|-------|-----------|--------|
| view anything                   |  yes  |    yes    |  yes   |
| add / edit pets, records, notes, photos, contacts, attachments | yes | yes | no |
| delete records, notes, photos, contacts, attachments           | yes | yes | no |
| delete a pet                    |  yes  |    no     |   no   |
| manage members, billing         |  yes  |    no     |   no   |
"""

from __future__ import annotations

from enum import StrEnum

from pawfile.accounts.choices import Role


class Action(StrEnum):
    VIEW = "view"
    WRITE = "write"  # create, edit, delete of records, notes, photos, contacts
    PET_DELETE = "pet_delete"
    MANAGE = "manage"  # members, invitations, billing


ALLOWED: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({Role.OWNER, Role.CARETAKER, Role.VIEWER}),
    Action.WRITE: frozenset({Role.OWNER, Role.CARETAKER}),
    Action.PET_DELETE: frozenset({Role.OWNER}),
    Action.MANAGE: frozenset({Role.OWNER}),
}


def role_allows(role: str | None, action: Action) -> bool:
    """True when a member with ``role`` may perform ``action`` (``None``: not a member)."""
    return role is not None and role in ALLOWED[action]
