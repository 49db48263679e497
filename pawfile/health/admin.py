"""Django admin for health records and their attachments (instance admins only)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from pawfile.health.models import Attachment, HealthRecord


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("original_name", "content_type", "size", "uploaded_by", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(HealthRecord)
class HealthRecordAdmin(admin.ModelAdmin):
    list_display = ("pet", "kind", "name", "date", "next_due", "created_at")
    list_filter = ("kind", "date")
    search_fields = ("name",)
    date_hierarchy = "date"
    raw_id_fields = ("pet", "created_by")
    list_select_related = ("pet",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "record", "content_type", "size", "created_at")
    list_filter = ("content_type",)
    search_fields = ("original_name",)
    raw_id_fields = ("record", "uploaded_by")
    list_select_related = ("record", "record__pet")
    # The file's bytes were checked when uploaded; swapping them here would bypass that.
    readonly_fields = ("key", "file", "content_type", "size", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Files come in through the upload page, which checks their bytes.
        return False
