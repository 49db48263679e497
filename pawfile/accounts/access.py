"""Who may see or change what: the one access rule, for every app.

A subject reaches a household, or one pet in it, in one of two ways, and what it may do
there is the union of both:

- a ``Membership``: its role gives the actions of the table below, on the household and
  every pet in it;
- a live ``Grant`` (from ``starts_at`` until ``ends_at``): the grant's own actions, on the
  household (no ``pet_id``) or on one pet. This is how a business's staff see a booked pet's
  health summary while the booking lasts (``source="booking:123"``), or a sitter cares for
  the pets for a week. A grant never carries ``pet_delete`` or ``manage``; one of ``write``
  also gives ``view`` and ``summary``, one of ``view`` also ``summary``.

| action         | covers                              | owner | caretaker | viewer | grant |
|----------------|-------------------------------------|-------|-----------|--------|-------|
| ``summary``    | the pet card, its health summary    | yes   | yes       | yes    | may   |
| ``view``       | all of the household and its pets   | yes   | yes       | yes    | may   |
| ``write``      | add/change/delete pets, their data  | yes   | yes       | no     | may   |
| ``pet_delete`` | delete a pet                        | yes   | no        | no     | no    |
| ``manage``     | members, invitations, name, billing | yes   | no        | no     | no    |

Their data: a pet's records, notes, photos and attachments, and the household's contacts.

The answer is one of three, the same for web pages and the API because both call the same
selectors and services:

- the subject has neither a membership nor a live grant that covers the object (a stranger,
  an expired grant, a grant for another pet, anyone anonymous): ``NotFound`` (404), so that
  nothing tells them the object exists;
- it has one, but not for this action: ``Forbidden`` (403);
- otherwise an ``Access``: the decision, which the gates attach to what they return
  (``access_attach``) so that later reads in the same request trust it instead of asking
  the database again (``Access.covers``).

An API client acts as the user its token belongs to. An anonymous finder gets nothing
through this rule: the public pages of a lost pet are a separate projection that lists
exactly the fields the owner made public, and never passes here.

Lists (a user's households, their pets) come from memberships only; a grant opens its
objects one at a time, through the gates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.choices import Action, Role
from pawfile.accounts.models import Grant, Membership, User
from pawfile.lib.errors import Forbidden, NotFound

__all__ = [
    "GRANTABLE",
    "ROLE_ACTIONS",
    "Access",
    "Action",
    "access_attach",
    "access_decide",
    "access_of",
    "grant_actions_parse",
    "household_access",
    "role_allows",
]

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.CARETAKER: frozenset({Action.SUMMARY, Action.VIEW, Action.WRITE}),
    Role.VIEWER: frozenset({Action.SUMMARY, Action.VIEW}),
}
GRANTABLE: frozenset[Action] = frozenset({Action.SUMMARY, Action.VIEW, Action.WRITE})
# A grant of one action gives those it takes for granted, as every role has them together.
IMPLIED: dict[Action, frozenset[Action]] = {
    Action.VIEW: frozenset({Action.SUMMARY}),
    Action.WRITE: frozenset({Action.SUMMARY, Action.VIEW}),
}

_ATTRIBUTE = "_pawfile_access"


@dataclass(frozen=True, slots=True)
class Access:
    """What ``user_id`` may do to household ``household_id`` (to pet ``pet_id`` only, when
    set): the role it holds there (``None`` when only grants give access) and every action
    that role and its live grants allow."""

    user_id: int
    household_id: int
    pet_id: int | None
    role: str | None
    actions: frozenset[Action]

    def allows(self, action: Action) -> bool:
        return action in self.actions

    def require(self, action: Action) -> Access:
        """``self`` when it allows ``action``; raises ``Forbidden`` otherwise."""
        if action not in self.actions:
            raise Forbidden(_("Your role in this household does not allow that."))
        return self

    def covers(self, *, user: Any, pet_id: int | None = None) -> bool:
        """True when this decision was made for ``user`` and for exactly this object (the
        pet ``pet_id``, or with ``None`` the household as a whole): a later read for the
        same subject and object may trust it."""
        return self.user_id == getattr(user, "pk", None) and self.pet_id == pet_id


def role_allows(role: str | None, action: Action) -> bool:
    """True when a member with ``role`` may ``action`` (``None``: not a member)."""
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def grant_actions_parse(text: str | None) -> frozenset[Action]:
    """The actions a grant's ``actions`` column gives: the grantable ones it names (others
    ignored, whatever was stored) and those they imply (``write`` gives ``view`` and
    ``summary``; ``view`` gives ``summary``)."""
    if not text:
        return frozenset()
    named = frozenset(Action(a) for a in text.split(",") if a in Action.values) & GRANTABLE
    return named.union(*(IMPLIED.get(action, frozenset()) for action in named))


def access_decide(
    *,
    user_id: int,
    household_id: int,
    pet_id: int | None,
    role: str | None,
    grants: Iterable[str | None],
    action: Action,
) -> Access:
    """The access that ``role`` (``None``: no membership) and the ``actions`` texts of the
    subject's live grants give, checked for ``action``.

    Raises ``NotFound`` when they give nothing at all and ``Forbidden`` when they do not
    include ``action``. Callers have fetched the role and the grants that cover the object
    (for a pet: the household's grants and that pet's, both live)."""
    actions = ROLE_ACTIONS.get(role, frozenset()) if role is not None else frozenset()
    for text in grants:
        actions |= grant_actions_parse(text)
    if not actions:
        raise NotFound(_("Not found."))
    access = Access(
        user_id=user_id, household_id=household_id, pet_id=pet_id, role=role, actions=actions
    )
    return access.require(action)


def household_access(
    *, user: User, household_id: int, action: Action, now: dt.datetime | None = None
) -> Access:
    """``user``'s access to the household ``household_id`` as a whole (grants for a single
    pet do not count), checked for ``action``; one query.

    Raises ``NotFound`` for strangers and the anonymous, ``Forbidden`` when the role or
    grant does not allow ``action``."""
    if not user.is_authenticated:
        raise NotFound(_("Not found."))
    now = now or timezone.now()
    roles = (
        Membership.objects.filter(user_id=user.pk, household_id=household_id)
        .order_by()
        .values_list(Value("m"), "role")
    )
    grants = (
        Grant.objects.filter(user_id=user.pk, household_id=household_id, pet_id__isnull=True)
        .filter(Q(starts_at__lte=now) & Q(ends_at__gt=now))
        .order_by()
        .values_list(Value("g"), "actions")
    )
    rows = list(roles.union(grants, all=True))
    return access_decide(
        user_id=user.pk,
        household_id=household_id,
        pet_id=None,
        role=next((value for kind, value in rows if kind == "m"), None),
        grants=[value for kind, value in rows if kind == "g"],
        action=action,
    )


def access_attach(obj: object, access: Access) -> None:
    """Remember on ``obj`` (a household or pet a gate returns) the access it was given with."""
    setattr(obj, _ATTRIBUTE, access)


def access_of(obj: object) -> Access | None:
    """The access a gate attached to ``obj``, or ``None``."""
    access = getattr(obj, _ATTRIBUTE, None)
    return access if isinstance(access, Access) else None
