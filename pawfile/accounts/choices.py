"""Choices used by accounts: household roles, what a role or grant allows, themes, languages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A member's role in a household; ``owner`` may do everything, ``viewer`` only reads."""

    OWNER = "owner", _("Owner")
    CARETAKER = "caretaker", _("Caretaker")
    VIEWER = "viewer", _("Viewer")


class Action(models.TextChoices):
    """What a subject may do to a household or a pet; who may do which is decided only by
    ``pawfile.accounts.access`` (its module docstring holds the table)."""

    SUMMARY = "summary", _("See the pet card and health summary")
    VIEW = "view", _("See everything")
    WRITE = "write", _("Add, change and delete pets, records, notes, photos and contacts")
    PET_DELETE = "pet_delete", _("Delete a pet")
    MANAGE = "manage", _("Manage members, invitations and the household")


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
