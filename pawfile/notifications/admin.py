"""Admin: notifications with their deliveries (read-only; changes go through services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pawfile.notifications.models import ChannelBlock, Delivery, Notification


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = (
        "channel", "status", "release_at", "outbox_key", "provider_id", "error", "sent_at",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("recipient__email", "title", "event_key")
    readonly_fields = tuple(f.name for f in Notification._meta.fields)
    inlines = (DeliveryInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChannelBlock)
class ChannelBlockAdmin(admin.ModelAdmin):
    list_display = ("user", "channel", "created_at", "reason")
    search_fields = ("user__email",)


from pawfile.notifications.models import Device  # noqa: E402


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Push devices, to see and remove; tokens and keys are not shown (credentials)."""

    list_display = ("user", "platform", "label", "created_at", "last_seen_at", "last_ok_at")
    list_filter = ("platform",)
    search_fields = ("user__email", "label")
    fields = ("user", "platform", "label", "created_at", "last_seen_at", "last_ok_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
