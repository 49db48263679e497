"""The channel registry. Each module in ``CHANNEL_MODULES`` defines ``CHANNEL``; loading
it registers the channel and, for an external one, its outbox handler. Adding a channel
(web push, SMS...) is one module and one line here."""

from __future__ import annotations

import importlib

from pawfile.notifications.channels.base import Channel
from pawfile.outbox.handlers import register_handler

CHANNEL_MODULES = (
    "pawfile.notifications.channels.inapp",
    "pawfile.notifications.channels.email",
    "pawfile.notifications.channels.webpush",
    "pawfile.notifications.channels.fcm",
    "pawfile.notifications.channels.apprise",
    "pawfile.notifications.channels.whatsapp",
    "pawfile.notifications.channels.sms",
)

INAPP = "inapp"
EMAIL = "email"

_CHANNELS: dict[str, Channel] = {}


def channel_register(channel: Channel) -> None:
    """Add ``channel``; an external one gets its outbox kind ``notify.<name>``."""
    _CHANNELS[channel.name] = channel
    if channel.external:
        assert channel.deliver is not None, f"channel {channel.name} has no deliver"
        register_handler(channel.outbox_kind, channel.deliver, prepare=channel.prepare)


def channels_load() -> None:
    """Register every channel module (idempotent; ``AppConfig.ready``)."""
    for path in CHANNEL_MODULES:
        channel_register(importlib.import_module(path).CHANNEL)


def channel_get(name: str) -> Channel | None:
    return _CHANNELS.get(name)


def channels_all() -> list[Channel]:
    """Every registered channel, in-app first, in ``CHANNEL_MODULES`` order."""
    return list(_CHANNELS.values())


def channels_enabled() -> list[Channel]:
    """The channels the instance has switched on."""
    return [channel for channel in _CHANNELS.values() if channel.enabled()]
