from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactMode(models.TextChoices):
    """How a finder reaches the owner from the public page."""

    SHOWN = "shown", _("Show the contacts I chose")
    FORM = "form", _("Hide them behind the finder form")


class SightingSource(models.TextChoices):
    REPORT = "report", _("Finder report")
    SCAN = "scan", _("Tag scanned")


class LocationSource(models.TextChoices):
    NONE = "", _("No location")
    DEVICE = "device", _("Shared from the finder's phone")
    TYPED = "typed", _("Typed by the finder")
