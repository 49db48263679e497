"""What the reminders app adds to the shared features (``pawfile.lib.registry``), and the
health records it follows.

Called once from ``RemindersConfig.ready``: the reminders and their occurrences in a user's
export, an account's assignments cleared when it is deleted (reminders go with their pets
and households by cascade), the reminders panel of the pet page, and the receiver of
``health.hooks.record_changed`` (automatic reminders).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from pawfile.accounts.models import User
from pawfile.health import hooks
from pawfile.lib import registry
from pawfile.lib.registry import ExportSection
from pawfile.pets.models import Pet
from pawfile.reminders import automatic, selectors
from pawfile.reminders.models import Occurrence, Reminder

APP = "reminders"

# Fields of each row in the export (docs/export-format.md).
REMINDER_FIELDS = (
    "id", "household_id", "pet_id", "title", "notes", "source", "record_id", "start_date",
    "start_time", "timezone", "rule", "lead_minutes", "channels", "assignee_id",
    "created_by_id", "paused", "next_due_at", "next_fire_at", "created_at", "updated_at",
)  # fmt: skip
OCCURRENCE_FIELDS = (
    "id", "reminder_id", "due_at", "status", "fired_at", "snoozed_until", "by_id", "at",
)  # fmt: skip


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def export_rows(user: User) -> ExportSection:
    """``reminders`` and ``reminder_occurrences`` of every household ``user`` belongs to."""
    reminders = list(selectors.reminder_list(user=user).order_by("pk"))
    occurrences = Occurrence.objects.filter(reminder__in=[r.pk for r in reminders]).order_by(
        "reminder_id", "due_at"
    )
    rows = {
        "reminders": [_row(r, REMINDER_FIELDS) for r in reminders],
        "reminder_occurrences": [_row(o, OCCURRENCE_FIELDS) for o in occurrences],
    }
    return ExportSection(rows=rows)


def account_files(user: User) -> list[str]:
    """Reminders assigned to ``user`` in other households lose their assignee (the
    database would set it to NULL too; said here so the deletion is explicit). No files."""
    Reminder.objects.filter(assignee=user).update(assignee=None)
    return []


def pet_panel_context(request: HttpRequest, pet: Pet) -> Mapping[str, Any]:
    """``reminders.views.pet_panel_context`` (views load when first drawn)."""
    from pawfile.reminders import views

    return views.pet_panel_context(request, pet)


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, account=account_files)
    registry.register_pet_panel(
        app=APP,
        name="reminders",
        template="reminders/_pet_panel.html",
        context=pet_panel_context,
        order=20,
        # Every reminder change bumps the pet's revision (services._saved, firing._claim).
        cacheable=True,
    )
    hooks.record_changed_connect(
        automatic.record_follow,
        kinds=automatic.FOLLOWED_KINDS,
        dispatch_uid="reminders.record_follow",
        when_created=automatic.record_wants_reminder,
    )
