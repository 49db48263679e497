"""Fixtures for the documents tests: a pet with a full health history, PDF text reading."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from pawfile.health.services import record_create, weight_record
from pawfile.pets.models import Pet
from pawfile.pets.services import contact_create, pet_update
from tests.conftest import Cast


def pdf_text(content: bytes) -> str:
    """All the text of a PDF, pages joined, whitespace runs collapsed to one space."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture
def rex(cast: Cast, pet: Pet) -> Pet:
    """Rex with about a dozen records of every kind, a contact, a vet and a microchip."""
    alice = cast.alice
    today = timezone.localdate()
    pet = pet_update(
        actor=alice,
        pet=pet,
        microchip="941000024680135",
        sex="male",
        birth_date=today - dt.timedelta(days=3 * 365 + 40),
        allergies="Chicken protein",
        vet_name="Dr. Pérez",
        vet_clinic="Clínica Sol",
        vet_phone="+34 911 000 111",
    )
    contact_create(
        actor=alice, household=cast.household, pet_ids=[pet.pk], name="Neighbour Nina",
        relation="neighbour", phone="+34 600 111 222",
    )  # fmt: skip
    record_create(
        actor=alice, pet=pet, kind="vaccination", name="Rabies",
        date=today - dt.timedelta(days=100), next_due=today + dt.timedelta(days=265),
    )  # fmt: skip
    record_create(
        actor=alice, pet=pet, kind="vaccination", name="Leptospirosis",
        date=today - dt.timedelta(days=400), next_due=today - dt.timedelta(days=35),
    )  # fmt: skip
    record_create(
        actor=alice, pet=pet, kind="deworming", name="Milbemax", deworming_scope="internal",
        date=today - dt.timedelta(days=80), next_due=today + dt.timedelta(days=10),
    )  # fmt: skip
    record_create(
        actor=alice, pet=pet, kind="medication", name="Apoquel", dose="16 mg",
        frequency="daily", date=today - dt.timedelta(days=20),
    )  # fmt: skip
    record_create(
        actor=alice, pet=pet, kind="medication", name="Amoxicillin", dose="250 mg",
        date=today - dt.timedelta(days=60), end_date=today - dt.timedelta(days=50),
    )  # fmt: skip
    record_create(actor=alice, pet=pet, kind="allergy", name="Pollen", severity="mild")
    for days, reason in ((300, "Annual check-up"), (30, "Itchy skin")):
        record_create(
            actor=alice, pet=pet, kind="visit", name=reason, vet_name="Dr. Pérez",
            date=today - dt.timedelta(days=days), diagnosis="Healthy",
        )  # fmt: skip
    for days, kilos in ((360, "11.2"), (200, "11.9"), (90, "12.3"), (5, "12.5")):
        weight_record(
            actor=alice, pet=pet, value=kilos, unit="kg", date=today - dt.timedelta(days=days)
        )
    pet.refresh_from_db()
    return pet
