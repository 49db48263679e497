"""Reminders and the history of their occurrences.

A reminder belongs to a household and, usually, one pet. Its schedule is a local start
(``start_date`` + ``start_time``) in ``timezone`` plus an RRULE value (``rule``; ``""`` once);
``recurrence.py`` expands it. What the scheduler needs is materialised on the row:
``next_due_at`` (the next occurrence, UTC) and ``next_fire_at`` (when to send it: the due
instant minus ``lead_minutes``, or the end of a snooze), indexed, ``NULL`` when nothing
is to fire (paused, ended). Services recompute both whenever the schedule changes and after
each firing, so a tick never expands a rule to find what is due.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.accounts.models import Household
from pawfile.health.models import HealthRecord
from pawfile.pets.models import Pet
from pawfile.reminders.choices import OccurrenceStatus, Source


class Reminder(models.Model):
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="reminders")
    pet = models.ForeignKey(
        Pet, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    title = models.CharField(_("title"), max_length=120)
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.MANUAL
    )
    # The health record an automatic reminder follows (one reminder per record).
    record = models.OneToOneField(
        HealthRecord, on_delete=models.CASCADE, null=True, blank=True, related_name="reminder"
    )
    start_date = models.DateField(_("first date"))
    start_time = models.TimeField(_("time"))
    timezone = models.CharField(_("time zone"), max_length=64)
    rule = models.CharField(_("recurrence (RRULE)"), max_length=500, blank=True)
    lead_minutes = models.PositiveIntegerField(_("remind me before"), default=0)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_reminders",
        verbose_name=_("assigned to"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    paused = models.BooleanField(_("paused"), default=False)
    next_due_at = models.DateTimeField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    # The occurrence a snooze brings back (its due instant) and until when.
    snoozed_due_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder")
        ordering = ["next_due_at", "id"]
        indexes = [
            # The scheduler's only query: WHERE next_fire_at <= now ORDER BY next_fire_at.
            models.Index(fields=["next_fire_at", "id"], name="reminder_next_fire"),
            models.Index(fields=["household", "next_due_at"], name="reminder_household_due"),
            models.Index(fields=["pet", "next_due_at"], name="reminder_pet_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def automatic(self) -> bool:
        return self.source != Source.MANUAL


class Occurrence(models.Model):
    """One occurrence of a reminder that something happened to: sent, done, skipped,
    missed (due while nothing ran, past the grace), snoozed."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="occurrences")
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=OccurrenceStatus.choices)
    fired_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("occurrence")
        ordering = ["-due_at", "-id"]
        constraints = [
            # One row per occurrence: a second scheduler (or a retried tick) cannot add one.
            models.UniqueConstraint(fields=["reminder", "due_at"], name="occurrence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reminder_id} {self.due_at:%Y-%m-%d %H:%M} {self.status}"
