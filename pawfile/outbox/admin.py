"""The outbox in the Django admin: what waits, what failed and why, and a retry action.

Read-only: rows change only through the outbox's services. A sensitive message's content
(reset and confirmation links) is not shown, only the fields it keeps once sent.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pawfile.outbox import services
from pawfile.outbox.choices import MessageStatus
from pawfile.outbox.handlers import handler_get
from pawfile.outbox.models import OutboxAttempt, OutboxMessage


class AttemptInline(admin.TabularInline):
    model = OutboxAttempt
    extra = 0
    fields = ("number", "outcome", "duration_ms", "error", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "error_short",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("key",)
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-pk")
    fields = (
        "key",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "sensitive",
        "content",
        "created_at",
        "updated_at",
        "sent_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages are written by the code that causes them

    @admin.display(description=_("last error"))
    def error_short(self, message: OutboxMessage) -> str:
        return message.last_error[:80]

    @admin.display(description=_("content"))
    def content(self, message: OutboxMessage) -> str:
        payload = message.payload
        if message.sensitive and message.status != MessageStatus.SENT:
            handler = handler_get(message.kind)
            kept = handler.keep_when_sent if handler else ()
            payload = {k: v for k, v in payload.items() if k in kept}
            payload["…"] = str(_("the rest is hidden: sensitive"))
        return format_html("<pre>{}</pre>", json.dumps(payload, indent=2, ensure_ascii=False))

    @admin.action(description=_("Retry the selected failed messages"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        count = services.outbox_retry(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d failed message was put back in line.",
                "%(count)d failed messages were put back in line.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
