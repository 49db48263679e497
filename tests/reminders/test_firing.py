"""The scheduler: due reminders are found by ``next_fire_at``, each occurrence is sent once
(also with two schedulers racing), a late one within the grace is sent once, an older one is
recorded as missed; done, snooze, skip, pause and resume act on the right occurrence."""

from __future__ import annotations

import datetime as dt

import pytest

from pawfile.lib.errors import Conflict
from pawfile.notifications.models import Notification
from pawfile.reminders import firing, services
from pawfile.reminders.choices import OccurrenceStatus
from pawfile.reminders.models import Occurrence, Reminder
from tests.reminders.conftest import utc

# Europe/Madrid in January is UTC+1: 09:00 local is 08:00 UTC.
MADE = utc(2026, 1, 1, 0, 0)
FIRST = utc(2026, 1, 1, 8, 0)
DAY = dt.timedelta(days=1)


def _notified(reminder: Reminder) -> list[tuple[str, str]]:
    rows = Notification.objects.filter(
        kind="reminder", event_key__startswith=f"reminder:{reminder.pk}:"
    )
    return sorted((n.recipient.email, n.event_key) for n in rows)


def test_fires_once_to_owner_and_caretaker_and_moves_on(make_reminder, cast):
    reminder = make_reminder(now=MADE)
    assert reminder.next_due_at == FIRST and reminder.next_fire_at == FIRST
    assert firing.reminders_fire_due(now=FIRST - dt.timedelta(seconds=1)).fired == 0
    assert firing.reminders_fire_due(now=FIRST).fired == 1
    assert firing.reminders_fire_due(now=FIRST + dt.timedelta(minutes=1)).fired == 0
    key = f"reminder:{reminder.pk}:2026-01-01T08:00:00Z"
    # the viewer (carol) and the stranger are not told
    assert _notified(reminder) == [("alice@example.org", key), ("bob@example.org", key)]
    reminder.refresh_from_db()
    assert reminder.next_due_at == FIRST + DAY
    (occurrence,) = reminder.occurrences.all()
    assert occurrence.status == OccurrenceStatus.FIRED and occurrence.fired_at == FIRST


def test_assignee_alone_is_told(make_reminder, cast):
    reminder = make_reminder(now=MADE, assignee_id=cast.bob.pk)
    firing.reminders_fire_due(now=FIRST)
    assert [email for email, _key in _notified(reminder)] == ["bob@example.org"]


def test_lead_time_fires_before_the_occurrence(make_reminder):
    reminder = make_reminder(now=MADE, lead_minutes=120, start_date=dt.date(2026, 1, 2))
    assert reminder.next_fire_at == FIRST + DAY - dt.timedelta(hours=2)
    assert firing.reminders_fire_due(now=FIRST + DAY - dt.timedelta(hours=2)).fired == 1
    assert Occurrence.objects.get(reminder=reminder).due_at == FIRST + DAY


def test_a_second_scheduler_with_a_stale_read_fires_nothing(make_reminder):
    """Two schedulers read the same due row; the conditional UPDATE lets one through."""
    reminder = make_reminder(now=MADE)
    stale = Reminder.objects.get(pk=reminder.pk)
    firing.reminder_fire(reminder_id=reminder.pk, now=FIRST)
    # the second scheduler goes on with the row as it read it before the first committed
    stale.next_due_at, stale.next_fire_at = FIRST + DAY, FIRST + DAY
    assert firing._claim(stale, seen=FIRST) is False
    count = firing.FireCount()
    firing.reminder_fire(reminder_id=reminder.pk, now=FIRST, count=count)
    assert count.fired == 0
    assert Occurrence.objects.filter(reminder=reminder).count() == 1
    assert len(_notified(reminder)) == 2


def test_late_within_grace_fires_once_older_ones_are_missed(make_reminder, settings):
    settings.PAWFILE_REMINDER_GRACE = 6 * 3600
    reminder = make_reminder(now=MADE)
    # down from before the first until 5 h after the third occurrence
    back = FIRST + 2 * DAY + dt.timedelta(hours=5)
    count = firing.reminders_fire_due(now=back)
    assert (count.fired, count.missed) == (1, 2)
    statuses = dict(reminder.occurrences.values_list("due_at", "status"))
    assert statuses == {
        FIRST: OccurrenceStatus.MISSED,
        FIRST + DAY: OccurrenceStatus.MISSED,
        FIRST + 2 * DAY: OccurrenceStatus.FIRED,
    }
    assert [key for _e, key in _notified(reminder)] == [
        f"reminder:{reminder.pk}:2026-01-03T08:00:00Z"
    ] * 2
    assert firing.reminders_fire_due(now=back).fired == 0  # a restart fires nothing again


def test_past_the_grace_everything_is_missed(make_reminder, settings):
    settings.PAWFILE_REMINDER_GRACE = 3600
    reminder = make_reminder(now=MADE)
    count = firing.reminders_fire_due(now=FIRST + dt.timedelta(hours=2))
    assert (count.fired, count.missed) == (0, 1)
    assert _notified(reminder) == []
    reminder.refresh_from_db()
    assert reminder.next_fire_at == FIRST + DAY


def test_done_marks_the_sent_occurrence_with_who(make_reminder, cast):
    reminder = make_reminder(now=MADE)
    firing.reminders_fire_due(now=FIRST)
    occurrence = services.reminder_done(
        actor=cast.bob, reminder=reminder, now=FIRST + dt.timedelta(minutes=5)
    )
    assert (occurrence.due_at, occurrence.status, occurrence.by) == (FIRST, "done", cast.bob)
    # with nothing waiting, done settles the next one ahead of time: it is not sent
    early = services.reminder_done(
        actor=cast.alice, reminder=reminder, now=FIRST + dt.timedelta(hours=1)
    )
    assert early.due_at == FIRST + DAY
    assert firing.reminders_fire_due(now=FIRST + DAY).fired == 0
    assert firing.reminders_fire_due(now=FIRST + 2 * DAY).fired == 1


def test_snooze_sends_the_same_occurrence_again_later(make_reminder, cast):
    reminder = make_reminder(now=MADE)
    with pytest.raises(Conflict):
        services.reminder_snooze(actor=cast.alice, reminder=reminder, snooze_for="1h", now=MADE)
    firing.reminders_fire_due(now=FIRST)
    snoozed = services.reminder_snooze(
        actor=cast.alice, reminder=reminder, snooze_for="1h", now=FIRST + dt.timedelta(minutes=2)
    )
    assert snoozed.status == "snoozed"
    back = FIRST + dt.timedelta(hours=1, minutes=2)
    assert firing.reminders_fire_due(now=back - dt.timedelta(seconds=1)).fired == 0
    assert firing.reminders_fire_due(now=back).fired == 1
    keys = {key for _e, key in _notified(reminder)}
    assert keys == {
        f"reminder:{reminder.pk}:2026-01-01T08:00:00Z",
        f"reminder:{reminder.pk}:2026-01-01T08:00:00Z:snooze:2026-01-01T09:02:00Z",
    }
    reminder.refresh_from_db()
    assert reminder.next_fire_at == FIRST + DAY and reminder.snoozed_until is None


def test_snooze_until_tomorrow_morning_is_0900_local(make_reminder, cast):
    reminder = make_reminder(now=MADE, timezone="America/New_York")
    nine_ny = utc(2026, 1, 1, 14, 0)
    firing.reminders_fire_due(now=nine_ny)
    occurrence = services.reminder_snooze(
        actor=cast.alice, reminder=reminder, snooze_for="tomorrow", now=nine_ny
    )
    assert occurrence.snoozed_until == utc(2026, 1, 2, 14, 0)


def test_skip_pause_resume(make_reminder, cast):
    reminder = make_reminder(now=MADE)
    skipped = services.reminder_skip(actor=cast.alice, reminder=reminder, now=MADE)
    assert (skipped.due_at, skipped.status) == (FIRST, "skipped")
    assert firing.reminders_fire_due(now=FIRST).fired == 0
    services.reminder_pause(actor=cast.alice, reminder=reminder, now=FIRST)
    assert firing.reminders_fire_due(now=FIRST + 3 * DAY).fired == 0
    services.reminder_resume(
        actor=cast.alice, reminder=reminder, now=FIRST + 3 * DAY + dt.timedelta(hours=1)
    )
    reminder.refresh_from_db()
    assert reminder.next_due_at == FIRST + 4 * DAY  # nothing from the pause is sent or listed
    assert reminder.occurrences.count() == 1


def test_a_reminder_that_would_never_fire_is_refused(make_reminder):
    with pytest.raises(Conflict) as refused:
        make_reminder(now=MADE, rule="", start_date=dt.date(2025, 12, 1))
    assert "start_date" in refused.value.fields
