"""Pet tags: QR codes leading to the pet's public page. Make (web and API, an empty body takes
the defaults), list with the scan and image addresses, unlink, link again, print; a scan of a
tag reaches the public page through the real redirect layer."""

from __future__ import annotations

import pytest
from django.test import Client

from pawfile.lostpet import services
from pawfile.qr import services as qr_services
from pawfile.qr.choices import TargetKind
from pawfile.qr.models import QRCode
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_api_make_with_an_empty_body_and_list(cast: Cast, pet, settings) -> None:
    client = cast.client_for("alice")
    for body in ("", "{}"):
        response = client.post(f"/api/v1/pets/{pet.pk}/tags", body, content_type="application/json")
        assert response.status_code == 201, response.content
    tag = response.json()
    slug = services.profile_for_pet(pet).slug
    assert tag["pet_id"] == pet.pk
    assert tag["target_kind"] == "pet_page" and tag["target_url"] == f"/p/{slug}"
    assert tag["title"] == "Rex tag"
    assert tag["scan_url"] == f"{settings.PAWFILE_BASE_URL}/r/{tag['id']}"
    assert set(tag["image_urls"]) == {"png", "svg", "pdf"}
    assert tag["image_urls"]["png"].startswith(f"{settings.PAWFILE_BASE_URL}/q/{tag['id']}.png")
    listed = client.get(f"/api/v1/pets/{pet.pk}/tags").json()["items"]
    assert [t["id"] for t in listed][-1] == tag["id"] and len(listed) == 2
    assert all(t["scan_url"].endswith(f"/r/{t['id']}") for t in listed)


def test_api_make_with_a_style_and_bad_input(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    response = client.post(
        f"/api/v1/pets/{pet.pk}/tags",
        {"title": "Collar", "fg_color": "#123456", "frame_text": "IF FOUND, SCAN ME"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["fg_color"] == "#123456"
    assert response.json()["frame_text"] == "IF FOUND, SCAN ME"
    for bad in ({"fg_color": "red"}, {"target_url": "https://evil.example"},
                {"fg_color": "#ffffff", "bg_color": "#ffffff"}, {"module_size": 0}):  # fmt: skip
        response = client.post(f"/api/v1/pets/{pet.pk}/tags", bad, content_type="application/json")
        assert response.status_code == 422, (bad, response.content)
        assert response.json()["error"]["message"]
    assert QRCode.objects.filter(target_ref=pet.pk).count() == 1


def test_image_urls_answer(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    tag = client.post(f"/api/v1/pets/{pet.pk}/tags", "", content_type="application/json").json()
    for kind, prefix in (("png", b"\x89PNG"), ("svg", b"<svg"), ("pdf", b"%PDF")):
        path = tag["image_urls"][kind].split("://", 1)[1].split("/", 1)[1]
        response = Client().get("/" + path)
        assert response.status_code == 200, kind
        assert prefix in response.content[:200], kind


def test_tags_screen_make_unlink_link_again(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    assert client.post(f"/pets/{pet.pk}/tags/new/").status_code == 302
    tag = QRCode.objects.get(target_ref=pet.pk)
    page = client.get(f"/pets/{pet.pk}/tags/").content.decode()
    assert tag.id in page
    assert f"/q/{tag.id}.pdf" in page and f"/q/{tag.id}.png" in page and f"/q/{tag.id}.svg" in page
    # Unlink: the tag stays with the household, leads nowhere, and is offered to link again.
    assert client.post(f"/pets/{pet.pk}/tags/{tag.id}/unlink/").status_code == 302
    tag.refresh_from_db()
    assert tag.target_kind == TargetKind.UNCLAIMED and tag.target_ref is None
    page = client.get(f"/pets/{pet.pk}/tags/").content.decode()
    assert f'<option value="{tag.id}"' in page
    # Link it to another pet of the household, then back.
    from pawfile.pets.models import Pet

    mia = Pet.objects.create(household=cast.household, name="Mia", species="cat")
    assert client.post(f"/pets/{mia.pk}/tags/link/", {"code_id": tag.id}).status_code == 302
    tag.refresh_from_db()
    assert tag.target_ref == mia.pk and tag.target_url == f"/p/{services.profile_for_pet(mia).slug}"
    assert client.post(f"/pets/{pet.pk}/tags/link/", {"code_id": tag.id.upper()}).status_code == 302
    tag.refresh_from_db()
    assert tag.target_ref == pet.pk


def test_link_an_unknown_tag_says_so(cast: Cast, pet) -> None:
    client = cast.client_for("alice")
    response = client.post(f"/pets/{pet.pk}/tags/link/", {"code_id": ""}, follow=True)
    assert "Choose a tag." in response.content.decode()
    response = client.post(f"/pets/{pet.pk}/tags/link/", {"code_id": "zzzzzzzzzz"})
    assert response.status_code == 404


def test_unlink_a_tag_of_another_pet_is_404(cast: Cast, pet) -> None:
    from pawfile.pets.models import Pet

    mia = Pet.objects.create(household=cast.household, name="Mia", species="cat")
    tag = qr_services.pet_code_create(actor=cast.alice, pet=mia)
    response = cast.client_for("alice").post(f"/pets/{pet.pk}/tags/{tag.id}/unlink/")
    assert response.status_code == 404
    tag.refresh_from_db()
    assert tag.target_ref == mia.pk


def test_a_scan_reaches_the_public_page(cast: Cast, pet) -> None:
    """Through the real redirect layer in front of Django (as ``pawfile web`` serves)."""
    from pawfile.qr import scans
    from tests.qr.conftest import Caller

    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet, reward="A hug")
    caller = Caller()
    answer = caller(f"/r/{tag.id}")
    assert answer.status in (301, 302, 303, 307)
    location = answer.headers["Location"]
    slug = services.profile_for_pet(pet).slug
    assert location.endswith(f"/p/{slug}")
    body = Client().get(location).content.decode()
    assert "Rex" in body and "A hug" in body
    scans.buffer.clear()


def test_pet_deleted_leaves_its_tags_unlinked_and_its_page_gone(cast: Cast, pet) -> None:
    from pawfile.pets import services as pet_services

    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    slug = services.profile_for_pet(pet).slug
    pet_services.pet_delete(actor=cast.alice, pet=pet)
    assert Client().get(f"/p/{slug}").status_code == 404
    tag.refresh_from_db()
    assert tag.household_id == cast.household.pk and tag.target_ref is None


def test_export_and_household_deletion(cast: Cast, pet) -> None:
    from pawfile.accounts.services import household_delete
    from pawfile.lib import registry
    from pawfile.lostpet.models import PublicProfile

    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    services.lost_mark(actor=cast.alice, pet=pet, reward="Cake")
    rows, _files = registry.export_sections(user=cast.carol)  # a viewer's export has them
    (profile,) = rows["lostpet_profiles"]
    assert profile["pet_id"] == pet.pk and profile["reward"] == "Cake" and profile["is_lost"]
    assert rows["lostpet_tags"] == [{"code_id": tag.id, "pet_id": pet.pk, "title": "Rex tag"}]
    rows, _files = registry.export_sections(user=cast.charlie)
    assert rows["lostpet_profiles"] == [] and rows["lostpet_tags"] == []

    household_delete(household=cast.household)
    assert not PublicProfile.objects.exists()
    assert not QRCode.objects.filter(pk=tag.id).exists()
