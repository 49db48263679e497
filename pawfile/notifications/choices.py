"""Choices of the notifications app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    HELD = "held", _("Held")  # quiet hours or the daily digest: released at ``release_at``
    QUEUED = "queued", _("Queued")  # an outbox row exists for it
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")  # a phone provider's status callback
    READ = "read", _("Read")  # WhatsApp's read receipt
    FAILED = "failed", _("Failed")


class Kind(models.TextChoices):
    """Kinds the preferences table lists. Apps may send other kinds; they follow the
    ``OTHER`` row of the preferences."""

    REMINDER = "reminder", _("Reminders")
    PET_UPDATE = "pet_update", _("Pet updates")
    LOST_PET = "lost_pet", _("Reports about a lost pet")
    HOUSEHOLD = "household", _("Household changes")
    SYSTEM = "system", _("Account and delivery notices")
    OTHER = "other", _("Everything else")
