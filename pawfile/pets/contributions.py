"""What the pets app adds to the shared features (``pawfile.lib.registry``).

Called once from ``PetsConfig.ready``: the pets, contacts, notes and photos of a user's
export; the photo files that go with deleted pets (and, for a household, everything every app
removes with its pets); the "Pet profiles" card of the landing page, the "Your pets" section
and the "Add a pet" step of the home page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from pawfile.accounts import selectors as account_selectors
from pawfile.accounts.choices import Role
from pawfile.accounts.models import Household, User
from pawfile.lib import registry
from pawfile.lib.registry import ArchiveFile, ExportSection
from pawfile.pets import selectors, services
from pawfile.pets.choices import PhotoVariant
from pawfile.pets.models import Pet, Photo
from pawfile.pets.photos import photo_file_names

APP = "pets"

# Fields of each row in the export (docs/export-format.md).
CONTACT_FIELDS = ("id", "household_id", *services.CONTACT_FIELDS, "created_at", "updated_at")
PET_FIELDS = ("id", "household_id", *services.PET_FIELDS, "created_at", "updated_at")
NOTE_FIELDS = (
    "id", "pet_id", "author_id", "title", "body_html", "body_text", "pinned", "created_at",
    "updated_at",
)  # fmt: skip
PHOTO_FIELDS = (
    "id", "pet_id", "key", "caption", "is_primary", "width", "height", "uploaded_by_id",
    "created_at",
)  # fmt: skip


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in fields}


def export_rows(user: User) -> ExportSection:
    """``pets``, ``contacts``, ``notes`` and ``photos`` of everything ``user`` can see, and
    each photo's full-size JPEG as a file of the archive."""
    pets = list(selectors.pet_list(user=user).order_by("household_id", "pk"))
    files: list[ArchiveFile] = []
    notes: list[dict[str, Any]] = []
    photos: list[dict[str, Any]] = []
    for pet in pets:
        notes += [_row(n, NOTE_FIELDS) for n in selectors.note_list(user=user, pet=pet)]
        for photo in pet.photos.order_by("pk"):
            name = photo.path(PhotoVariant.FULL, "jpeg")
            files.append(ArchiveFile(name, f"files/{name}"))
            photos.append({**_row(photo, PHOTO_FIELDS), "file": f"files/{name}"})
    contacts = [
        {**_row(contact, CONTACT_FIELDS), "pet_ids": sorted(p.pk for p in contact.pets.all())}
        for household in account_selectors.household_list(user=user).order_by("pk")
        for contact in selectors.contact_list(user=user, household_id=household.pk)
    ]
    rows = {
        "pets": [_row(pet, PET_FIELDS) for pet in pets],
        "contacts": contacts,
        "notes": notes,
        "photos": photos,
    }
    return ExportSection(rows=rows, files=files)


def pets_files(pets: QuerySet[Pet]) -> list[str]:
    """Every stored photo variant of these pets (deleted with them)."""
    return photo_file_names(Photo.objects.filter(pet__in=pets))


def household_files(household: Household) -> list[str]:
    """What every app removes with the pets of ``household`` (they go by cascade with it)."""
    return registry.deletion_files("pets", Pet.objects.filter(household=household))


HOME_PETS = 6


def home_pets(request: HttpRequest) -> Mapping[str, Any] | None:
    """The "Your pets" section of the home page: the first ``HOME_PETS`` pets the user may
    see (photo, name, badges from other apps) and how many there are; ``None`` (no section)
    for a user without pets, who sees the "Add a pet" step instead."""
    user = request.user
    assert isinstance(user, User)
    pets = list(selectors.pets_with_primary_photo(selectors.pet_list(user=user)[: HOME_PETS + 1]))
    if not pets:
        return None
    shown = pets[:HOME_PETS]
    badges = registry.pet_badges(request=request, pets=shown)
    for pet in shown:
        pet.badges = badges[pet.pk]  # type: ignore[attr-defined]
    return {"home_pets": shown, "home_pets_more": len(pets) > HOME_PETS}


def home_steps(request: HttpRequest) -> Mapping[str, Any] | None:
    """The "Add a pet" steps: one per household where the user may add pets."""
    user = request.user
    assert isinstance(user, User)
    writable = [
        m
        for m in user.memberships.select_related("household").order_by("joined_at", "pk")
        if m.role != Role.VIEWER
    ]
    return {"pet_memberships": writable} if writable else None


def register() -> None:
    registry.register_export_section(app=APP, rows=export_rows)
    registry.register_deletion(app=APP, household=household_files, pets=pets_files)
    registry.register_landing_card(
        app=APP, name="profiles", template="pets/cards/landing.html", order=10
    )
    registry.register_home_card(
        app=APP, name="add_pet", template="pets/cards/home.html", context=home_steps, order=10
    )
    registry.register_home_card(
        app=APP,
        name="your_pets",
        template="pets/cards/home_pets.html",
        context=home_pets,
        order=10,
        top=True,
    )
