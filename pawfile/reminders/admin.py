"""Reminders in the admin: read what is scheduled and what happened (writes go through
the services, from the pages and the API)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from pawfile.reminders.models import Occurrence, Reminder


class OccurrenceInline(admin.TabularInline):
    model = Occurrence
    extra = 0
    can_delete = False
    fields = ("due_at", "status", "fired_at", "snoozed_until", "by", "at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ("title", "pet", "household", "source", "rule", "next_fire_at", "paused")
    list_filter = ("source", "paused")
    search_fields = ("title",)
    raw_id_fields = ("household", "pet", "record", "assignee", "created_by")
    readonly_fields = ("next_due_at", "next_fire_at", "snoozed_due_at", "snoozed_until")
    inlines = [OccurrenceInline]
