"""Notifications: one event for one recipient, its deliveries per channel, and what the
recipient chose (preferences per kind x channel, quiet hours, digest, blocked channels)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pawfile.notifications.choices import DeliveryStatus


class Notification(models.Model):
    """One event for one recipient; the in-app inbox lists those with ``in_inbox``.

    ``event_key`` is the sender's idempotency key: (recipient, event_key) is unique, so the
    same event never notifies one person twice. ``in_inbox`` is false when the recipient
    muted the kind in the inbox but not on another channel (the row still anchors those
    deliveries).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    pet = models.ForeignKey(
        "pets.Pet",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pet"),
    )
    event_key = models.CharField(_("event"), max_length=150)
    in_inbox = models.BooleanField(_("in the inbox"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_key"], name="notification_event")
        ]
        indexes = [
            # The inbox page: a recipient's newest first.
            models.Index(fields=["recipient", "-id"], name="notification_inbox"),
            # The bell on every page: one count over this partial index.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, in_inbox=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"


class Delivery(models.Model):
    """A notification's delivery through one outside channel (email, later push, SMS...).

    ``held`` until ``release_at`` (quiet hours, daily digest), then ``queued`` in the outbox
    under ``outbox_key`` (several held deliveries of one recipient share one message), then
    ``sent`` (with the provider's id) or ``failed``. Each attempt is an ``OutboxAttempt`` of
    that outbox row.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=20)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices)
    release_at = models.DateTimeField(_("held until"), null=True, blank=True)
    outbox_key = models.CharField(_("outbox key"), max_length=200, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_channel")
        ]
        indexes = [
            models.Index(
                fields=["release_at"],
                condition=Q(status=DeliveryStatus.HELD),
                name="delivery_held_due",
            ),
            models.Index(fields=["outbox_key"], name="delivery_outbox_key"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"


class Preference(models.Model):
    """Whether ``kind`` reaches ``user`` on ``channel``; no row means yes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=40)
    channel = models.CharField(_("channel"), max_length=20)
    enabled = models.BooleanField(_("on"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "channel"], name="notification_preference"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {'on' if self.enabled else 'off'}"


class RecipientState(models.Model):
    """One row per recipient: quiet hours and digest (their choices), the inbox revision
    (bumped by every change to their inbox; the live poll's ETag)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_state",
    )
    quiet_start = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet until"), null=True, blank=True)
    digest = models.BooleanField(_("daily digest"), default=False)
    revision = models.PositiveBigIntegerField(_("inbox revision"), default=0)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"notification settings of user {self.user_id}"


class ChannelBlock(models.Model):
    """A channel turned off for one user by a permanent delivery error (a bad address).

    Deliveries on it stop until the user turns it on again (which deletes the row)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_blocks"
    )
    channel = models.CharField(_("channel"), max_length=20)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked channel")
        verbose_name_plural = _("blocked channels")
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="notification_block")
        ]

    def __str__(self) -> str:
        return f"{self.channel} blocked"


class CalendarFeed(models.Model):
    """A person's secret calendar address (``/cal/<token>.ics``); a new token revokes the
    old address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_feed",
    )
    token = models.CharField(_("token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return f"calendar feed of user {self.user_id}"
