"""Outbox rows: one per side effect, and one per attempt to deliver it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pawfile.outbox.choices import AttemptOutcome, MessageStatus


class OutboxMessage(models.Model):
    """A side effect to deliver, written in the same transaction as the change causing it.

    ``key`` is the caller's idempotency key: enqueueing the same key twice yields this row
    again, never a second message. ``payload`` is what the ``kind``'s handler needs; when
    ``sensitive``, everything but the fields the handler keeps is dropped once it is sent.
    ``attempts`` counts claims; ``lease_until`` is how long the claiming worker owns it.
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=50)
    payload = models.JSONField(_("payload"), default=dict)
    sensitive = models.BooleanField(_("sensitive"), default=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The sweeper's two questions: which waiting rows are due, which leases expired.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=MessageStatus.PENDING),
                name="outbox_pending_due",
            ),
            models.Index(
                fields=["lease_until"],
                condition=Q(status=MessageStatus.SENDING),
                name="outbox_sending_lease",
            ),
            # /metrics counts by status and kind; the admin filters by them.
            models.Index(fields=["status", "kind"], name="outbox_status_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"


class OutboxAttempt(models.Model):
    """One attempt to deliver a message: how it ended, how long it took, the error if any.

    Written once, when the attempt ends. An attempt whose worker died writes nothing; the
    claim (or the sweeper) that finds its lease expired records it as ``lost``.
    """

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome}"
