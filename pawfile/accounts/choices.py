"""Choices used by accounts: household roles, themes, languages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's role in a household; ``owner`` may do everything, ``viewer`` only reads."""

    OWNER = "owner", _("Owner")
    CARETAKER = "caretaker", _("Caretaker")
    VIEWER = "viewer", _("Viewer")


class Theme(models.TextChoices):
    AUTO = "auto", _("Follow the device")
    LIGHT = "light", _("Light")
    DARK = "dark", _("Dark")


class Locale(models.TextChoices):
    AUTO = "", _("Browser language")
    EN = "en", _("English")
    ES = "es", _("Spanish")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
