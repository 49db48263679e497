"""Choices of the operations app."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BackupTrigger(models.TextChoices):
    """What started a backup."""

    SCHEDULE = "schedule", _("Scheduled")
    COMMAND = "command", _("Command")
