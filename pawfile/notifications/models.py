"""Notifications: one event for one recipient, its deliveries per channel, and what the
recipient chose (preferences per kind x channel, quiet hours, digest, blocked channels)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pawfile.notifications.choices import DeliveryStatus
from pawfile.notifications.phone_numbers import phone_key


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


class Device(models.Model):
    """Where push notifications reach a person: a browser's web push subscription
    (``endpoint`` in ``token`` with its ``p256dh`` and ``auth`` keys) or a mobile app's FCM
    registration token (platform ios, android, or web through Firebase's own SDK).

    A token belongs to one person at a time (unique): registering it again moves it to
    whoever registered it last. ``session_hash`` is the SHA-256 of the session (browser, or
    the API token's session) it was registered in, so signing out of that session removes
    it. ``last_seen_at`` moves when the app or browser registers again; a device not seen
    for ``PAWFILE_DEVICE_INACTIVE_DAYS`` is removed. See ``notifications/devices.py``.
    """

    class Platform(models.TextChoices):
        WEB = "web", _("Web browser")
        IOS = "ios", _("iPhone or iPad")
        ANDROID = "android", _("Android")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_devices"
    )
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    token = models.CharField(_("token or endpoint"), max_length=1024, unique=True)
    p256dh = models.CharField(_("browser public key"), max_length=200, blank=True)
    auth = models.CharField(_("browser auth secret"), max_length=100, blank=True)
    label = models.CharField(_("name"), max_length=120, blank=True)
    session_hash = models.CharField(_("session"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)
    last_ok_at = models.DateTimeField(_("last delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("push device")
        verbose_name_plural = _("push devices")
        indexes = [models.Index(fields=["user", "platform"], name="device_user_platform")]

    def __str__(self) -> str:
        return f"{self.platform} device {self.pk}"

    @property
    def is_webpush(self) -> bool:
        """A browser subscription delivered with VAPID web push (it has the browser's keys);
        any other device is an FCM registration token."""
        return bool(self.p256dh)


# --- Apprise targets, pet updates and mutes (channels/apprise.py, updates.py) ---------------

from pawfile.lib.crypto import EncryptedTextField  # noqa: E402


class AppriseTarget(models.Model):
    """One Apprise URL (``ntfy://``, ``tgram://``, ``json://``...) a person added as a
    channel. The URL holds their tokens, so it is stored encrypted; ``masked`` (scheme and
    host only, or just the scheme when the host part is itself a secret) is what pages and
    exports show."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="apprise_targets"
    )
    url = EncryptedTextField(_("Apprise URL"))
    masked = models.CharField(_("address"), max_length=300)
    label = models.CharField(_("name"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("Apprise target")
        verbose_name_plural = _("Apprise targets")
        indexes = [models.Index(fields=["user", "id"], name="apprise_target_user")]

    def __str__(self) -> str:
        return self.masked


class PetUpdate(models.Model):
    """A household member's news about a pet (a photo and a short text) sent to the other
    members. ``recipients`` are the people it was delivered to (members who had not muted
    the sender); ``drafted`` says who wrote the text: the AI provider, the template, or the
    sender alone."""

    class Drafted(models.TextChoices):
        SENDER = "sender", _("Written by the sender")
        AI = "ai", _("Drafted by the AI provider")
        TEMPLATE = "template", _("Drafted from the template")

    pet = models.ForeignKey("pets.Pet", on_delete=models.CASCADE, related_name="updates")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="pet_updates_sent",
        verbose_name=_("from"),
    )
    title = models.CharField(_("title"), max_length=60)
    body = models.CharField(_("text"), max_length=300)
    photo = models.ForeignKey(
        "pets.Photo", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    drafted = models.CharField(
        _("drafted"), max_length=10, choices=Drafted.choices, default=Drafted.SENDER
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="pet_updates_received", blank=True
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("pet update")
        verbose_name_plural = _("pet updates")
        indexes = [models.Index(fields=["pet", "-id"], name="pet_update_pet")]

    def __str__(self) -> str:
        return self.title


class Mute(models.Model):
    """``user`` does not want pet updates from ``sender`` (until they unmute)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="update_mutes"
    )
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("muted sender")
        verbose_name_plural = _("muted senders")
        constraints = [models.UniqueConstraint(fields=["user", "sender"], name="update_mute")]

    def __str__(self) -> str:
        return f"user {self.user_id} mutes {self.sender_id}"


class PhoneChannelKind(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    SMS = "sms", _("SMS")


class PhoneChannel(models.Model):
    """A phone number a person gave for one channel (WhatsApp or SMS), see ``phone.py``.

    It reaches them once ``verified_at`` is set (they typed the 6-digit code sent to it) and
    while ``opted_in``. The pending code is kept only as an HMAC (``code_hash``), valid until
    ``code_expires_at`` for ``CODE_TRIES`` wrong guesses. A verified number belongs to one
    person per channel (a partial unique index on ``phone_key``, the form every way of
    writing the number shares, ``phone_numbers.phone_key``; ``save`` keeps it in step with
    ``phone``), so an inbound message names one user whichever form it comes in.
    ``month``/``month_count`` count the messages sent in a calendar month (UTC; the SMS
    limit); ``last_inbound_at`` opens WhatsApp's 24-hour window for free text.
    ``stopped_at`` records when the person answered STOP to our texts (SMS: Twilio then
    refuses to text them until they answer START, so nothing is sent meanwhile, even if
    they turn ``opted_in`` on again here; ``phone.sms_stopped``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_channels"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=PhoneChannelKind.choices)
    phone = models.CharField(_("phone number"), max_length=20)
    phone_key = models.CharField(max_length=20, editable=False, default="")
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    opted_in = models.BooleanField(_("send me notifications here"), default=False)
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_tries = models.PositiveSmallIntegerField(default=0)
    month = models.DateField(null=True, blank=True)
    month_count = models.PositiveIntegerField(default=0)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(_("answered STOP at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("phone channel")
        verbose_name_plural = _("phone channels")
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="phone_channel_user"),
            models.UniqueConstraint(
                fields=["channel", "phone_key"],
                condition=Q(verified_at__isnull=False),
                name="phone_channel_verified_key",
            ),
        ]
        indexes = [models.Index(fields=["channel", "phone"], name="phone_channel_phone")]

    def __str__(self) -> str:
        return f"{self.channel} {self.phone}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, with ``phone_key`` computed from ``phone`` (also when ``update_fields``
        names ``phone``)."""
        self.phone_key = phone_key(self.phone) if self.phone else ""
        fields = kwargs.get("update_fields")
        if fields is not None and "phone" in fields and "phone_key" not in fields:
            kwargs["update_fields"] = [*fields, "phone_key"]
        super().save(*args, **kwargs)


class ProviderMessage(models.Model):
    """A message a phone provider took (its id: a WhatsApp ``wamid``, a Twilio ``SM...``
    sid): the status callbacks find the delivery (if any) and the phone channel by it."""

    provider = models.CharField(max_length=10)
    provider_id = models.CharField(max_length=200)
    phone_channel = models.ForeignKey(
        PhoneChannel, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="provider_message")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_id}"


class WebhookReceipt(models.Model):
    """An inbound event already acted on (a WhatsApp message id): a duplicate delivery of
    the webhook finds its row and has no second effect. Purged after ``RECEIPT_DAYS``."""

    provider = models.CharField(max_length=10)
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_receipt")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"
