"""Local time across DST changes: "every day at 09:00" stays at 09:00 local, a local time in
a spring-forward gap fires once at the first valid instant, one in a fall-back overlap once.

Expansion is checked directly and through the scheduler with a frozen clock (time-machine):
each tick fires what is due, and nothing else.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from pawfile.reminders import recurrence
from pawfile.reminders.firing import reminders_fire_due
from pawfile.reminders.models import Occurrence, Reminder
from tests.reminders.conftest import utc


def _local_times(zone: str, start: dt.datetime, rule: str, after: dt.datetime, n: int) -> list:
    z = ZoneInfo(zone)
    found = recurrence.occurrences(start=start, rule=rule, zone=z, after=after)
    return [next(found).astimezone(z) for _ in range(n)]


# Zone, a day before its change, and the offsets before and after.
CHANGES = [
    ("Europe/Madrid", dt.date(2026, 3, 28), "+0100", "+0200"),  # spring forward 29 Mar
    ("Europe/Madrid", dt.date(2026, 10, 24), "+0200", "+0100"),  # fall back 25 Oct
    ("America/New_York", dt.date(2026, 3, 7), "-0500", "-0400"),  # 8 Mar
    ("America/New_York", dt.date(2026, 10, 31), "-0400", "-0500"),  # 1 Nov
    ("Australia/Lord_Howe", dt.date(2026, 4, 4), "+1100", "+1030"),  # 5 Apr, 30 minutes
    ("Australia/Lord_Howe", dt.date(2026, 10, 3), "+1030", "+1100"),  # 4 Oct
    ("America/Mexico_City", dt.date(2022, 4, 2), "-0600", "-0500"),  # its last spring change
    ("America/Mexico_City", dt.date(2022, 10, 29), "-0500", "-0600"),  # its last fall back
]


@pytest.mark.parametrize(("zone", "day", "before", "after"), CHANGES)
def test_daily_0900_stays_0900_across_the_change(zone, day, before, after):
    start = dt.datetime.combine(day - dt.timedelta(days=10), dt.time(9, 0))
    times = _local_times(
        zone,
        start,
        "FREQ=DAILY;INTERVAL=1",
        dt.datetime.combine(day, dt.time(0), ZoneInfo(zone)),
        3,
    )
    assert [t.strftime("%H:%M") for t in times] == ["09:00", "09:00", "09:00"]
    assert times[0].strftime("%z") == before
    assert times[2].strftime("%z") == after


def test_mexico_city_no_longer_changes_after_2022():
    """Mexico abolished DST in October 2022: 09:00 is -0600 all of 2023, April included."""
    z = ZoneInfo("America/Mexico_City")
    found = recurrence.occurrences(
        start=dt.datetime(2023, 1, 1, 9, 0),
        rule="FREQ=WEEKLY;INTERVAL=1",
        zone=z,
        after=utc(2023, 1, 1),
    )
    offsets = {next(found).astimezone(z).strftime("%H:%M %z") for _ in range(52)}
    assert offsets == {"09:00 -0600"}


@pytest.mark.parametrize(
    ("zone", "day", "local", "expected_local"),
    [
        ("America/New_York", dt.date(2026, 3, 8), dt.time(2, 30), "03:00 -0400"),
        ("Europe/Madrid", dt.date(2026, 3, 29), dt.time(2, 30), "03:00 +0200"),
        ("Australia/Lord_Howe", dt.date(2026, 10, 4), dt.time(2, 15), "02:30 +1100"),
    ],
)
def test_a_time_in_the_gap_fires_once_at_the_first_valid_instant(zone, day, local, expected_local):
    z = ZoneInfo(zone)
    start = dt.datetime.combine(day - dt.timedelta(days=1), local)
    found = recurrence.occurrences(
        start=start, rule="FREQ=DAILY;INTERVAL=1", zone=z, after=utc(2000, 1, 1)
    )
    times = [next(found).astimezone(z) for _ in range(3)]
    assert times[1].date() == day
    assert times[1].strftime("%H:%M %z") == expected_local
    assert times[0].strftime("%H:%M") == times[2].strftime("%H:%M") == local.strftime("%H:%M")
    assert len(set(times)) == 3


@pytest.mark.parametrize(
    ("zone", "day"),
    [("America/New_York", dt.date(2026, 11, 1)), ("Europe/Madrid", dt.date(2026, 10, 25))],
)
def test_an_ambiguous_time_fires_once_the_first_time(zone, day):
    z = ZoneInfo(zone)
    local = dt.time(1, 30) if zone == "America/New_York" else dt.time(2, 30)
    start = dt.datetime.combine(day, local)
    found = list(
        recurrence.occurrences(
            start=start, rule="FREQ=DAILY;COUNT=2", zone=z, after=utc(2000, 1, 1)
        )
    )
    on_the_day = [t for t in found if t.astimezone(z).date() == day]
    assert len(on_the_day) == 1
    # the first of the two: still summer time
    summer = dt.datetime.combine(day - dt.timedelta(days=1), local, z).utcoffset()
    assert on_the_day[0].astimezone(z).utcoffset() == summer


def test_weekly_and_monthly_keep_local_time_across_changes():
    z = ZoneInfo("America/New_York")
    weekly = recurrence.occurrences(
        start=dt.datetime(2026, 2, 23, 20, 0),
        rule="FREQ=WEEKLY;BYDAY=MO,TH",
        zone=z,
        after=utc(2026, 2, 23),
    )
    local = [next(weekly).astimezone(z) for _ in range(8)]
    assert {t.strftime("%a %H:%M") for t in local} == {"Mon 20:00", "Thu 20:00"}
    assert {t.strftime("%z") for t in local} == {"-0500", "-0400"}
    last_friday = recurrence.occurrences(
        start=dt.datetime(2026, 1, 30, 9, 0),
        rule="FREQ=MONTHLY;BYDAY=-1FR",
        zone=z,
        after=utc(2026, 1, 1),
    )
    fridays = [next(last_friday).astimezone(z) for _ in range(4)]
    assert [t.date() for t in fridays] == [
        dt.date(2026, 1, 30),
        dt.date(2026, 2, 27),
        dt.date(2026, 3, 27),
        dt.date(2026, 4, 24),
    ]
    assert {t.strftime("%H:%M") for t in fridays} == {"09:00"}


def test_rule_build_and_refusals():
    build = recurrence.rule_build
    assert build(recurrence.Recurrence()) == ""
    assert (
        build(recurrence.Recurrence("weekly", 2, weekdays=["th", "MO"], count=4))
        == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=4"
    )
    assert build(recurrence.Recurrence("daily", until=dt.date(2026, 5, 1))).endswith(
        "UNTIL=20260501T235959"
    )
    for bad in [
        "FREQ=MINUTELY",
        "DTSTART:20260101T000000\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;UNTIL=20260101T000000Z",
        "nonsense",
    ]:
        with pytest.raises(recurrence.RuleError):
            recurrence.rule_parse(bad, start=dt.datetime(2026, 1, 1))
    with pytest.raises(recurrence.RuleError):
        build(recurrence.Recurrence("daily", until=dt.date(2026, 1, 1), count=3))


# --- Through the scheduler, with a frozen clock -----------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first_day"),
    [
        ("Europe/Madrid", dt.date(2026, 3, 27)),
        ("America/New_York", dt.date(2026, 10, 30)),
        ("Australia/Lord_Howe", dt.date(2026, 4, 3)),
        ("America/Mexico_City", dt.date(2022, 10, 28)),
    ],
)
def test_the_scheduler_fires_at_0900_local_each_day(make_reminder, zone, first_day, db):
    z = ZoneInfo(zone)
    start_instant = dt.datetime.combine(first_day, dt.time(0), z)
    with time_machine.travel(start_instant, tick=False):
        reminder = make_reminder(
            now=start_instant, timezone=zone, start_date=first_day, rule="FREQ=DAILY;COUNT=4"
        )
    fired_local = []
    for day in range(4):
        nine = dt.datetime.combine(first_day + dt.timedelta(days=day), dt.time(9, 0), z)
        for moment, expect in [
            (nine - dt.timedelta(minutes=1), 0),
            (nine, 1),
            (nine + dt.timedelta(minutes=1), 0),
        ]:
            with time_machine.travel(moment, tick=False):
                assert reminders_fire_due().fired == expect, moment
        fired_local.append(nine)
    times = [
        o.due_at.astimezone(z).strftime("%H:%M")
        for o in Occurrence.objects.filter(reminder=reminder).order_by("due_at")
    ]
    assert times == ["09:00"] * 4
    reminder.refresh_from_db()
    assert reminder.next_fire_at is None  # COUNT=4 is used up


def test_a_gap_time_fires_once_through_the_scheduler(make_reminder, db):
    z = ZoneInfo("America/New_York")
    begin = dt.datetime(2026, 3, 7, 12, 0, tzinfo=z)
    with time_machine.travel(begin, tick=False):
        reminder = make_reminder(
            now=begin,
            timezone="America/New_York",
            start_date=dt.date(2026, 3, 7),
            start_time=dt.time(2, 30),
            rule="FREQ=DAILY;COUNT=3",
        )
    fired = 0
    moment = begin
    while moment < dt.datetime(2026, 3, 10, 12, 0, tzinfo=z):
        moment += dt.timedelta(minutes=30)
        with time_machine.travel(moment, tick=False):
            fired += reminders_fire_due().fired
    due = list(Occurrence.objects.filter(reminder=reminder).order_by("due_at"))
    assert fired == 2  # the 7th's 02:30 was past when it was made
    assert [o.due_at.astimezone(z).strftime("%d %H:%M %z") for o in due] == [
        "08 03:00 -0400",
        "09 02:30 -0400",
    ]
    assert Reminder.objects.get(pk=reminder.pk).next_fire_at is None


def test_the_end_of_a_repetition_reads_in_the_pages_date_format():
    from django.utils import translation

    from pawfile.reminders.display import rule_text

    rule = "FREQ=DAILY;INTERVAL=1;UNTIL=20261222T235959"
    assert rule_text(rule).endswith("until 22 Dec 2026")
    with translation.override("es"):
        assert rule_text(rule).endswith("22 dic 2026")
