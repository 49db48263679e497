"""The scheduler's side: find due reminders by their materialised ``next_fire_at`` and fire
each once.

``reminders_fire_due(now)`` (the periodic task, every minute) reads the ids of reminders
whose ``next_fire_at`` has come, in batches, through the ``reminder_next_fire`` index (no
rule is expanded to find them), for at most ``TICK_SECONDS``. They are fired in chunks of
``COMMIT_EVERY`` per transaction by ``firing_batch.reminders_fire_batch``, which does for a
whole chunk, in a few statements, what ``reminder_fire`` below does for one reminder, and
hands the rare cases (a snooze ending, missed occurrences, a lost race) to
``reminder_fire`` one by one, each in a savepoint (one that raises is rolled back alone,
logged, and left for the next tick). Firing one reminder:

1. the row is claimed with one conditional UPDATE that moves ``next_fire_at`` (and
   ``next_due_at``) on, on the condition that ``next_fire_at`` still holds the value read:
   of two schedulers (or a tick and a person's edit) racing for one row, exactly one
   updates it; the other changes nothing and sends nothing;
2. in the same transaction, the occurrence row is written (unique per reminder and due
   instant) and the notification is handed to ``notifications.services.notification_send``
   (its outbox rows commit with the occurrence, or neither does) with the event key
   ``reminder:{id}:{due}`` (``...:snooze:{until}`` for a snoozed occurrence coming back).

Grace: an occurrence whose fire time is more than ``PAWFILE_REMINDER_GRACE`` seconds in the
past when the scheduler reaches it (the server was down) is not sent; it is recorded as
``missed``. One within the grace is sent once. After a long outage at most
``MISSED_ROWS_MAX`` missed occurrences are listed per reminder, and the schedule jumps to
the first occurrence still within the grace.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pawfile.accounts.choices import Role
from pawfile.accounts.models import Membership, User
from pawfile.lib.dates import date_text, user_zone_override
from pawfile.notifications import services as notifications
from pawfile.pets.services import pet_revision_bump
from pawfile.reminders import services
from pawfile.reminders.choices import OccurrenceStatus
from pawfile.reminders.models import Occurrence, Reminder

log = logging.getLogger(__name__)

BATCH = 500
ROUNDS_MAX = 400  # batches per tick; whatever is left waits for the next tick
TICK_SECONDS = 50.0  # nor does a tick start a batch after this long (ticks are a minute apart)
COMMIT_EVERY = 250
MISSED_ROWS_MAX = 100
NOTIFICATION_KIND = "reminder"


@dataclass
class FireCount:
    """What one tick did."""

    fired: int = 0
    missed: int = 0
    lost_race: int = 0
    failed: list[int] = field(default_factory=list)


def grace() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PAWFILE_REMINDER_GRACE)


def due_ids(*, now: dt.datetime, limit: int = BATCH, exclude: set[int] | None = None) -> list[int]:
    """Ids of reminders whose fire time has come, oldest first (the indexed query)."""
    rows = Reminder.objects.filter(next_fire_at__lte=now).order_by("next_fire_at")
    if exclude:
        rows = rows.exclude(pk__in=exclude)
    return list(rows.values_list("pk", flat=True)[:limit])


def reminders_fire_due(*, now: dt.datetime | None = None) -> FireCount:
    """Fire every reminder due at ``now`` (default: this instant); see the module docstring.

    A reminder whose firing raises is logged, left as it was and tried again next tick."""
    from pawfile.reminders import firing_batch  # it builds on this module

    now = now or timezone.now()
    count = FireCount()
    # Rows this tick could not move (another scheduler holds them, or firing raised) are not
    # asked for again in this tick.
    stuck: set[int] = set()
    started = time.monotonic()
    for _round in range(ROUNDS_MAX):
        if time.monotonic() - started > TICK_SECONDS:
            break
        ids = due_ids(now=now, exclude=stuck)
        if not ids:
            break
        for start in range(0, len(ids), COMMIT_EVERY):
            # One commit per chunk, fired together (``firing_batch``): a commit and the
            # round trips are most of the cost of firing one, and a chunk holds the write
            # lock only briefly.
            with transaction.atomic():
                chunk = ids[start : start + COMMIT_EVERY]
                stuck |= firing_batch.reminders_fire_batch(chunk, now=now, count=count)
    return count


def fire_guarded(reminder_id: int, *, now: dt.datetime, count: FireCount) -> bool:
    try:
        return reminder_fire(reminder_id=reminder_id, now=now, count=count)
    except Exception:
        log.exception("reminders: firing reminder %s failed", reminder_id)
        count.failed.append(reminder_id)
        return False


def reminder_fire(*, reminder_id: int, now: dt.datetime, count: FireCount | None = None) -> bool:
    """Fire what is due of one reminder at ``now``, once (see the module docstring).

    Returns whether this call moved the reminder's schedule (``False``: nothing was due,
    or another scheduler or a person's change got there first)."""
    count = count if count is not None else FireCount()
    with transaction.atomic():
        reminder = Reminder.objects.select_related("pet").filter(pk=reminder_id).first()
        if reminder is None or reminder.next_fire_at is None or reminder.next_fire_at > now:
            return False
        seen = reminder.next_fire_at
        if reminder.snoozed_until is not None and reminder.snoozed_until <= now:
            return _fire_snoozed(reminder, seen=seen, now=now, count=count)
        if reminder.next_due_at is not None:
            return _fire_regular(reminder, seen=seen, now=now, count=count)
        return False


def _claim(reminder: Reminder, *, seen: dt.datetime) -> bool:
    """Write the new schedule only if ``next_fire_at`` is still ``seen`` (the claim)."""
    updated = Reminder.objects.filter(pk=reminder.pk, next_fire_at=seen).update(
        next_fire_at=reminder.next_fire_at,
        next_due_at=reminder.next_due_at,
        snoozed_due_at=reminder.snoozed_due_at,
        snoozed_until=reminder.snoozed_until,
        updated_at=timezone.now(),
    )
    if updated == 1 and reminder.pet_id is not None:
        pet_revision_bump(reminder.pet_id)  # the pet page lists its reminders
    return updated == 1


def next_fire(reminder: Reminder, *, now: dt.datetime) -> dt.datetime | None:
    """When to fire next: the regular time of ``next_due_at``, or a pending snooze's end
    if sooner."""
    times = []
    if reminder.next_due_at is not None:
        times.append(reminder.next_due_at - services.lead_of(reminder))
    if reminder.snoozed_until is not None:
        times.append(reminder.snoozed_until)
    return min(times) if times and not reminder.paused else None


def _fire_snoozed(
    reminder: Reminder, *, seen: dt.datetime, now: dt.datetime, count: FireCount
) -> bool:
    due, until = reminder.snoozed_due_at, reminder.snoozed_until
    assert due is not None and until is not None
    reminder.snoozed_due_at = reminder.snoozed_until = None
    reminder.next_fire_at = next_fire(reminder, now=now)
    if not _claim(reminder, seen=seen):
        count.lost_race += 1
        return False
    occurrence = Occurrence.objects.filter(reminder=reminder, due_at=due).first()
    if occurrence is None or occurrence.status != OccurrenceStatus.SNOOZED:
        return True  # done or skipped meanwhile: nothing to bring back
    occurrence.status, occurrence.fired_at, occurrence.at = OccurrenceStatus.FIRED, now, now
    occurrence.snoozed_until = None
    occurrence.save(update_fields=["status", "fired_at", "at", "snoozed_until"])
    _notify(reminder, due=due, key=f"{_key(reminder, due)}:snooze:{_iso(until)}")
    count.fired += 1
    return True


def _fire_regular(
    reminder: Reminder, *, seen: dt.datetime, now: dt.datetime, count: FireCount
) -> bool:
    due = reminder.next_due_at
    assert due is not None
    lead = services.lead_of(reminder)
    late = now - seen > grace()
    missed = [due] if late else []
    following = services.occurrence_after(reminder, due)
    # After an outage, list what was missed (up to a bound) and jump to the first
    # occurrence whose fire time is still within the grace.
    while following is not None and following - lead < now - grace():
        if len(missed) < MISSED_ROWS_MAX:
            missed.append(following)
        following = services.occurrence_after(reminder, following)
    reminder.next_due_at = following
    reminder.next_fire_at = next_fire(reminder, now=now)
    if not _claim(reminder, seen=seen):
        count.lost_race += 1
        return False
    if missed:
        Occurrence.objects.bulk_create(
            [
                Occurrence(reminder=reminder, due_at=at, status=OccurrenceStatus.MISSED, at=now)
                for at in missed
            ],
            ignore_conflicts=True,  # an occurrence someone already settled stays as it is
        )
        count.missed += len(missed)
        return True
    if Occurrence.objects.filter(reminder=reminder, due_at=due).exists():
        return True  # settled ahead of time (done, skipped): nothing to send
    Occurrence.objects.create(
        reminder=reminder, due_at=due, status=OccurrenceStatus.FIRED, fired_at=now, at=now
    )
    _notify(reminder, due=due, key=_key(reminder, due))
    count.fired += 1
    return True


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(reminder: Reminder, due: dt.datetime) -> str:
    return f"reminder:{reminder.pk}:{_iso(due)}"


def recipients(reminder: Reminder) -> list[User]:
    """Who is told: the assignee while they are a member, else the household's owners and
    caretakers (viewers only read)."""
    members = Membership.objects.filter(household_id=reminder.household_id).select_related("user")
    if reminder.assignee_id is not None:
        assigned = [m.user for m in members if m.user_id == reminder.assignee_id]
        if assigned:
            return assigned
    writers = (Role.OWNER, Role.CARETAKER)
    return [m.user for m in members.order_by("pk") if m.role in writers and m.user.is_active]


def _notify(reminder: Reminder, *, due: dt.datetime, key: str) -> None:
    link = (
        reverse("reminders:pet_list", kwargs={"pet_id": reminder.pet_id})
        if reminder.pet_id
        else reverse("reminders:list")
    )
    for user in recipients(reminder):
        with translation.override(user.locale or settings.LANGUAGE_CODE), user_zone_override(user):
            when = date_text(due)
            body = (
                _("%(pet)s: due %(when)s") % {"pet": reminder.pet.name, "when": when}
                if reminder.pet is not None
                else _("Due %(when)s") % {"when": when}
            )
        notifications.notification_send(
            recipient=user, kind=NOTIFICATION_KIND, title=reminder.title, body=body, link=link,
            pet=reminder.pet, event_key=key, channels=list(reminder.channels) or None,
        )  # fmt: skip
