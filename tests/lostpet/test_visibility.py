"""The owner's screen "What finders see": the switches, the live preview (the public page's own
card, re-drawn by HTMX on every change without saving), saving, and the read-only view."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from pawfile.lostpet.models import PublicProfile
from tests.conftest import Cast
from tests.lostpet.conftest import PRIVATE, PUBLIC, Lost

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_screen_shows_switches_link_and_preview(lost: Lost) -> None:
    response = lost.cast.client_for("alice").get(f"/pets/{lost.pet.pk}/public/")
    assert response.status_code == 200
    body = text(response)
    assert f"/p/{lost.profile.slug}" in body
    assert 'name="show_medication"' in body and 'name="contact_mode"' in body
    assert f'hx-post="/pets/{lost.pet.pk}/public/preview/"' in body
    assert 'id="public-preview"' in body
    assert PUBLIC["medication"] in body and "I am lost" in body


def test_preview_follows_the_unsaved_switches(lost: Lost) -> None:
    client = lost.cast.client_for("alice")
    url = f"/pets/{lost.pet.pk}/public/preview/"
    everything = {name: "on" for name in (
        "show_photo", "show_species", "show_sex", "show_age", "show_allergies",
        "show_medication", "show_special_needs")}  # fmt: skip
    shown = text(client.post(url, {**everything, "contact_mode": "shown"}, **HTMX))
    assert PUBLIC["medication"] in shown and PUBLIC["contact phone"] in shown
    assert "/photo/" in shown
    hidden = text(client.post(url, {"contact_mode": "form", "public_message": "New words"}, **HTMX))
    for label in ("medication", "allergy text", "special needs", "contact phone", "breed"):
        assert PUBLIC[label] not in hidden, label
    assert "/photo/" not in hidden
    assert "New words" in hidden
    assert "<html" not in hidden  # a fragment
    # Nothing was saved
    profile = PublicProfile.objects.get(pk=lost.profile.pk)
    assert profile.show_medication and profile.public_message == PUBLIC["public message"]
    assert profile.revision == lost.profile.revision


def test_preview_never_shows_private_values(lost: Lost) -> None:
    client = lost.cast.client_for("alice")
    everything = {name: "on" for name in (
        "show_photo", "show_species", "show_sex", "show_age", "show_allergies",
        "show_medication", "show_special_needs")}  # fmt: skip
    body = text(client.post(f"/pets/{lost.pet.pk}/public/preview/",
                            {**everything, "contact_mode": "shown"}, **HTMX))  # fmt: skip
    for label, value in PRIVATE.items():
        assert value.lower() not in body.lower(), label


def test_saving_changes_the_public_page(lost: Lost) -> None:
    client = lost.cast.client_for("bob")  # a caretaker may
    response = client.post(
        f"/pets/{lost.pet.pk}/public/",
        {"contact_mode": "form", "show_photo": "on", "public_message": "Call the vet"},
    )
    assert response.status_code == 302
    profile = PublicProfile.objects.get(pk=lost.profile.pk)
    assert not profile.show_medication and profile.contact_mode == "form"
    assert profile.revision > lost.profile.revision
    public = text(Client().get(f"/p/{profile.slug}"))
    assert "Call the vet" in public
    assert PUBLIC["medication"] not in public and PUBLIC["contact phone"] not in public


def test_bad_input_is_a_400_with_a_message(lost: Lost) -> None:
    client = lost.cast.client_for("alice")
    response = client.post(f"/pets/{lost.pet.pk}/public/", {"contact_mode": "shout"})
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    response = client.post(f"/pets/{lost.pet.pk}/public/",
                           {"contact_mode": "form", "public_message": "x" * 400})  # fmt: skip
    assert response.status_code == 400
    assert "at most 280" in text(response)
    assert PublicProfile.objects.get(pk=lost.profile.pk).revision == lost.profile.revision


def test_viewer_reads_but_cannot_change(lost: Lost) -> None:
    client = lost.cast.client_for("carol")
    body = text(client.get(f"/pets/{lost.pet.pk}/public/"))
    assert "Only the owner and caretakers can change this." in body
    assert 'name="show_photo"' in body and "disabled" in body
    assert ">Save<" not in body
    assert client.post(f"/pets/{lost.pet.pk}/public/", {"contact_mode": "form"}).status_code == 403


def test_pet_page_panel(lost: Lost) -> None:
    owner = text(lost.cast.client_for("alice").get(f"/pets/{lost.pet.pk}/"))
    assert f"/p/{lost.profile.slug}" in owner
    assert "Mark found" in owner
    viewer = text(lost.cast.client_for("carol").get(f"/pets/{lost.pet.pk}/"))
    assert f"/p/{lost.profile.slug}" in viewer and "Mark found" not in viewer


def test_cast_fixture_has_what_the_tests_claim(lost: Lost, cast: Cast) -> None:
    """The private values really are stored, so their absence means something."""
    pet = lost.pet
    assert pet.microchip == PRIVATE["microchip"] and pet.vet_name == PRIVATE["vet name"]
    assert pet.notes.filter(body_text__contains=PRIVATE["note"]).exists()
    assert pet.health_records.filter(diagnosis=PRIVATE["diagnosis"]).exists()
    assert cast.household.name == PRIVATE["household name"]


# --- In a browser: the live preview follows the switches before anything is saved ----------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_live_preview_in_a_browser(page, cast: Cast, pet) -> None:
    """alice (phone size) unticks "Current medication": the preview drops it at once; nothing is
    saved until she presses Save, and then the public page follows."""
    from playwright.sync_api import expect

    from pawfile.health import services as health_services
    from pawfile.lostpet import services
    from tests.e2e.pets_helpers import log_in

    health_services.record_create(
        actor=cast.alice, pet=pet, kind="medication", date=pet.created_at.date(), name="Apoquel"
    )
    services.profile_update(actor=cast.alice, pet=pet, show_medication=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(45_000)  # a loaded machine: the first page load has taken > 10 s
    expect.set_options(timeout=45_000)
    log_in(page, cast.alice.email)
    page.goto(f"/pets/{pet.pk}/public/")
    preview = page.locator("#public-preview")
    expect(preview).to_contain_text("Apoquel")
    page.get_by_label("Current medication").uncheck()
    expect(preview).not_to_contain_text("Apoquel")
    page.get_by_label("Message to finders").fill("Give him water")
    expect(preview).to_contain_text("Give him water")
    assert PublicProfile.objects.get(pet=pet).show_medication  # not saved yet
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Finders now see what the preview shows.")).to_be_visible()
    profile = PublicProfile.objects.get(pet=pet)
    assert not profile.show_medication and profile.public_message == "Give him water"
    page.goto(f"/p/{profile.slug}")
    expect(page.get_by_text("Give him water")).to_be_visible()
    expect(page.get_by_text("Apoquel")).to_have_count(0)
