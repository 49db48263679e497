"""Reminders in the calendar feed (``/cal/<token>.ics``, ``notifications.calendar``).

Each reminder the person may see (``selectors.reminder_list``: those of their households),
not paused, is one event:

* a recurring one keeps its own rule: ``DTSTART`` is its first local time with the
  reminder's ``TZID`` (the feed carries a ``VTIMEZONE`` for it) and ``RRULE`` is the stored
  rule, its local ``UNTIL`` turned into UTC as RFC 5545 asks; so a calendar expands it to
  the same local times as the server (``recurrence.occurrences``).
* a one-off is a single event at its instant.
* ``VALARM``: one alarm ``lead_minutes`` before (at the time itself without a lead).
* Where calendars and the server part: a local time inside a spring-forward gap. RFC 5545
  reads it with the offset before the gap (02:30 becomes 03:30), the server fires at the
  jump itself (03:00, ``recurrence.local_to_instant``). Such occurrences in the window
  ``GAP_WINDOW`` around today are listed as ``EXDATE`` (the calendar's reading) plus
  ``RDATE`` (the server's instant), so both agree there too.
* A skipped occurrence is an ``EXDATE``; a snoozed one moves: ``EXDATE`` at its due time,
  ``RDATE`` at the end of the snooze.
* Vaccination and deworming reminders are left out: the health source already lists those
  due dates (as all-day events).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from pawfile.accounts.models import User
from pawfile.notifications.calendar import CalendarEvent, calendar_source_register
from pawfile.reminders import recurrence
from pawfile.reminders.choices import OccurrenceStatus, Source
from pawfile.reminders.models import Occurrence, Reminder
from pawfile.reminders.selectors import reminder_list

UTC = dt.UTC
# How far before and after today gap occurrences are corrected (see the module docstring).
GAP_WINDOW = (dt.timedelta(days=60), dt.timedelta(days=400))
EVENT_MINUTES = 30


def _host() -> str:
    return urlsplit(settings.PAWFILE_BASE_URL).hostname or "localhost"


def rule_for_calendar(rule: str, zone: ZoneInfo) -> dict[str, Any]:
    """The stored RRULE value as icalendar's dict, its local ``UNTIL`` as a UTC instant."""
    from icalendar import vRecur

    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    recur = vRecur.from_ical(text)
    until = recur.get("UNTIL")
    if until:
        value = until[0]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            recur["UNTIL"] = [recurrence.local_to_instant(value, zone)]
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            local_end = dt.datetime.combine(value, dt.time(23, 59, 59))
            recur["UNTIL"] = [recurrence.local_to_instant(local_end, zone)]
    return dict(recur)


def _in_gap(local: dt.datetime, zone: ZoneInfo) -> bool:
    return local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local


def gap_fixes(
    reminder: Reminder, zone: ZoneInfo, *, today: dt.date
) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """The occurrences of ``reminder`` near ``today`` whose local time falls in a gap: the
    calendar's reading to exclude and the server's instant to add."""
    start = dt.datetime.combine(reminder.start_date, reminder.start_time)
    parsed = recurrence.rule_parse(reminder.rule, start=start)
    if parsed is None:
        return [], []
    low = dt.datetime.combine(today, dt.time()) - GAP_WINDOW[0]
    high = dt.datetime.combine(today, dt.time()) + GAP_WINDOW[1]
    excluded, added = [], []
    for local in parsed.between(low, high, inc=True):
        if _in_gap(local, zone):
            excluded.append(local.replace(tzinfo=zone))
            added.append(recurrence.local_to_instant(local, zone))
    return excluded, added


def reminder_event(
    reminder: Reminder, *, today: dt.date, skipped: list[dt.datetime]
) -> CalendarEvent | None:
    """The calendar event of one reminder (``None`` when its rule cannot be read)."""
    zone = ZoneInfo(reminder.timezone)
    local_start = dt.datetime.combine(reminder.start_date, reminder.start_time)
    title = f"{reminder.pet.name}: {reminder.title}" if reminder.pet else reminder.title
    common: dict[str, Any] = {
        "uid": f"reminder-{reminder.pk}@{_host()}",
        "summary": title,
        "description": reminder.notes,
        "url": settings.PAWFILE_BASE_URL
        + reverse("reminders:detail", kwargs={"reminder_id": reminder.pk}),
        "alarms": (dt.timedelta(minutes=reminder.lead_minutes),),
        "pet_id": reminder.pet_id,
    }
    if not reminder.rule.strip():
        instant = recurrence.local_to_instant(local_start, zone)
        if reminder.snoozed_until and reminder.snoozed_due_at == instant:
            instant = reminder.snoozed_until
        return CalendarEvent(start=instant.astimezone(zone), **common)
    try:
        rule = rule_for_calendar(reminder.rule, zone)
        excluded, added = gap_fixes(reminder, zone, today=today)
    except (recurrence.RuleError, ValueError):
        return None
    excluded += [instant.astimezone(zone) for instant in skipped]
    if reminder.snoozed_due_at and reminder.snoozed_until:
        excluded.append(reminder.snoozed_due_at.astimezone(zone))
        added.append(reminder.snoozed_until.astimezone(UTC))
    return CalendarEvent(
        start=local_start.replace(tzinfo=zone),
        rrule=rule,
        exdates=tuple(sorted(set(excluded))),
        rdates=tuple(sorted(set(added))),
        **common,
    )


def reminder_events(user: User, today: dt.date) -> list[CalendarEvent]:
    """Every reminder ``user`` may see, not paused, as calendar events."""
    reminders = list(
        reminder_list(user=user)
        .filter(paused=False)
        .exclude(source__in=[Source.VACCINATION, Source.DEWORMING])
    )
    skipped: dict[int, list[dt.datetime]] = {}
    for reminder_id, due in Occurrence.objects.filter(
        reminder__in=[r.pk for r in reminders], status=OccurrenceStatus.SKIPPED
    ).values_list("reminder_id", "due_at"):
        skipped.setdefault(reminder_id, []).append(due)
    events = []
    for reminder in reminders:
        event = reminder_event(reminder, today=today, skipped=skipped.get(reminder.pk, []))
        if event is not None:
            events.append(event)
    return events


def pet_calendar_context(request: Any, pet: Any) -> dict[str, Any]:
    """The pet page's "Subscribe to this pet's calendar" link (``webcal://`` with
    ``?pet=``), when the person has made a calendar address."""
    from pawfile.notifications.calendar import calendar_feed_get, calendar_urls

    user = request.user
    feed = calendar_feed_get(user=user) if isinstance(user, User) else None
    if feed is None:
        return {"pet_calendar_url": ""}
    return {"pet_calendar_url": f"{calendar_urls(feed)[1]}?pet={pet.pk}"}


def register() -> None:
    from pawfile.lib import registry

    calendar_source_register(name="reminders", events=reminder_events)
    registry.register_pet_panel(
        app="reminders.calendar",
        name="calendar",
        template="reminders/_pet_calendar_action.html",
        context=pet_calendar_context,
        slot="actions",
        order=70,
        # The link holds the person's own secret address: kept per user, and a new address
        # bumps their pets' revisions (notifications.calendar.calendar_token_regenerate).
        cacheable=True,
        per_user=True,
    )
