"""Background work of the reminders app (thin: the work is in ``reminders.firing``)."""

from __future__ import annotations

from pawfile.lib.tasks import crontab, periodic_task
from pawfile.reminders import firing


@periodic_task(crontab())
def reminders_tick() -> None:
    """Every minute: fire the reminders whose time has come (``firing.reminders_fire_due``)."""
    firing.reminders_fire_due()
