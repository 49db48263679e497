"""Reads of the lost-pet app.

Two kinds, never mixed:

* the owner's reads (``profile_get``, ``tags_of_pet``, ``tags_unlinked``) take the acting
  user and go through the pet gate (404 for a stranger, 403 for a role too low);
* the public projection (``public_pet``) reads a pet for anyone, and copies into a
  ``PublicPet`` exactly what the owner chose to show. Nothing else of the pet, its
  household or its people is ever read into it, so a template given a ``PublicPet`` cannot
  show a private value by mistake. The public page and the owner's live preview both draw
  one ``PublicPet`` with the same card (``public_html.card_html``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation

from pawfile.accounts.access import Action
from pawfile.accounts.models import User
from pawfile.health.models import HealthRecord
from pawfile.health.selectors import care_records
from pawfile.lostpet import public_urls
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.lostpet.services import (
    SLUG_ALPHABET,
    SLUG_LENGTH,
    profile_for_pet,
    profile_or_default,
)
from pawfile.pets.models import Contact, Pet, Photo
from pawfile.pets.selectors import pet_checked, pet_get
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode

SLUG_PATTERN = re.compile(f"^[{SLUG_ALPHABET}]{{{SLUG_LENGTH}}}$")


@dataclass(frozen=True)
class PublicContact:
    name: str
    phone: str  # as the owner wrote it (shown)
    tel: str  # digits and a leading + (the tel: link), "" without a phone
    whatsapp: str  # https://wa.me/<digits>, "" when not on WhatsApp
    email: str


@dataclass(frozen=True)
class PublicMedication:
    name: str
    dose: str
    frequency: str


@dataclass(frozen=True)
class PublicPet:
    """What a stranger may see of a pet: only what its owner made public."""

    slug: str
    name: str
    species: str  # the species' label, "" when hidden
    breed: str
    sex: str  # the sex's label, "" when hidden or unknown
    birth_date: dt.date | None  # None when the age is hidden
    birth_date_estimated: bool
    photo_url: str  # "" without a (shown) photo
    message: str
    is_lost: bool
    last_seen_at: dt.datetime | None
    last_seen_place: str
    reward: str
    lost_message: str
    contact_mode: str
    contacts: list[PublicContact] = field(default_factory=list)
    allergies: list[str] = field(default_factory=list)
    medications: list[PublicMedication] = field(default_factory=list)
    special_needs: str = ""

    @property
    def contacts_shown(self) -> bool:
        return self.contact_mode == ContactMode.SHOWN and bool(self.contacts)


# What ``public_pet_build`` reads of a stored page, as ``public_query`` reads it in one
# statement: plain rows with only these fields (the ORM path passes model instances, which
# have them too). Field names are the models' own.


@dataclass(frozen=True, slots=True)
class ProfileRow:
    slug: str
    show_photo: bool
    show_species: bool
    show_sex: bool
    show_age: bool
    show_allergies: bool
    show_medication: bool
    show_special_needs: bool
    contact_mode: str
    public_message: str
    is_lost: bool
    last_seen_at: dt.datetime | None
    last_seen_place: str
    reward: str
    lost_message: str


@dataclass(frozen=True, slots=True)
class PetRow:
    name: str
    species: str
    breed: str
    sex: str
    birth_date: dt.date | None
    birth_date_estimated: bool
    allergies: str
    special_needs: str


@dataclass(frozen=True, slots=True)
class PhotoRow:
    key: uuid.UUID


@dataclass(frozen=True, slots=True)
class ContactRow:
    name: str
    phone: str
    whatsapp: bool
    email: str


@dataclass(frozen=True, slots=True)
class RecordRow:
    kind: str
    date: dt.date
    end_date: dt.date | None
    name: str
    dose: str
    frequency: str


def slug_valid(value: str) -> bool:
    """Whether ``value`` has the shape of a slug (says nothing of whether it exists)."""
    return bool(SLUG_PATTERN.match(value))


def profile_get(
    *, user: User, pet_id: int, action: Action = Action.VIEW, make: bool = True
) -> PublicProfile:
    """The pet's public profile if ``user`` may ``action`` the pet: made on first need, or
    with ``make=False`` (a read that must not write) an unsaved one with the defaults and no
    slug (``services.profile_or_default``); ``profile.pet`` carries the gate's decision.
    Raises ``NotFound`` / ``Forbidden``."""
    pet = pet_get(user=user, pet_id=pet_id, action=action)
    profile = profile_for_pet(pet) if make else profile_or_default(pet)
    profile.pet = pet
    return profile


def profile_by_slug(slug: str) -> PublicProfile | None:
    """The profile named ``slug`` with its pet, or ``None`` (no access check: public)."""
    if not slug_valid(slug):
        return None
    return PublicProfile.objects.select_related("pet").filter(slug=slug).first()


def page_stamp(slug: str) -> tuple[int, int, int] | None:
    """``(profile id, profile revision, pet revision)`` of the page ``slug`` in one small
    query (the public page's cache key), or ``None`` for an unknown slug."""
    if not slug_valid(slug):
        return None
    row = (
        PublicProfile.objects.filter(slug=slug)
        .values_list("pk", "revision", "pet__revision")
        .first()
    )
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _contact(contact: Contact | ContactRow) -> PublicContact:
    digits = _digits(contact.phone)
    tel = ("+" if contact.phone.strip().startswith("+") else "") + digits if digits else ""
    return PublicContact(
        name=contact.name,
        phone=contact.phone if digits else "",
        tel=tel,
        whatsapp=f"https://wa.me/{digits}" if contact.whatsapp and digits else "",
        email=contact.email,
    )


def _primary_photo(pet: Pet) -> Photo | None:
    return Photo.objects.filter(pet_id=pet.pk, is_primary=True).first()


def public_photo_url(
    profile: PublicProfile | ProfileRow, photo: Photo | PhotoRow, variant: str = "card"
) -> str:
    """The public address of ``photo``; for an unsaved profile (the owner's preview before
    the page exists) the household's own, session-only address."""
    if not profile.slug:
        return reverse("photo_file", kwargs={"key": photo.key, "variant": variant, "fmt": "webp"})
    return public_urls.photo_url(profile.slug, str(photo.key), variant)


def public_pet(*, profile: PublicProfile, pet: Pet, today: dt.date) -> PublicPet:
    """The public projection of ``pet`` under ``profile``'s choices, on ``today`` (which
    medications are current), read through the ORM (the owner's preview draws an unsaved
    ``profile``). ``public_query.public_pet_fetch`` reads the same for a stored page in one
    query. No access check: it holds only what is public."""
    photo = _primary_photo(pet) if profile.show_photo else None
    contacts: list[Contact] = []
    if profile.contact_mode == ContactMode.SHOWN:
        shown = Contact.objects.filter(pets=pet, show_on_public_page=True).order_by("order", "id")
        contacts = list(shown)
    care: tuple[list[HealthRecord], list[HealthRecord]] = ([], [])
    if profile.show_allergies or profile.show_medication:
        care = care_records(pet=pet, today=today)
    return public_pet_build(profile=profile, pet=pet, photo=photo, contacts=contacts, care=care)


@cache
def _labels(field: str, language: str | None) -> dict[Any, str]:
    with translation.override(language):
        return {k: str(v) for k, v in Pet._meta.get_field(field).flatchoices}  # type: ignore[union-attr]


def _label(field: str, value: str) -> str:
    """``get_<field>_display()`` of a pet in the active language, the choices' labels
    translated once per language (building them on every call was a fifth of a fresh public
    page, translating them a tenth of what was left)."""
    return _labels(field, translation.get_language()).get(value, value)


def public_pet_build(
    *,
    profile: PublicProfile | ProfileRow,
    pet: Pet | PetRow,
    photo: Photo | PhotoRow | None,
    contacts: Sequence[Contact | ContactRow],
    care: tuple[Sequence[HealthRecord | RecordRow], Sequence[HealthRecord | RecordRow]],
) -> PublicPet:
    """The ``PublicPet`` of what was read (model instances, or the rows above): the primary
    ``photo`` (``None`` when hidden or missing), the ``contacts`` shown (in order), ``care``
    as ``care_records`` gives it. It reads nothing more and copies only what ``profile``'s
    switches allow."""
    allergies: list[str] = []
    medications: list[PublicMedication] = []
    current, allergy_records = care
    if profile.show_allergies:
        allergies = [line.strip() for line in pet.allergies.splitlines() if line.strip()]
        allergies += [r.name for r in allergy_records if r.name not in allergies]
    if profile.show_medication:
        medications = [PublicMedication(r.name, r.dose, r.frequency) for r in current]
    shown = profile.contact_mode == ContactMode.SHOWN
    return PublicPet(
        slug=profile.slug,
        name=pet.name,
        species=_label("species", pet.species) if profile.show_species else "",
        breed=pet.breed if profile.show_species else "",
        sex=_label("sex", pet.sex) if profile.show_sex and pet.sex in ("male", "female") else "",
        birth_date=pet.birth_date if profile.show_age else None,
        birth_date_estimated=pet.birth_date_estimated,
        photo_url=public_photo_url(profile, photo)
        if photo is not None and profile.show_photo
        else "",
        message=profile.public_message,
        is_lost=profile.is_lost,
        last_seen_at=profile.last_seen_at if profile.is_lost else None,
        last_seen_place=profile.last_seen_place if profile.is_lost else "",
        reward=profile.reward if profile.is_lost else "",
        lost_message=profile.lost_message if profile.is_lost else "",
        contact_mode=profile.contact_mode,
        contacts=[_contact(c) for c in contacts] if shown else [],
        allergies=allergies,
        medications=medications,
        special_needs=pet.special_needs.strip() if profile.show_special_needs else "",
    )


def public_photo(*, slug: str, key: str) -> Photo | None:
    """The photo ``key`` if it is the primary photo of the pet of a public page ``slug``
    that shows its photo; ``None`` otherwise (no access check: public)."""
    profile = profile_by_slug(slug)
    if profile is None or not profile.show_photo:
        return None
    photo = _primary_photo(profile.pet)
    return photo if photo is not None and str(photo.key) == key else None


def tags_of_pet(*, user: User, pet: Pet) -> QuerySet[QRCode]:
    """The tags (QR codes) leading to ``pet``'s public page, oldest first, if ``user`` may
    see the pet (``NotFound`` otherwise; a pet from the gate is trusted without a query)."""
    pet = pet_checked(user=user, pet=pet)
    return QRCode.objects.filter(
        household_id=pet.household_id, target_kind=TargetKind.PET_PAGE, target_ref=pet.pk
    ).order_by("created_at", "id")


def tags_unlinked(*, user: User, pet: Pet) -> QuerySet[QRCode]:
    """Tags of ``pet``'s household linked to no pet (to link to it again), oldest first."""
    pet = pet_checked(user=user, pet=pet)
    return QRCode.objects.filter(
        household_id=pet.household_id, target_kind=TargetKind.UNCLAIMED
    ).order_by("created_at", "id")
