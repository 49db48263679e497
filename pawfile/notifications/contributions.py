"""What the notifications app adds to shared features (``pawfile.lib.registry``): its
rows in a user's export, and what it clears when an account is deleted."""

from __future__ import annotations

from typing import Any

from pawfile.lib import registry
from pawfile.lib.registry import ExportSection

APP = "notifications"

NOTIFICATION_FIELDS = (
    "id", "kind", "title", "body", "link", "actor_id", "pet_id", "event_key", "in_inbox",
    "created_at", "read_at",
)  # fmt: skip


def export_rows(user: Any) -> ExportSection:
    """``notifications`` (with each delivery's channel and status) and
    ``notification_settings`` (preferences turned off, quiet hours, digest, blocked channels)."""
    from pawfile.notifications.models import (
        CalendarFeed,
        ChannelBlock,
        Notification,
        Preference,
        RecipientState,
    )

    notifications = []
    for row in (
        Notification.objects.filter(recipient=user).prefetch_related("deliveries").order_by("pk")
    ):
        item = {name: getattr(row, name) for name in NOTIFICATION_FIELDS}
        item["deliveries"] = [
            {"channel": d.channel, "status": d.status, "sent_at": d.sent_at}
            for d in row.deliveries.all()
        ]
        notifications.append(item)
    state = RecipientState.objects.filter(user=user).first()
    settings = {
        "off": [
            {"kind": kind, "channel": channel}
            for kind, channel in Preference.objects.filter(user=user, enabled=False)
            .order_by("kind", "channel")
            .values_list("kind", "channel")
        ],
        "quiet_start": state.quiet_start if state else None,
        "quiet_end": state.quiet_end if state else None,
        "digest": state.digest if state else False,
        "calendar_feed": CalendarFeed.objects.filter(user=user).exists(),
        "blocked_channels": list(
            ChannelBlock.objects.filter(user=user).values("channel", "reason", "created_at")
        ),
    }
    return ExportSection(rows={"notifications": notifications, "notification_settings": settings})


def account_clear(user: Any) -> list[str]:
    """Delete ``user``'s notifications (with their deliveries), preferences, settings,
    blocked channels and calendar address; notifications they caused for others keep no
    link to them. No files."""
    from pawfile.notifications.models import (
        CalendarFeed,
        ChannelBlock,
        Notification,
        Preference,
        RecipientState,
    )

    Notification.objects.filter(recipient=user).delete()
    Notification.objects.filter(actor=user).update(actor=None)
    Preference.objects.filter(user=user).delete()
    ChannelBlock.objects.filter(user=user).delete()
    RecipientState.objects.filter(user=user).delete()
    CalendarFeed.objects.filter(user=user).delete()
    return []


def register() -> None:
    from pawfile.notifications import calendar

    calendar.register()  # health's due dates in the calendar feed
    from pawfile.notifications import devices

    devices.register()  # push devices: export, deletion, removed on sign-out
    from pawfile.notifications import updates
    from pawfile.notifications.channels import apprise

    updates.register()  # pet updates: the pet page's button, export, deletion
    apprise.register()  # Apprise targets: export (masked), deletion
    from pawfile.notifications import phone

    phone.register()  # WhatsApp and SMS numbers: export, deletion
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, account=account_clear)
    from pawfile.notifications.selectors import BELL_APP, BELL_SQL, bell_count

    assert BELL_APP == APP
    registry.register_shell_state(
        app=APP, state=lambda request: bell_count(request=request), sql=BELL_SQL
    )
