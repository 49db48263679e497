"""Choices of the reminders app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    """Who made a reminder: a person, or a health record it follows (automatic)."""

    MANUAL = "manual", _("Set by hand")
    VACCINATION = "vaccination", _("Vaccination due")
    DEWORMING = "deworming", _("Deworming due")
    MEDICATION = "medication", _("Medication schedule")


class Frequency(models.TextChoices):
    ONCE = "once", _("Once")
    DAILY = "daily", _("Every N days")
    WEEKLY = "weekly", _("Every N weeks")
    MONTHLY = "monthly", _("Every N months")
    YEARLY = "yearly", _("Every N years")


class Weekday(models.TextChoices):
    MO = "MO", _("Monday")
    TU = "TU", _("Tuesday")
    WE = "WE", _("Wednesday")
    TH = "TH", _("Thursday")
    FR = "FR", _("Friday")
    SA = "SA", _("Saturday")
    SU = "SU", _("Sunday")


class MonthlyBy(models.TextChoices):
    """How a monthly reminder repeats: on the start's day of the month, or on the start's
    weekday at the same place in the month ("the 2nd Tuesday"), or on the last such weekday
    ("the last Friday")."""

    DAY = "day", _("On the same day of the month")
    WEEKDAY = "weekday", _("On the same weekday (e.g. the 2nd Tuesday)")
    LAST_WEEKDAY = "last_weekday", _("On the last such weekday (e.g. the last Friday)")


class OccurrenceStatus(models.TextChoices):
    FIRED = "fired", _("Sent")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    MISSED = "missed", _("Missed")
    SNOOZED = "snoozed", _("Snoozed")


# Occurrences still waiting for someone (Done and Snooze act on the latest of these).
OPEN_STATUSES = (OccurrenceStatus.FIRED, OccurrenceStatus.SNOOZED, OccurrenceStatus.MISSED)


class SnoozeFor(models.TextChoices):
    HOUR = "1h", _("1 hour")
    TOMORROW = "tomorrow", _("Tomorrow morning")
    UNTIL = "until", _("Until a time I choose")


# Lead times offered by the form, in minutes (the API takes any number up to LEAD_MAX).
LEAD_CHOICES = [
    (0, _("At the time")),
    (15, _("15 minutes before")),
    (60, _("1 hour before")),
    (120, _("2 hours before")),
    (24 * 60, _("1 day before")),
    (2 * 24 * 60, _("2 days before")),
    (7 * 24 * 60, _("1 week before")),
]
LEAD_MAX = 60 * 24 * 60  # 60 days
