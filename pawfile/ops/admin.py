"""Backup runs in the Django admin: when each ended, whether it worked, and why not.

Read-only: rows are written by the backup itself (``pawfile.ops.backup.services``).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from pawfile.ops.models import BackupRun


@admin.register(BackupRun)
class BackupRunAdmin(admin.ModelAdmin):
    list_display = ("finished_at", "ok", "trigger", "archive", "size", "rows", "files", "error")
    list_filter = ("ok", "trigger")
    readonly_fields = (*list_display, "started_at")
    date_hierarchy = "finished_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
