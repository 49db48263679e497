"""Writes of the lost-pet app: a pet's public profile, what it shows, lost mode.

Every function that acts for a person takes the acting user (keyword-only) and checks the
access rule on the pet: owner and caretaker may change the public page and lost mode (the
``write`` action), a viewer gets ``Forbidden``, a stranger ``NotFound``. Every change of what
the public page shows bumps ``PublicProfile.revision`` (the page's cache key, ``cache.py``).
Refusals are ``lib.errors`` errors with the field named.

``profile_for_pet`` makes the profile on first need, with no actor: the qr app asks for the
path of a pet's page when it makes a tag (``qr.petpage``), and every write here asks for it.
Reads never make it: ``profile_or_default`` gives an unsaved profile with the defaults (no
slug) to the pet page's panel, the owner's screens and ``GET /api/v1/pets/{id}/public`` until
the first write, and ``page_slug`` tells a document (poster, wallet card) whether the page
exists; the document's POST makes it (``documents.page``).

The pet page shows the profile (the public address, lost mode) in a panel cached by the
pet's revision (``pets.dashboard``): making the profile and every change of it bump the
pet's revision too.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from pawfile.accounts.access import Action
from pawfile.accounts.models import User
from pawfile.lib.errors import Invalid
from pawfile.lib.text import plain_lines
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.pets.models import Pet
from pawfile.pets.selectors import pet_checked
from pawfile.pets.services import pet_revision_bump

# The qr ids' alphabet (no 0/o, 1/l/i, no capitals): 31^14 ≈ 7·10^20 slugs, 69 bits.
SLUG_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SLUG_LENGTH = 14
VISIBILITY_FIELDS = (
    "show_photo", "show_species", "show_sex", "show_age", "show_allergies",
    "show_medication", "show_special_needs",
)  # fmt: skip
PROFILE_FIELDS = (*VISIBILITY_FIELDS, "contact_mode", "public_message")
LOST_LINES = ("last_seen_place", "reward")
MAX_LENGTHS = {"public_message": 280, "last_seen_place": 200, "reward": 120, "lost_message": 500}


def slug_new() -> str:
    """A fresh random slug (the caller checks it is free)."""
    return "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_LENGTH))


def profile_or_default(pet: Pet) -> PublicProfile:
    """The pet's public profile, or, if it has none yet, an unsaved one with the defaults
    and no slug (``pk`` is ``None``): what a read shows. Writes nothing."""
    found = PublicProfile.objects.filter(pet_id=pet.pk).first()
    return found if found is not None else PublicProfile(pet_id=pet.pk, slug="")


def page_slug(pet: Pet) -> str | None:
    """The slug of the pet's public page, or ``None`` while it has none. Writes nothing."""
    return PublicProfile.objects.filter(pet_id=pet.pk).values_list("slug", flat=True).first()


def profile_for_pet(pet: Pet) -> PublicProfile:
    """The pet's public profile, made (with a new random slug and the defaults: name and
    photo, species, sex and age shown, contacts behind the finder form) if it has none.
    No access check: the caller has one or needs only the slug. For writes: a read uses
    ``profile_or_default``."""
    found = PublicProfile.objects.filter(pet_id=pet.pk).first()
    if found is not None:
        return found
    for _attempt in range(5):
        try:
            with transaction.atomic():
                made = PublicProfile.objects.create(pet_id=pet.pk, slug=slug_new())
                pet_revision_bump(pet.pk)  # the pet page's panel shows the address now
                return made
        except IntegrityError:
            found = PublicProfile.objects.filter(pet_id=pet.pk).first()
            if found is not None:  # made by a concurrent request
                return found
            continue  # a slug already taken (1 in 10^20): draw again
    raise RuntimeError("no free public page slug after five tries")


def _writable(actor: User, pet: Pet) -> Pet:
    return pet_checked(user=actor, pet=pet, action=Action.WRITE)


def _length_check(values: dict[str, Any]) -> None:
    errors = {
        name: [_("At most %(max)d characters.") % {"max": limit}]
        for name, limit in MAX_LENGTHS.items()
        if isinstance(values.get(name), str) and len(values[name]) > limit
    }
    if errors:
        raise Invalid(code="too_long", fields=errors)


def _save(profile: PublicProfile, values: dict[str, Any]) -> PublicProfile:
    """Write ``values`` and bump the profile's revision in one UPDATE, and the pet's (its
    page's panel) in the same transaction; the profile read back."""
    values["updated_at"] = timezone.now()
    with transaction.atomic():
        PublicProfile.objects.filter(pk=profile.pk).update(revision=F("revision") + 1, **values)
        pet_revision_bump(profile.pet_id)  # the pet page's panel shows lost mode
    profile.refresh_from_db()
    return profile


def profile_update(*, actor: User, pet: Pet, **fields: Any) -> PublicProfile:
    """Change what the public page shows: any of ``PROFILE_FIELDS`` (the ``show_*``
    switches, ``contact_mode``, ``public_message``). Raises ``Invalid`` for an unknown field,
    a contact mode that is not one, a message too long or with control characters."""
    pet = _writable(actor, pet)
    unknown = sorted(set(fields) - set(PROFILE_FIELDS))
    if unknown:
        raise Invalid(fields={name: [_("This field cannot be set.")] for name in unknown})
    values: dict[str, Any] = {}
    for name in VISIBILITY_FIELDS:
        if name in fields:
            values[name] = bool(fields[name])
    if "contact_mode" in fields:
        if fields["contact_mode"] not in ContactMode.values:
            raise Invalid(_("Choose how finders reach you."), field="contact_mode")
        values["contact_mode"] = fields["contact_mode"]
    if "public_message" in fields:
        values["public_message"] = str(fields["public_message"] or "").strip()
    _length_check(values)
    return _save(profile_for_pet(pet), values)


def lost_mark(
    *,
    actor: User,
    pet: Pet,
    last_seen_at: dt.datetime | None = None,
    last_seen_place: str = "",
    reward: str = "",
    lost_message: str = "",
) -> PublicProfile:
    """Put ``pet`` in lost mode (or change the details while it is lost): the public page
    shows the "I am lost" banner and every scan of its tags alerts the household.

    ``last_seen_at`` is an aware instant, not in the future. Raises ``Invalid`` (with the
    field) otherwise, or for a text too long or (place, reward) not on one line."""
    pet = _writable(actor, pet)
    values: dict[str, Any] = {
        "last_seen_place": (last_seen_place or "").strip(),
        "reward": (reward or "").strip(),
        "lost_message": (lost_message or "").strip(),
    }
    plain_lines(values, LOST_LINES)
    _length_check(values)
    if last_seen_at is not None:
        if timezone.is_naive(last_seen_at):
            raise Invalid(_("Give the time with its time zone."), field="last_seen_at")
        if last_seen_at > timezone.now() + dt.timedelta(minutes=5):
            raise Invalid(_("The time last seen cannot be in the future."), field="last_seen_at")
    profile = profile_for_pet(pet)
    now = timezone.now()
    values.update(
        is_lost=True,
        last_seen_at=last_seen_at,
        lost_since=profile.lost_since if profile.is_lost and profile.lost_since else now,
        found_at=None,
    )
    return _save(profile, values)


def found_mark(*, actor: User, pet: Pet) -> PublicProfile:
    """End lost mode: the banner and its details go, ``found_at`` records when. Marking a
    pet found that is not lost changes nothing (and bumps nothing)."""
    pet = _writable(actor, pet)
    profile = profile_or_default(pet)
    if not profile.is_lost:  # a pet never lost may have no profile: none is made
        return profile
    values = {
        "is_lost": False,
        "found_at": timezone.now(),
        "last_seen_at": None,
        "last_seen_place": "",
        "reward": "",
        "lost_message": "",
    }
    return _save(profile, values)


def profile_bump(pet_id: int) -> None:
    """Mark what the public page of ``pet_id`` shows as changed (no access check: a hook
    for changes made elsewhere that the pet's own revision does not follow)."""
    PublicProfile.objects.filter(pet_id=pet_id).update(revision=F("revision") + 1)
