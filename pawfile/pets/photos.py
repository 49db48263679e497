"""Pet photos: decode, crop square, store variants, choose the primary one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from pawfile.accounts.access import Action
from pawfile.accounts.models import User
from pawfile.lib.images import CropBox, image_encode, image_square_open
from pawfile.lib.storage import files_delete_on_commit
from pawfile.lib.text import plain_line
from pawfile.pets import selectors
from pawfile.pets.choices import PHOTO_SIZES, PhotoVariant
from pawfile.pets.models import Pet, Photo
from pawfile.pets.services import pet_revision_bump

FORMATS = ("webp", "jpeg")


def photo_add(
    *,
    actor: User,
    pet: Pet,
    upload: IO[bytes],
    crop: CropBox | None = None,
    caption: str = "",
    primary: bool | None = None,
) -> Photo:
    """Store a new photo of ``pet``. Raises ``ImageRejected`` (an ``Invalid`` about ``file``;
    nothing stored) for bad files.

    The first photo of a pet becomes its primary photo unless ``primary`` says otherwise.
    """
    pet = selectors.pet_checked(user=actor, pet=pet, action=Action.WRITE)
    plain_line(caption, field="caption")  # shown on one line: no line breaks or controls
    # Decoded no larger than the largest variant (see lib.images: the memory budget).
    square = image_square_open(upload, crop=crop, side=PHOTO_SIZES[PhotoVariant.FULL])
    encoded = {
        (variant, fmt): image_encode(square, size=size, fmt=fmt)
        for variant, size in PHOTO_SIZES.items()
        for fmt in FORMATS
    }
    photo = Photo(pet=pet, uploaded_by=actor, caption=caption.strip()[:200])
    photo.width, photo.height = square.size
    photo.bytes_stored = sum(len(b) for b in encoded.values())
    written: list[str] = []
    try:
        for (variant, fmt), data in encoded.items():
            written.append(default_storage.save(photo.path(variant, fmt), ContentFile(data)))
        with transaction.atomic():
            make_primary = primary if primary is not None else not pet.photos.exists()
            if make_primary:
                pet.photos.filter(is_primary=True).update(is_primary=False)
            photo.is_primary = make_primary
            photo.save()
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    pet_revision_bump(pet.pk)
    return photo


def photo_set_primary(*, actor: User, photo: Photo) -> Photo:
    photo = selectors.photo_get(user=actor, photo_id=photo.pk, action=Action.WRITE)
    with transaction.atomic():
        Photo.objects.filter(pet_id=photo.pet_id, is_primary=True).update(is_primary=False)
        Photo.objects.filter(pk=photo.pk).update(is_primary=True)
    photo.is_primary = True
    pet_revision_bump(photo.pet_id)
    return photo


def photo_delete(*, actor: User, photo: Photo) -> None:
    """Delete a photo and its files; the newest remaining photo becomes primary."""
    photo = selectors.photo_get(user=actor, photo_id=photo.pk, action=Action.WRITE)
    with transaction.atomic():
        photo.delete()
        if photo.is_primary:
            successor = Photo.objects.filter(pet_id=photo.pet_id).order_by("-created_at").first()
            if successor is not None:
                Photo.objects.filter(pk=successor.pk).update(is_primary=True)
        files_delete_on_commit(photo_file_names([photo]))
    pet_revision_bump(photo.pet_id)


def photo_file_names(photos: Iterable[Photo]) -> list[str]:
    """Every stored file of these photos (each variant in each format)."""
    return [
        photo.path(variant, fmt) for photo in photos for variant in PHOTO_SIZES for fmt in FORMATS
    ]


def photo_url(photo: Photo, variant: str = "card", fmt: str = "webp") -> str:
    """The access-checked URL of a variant (photos are household data, never public media)."""
    from django.urls import reverse

    return reverse("photo_file", kwargs={"key": photo.key, "variant": variant, "fmt": fmt})
