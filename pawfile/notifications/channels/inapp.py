"""The in-app inbox as a channel: the notification row is the delivery (no outbox).
Turning it off for a kind keeps that kind out of the inbox and the bell."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pawfile.notifications.channels.base import Channel

CHANNEL = Channel(
    name="inapp", label=_("In the app"), setting="NOTIFY_INAPP_ENABLED", external=False
)
