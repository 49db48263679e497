"""Fixtures for the pets tests: images made with Pillow, and a pet with photos, a note and a
contact (the "world" every access-control row acts on)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pawfile.pets import photos, services
from pawfile.pets.models import Contact, Note, Pet, Photo
from tests.conftest import Cast


def image_bytes(
    size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 120, 40), **save: object
) -> bytes:
    """A JPEG of one colour (``save`` goes to ``Image.save``, e.g. ``exif=``)."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", **save)
    return out.getvalue()


def jpeg_upload(name: str = "photo.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or image_bytes(), content_type="image/jpeg")


def media_files() -> list[Path]:
    """Every file stored under MEDIA_ROOT (each test has its own)."""
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@dataclass
class World:
    cast: Cast
    pet: Pet
    photo: Photo  # primary
    other_photo: Photo
    note: Note
    contact: Contact


@pytest.fixture
def world(cast: Cast, pet: Pet) -> World:
    first = photos.photo_add(actor=cast.alice, pet=pet, upload=jpeg_upload())
    second = photos.photo_add(actor=cast.alice, pet=pet, upload=jpeg_upload("b.jpg"))
    note = services.note_create(
        actor=cast.alice, pet=pet, title="Diet", body_html="<p>Two meals a day</p>"
    )
    contact = services.contact_create(
        actor=cast.alice, household=cast.household, pet_ids=[pet.pk], name="Nora Neighbour"
    )
    return World(cast, pet, first, second, note, contact)
