"""Reads of reminders, always from the acting user's point of view.

The gate is the one access rule (``accounts.access``): a pet's reminders through the pet
gate (``pets.selectors.pet_get``, so a grant on the pet counts), a household's own through
``household_access``. Lists come from memberships only, as every list does.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from pawfile.accounts.access import Access, Action, access_attach, access_of, household_access
from pawfile.accounts.models import User
from pawfile.lib import sqlrows
from pawfile.lib.errors import NotFound
from pawfile.pets import selectors as pet_selectors
from pawfile.pets.models import Pet
from pawfile.reminders.models import Occurrence, Reminder


def pet_gate(*, user: User, pet_id: int, action: Action = Action.VIEW) -> Pet:
    """The pet if ``user`` may ``action`` it (``pets.selectors.pet_get``)."""
    return pet_selectors.pet_get(user=user, pet_id=pet_id, action=action)


def household_gate(*, user: User, household_id: int, action: Action = Action.VIEW) -> Access:
    """``user``'s access to a household as a whole (``accounts.access.household_access``)."""
    return household_access(user=user, household_id=household_id, action=action)


def _gate(*, user: User, reminder: Reminder, action: Action) -> Access:
    if reminder.pet_id is not None:
        pet = pet_gate(user=user, pet_id=reminder.pet_id, action=action)
        access = access_of(pet)
        assert access is not None  # the gate always attaches its decision
        return access
    return household_gate(user=user, household_id=reminder.household_id, action=action)


def reminder_get(*, user: User, reminder_id: int, action: Action = Action.VIEW) -> Reminder:
    """The reminder if ``user`` may ``action`` it; ``NotFound``/``Forbidden`` otherwise."""
    if not user.is_authenticated or not sqlrows.is_id(reminder_id):
        raise NotFound(_("Not found."))
    reminder = Reminder.objects.select_related("pet", "assignee").filter(pk=reminder_id).first()
    if reminder is None:
        raise NotFound(_("Not found."))
    access_attach(reminder, _gate(user=user, reminder=reminder, action=action))
    return reminder


def reminder_checked(*, user: User, reminder: Reminder, action: Action) -> Reminder:
    """``reminder`` checked for ``action``: the decision attached by ``reminder_get`` for
    the same user is trusted (no query); otherwise the gate runs."""
    access = access_of(reminder)
    if access is not None and access.user_id == getattr(user, "pk", None):
        access.require(action)
        return reminder
    access_attach(reminder, _gate(user=user, reminder=reminder, action=action))
    return reminder


def reminder_list(
    *,
    user: User,
    pet: Pet | None = None,
    due_after: dt.datetime | None = None,
    due_before: dt.datetime | None = None,
    household_id: int | None = None,
) -> QuerySet[Reminder]:
    """Reminders ``user`` may see, soonest first (ended ones last): one pet's (gated), or
    every reminder of the households they belong to; optionally those whose next
    occurrence falls in ``[due_after, due_before)``."""
    if not user.is_authenticated:
        return Reminder.objects.none()
    reminders = Reminder.objects.select_related("pet", "assignee")
    if pet is not None:
        pet = pet_selectors.pet_checked(user=user, pet=pet, action=Action.VIEW)
        reminders = reminders.filter(pet=pet)
    else:
        reminders = reminders.filter(household__memberships__user=user)
    if household_id is not None:
        reminders = reminders.filter(household_id=household_id)
    if due_after is not None:
        reminders = reminders.filter(next_due_at__gte=due_after)
    if due_before is not None:
        reminders = reminders.filter(next_due_at__lt=due_before)
    return reminders.order_by(F("next_due_at").asc(nulls_last=True), "pk")


def occurrence_list(*, user: User, reminder: Reminder) -> QuerySet[Occurrence]:
    """The history of ``reminder`` (newest first), with who acted."""
    reminder = reminder_checked(user=user, reminder=reminder, action=Action.VIEW)
    return reminder.occurrences.select_related("by").order_by("-due_at", "-pk")
