"""What a notification channel is: one module per channel, each a small ``Channel``.

A channel that reaches outside the site (email, later web push, SMS, WhatsApp, mobile push,
Apprise) is ``external``: each delivery is an outbox message of kind ``notify.<name>``
whose payload is ``{"deliveries": [ids]}`` (one, or several merged after quiet hours or for
the digest), and ``deliver`` is that kind's outbox handler. It raises
``outbox.handlers.DeliveryError`` when the provider refuses, ``permanent=True`` when trying
again cannot help; the caller then blocks the channel for that user and says so in the
inbox. The in-app channel is not external: the notification row is its delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from pawfile.outbox.models import OutboxMessage


@dataclass(frozen=True)
class Channel:
    """``name`` (stable, stored in preferences), ``label`` (shown), ``setting`` (the
    ``*_ENABLED`` switch), whether it goes through the outbox, its outbox handler, and
    whether it can reach a given user (an email address, a verified phone...)."""

    name: str
    label: Any
    setting: str
    external: bool = True
    deliver: Callable[[OutboxMessage], None] | None = None
    reaches: Callable[[Any], bool] = field(default=lambda user: True)
    # Optional: reads what a batch of its outbox messages needs at once (see
    # ``outbox.handlers``).
    prepare: Callable[[Sequence[OutboxMessage]], None] | None = None

    @property
    def outbox_kind(self) -> str:
        return f"notify.{self.name}"

    def enabled(self) -> bool:
        """The instance's switch: a channel not configured is off."""
        return bool(getattr(settings, self.setting, False))
