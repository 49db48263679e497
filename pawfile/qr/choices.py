"""Choices of the QR codes app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TargetKind(models.TextChoices):
    """Where a code leads. ``url``: any http/https address (generic codes); ``pet_page``: a
    pet's public page (the lost-pet app sets ``target_ref`` to the pet; not offered yet)."""

    URL = "url", _("Web address")
    PET_PAGE = "pet_page", _("Pet's public page")


class ErrorLevel(models.TextChoices):
    """QR error correction: the share of the code that may be damaged or covered."""

    L = "L", _("Low (7%)")
    M = "M", _("Medium (15%)")
    Q = "Q", _("Quartile (25%)")
    H = "H", _("High (30%)")
