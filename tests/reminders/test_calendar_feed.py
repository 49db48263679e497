"""Reminders in the calendar feed: fetched from ``/cal/<token>.ics`` like a calendar app
does, parsed with icalendar and expanded with recurring-ical-events over windows that cross
DST changes; the instants must be the ones the reminders app itself fires
(``recurrence.occurrences``), including local times inside a spring-forward gap and in the
repeated hour of a fall-back. Also: VALARM for the lead time, a VTIMEZONE per zone, paused
reminders left out, one-offs as single events, a skipped occurrence left out, the ETag
changing when a reminder changes, and who sees which reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
import time_machine
from django.test import Client
from icalendar import Calendar

from pawfile.notifications.models import CalendarFeed
from pawfile.reminders import recurrence, services
from pawfile.reminders.models import Reminder
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def feed(user_client: Client) -> tuple[str, Client]:
    user_client.post("/notifications/calendar/new")
    feed = CalendarFeed.objects.order_by("-created_at").first()
    assert feed is not None
    return f"/cal/{feed.token}.ics", Client()


def fetch(path: str, client: Client) -> Calendar:
    response = client.get(path)
    assert response.status_code == 200
    return Calendar.from_ical(response.content)


def server_instants(reminder: Reminder, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """What the reminders app fires in ``[start, end)``."""
    found = []
    for instant in recurrence.occurrences(
        start=dt.datetime.combine(reminder.start_date, reminder.start_time),
        rule=reminder.rule,
        zone=ZoneInfo(reminder.timezone),
        after=start,
        inclusive=True,
    ):
        if instant >= end:
            break
        found.append(instant)
    return found


def calendar_instants(
    calendar: Calendar, uid: str, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """What a calendar app shows for event ``uid`` in ``[start, end)``, as UTC instants."""
    events = recurring_ical_events.of(calendar).between(start, end)
    return sorted(e.decoded("DTSTART").astimezone(UTC) for e in events if str(e["UID"]) == uid)


# Windows crossing a DST change in each zone (all in 2027: inside the feed's gap window).
CASES = [
    # zone, rule, local time, window start, window end (UTC)
    ("Europe/Madrid", "FREQ=DAILY;INTERVAL=1", dt.time(9, 0), (2027, 3, 24), (2027, 4, 2)),
    ("Europe/Madrid", "FREQ=DAILY;INTERVAL=1", dt.time(2, 30), (2027, 3, 24), (2027, 4, 2)),
    ("Europe/Madrid", "FREQ=DAILY;INTERVAL=1", dt.time(2, 30), (2027, 10, 27), (2027, 11, 3)),
    (
        "Europe/Madrid",
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=SU",
        dt.time(2, 15),
        (2027, 3, 1),
        (2027, 4, 30),
    ),
    (
        "Europe/Madrid",
        "FREQ=MONTHLY;INTERVAL=1;BYDAY=-1SU",
        dt.time(2, 45),
        (2027, 1, 1),
        (2027, 12, 31),
    ),
    ("America/New_York", "FREQ=DAILY;INTERVAL=1", dt.time(9, 0), (2027, 3, 10), (2027, 3, 18)),
    ("America/New_York", "FREQ=DAILY;INTERVAL=1", dt.time(2, 10), (2027, 3, 10), (2027, 3, 18)),
    ("America/New_York", "FREQ=DAILY;INTERVAL=1", dt.time(1, 30), (2027, 11, 4), (2027, 11, 11)),
    (
        "America/New_York",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        dt.time(20, 0),
        (2027, 3, 1),
        (2027, 4, 1),
    ),
    ("Australia/Lord_Howe", "FREQ=DAILY;INTERVAL=1", dt.time(9, 0), (2027, 3, 30), (2027, 4, 8)),
    ("Australia/Lord_Howe", "FREQ=DAILY;INTERVAL=1", dt.time(1, 45), (2027, 3, 30), (2027, 4, 8)),
    ("Australia/Lord_Howe", "FREQ=DAILY;INTERVAL=1", dt.time(2, 15), (2027, 9, 29), (2027, 10, 7)),
    (
        "Australia/Lord_Howe",
        "FREQ=MONTHLY;INTERVAL=1;BYDAY=1SU",
        dt.time(2, 10),
        (2027, 1, 1),
        (2027, 12, 31),
    ),
]


@pytest.mark.parametrize(("zone", "rule", "time", "start", "end"), CASES)
def test_the_feed_expands_to_the_instants_the_server_fires(
    cast: Cast, pet, zone: str, rule: str, time: dt.time, start: tuple, end: tuple
) -> None:
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Pill", start_date=dt.date(2026, 1, 1),
        start_time=time, timezone=zone, rule=rule, lead_minutes=15,
    )  # fmt: skip
    path, anonymous = feed(cast.client_for("alice"))
    calendar = fetch(path, anonymous)
    window = dt.datetime(*start, tzinfo=UTC), dt.datetime(*end, tzinfo=UTC)
    expected = server_instants(reminder, *window)
    assert expected, "the window should hold occurrences"
    uid = next(str(e["UID"]) for e in calendar.walk("VEVENT") if "reminder-" in str(e["UID"]))
    assert calendar_instants(calendar, uid, *window) == expected

    (event,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid]
    assert event["DTSTART"].params["TZID"] == zone
    assert zone in [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -dt.timedelta(minutes=15)
    in_gap = [i for i in expected if i.astimezone(ZoneInfo(zone)).time() != time]
    # A local time the clock skips that day: the server fires at the jump, and the feed
    # says so with EXDATE (the calendar's own reading) plus RDATE (the server's instant).
    if in_gap:
        assert "RDATE" in event and "EXDATE" in event


def test_until_is_kept_in_utc_and_ends_where_the_server_ends(cast: Cast, pet) -> None:
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Course", start_date=dt.date(2027, 3, 20),
        start_time=dt.time(23, 30), timezone="Europe/Madrid",
        rule="FREQ=DAILY;INTERVAL=1;UNTIL=20270405T235959",
    )  # fmt: skip
    path, anonymous = feed(cast.client_for("alice"))
    calendar = fetch(path, anonymous)
    (event,) = calendar.walk("VEVENT")
    until: Any = event["RRULE"]["UNTIL"][0]  # type: ignore[index]
    assert until.tzinfo is not None and until.utcoffset() == dt.timedelta(0)
    window = dt.datetime(2027, 3, 1, tzinfo=UTC), dt.datetime(2027, 5, 1, tzinfo=UTC)
    expected = server_instants(reminder, *window)
    assert len(expected) == 17
    assert calendar_instants(calendar, str(event["UID"]), *window) == expected


def test_one_offs_are_single_events_and_paused_ones_are_left_out(cast: Cast, pet) -> None:
    once = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Vet visit", start_date=dt.date(2027, 3, 28),
        start_time=dt.time(2, 30), timezone="Europe/Madrid", rule="",
    )  # fmt: skip
    paused = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Walk", start_date=dt.date(2027, 1, 1),
        start_time=dt.time(8, 0), timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1",
    )  # fmt: skip
    services.reminder_pause(actor=cast.alice, reminder=paused, now=NOW)
    path, anonymous = feed(cast.client_for("alice"))
    calendar = fetch(path, anonymous)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rex: Vet visit"
    assert "RRULE" not in event
    # 02:30 does not exist that night in Madrid: the server fires at the jump (03:00 CEST).
    assert event.decoded("DTSTART").astimezone(UTC) == once.next_due_at
    assert once.next_due_at == dt.datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


def test_a_skipped_occurrence_is_left_out(cast: Cast, pet) -> None:
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Pill", start_date=dt.date(2026, 12, 3),
        start_time=dt.time(9, 0), timezone="America/New_York", rule="FREQ=DAILY;INTERVAL=1",
    )  # fmt: skip
    services.reminder_skip(actor=cast.alice, reminder=reminder, now=NOW)
    path, anonymous = feed(cast.client_for("alice"))
    calendar = fetch(path, anonymous)
    (event,) = calendar.walk("VEVENT")
    assert "EXDATE" in event
    window = dt.datetime(2026, 12, 3, tzinfo=UTC), dt.datetime(2026, 12, 6, tzinfo=UTC)
    shown = calendar_instants(calendar, str(event["UID"]), *window)
    assert shown == [
        dt.datetime(2026, 12, 4, 14, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
    ]  # 3 December skipped


def test_the_etag_changes_when_a_reminder_changes(cast: Cast, pet) -> None:
    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Pill", start_date=dt.date(2026, 12, 3),
        start_time=dt.time(9, 0), timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1",
    )  # fmt: skip
    path, anonymous = feed(cast.client_for("alice"))
    first = anonymous.get(path)
    assert anonymous.get(path, headers={"If-None-Match": first["ETag"]}).status_code == 304
    services.reminder_update(actor=cast.alice, reminder=reminder, now=NOW, title="Two pills")
    second = anonymous.get(path, headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    assert b"Two pills" in second.content


@pytest.mark.parametrize(
    ("who", "sees"),
    [("alice", True), ("bob", True), ("carol", True), ("charlie", False)],
)
def test_each_person_sees_the_reminders_of_their_households(
    cast: Cast, pet, who: str, sees: bool
) -> None:
    services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Pill", start_date=dt.date(2026, 12, 3),
        start_time=dt.time(9, 0), timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1",
    )  # fmt: skip
    path, anonymous = feed(cast.client_for(who))
    summaries = [str(e["SUMMARY"]) for e in fetch(path, anonymous).walk("VEVENT")]
    assert summaries == (["Rex: Pill"] if sees else [])


def test_the_per_pet_feed_keeps_that_pets_events(cast: Cast, pet) -> None:
    from pawfile.pets.models import Pet

    luna = Pet.objects.create(household=cast.household, name="Luna", species="cat")
    for each, title in ((pet, "Pill"), (luna, "Brush")):
        services.reminder_create(
            actor=cast.alice, pet=each, now=NOW, title=title, start_date=dt.date(2026, 12, 3),
            start_time=dt.time(9, 0), timezone="Europe/Madrid", rule="FREQ=DAILY;INTERVAL=1",
        )  # fmt: skip
    alice = cast.client_for("alice")
    assert b"webcal://" not in alice.get(f"/pets/{luna.pk}/").content  # no address yet
    path, anonymous = feed(alice)
    offered = alice.get(f"/pets/{luna.pk}/").content.decode()
    link = offered.split('href="webcal://', 1)[1].split('"', 1)[0]
    assert link.endswith(f"{path}?pet={luna.pk}")

    def summaries(query: str) -> list[str]:
        return sorted(str(e["SUMMARY"]) for e in fetch(path + query, anonymous).walk("VEVENT"))

    assert summaries("") == ["Luna: Brush", "Rex: Pill"]
    assert summaries(f"?pet={luna.pk}") == ["Luna: Brush"]
    assert summaries(f"?pet={pet.pk}") == ["Rex: Pill"]
    charlies = Pet.objects.create(household=cast.charlie.memberships.get().household, name="Max")
    assert summaries(f"?pet={charlies.pk}") == []  # not hers: nothing
    for bad in ("abc", "-1", "0", "²", "9" * 30):
        response = anonymous.get(path + f"?pet={bad}")
        assert response.status_code == 400 and b"pet" in response.content


def test_a_snoozed_occurrence_moves_to_the_end_of_the_snooze(cast: Cast, pet) -> None:
    from pawfile.reminders import firing

    reminder = services.reminder_create(
        actor=cast.alice, pet=pet, now=NOW, title="Pill", start_date=dt.date(2026, 12, 3),
        start_time=dt.time(9, 0), timezone="America/New_York", rule="FREQ=DAILY;INTERVAL=1",
    )  # fmt: skip
    due = dt.datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert firing.reminders_fire_due(now=due).fired == 1
    services.reminder_snooze(
        actor=cast.alice, reminder=reminder, snooze_for="1h", now=due + dt.timedelta(minutes=5)
    )
    path, anonymous = feed(cast.client_for("alice"))
    calendar = fetch(path, anonymous)
    (event,) = calendar.walk("VEVENT")
    window = dt.datetime(2026, 12, 3, tzinfo=UTC), dt.datetime(2026, 12, 6, tzinfo=UTC)
    assert calendar_instants(calendar, str(event["UID"]), *window) == [
        dt.datetime(2026, 12, 3, 15, 5, tzinfo=UTC),  # 09:00 snoozed at 09:05 for an hour
        dt.datetime(2026, 12, 4, 14, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
    ]
