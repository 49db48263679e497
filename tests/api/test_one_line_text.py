"""One-line text (photo captions, record names) refuses line breaks and control characters
from the API and the web form alike, naming the field, and stores nothing."""

from __future__ import annotations

import pytest

from pawfile.health.models import HealthRecord
from pawfile.pets.models import Photo
from tests.api.conftest import World, png_upload
from tests.conftest import Cast
from tests.pets.conftest import jpeg_upload

NOT_ONE_LINE = ["Park\r\nBcc: x@y", "tab\there", "bell\x07", "next\x85line", "sep\u2028arator"]


@pytest.mark.parametrize("caption", NOT_ONE_LINE)
def test_api_photo_caption_is_one_line(world: World, api_client, caption: str) -> None:
    before = Photo.objects.count()
    response = api_client("alice").upload(
        f"/pets/{world.rex.pk}/photos", {"file": png_upload(), "caption": caption}
    )
    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == ["caption"]
    assert Photo.objects.count() == before


def test_api_photo_caption_keeps_other_scripts(world: World, api_client) -> None:
    response = api_client("alice").upload(
        f"/pets/{world.rex.pk}/photos", {"file": png_upload(), "caption": "Café «Rex» 🐶 犬"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["caption"] == "Café «Rex» 🐶 犬"


def test_web_photo_caption_is_one_line(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    response = client.post(
        f"/pets/{pet.pk}/photos/new/", {"image": jpeg_upload(), "caption": "Park\nBcc: x@y"}
    )
    assert response.status_code == 400
    assert "one line of plain text" in response.content.decode()
    assert not Photo.objects.filter(pet=pet).exists()


@pytest.mark.parametrize("field", ["name", "batch", "clinic"])
def test_api_record_line_fields_are_one_line(world: World, api_client, field: str) -> None:
    before = HealthRecord.objects.count()
    body = {"kind": "vaccination", "name": "Rabies", field: "A\nB"}
    response = api_client("alice").post(f"/pets/{world.rex.pk}/records", body)
    assert response.status_code == 422, response.content
    assert list(response.json()["error"]["fields"]) == [field]
    assert HealthRecord.objects.count() == before
    changed = api_client("alice").patch(f"/records/{world.record.pk}", {field: "A\rB"})
    assert changed.status_code == 422
    world.record.refresh_from_db()
    assert "\r" not in getattr(world.record, field)
