"""The public side of a pet: its public page, lost mode, and what finders report.

``PublicProfile`` is one row per pet, made on first need (``profile_for_pet``). Its ``slug``
names the public page ``/p/{slug}``: random and unguessable, never the pet's id. The ``show_*``
switches are the owner's choice of what a stranger may see; everything else about the pet is
private and never reaches the public page. ``revision`` is bumped by every change of what the
page shows, and keys its cache.

``Sighting`` is one thing a finder told the owner (a report through the form) or one scan of
a tag while the pet was lost. ``SightingReply`` is the owner's answer, relayed by mail so
neither side sees the other's address unless they chose to share it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pawfile.lostpet.choices import ContactMode, LocationSource, SightingSource

SLUG_MAX_LENGTH = 24


class PublicProfile(models.Model):
    pet = models.OneToOneField("pets.Pet", on_delete=models.CASCADE, related_name="public_profile")
    slug = models.CharField(max_length=SLUG_MAX_LENGTH, unique=True, editable=False)
    # What a stranger sees (the owner's choice; everything off means name + photo only).
    show_photo = models.BooleanField(_("photo"), default=True)
    show_species = models.BooleanField(_("species and breed"), default=True)
    show_sex = models.BooleanField(_("sex"), default=True)
    show_age = models.BooleanField(_("age"), default=True)
    show_allergies = models.BooleanField(_("allergies"), default=False)
    show_medication = models.BooleanField(_("current medication"), default=False)
    show_special_needs = models.BooleanField(_("special needs"), default=False)
    contact_mode = models.CharField(
        _("how finders reach you"),
        max_length=8,
        choices=ContactMode.choices,
        default=ContactMode.FORM,
    )
    public_message = models.CharField(_("message to finders"), max_length=280, blank=True)
    # Lost mode
    is_lost = models.BooleanField(_("lost"), default=False)
    lost_since = models.DateTimeField(_("lost since"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    last_seen_place = models.CharField(_("last seen where"), max_length=200, blank=True)
    reward = models.CharField(_("reward"), max_length=120, blank=True)
    lost_message = models.CharField(_("message while lost"), max_length=500, blank=True)
    found_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["is_lost"], name="lostpet_profile_lost_idx")]

    def __str__(self) -> str:
        return f"/p/{self.slug}"


class Sighting(models.Model):
    profile = models.ForeignKey(PublicProfile, on_delete=models.CASCADE, related_name="sightings")
    source = models.CharField(
        max_length=8, choices=SightingSource.choices, default=SightingSource.REPORT
    )
    code_id = models.CharField(max_length=16, blank=True)  # the tag scanned, if any
    message = models.TextField(_("message"), blank=True)
    finder_name = models.CharField(_("your name"), max_length=120, blank=True)
    finder_phone = models.CharField(_("your phone"), max_length=32, blank=True)
    finder_email = models.EmailField(_("your email"), blank=True)
    finder_shares_contact = models.BooleanField(_("show my contact to the owner"), default=False)
    photo = models.CharField(max_length=255, blank=True)  # storage name of the re-encoded image
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    location_source = models.CharField(
        max_length=8, choices=LocationSource.choices, blank=True, default=LocationSource.NONE
    )
    place_text = models.CharField(_("where"), max_length=200, blank=True)
    visitor = models.CharField(max_length=16, blank=True)  # salted daily hash of the address
    read_at = models.DateTimeField(null=True, blank=True)
    # Whether the owners were alerted at once (``False``: over the hourly cap, left for the
    # hour's summary), and whether that summary has gone out (``sightings.summaries_send``).
    alerted = models.BooleanField(default=False)
    summarised = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["profile", "-created_at"], name="lostpet_sighting_profile_idx")
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} {self.created_at:%Y-%m-%d %H:%M}"


class SightingReply(models.Model):
    sighting = models.ForeignKey(Sighting, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("reply"))
    # Whether the reply was mailed to the finder (only when they left an email).
    mailed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"reply to {self.sighting_id}"
