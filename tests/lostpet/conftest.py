"""Fixtures of the lost-pet tests (shared by the public page, lost mode, tags and sightings).

``lost`` is Rex of alice's household (bob caretaker, carol viewer, charlie stranger: the
``cast`` of ``tests/conftest.py``) with EVERYTHING filled in: a primary photo, microchip, vet,
colour, about text, notes, health records of every kind that carries private text, a contact
shown on the public page and one that is not, a household name and the owner's email. His
public profile shows every switch and the contacts, and he is in lost mode. ``PRIVATE`` lists
values that must never reach a stranger; ``PUBLIC`` those the owner chose to show.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from pawfile.health import services as health_services
from pawfile.lostpet import services
from pawfile.lostpet.choices import ContactMode
from pawfile.lostpet.models import PublicProfile
from pawfile.pets import photos
from pawfile.pets import services as pet_services
from pawfile.pets.models import Contact, Pet, Photo
from tests.conftest import Cast
from tests.e2e.conftest import browser, chromium_executable, page  # noqa: F401 (browser tests)

# Values that must never appear on the public page, whatever the switches say.
PRIVATE = {
    "household name": "Casa Secreta Gonzalez",
    "owner email": "alice@example.org",
    "microchip": "985112003456789",
    "vet name": "Dr Hidden Vetman",
    "vet phone": "+34 600 999 888",
    "vet clinic": "Clinica Oculta",
    "about": "Sleeps under the blue sofa",
    "colour": "tricolour with a heart-shaped spot",
    "note": "Spare key under the flowerpot",
    "private contact name": "Nora Neighbour",
    "private contact phone": "+34 611 222 333",
    "private contact email": "nora@private.example",
    "record notes": "Reacted badly in 2023",
    "diagnosis": "Grade II luxating patella",
    "lab result": "ALT 93 U/L",
    "vaccine batch": "LOT-7781-X",
    "past medication": "Old Pill 20 mg",
    "visit reason": "Knee checkup",
}
# Values the owner made public in ``lost``.
PUBLIC = {
    "name": "Rex",
    "breed": "Beagle",
    "allergy text": "Chicken",
    "allergy record": "Penicillin",
    "medication": "Apoquel",
    "medication dose": "16 mg",
    "special needs": "Deaf in one ear",
    "public message": "Friendly, give him water",
    "contact name": "Alice Owner",
    "contact phone": "+34 655 444 321",
    "contact email": "rex.finder@public.example",
    "reward": "200 EUR",
    "last seen place": "Parque del Retiro",
    "lost message": "He runs off after cats",
}


def photo_upload(colour: tuple[int, int, int] = (200, 120, 40)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(out, "JPEG")
    return SimpleUploadedFile("rex.jpg", out.getvalue(), content_type="image/jpeg")


@dataclass
class Lost:
    cast: Cast
    pet: Pet
    profile: PublicProfile
    photo: Photo
    public_contact: Contact
    private_contact: Contact


@pytest.fixture
def lost(cast: Cast, pet: Pet) -> Lost:
    """Rex with everything filled in, every public switch on, contacts shown, lost."""
    alice = cast.alice
    cast.household.name = PRIVATE["household name"]
    cast.household.save()
    pet_services.pet_update(
        actor=alice,
        pet=pet,
        sex="male",
        birth_date=timezone.localdate() - dt.timedelta(days=3 * 365 + 40),
        microchip=PRIVATE["microchip"],
        colour=PRIVATE["colour"],
        allergies=PUBLIC["allergy text"],
        special_needs=PUBLIC["special needs"],
        about=PRIVATE["about"],
        vet_name=PRIVATE["vet name"],
        vet_phone=PRIVATE["vet phone"],
        vet_clinic=PRIVATE["vet clinic"],
    )
    photo = photos.photo_add(actor=alice, pet=pet, upload=photo_upload())
    pet_services.note_create(
        actor=alice, pet=pet, title="Keys", body_html=f"<p>{PRIVATE['note']}</p>"
    )
    public_contact = pet_services.contact_create(
        actor=alice,
        household=cast.household,
        pet_ids=[pet.pk],
        name=PUBLIC["contact name"],
        phone=PUBLIC["contact phone"],
        whatsapp=True,
        email=PUBLIC["contact email"],
        show_on_public_page=True,
    )
    private_contact = pet_services.contact_create(
        actor=alice,
        household=cast.household,
        pet_ids=[pet.pk],
        name=PRIVATE["private contact name"],
        phone=PRIVATE["private contact phone"],
        email=PRIVATE["private contact email"],
    )
    today = timezone.localdate()
    record = health_services.record_create
    record(actor=alice, pet=pet, kind="allergy", date=today, name=PUBLIC["allergy record"],
           notes=PRIVATE["record notes"])  # fmt: skip
    record(actor=alice, pet=pet, kind="medication", date=today - dt.timedelta(days=3),
           name=PUBLIC["medication"], dose=PUBLIC["medication dose"],
           frequency="daily")  # fmt: skip
    record(actor=alice, pet=pet, kind="medication", date=today - dt.timedelta(days=90),
           end_date=today - dt.timedelta(days=60), name=PRIVATE["past medication"])  # fmt: skip
    record(actor=alice, pet=pet, kind="visit", date=today - dt.timedelta(days=20),
           name=PRIVATE["visit reason"], diagnosis=PRIVATE["diagnosis"])  # fmt: skip
    record(actor=alice, pet=pet, kind="lab", date=today - dt.timedelta(days=20),
           name="Blood panel", result=PRIVATE["lab result"])  # fmt: skip
    record(actor=alice, pet=pet, kind="vaccination", date=today - dt.timedelta(days=100),
           name="Rabies", batch=PRIVATE["vaccine batch"])  # fmt: skip
    services.profile_update(
        actor=alice,
        pet=pet,
        show_photo=True,
        show_species=True,
        show_sex=True,
        show_age=True,
        show_allergies=True,
        show_medication=True,
        show_special_needs=True,
        contact_mode=ContactMode.SHOWN,
        public_message=PUBLIC["public message"],
    )
    profile = services.lost_mark(
        actor=alice,
        pet=pet,
        last_seen_at=timezone.now() - dt.timedelta(hours=5),
        last_seen_place=PUBLIC["last seen place"],
        reward=PUBLIC["reward"],
        lost_message=PUBLIC["lost message"],
    )
    pet.refresh_from_db()
    return Lost(cast, pet, profile, photo, public_contact, private_contact)
