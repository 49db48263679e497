"""Statuses of an outbox message and outcomes of one delivery attempt."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for its first or next attempt
    SENDING = "sending", _("Sending")  # claimed by a worker until ``lease_until``
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # permanent error or out of attempts; retried only by hand


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Failed, will retry")
    FAILED = "failed", _("Failed")
    LOST = "lost", _("Worker lost")  # the worker stopped mid-attempt; its lease expired
