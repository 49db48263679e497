"""Automatic reminders follow health records: created, moved and removed with the record
(through ``health.hooks``; health does not import reminders)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pawfile.health import services as health
from pawfile.lib.errors import Conflict
from pawfile.reminders import automatic, services
from pawfile.reminders.choices import Source
from pawfile.reminders.models import Reminder


def _soon(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def test_vaccination_due_date_makes_moves_and_removes_its_reminder(cast, pet):
    cast.alice.timezone = "America/Mexico_City"
    cast.alice.save()
    record = health.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name="Rabies", next_due=_soon(60)
    )
    reminder = Reminder.objects.get(record=record)
    assert (reminder.source, reminder.pet, reminder.rule) == (Source.VACCINATION, pet, "")
    assert reminder.title == "Rabies due"
    assert reminder.timezone == "America/Mexico_City"
    assert reminder.next_due_at is not None
    assert reminder.next_due_at.astimezone(dt.timezone(dt.timedelta(hours=-6))).date() == _soon(60)

    # a person's changes (time, lead) stay when the record moves the date
    services.reminder_update(
        actor=cast.bob, reminder=reminder, start_time=dt.time(18, 0), lead_minutes=60
    )
    health.record_update(actor=cast.bob, record=record, next_due=_soon(90))
    reminder.refresh_from_db()
    assert reminder.start_date == _soon(90)
    assert (reminder.start_time, reminder.lead_minutes) == (dt.time(18, 0), 60)

    # the date and repetition follow the record; an automatic reminder is not deleted by hand
    with pytest.raises(Conflict):
        services.reminder_update(actor=cast.alice, reminder=reminder, start_date=_soon(3))
    with pytest.raises(Conflict):
        services.reminder_delete(actor=cast.alice, reminder=reminder)

    health.record_update(actor=cast.alice, record=record, next_due=None)
    assert not Reminder.objects.filter(record=record).exists()
    health.record_update(actor=cast.alice, record=record, next_due=_soon(30))
    assert Reminder.objects.filter(record=record).count() == 1
    health.record_delete(actor=cast.alice, record=record)
    assert not Reminder.objects.filter(pet=pet).exists()


def test_deworming_without_a_due_date_makes_none(cast, pet):
    health.record_create(actor=cast.alice, pet=pet, kind="deworming", name="Milbemax")
    assert not Reminder.objects.exists()
    health.record_create(
        actor=cast.alice, pet=pet, kind="deworming", name="Milbemax", next_due=_soon(90)
    )
    assert Reminder.objects.get().source == Source.DEWORMING


def test_a_long_record_name_gives_a_title_that_fits(cast, pet):
    """A record name may be longer than a reminder title (PostgreSQL refused the row: 500)."""
    name = "R" * 160
    record = health.record_create(
        actor=cast.alice, pet=pet, kind="vaccination", name=name, next_due=_soon(30)
    )
    title = Reminder.objects.get(record=record).title
    assert len(title) == Reminder._meta.get_field("title").max_length
    assert title.startswith("RRRR")


def test_a_kind_no_reminder_follows_is_written_as_before(cast, pet):
    """A weight asks no reminder: its insert stays one statement on PostgreSQL (no
    transaction around it, no look-up of a reminder), as before reminders existed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        health.record_create(actor=cast.alice, pet=pet, kind="weight", weight_grams=30_000)

    sql = [q["sql"] for q in queries]
    assert not [q for q in sql if Reminder._meta.db_table in q]
    if connection.vendor == "postgresql":
        assert [q.split(" ", 1)[0] for q in sql][-1:] == ["WITH"]
        assert not [q for q in sql if "SAVEPOINT" in q]


def test_medication_schedule(cast, pet):
    record = health.record_create(
        actor=cast.alice,
        pet=pet,
        kind="medication",
        name="Amoxicillin",
        dose="50 mg",
        frequency="twice a day",
        date=timezone.localdate(),
        end_date=_soon(6),
    )
    reminder = Reminder.objects.get(record=record)
    assert reminder.title == "Give Amoxicillin (50 mg)"
    assert reminder.rule.startswith("FREQ=DAILY;INTERVAL=1;BYHOUR=8,20;BYMINUTE=0;UNTIL=")
    health.record_update(actor=cast.alice, record=record, frequency="every 8 hours")
    reminder.refresh_from_db()
    assert reminder.rule.startswith("FREQ=DAILY;INTERVAL=1;BYHOUR=6,14,22")
    health.record_update(actor=cast.alice, record=record, frequency="as needed")
    assert not Reminder.objects.filter(record=record).exists()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Daily", "FREQ=DAILY;INTERVAL=1"),
        ("once a day", "FREQ=DAILY;INTERVAL=1"),
        ("cada 12 horas", "FREQ=DAILY;INTERVAL=1;BYHOUR=8,20;BYMINUTE=0"),
        ("every 6 hours", "FREQ=HOURLY;INTERVAL=6"),
        ("every 3 days", "FREQ=DAILY;INTERVAL=3"),
        ("weekly", "FREQ=WEEKLY;INTERVAL=1"),
        ("monthly", "FREQ=MONTHLY;INTERVAL=1"),
        ("every 30 hours", None),
        ("when itchy", None),
        ("", None),
    ],
)
def test_medication_frequency_texts(text, rule):
    found = automatic.medication_rule(text)
    assert (found[0] if found else None) == rule
