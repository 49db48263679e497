"""Choices of the QR codes app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TargetKind(models.TextChoices):
    """Where a code leads. ``url``: any http/https address (generic codes); ``pet_page``: a
    pet's public page (``target_ref`` is the pet, ``target_url`` the page's path from
    ``petpage.pet_page_path``); ``unclaimed``: a pre-printed tag nobody has claimed yet (the
    redirect sends it to the claim page ``/t/{id}``)."""

    URL = "url", _("Web address")
    PET_PAGE = "pet_page", _("Pet's public page")
    UNCLAIMED = "unclaimed", _("Not linked yet")


class ErrorLevel(models.TextChoices):
    """QR error correction: the share of the code that may be damaged or covered."""

    L = "L", _("Low (7%)")
    M = "M", _("Medium (15%)")
    Q = "Q", _("Quartile (25%)")
    H = "H", _("High (30%)")
