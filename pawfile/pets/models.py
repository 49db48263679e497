"""Pets and what hangs on them directly: photos, notes, and the household's contacts.

Every row belongs to a household (through its pet or directly); access is decided by the
access rule (``pawfile.accounts.access``: the acting user's role there, or a live grant).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pawfile.accounts.models import Household
from pawfile.pets.choices import Sex, Size, Species, WeightUnit


class Pet(models.Model):
    """A pet of a household.

    ``revision`` goes up with every change to the pet or anything hanging on it (services bump
    it); caches of derived documents (the PDF report) are keyed on it.
    """

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="pets")
    name = models.CharField(_("name"), max_length=80)
    species = models.CharField(_("species"), max_length=16, choices=Species.choices)
    breed = models.CharField(_("breed"), max_length=80, blank=True)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    birth_date_estimated = models.BooleanField(_("birth date is an estimate"), default=False)
    neutered = models.BooleanField(_("neutered / spayed"), null=True, blank=True)
    microchip = models.CharField(_("microchip number"), max_length=15, blank=True, db_index=True)
    colour = models.CharField(_("colour and markings"), max_length=120, blank=True)
    size = models.CharField(_("size"), max_length=8, choices=Size.choices, blank=True, default="")
    weight_unit = models.CharField(
        _("weight unit"), max_length=2, choices=WeightUnit.choices, default=WeightUnit.KG
    )
    allergies = models.TextField(_("allergies"), blank=True)
    special_needs = models.TextField(_("special needs"), blank=True)
    about = models.TextField(_("about"), blank=True)
    vet_name = models.CharField(_("vet"), max_length=120, blank=True)
    vet_phone = models.CharField(_("vet phone"), max_length=32, blank=True)
    vet_clinic = models.CharField(_("clinic"), max_length=120, blank=True)
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pet")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["microchip"], condition=~Q(microchip=""), name="pet_microchip_unique"
            )
        ]
        indexes = [models.Index(fields=["household", "name"])]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """Someone to call about the household's pets (owner, neighbour, sitter...)."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="contacts")
    pets = models.ManyToManyField(Pet, related_name="contacts", blank=True)
    name = models.CharField(_("name"), max_length=120)
    relation = models.CharField(_("relation"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    whatsapp = models.BooleanField(_("reachable on WhatsApp"), default=False)
    email = models.EmailField(_("email"), blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    show_on_public_page = models.BooleanField(_("show on the public page"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    """A rich-text note on a pet: ``body_html`` sanitised on write, ``body_text`` for search."""

    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=120, blank=True)
    body_html = models.TextField(_("text"))
    body_text = models.TextField(editable=False, default="")
    pinned = models.BooleanField(_("pinned"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("note")
        ordering = ["-pinned", "-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title or self.body_text[:40]


def photo_path(photo: Photo, variant: str, fmt: str) -> str:
    return f"pets/{photo.pet_id}/photos/{photo.key}-{variant}.{fmt}"


class Photo(models.Model):
    """A pet photo, stored as square variants (thumb, card, full) in WebP and JPEG.

    The original upload is never kept: only re-encoded pixels, so no EXIF or GPS survives.
    """

    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="photos")
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    is_primary = models.BooleanField(_("primary photo"), default=False)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    bytes_stored = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        ordering = ["-is_primary", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pet"], condition=Q(is_primary=True), name="photo_one_primary_per_pet"
            )
        ]

    def __str__(self) -> str:
        return f"{self.pet} photo {self.key}"

    def path(self, variant: str, fmt: str = "webp") -> str:
        return photo_path(self, variant, fmt)
