"""Fixtures for the ``/api/v1`` tests: a household with one of everything, and JWT clients.

``world`` is the cast (alice owns, bob cares, carol views, charlie is a stranger) plus Rex
with a note, a contact, a photo, a vaccination with a PDF attached and a weight, and Tom,
charlie's cat, that nobody else may see. ``api_client("alice")`` signs in through the real
allauth app login and sends its JWT on every request.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from pawfile.accounts.models import Household
from pawfile.health import services as health_services
from pawfile.health.models import Attachment, HealthRecord
from pawfile.pets import photos as pet_photos
from pawfile.pets import services as pet_services
from pawfile.pets.models import Contact, Note, Pet, Photo
from tests.conftest import PASSWORD, Cast

LOGIN = "/_allauth/app/v1/auth/login"
API = "/api/v1"

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (40, 30), colour: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def png_upload(name: str = "rex.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def pdf_upload(name: str = "certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def access_token(email: str) -> str:
    response = Client().post(
        LOGIN, {"email": email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["access_token"])


class ApiClient:
    """A test client that talks JSON to the API with a bearer token (or none)."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        url = path if path.startswith(API) else API + path
        headers = {**self.headers, **extra.pop("headers", {})}
        if method == "upload":
            return self.client.post(url, body or {}, headers=headers, **extra)
        data = json.dumps(body) if body is not None else None
        return self.client.generic(
            method.upper(), url, data or "", content_type="application/json",
            headers=headers, **extra,
        )  # fmt: skip

    def get(self, path: str, **extra: Any) -> Any:
        return self.request("get", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.request("post", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self.request("patch", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.request("delete", path, **extra)

    def upload(self, path: str, data: dict[str, Any], **extra: Any) -> Any:
        return self.request("upload", path, data, **extra)


@dataclass
class World:
    cast: Cast
    household: Household
    rex: Pet
    tom: Pet  # charlie's
    note: Note
    contact: Contact
    photo: Photo
    record: HealthRecord
    weight: HealthRecord
    attachment: Attachment

    @property
    def ids(self) -> dict[str, int]:
        return {
            "household_id": self.household.pk, "pet_id": self.rex.pk, "note_id": self.note.pk,
            "contact_id": self.contact.pk, "photo_id": self.photo.pk,
            "record_id": self.record.pk, "attachment_id": self.attachment.pk,
        }  # fmt: skip


def world_build(cast: Cast) -> World:
    alice = cast.alice
    rex = Pet.objects.create(household=cast.household, name="Rex", species="dog", breed="Beagle")
    charlie_home = Household.objects.get(memberships__user=cast.charlie)
    tom = pet_services.pet_create(
        actor=cast.charlie, household=charlie_home, name="Tom", species="cat"
    )
    note = pet_services.note_create(
        actor=alice, pet=rex, title="Food", body_html="<p>Two cups a day</p>"
    )
    contact = pet_services.contact_create(
        actor=alice, household=cast.household, pet_ids=[rex.pk], name="Neighbour Ann"
    )
    photo = pet_photos.photo_add(actor=alice, pet=rex, upload=io.BytesIO(png_bytes()))
    record = health_services.record_create(
        actor=alice, pet=rex, kind="vaccination", name="Rabies", date=dt.date(2025, 3, 1),
        next_due=timezone.localdate() + dt.timedelta(days=200),  # due later, whatever the day
    )  # fmt: skip
    weight = health_services.weight_record(actor=alice, pet=rex, value="12.5", unit="kg")
    attachment = health_services.attachment_add(
        actor=alice, record=record, upload=io.BytesIO(PDF), filename="rabies.pdf"
    )
    return World(
        cast, cast.household, Pet.objects.get(pk=rex.pk), tom, note, contact, photo, record,
        weight, attachment,
    )  # fmt: skip


@pytest.fixture
def world(cast: Cast) -> World:
    return world_build(cast)


@pytest.fixture
def api_client(cast: Cast):
    """``api_client(name)``: a JWT client for a member of the cast, or anonymous for None."""

    def make(name: str | None) -> ApiClient:
        if name is None:
            return ApiClient(None)
        return ApiClient(access_token(getattr(cast, name).email))

    return make
