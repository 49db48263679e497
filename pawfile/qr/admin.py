from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pawfile.qr.models import QRCode


@admin.register(QRCode)
class QRCodeAdmin(admin.ModelAdmin):
    """Read-only list: codes are changed through the QR pages and the API (services)."""

    list_display = ("id", "title", "target_url", "is_active", "scan_count", "last_scan_at")
    list_filter = ("is_active", "target_kind")
    search_fields = ("id", "title", "target_url")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
