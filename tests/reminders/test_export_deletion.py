"""Reminders in the data export and in account, household and pet deletion (registry)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from pawfile.lib import registry
from pawfile.pets import services as pet_services
from pawfile.reminders import services
from pawfile.reminders.models import Occurrence, Reminder


def _make(cast, pet, **extra) -> Reminder:
    return services.reminder_create(
        actor=cast.alice,
        pet=pet,
        title="Pill",
        start_date=timezone.localdate() + dt.timedelta(days=1),
        start_time=dt.time(9, 0),
        rule="FREQ=DAILY",
        **extra,
    )


def test_export_has_reminders_of_my_households_only(cast, pet):
    reminder = _make(cast, pet)
    services.reminder_skip(actor=cast.alice, reminder=reminder)
    rows, _files = registry.export_sections(user=cast.carol)
    assert [r["title"] for r in rows["reminders"]] == ["Pill"]
    assert [o["status"] for o in rows["reminder_occurrences"]] == ["skipped"]
    rows, _files = registry.export_sections(user=cast.charlie)
    assert rows["reminders"] == [] and rows["reminder_occurrences"] == []


def test_account_deletion_clears_assignments_and_pet_deletion_removes_reminders(cast, pet):
    reminder = _make(cast, pet, assignee_id=cast.bob.pk)
    registry.deletion_files("account", cast.bob)
    reminder.refresh_from_db()
    assert reminder.assignee_id is None
    services.reminder_skip(actor=cast.alice, reminder=reminder)
    pet_services.pet_delete(actor=cast.alice, pet=pet)
    assert not Reminder.objects.exists() and not Occurrence.objects.exists()
