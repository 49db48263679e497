"""Writes for reminders: create, change, delete, and what people do with an occurrence.

Every write recomputes the reminder's materialised schedule (``schedule_reset``):
``next_due_at`` is the first occurrence at or after now, ``next_fire_at`` that instant minus
the lead time (never before now, so a new "1 day before" reminder due in 5 hours is sent at
once rather than counted as missed), ``NULL`` while paused or once the rule has ended.
Firing lives in ``reminders.firing``; health records' automatic reminders in
``reminders.automatic``.

Access: owners and caretakers write (``Action.WRITE``), viewers read; strangers get
``NotFound``. Refusals are ``Invalid`` (with the field), ``Conflict`` and the gate's
``NotFound``/``Forbidden``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action
from pawfile.accounts.models import Household, Membership, User, zone_name_canonical
from pawfile.lib.errors import Conflict, Invalid, NotFound
from pawfile.lib.text import plain_line
from pawfile.pets.models import Pet
from pawfile.pets.services import pet_revision_bump
from pawfile.reminders import recurrence, selectors
from pawfile.reminders.choices import LEAD_MAX, OPEN_STATUSES, OccurrenceStatus, SnoozeFor
from pawfile.reminders.models import Occurrence, Reminder

CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
CHANNELS_MAX = 10
SNOOZE_MAX = dt.timedelta(days=30)
TOMORROW_MORNING = dt.time(9, 0)
# What an automatic reminder's owner may change; the rest follows the health record.
AUTOMATIC_EDITABLE = {"title", "notes", "start_time", "lead_minutes", "channels", "assignee_id"}
FIELDS = (
    "title", "notes", "start_date", "start_time", "timezone", "rule", "lead_minutes",
    "channels", "assignee_id",
)  # fmt: skip


def zone_of(reminder: Reminder) -> recurrence.ZoneInfo:
    return recurrence.ZoneInfo(reminder.timezone)


def start_of(reminder: Reminder) -> dt.datetime:
    """The first occurrence as a naive local date and time."""
    return dt.datetime.combine(reminder.start_date, reminder.start_time)


def lead_of(reminder: Reminder) -> dt.timedelta:
    return dt.timedelta(minutes=reminder.lead_minutes)


def occurrence_after(
    reminder: Reminder, after: dt.datetime, *, inclusive: bool = False
) -> dt.datetime | None:
    """The reminder's first occurrence instant after ``after`` (UTC), or ``None``."""
    return recurrence.next_occurrence(
        start=start_of(reminder),
        rule=reminder.rule,
        zone=zone_of(reminder),
        after=after,
        inclusive=inclusive,
    )


def schedule_reset(reminder: Reminder, *, now: dt.datetime) -> None:
    """Set ``next_due_at``/``next_fire_at`` from ``now`` (not saved); a pending snooze ends."""
    due = occurrence_after(reminder, now, inclusive=True)
    reminder.next_due_at = due
    reminder.snoozed_due_at = None
    reminder.snoozed_until = None
    if reminder.paused or due is None:
        reminder.next_fire_at = None
    else:
        reminder.next_fire_at = max(due - lead_of(reminder), now)


SCHEDULE_FIELDS = (
    "paused", "next_due_at", "next_fire_at", "snoozed_due_at", "snoozed_until",
)  # fmt: skip


def _lock(reminder: Reminder) -> None:
    """Lock the row for this transaction and read its schedule as it is now (the scheduler
    may have moved it since ``reminder`` was read). ``NotFound`` when it is gone."""
    fresh = (
        Reminder.objects.select_for_update().filter(pk=reminder.pk).values(*SCHEDULE_FIELDS).first()
    )
    if fresh is None:
        raise NotFound(_("Not found."))
    for name, value in fresh.items():
        setattr(reminder, name, value)


def _saved(reminder: Reminder) -> None:
    """Save ``reminder``; its pet's page shows reminders, so the pet's revision moves."""
    reminder.save()
    if reminder.pet_id is not None:
        pet_revision_bump(reminder.pet_id)


# --- Checking input ----------------------------------------------------------------------------


def _zone_name(value: str, *, fallback: User) -> str:
    if value and zone_name_canonical(value) is None:
        raise Invalid(_("Choose a time zone from the list (e.g. Europe/Madrid)."), field="timezone")
    name = zone_name_canonical(value) if value else (fallback.timezone or "")
    if not name:
        name = zone_name_canonical(timezone.get_default_timezone_name()) or "UTC"
    if zone_name_canonical(name) is None:
        raise Invalid(_("Choose a time zone from the list (e.g. Europe/Madrid)."), field="timezone")
    return name


def _channels(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > CHANNELS_MAX:
        raise Invalid(_("Give at most 10 channel names."), field="channels")
    names = [str(v) for v in value]
    if any(not CHANNEL_NAME.match(name) for name in names):
        raise Invalid(_("A channel name is lowercase letters, digits, - or _."), field="channels")
    return list(dict.fromkeys(names))


def _assignee(household_id: int, assignee_id: int | None) -> int | None:
    if assignee_id is None:
        return None
    if not Membership.objects.filter(household_id=household_id, user_id=assignee_id).exists():
        # an id that names no one the actor can see: as for any such id, 404
        raise NotFound(_("Choose a member of the household."), field="assignee_id")
    return assignee_id


def _lead(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= LEAD_MAX:
        raise Invalid(_("The lead time is 0 to 60 days, in minutes."), field="lead_minutes")
    return value


def _rule(value: str, reminder: Reminder) -> str:
    try:
        recurrence.rule_parse(value, start=start_of(reminder))
    except recurrence.RuleError:
        raise Invalid(_("This repetition is not one we understand."), field="recurrence") from None
    text = value.strip()
    return text[6:] if text.upper().startswith("RRULE:") else text


def _apply(reminder: Reminder, fields: dict[str, Any], *, actor: User) -> None:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise Invalid(fields={name: [_("Unknown field.")] for name in unknown})
    if "title" in fields:
        title = plain_line(str(fields["title"] or "").strip(), field="title")
        if not title:
            raise Invalid(_("Give the reminder a title."), field="title")
        if len(title) > 120:
            raise Invalid(_("Keep the title under 120 characters."), field="title")
        reminder.title = title
    if "notes" in fields:
        reminder.notes = str(fields["notes"] or "").strip()[:5000]
    for name in ("start_date", "start_time"):
        if name in fields:
            if fields[name] is None:
                raise Invalid(_("This field is required."), field=name)
            setattr(reminder, name, fields[name])
    if "timezone" in fields or not reminder.timezone:
        reminder.timezone = _zone_name(str(fields.get("timezone") or ""), fallback=actor)
    if "lead_minutes" in fields:
        reminder.lead_minutes = _lead(fields["lead_minutes"])
    if "channels" in fields:
        reminder.channels = _channels(fields["channels"])
    if "assignee_id" in fields:
        reminder.assignee_id = _assignee(reminder.household_id, fields["assignee_id"])
    if "rule" in fields:
        reminder.rule = _rule(str(fields["rule"] or ""), reminder)


def _schedule_checked(reminder: Reminder, *, now: dt.datetime) -> None:
    schedule_reset(reminder, now=now)
    if reminder.next_due_at is None and not reminder.automatic:
        # Not the input alone but the clock refuses it: a conflict with now (409).
        raise Conflict(
            _("This reminder would never be sent: its time has passed."), field="start_date"
        )


# --- Create, change, delete --------------------------------------------------------------------


def reminder_create(
    *,
    actor: User,
    pet: Pet | None = None,
    household: Household | None = None,
    now: dt.datetime | None = None,
    **fields: Any,
) -> Reminder:
    """A reminder for ``pet`` (or, without one, for ``household`` as a whole).

    ``fields``: ``title`` and ``start_date``, ``start_time`` (local, in ``timezone``;
    default the actor's zone) are required; ``rule`` (RRULE value, ``""`` once; build it
    with ``recurrence.rule_build``), ``notes``, ``lead_minutes``, ``channels`` (names),
    ``assignee_id`` (a member) are optional."""
    now = now or timezone.now()
    if pet is not None:
        pet = selectors.pet_gate(user=actor, pet_id=pet.pk, action=Action.WRITE)
        household_id = pet.household_id
    elif household is not None:
        household_id = selectors.household_gate(
            user=actor, household_id=household.pk, action=Action.WRITE
        ).household_id
    else:
        raise Invalid(_("Choose a pet or a household."), field="pet_id")
    missing = [n for n in ("title", "start_date", "start_time") if fields.get(n) in (None, "")]
    if missing:
        raise Invalid(fields={name: [_("This field is required.")] for name in missing})
    reminder = Reminder(household_id=household_id, pet=pet, created_by=actor)
    _apply(reminder, {"rule": "", **fields}, actor=actor)
    _schedule_checked(reminder, now=now)
    _saved(reminder)
    return reminder


def reminder_update(
    *, actor: User, reminder: Reminder, now: dt.datetime | None = None, **fields: Any
) -> Reminder:
    """Change ``fields`` (as for ``reminder_create``); the schedule starts again from now
    (a pending snooze ends). An automatic reminder takes only ``AUTOMATIC_EDITABLE``: its
    date and repetition follow its health record."""
    now = now or timezone.now()
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    if reminder.automatic:
        fixed = sorted(set(fields) - AUTOMATIC_EDITABLE)
        if fixed:
            # the input is fine; this reminder's state (it follows a record) refuses it
            message = _("This follows its health record: change the record instead.")
            raise Conflict(message, fields={name: [message] for name in fixed})
    with transaction.atomic():
        _lock(reminder)
        _apply(reminder, fields, actor=actor)
        _schedule_checked(reminder, now=now)
        _saved(reminder)
    return reminder


def reminder_delete(*, actor: User, reminder: Reminder) -> None:
    """Delete a reminder set by hand and its history. An automatic one goes with its record
    (``Conflict``: pause it instead)."""
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    if reminder.automatic:
        raise Conflict(_("This reminder follows a health record: pause it, or change the record."))
    pet_id = reminder.pet_id
    with transaction.atomic():
        reminder.delete()
        if pet_id is not None:
            pet_revision_bump(pet_id)


# --- Pause and resume --------------------------------------------------------------------------


def reminder_pause(*, actor: User, reminder: Reminder, now: dt.datetime | None = None) -> Reminder:
    """Stop sending until resumed (occurrences in between are neither sent nor listed)."""
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    with transaction.atomic():
        _lock(reminder)
        reminder.paused = True
        schedule_reset(reminder, now=now or timezone.now())
        _saved(reminder)
    return reminder


def reminder_resume(*, actor: User, reminder: Reminder, now: dt.datetime | None = None) -> Reminder:
    """Send again from the next occurrence after now."""
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    with transaction.atomic():
        _lock(reminder)
        reminder.paused = False
        schedule_reset(reminder, now=now or timezone.now())
        _saved(reminder)
    return reminder


# --- Done, snooze, skip ------------------------------------------------------------------------


def _open_occurrence(reminder: Reminder) -> Occurrence | None:
    return reminder.occurrences.filter(status__in=OPEN_STATUSES).order_by("-due_at").first()


def _advance_past(reminder: Reminder, due: dt.datetime, *, now: dt.datetime) -> None:
    """Move the schedule to the occurrence after ``due`` (not saved)."""
    following = occurrence_after(reminder, due)
    reminder.next_due_at = following
    if reminder.paused or following is None:
        reminder.next_fire_at = None
    else:
        reminder.next_fire_at = max(following - lead_of(reminder), now)


def reminder_done(*, actor: User, reminder: Reminder, now: dt.datetime | None = None) -> Occurrence:
    """Mark done the latest occurrence still waiting (sent, snoozed or missed), or, when none
    waits, the next one ahead of time (the schedule then moves past it). ``Conflict`` when
    the reminder has nothing left."""
    now = now or timezone.now()
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    with transaction.atomic():
        _lock(reminder)
        occurrence = _open_occurrence(reminder)
        if occurrence is not None:
            if reminder.snoozed_due_at == occurrence.due_at:
                reminder.snoozed_due_at = reminder.snoozed_until = None
                _advance_from(reminder, now=now)
        else:
            occurrence = _upcoming_settle(reminder, OccurrenceStatus.DONE, now=now)
        occurrence.status, occurrence.by, occurrence.at = OccurrenceStatus.DONE, actor, now
        occurrence.snoozed_until = None
        occurrence.save()
        _saved(reminder)
    return occurrence


def _advance_from(reminder: Reminder, *, now: dt.datetime) -> None:
    """After a snooze ends early: fire at the regular time of ``next_due_at``."""
    due = reminder.next_due_at
    if reminder.paused or due is None:
        reminder.next_fire_at = None
    else:
        reminder.next_fire_at = max(due - lead_of(reminder), now)


def _upcoming_settle(reminder: Reminder, status: str, *, now: dt.datetime) -> Occurrence:
    due = reminder.next_due_at
    if due is None:
        raise Conflict(_("This reminder has no occurrence left."))
    _advance_past(reminder, due, now=now)
    occurrence, _created = Occurrence.objects.get_or_create(
        reminder=reminder, due_at=due, defaults={"status": status, "at": now}
    )
    return occurrence


def reminder_skip(*, actor: User, reminder: Reminder, now: dt.datetime | None = None) -> Occurrence:
    """Skip the next occurrence: it is not sent, and listed as skipped."""
    now = now or timezone.now()
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    with transaction.atomic():
        _lock(reminder)
        occurrence = _upcoming_settle(reminder, OccurrenceStatus.SKIPPED, now=now)
        occurrence.status, occurrence.by, occurrence.at = OccurrenceStatus.SKIPPED, actor, now
        occurrence.save()
        _saved(reminder)
    return occurrence


def snooze_until(
    reminder: Reminder, snooze_for: str, until: dt.datetime | None, *, now: dt.datetime
) -> dt.datetime:
    """When a snooze of ``snooze_for`` (``SnoozeFor``) asked at ``now`` ends; ``Invalid``
    for a custom time that is not in the next 30 days."""
    if snooze_for == SnoozeFor.HOUR:
        return now + dt.timedelta(hours=1)
    if snooze_for == SnoozeFor.TOMORROW:
        zone = zone_of(reminder)
        tomorrow = now.astimezone(zone).date() + dt.timedelta(days=1)
        return recurrence.local_to_instant(dt.datetime.combine(tomorrow, TOMORROW_MORNING), zone)
    if snooze_for != SnoozeFor.UNTIL:
        raise Invalid(_("Choose 1 hour, tomorrow morning or a time."), field="snooze_for")
    if until is None:
        raise Invalid(_("Choose until when."), field="until")
    if timezone.is_naive(until):
        until = recurrence.local_to_instant(until, zone_of(reminder))
    if until <= now or until - now > SNOOZE_MAX:  # a conflict with the clock (409)
        raise Conflict(_("Choose a time within the next 30 days."), field="until")
    return until.astimezone(dt.UTC)


def reminder_snooze(
    *,
    actor: User,
    reminder: Reminder,
    snooze_for: str,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Occurrence:
    """Send the latest occurrence still waiting again later: in 1 hour, tomorrow at 09:00
    in the reminder's zone, or at ``until`` (a naive ``until`` is local to the reminder).
    ``Conflict`` when nothing has been sent yet."""
    now = now or timezone.now()
    reminder = selectors.reminder_checked(user=actor, reminder=reminder, action=Action.WRITE)
    ends = snooze_until(reminder, snooze_for, until, now=now)
    with transaction.atomic():
        _lock(reminder)
        occurrence = _open_occurrence(reminder)
        if occurrence is None:
            raise Conflict(_("Nothing to snooze: this reminder has not been sent yet."))
        occurrence.status, occurrence.by, occurrence.at = OccurrenceStatus.SNOOZED, actor, now
        occurrence.snoozed_until = ends
        occurrence.save()
        reminder.snoozed_due_at, reminder.snoozed_until = occurrence.due_at, ends
        regular = reminder.next_due_at - lead_of(reminder) if reminder.next_due_at else None
        reminder.next_fire_at = ends if regular is None else min(ends, max(regular, now))
        if reminder.paused:
            reminder.next_fire_at = None
        _saved(reminder)
    return occurrence


def channels_clean(values: Sequence[str]) -> list[str]:
    """``values`` as stored channel names (``Invalid`` about ``channels`` otherwise)."""
    return _channels(list(values))
