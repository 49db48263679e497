"""Pet pages: the form (microchip, approximate age, breed suggestions), deletion, the
include points for the health app, the admin, and templates fit for a strict CSP."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from pawfile.accounts.models import Household
from pawfile.health.choices import DueStatus
from pawfile.lib import registry
from pawfile.pets import services
from pawfile.pets.breeds import breed_suggestions
from pawfile.pets.forms import approximate_birth_date
from pawfile.pets.models import Pet, Photo
from tests.conftest import Cast
from tests.pets.conftest import World, media_files

BASE = {"species": "dog", "sex": "unknown", "weight_unit": "kg"}


def create(cast: Cast, who: str = "alice", **fields: str):
    url = f"/pets/new/?household={cast.household.pk}"
    return cast.client_for(who).post(url, {"name": "Bolt", **BASE, **fields})


# --- Microchip -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("985112345678901", "985112345678901"),
        ("985 1123-4567.8901", "985112345678901"),
        ("0a1b2c3d4e", "0A1B2C3D4E"),
        ("12345678F", "12345678F"),
    ],
)
def test_microchip_numbers_people_use_are_accepted(cast: Cast, typed: str, stored: str) -> None:
    response = create(cast, microchip=typed)
    assert response.status_code == 302
    assert Pet.objects.get(name="Bolt").microchip == stored


@pytest.mark.parametrize("typed", ["98511234567890A", "12345678", "000112345678901", "XYZ123456"])
def test_bad_microchip_is_refused_next_to_the_field(cast: Cast, typed: str) -> None:
    response = create(cast, microchip=typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_microchip_error"' in page
    assert "microchip" in page.lower()
    assert not Pet.objects.filter(name="Bolt").exists()


def test_microchip_of_a_pet_in_another_household_is_refused(cast: Cast) -> None:
    other = Household.objects.get(memberships__user=cast.charlie)
    services.pet_create(
        actor=cast.charlie, household=other, name="Spot", species="dog", microchip="985112345678901"
    )
    response = create(cast, microchip="985 112 345 678 901")
    assert response.status_code == 400
    assert "Another pet on this site already has this microchip number." in (
        response.content.decode()
    )
    assert "Spot" not in response.content.decode()
    assert not Pet.objects.filter(name="Bolt").exists()


# --- Age -------------------------------------------------------------------------------------


def test_approximate_age_sets_an_estimated_birth_date(cast: Cast) -> None:
    response = create(cast, age_years="3", age_months="6")
    assert response.status_code == 302
    pet = Pet.objects.get(name="Bolt")
    assert pet.birth_date_estimated
    assert pet.birth_date == approximate_birth_date(3, 6)
    page = cast.client_for("carol").get(f"/pets/{pet.pk}/").content.decode()
    assert "about 3" in page and "estimated" in page


def test_birth_date_and_age_together_are_refused(cast: Cast) -> None:
    response = create(cast, birth_date="2020-01-01", age_years="2")
    assert response.status_code == 400
    assert "either a birth date or an approximate age" in response.content.decode()


def test_birth_date_in_the_future_is_refused(cast: Cast) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = create(cast, birth_date=tomorrow.isoformat())
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()


def test_approximate_birth_date_arithmetic() -> None:
    assert approximate_birth_date(2, 1, dt.date(2024, 3, 31)) == dt.date(2022, 2, 28)
    assert approximate_birth_date(0, 3, dt.date(2024, 2, 15)) == dt.date(2023, 11, 15)
    assert approximate_birth_date(0, 0, dt.date(2024, 2, 15)) == dt.date(2024, 2, 15)


# --- Breeds ----------------------------------------------------------------------------------


def test_breed_suggestions_change_with_species(cast: Cast) -> None:
    client = cast.client_for("carol")
    dogs = client.get("/pets/breeds/?species=dog").content.decode()
    cats = client.get("/pets/breeds/?species=cat").content.decode()
    assert '<option value="Labrador Retriever">' in dogs and "Maine Coon" not in dogs
    assert '<option value="Maine Coon">' in cats and "Labrador" not in cats
    assert "<option" not in client.get("/pets/breeds/?species=dragon").content.decode()
    assert len(breed_suggestions("dog")) >= 30 and len(breed_suggestions("cat")) >= 20
    assert all(breed_suggestions(s) for s in ("bird", "rabbit", "reptile"))


def test_pet_form_offers_the_breeds_of_the_chosen_species(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("alice")
    edit = client.get(f"/pets/{pet.pk}/edit/").content.decode()
    assert 'list="breed-options"' in edit and '<datalist id="breed-options">' in edit
    assert '<option value="Beagle">' in edit
    assert 'hx-get="/pets/breeds/"' in edit and 'hx-target="#breed-options"' in edit
    # Re-shown after an error, the form offers the breeds of the species just chosen.
    again = client.post(f"/pets/{pet.pk}/edit/", {**BASE, "species": "cat", "name": ""})
    assert again.status_code == 400
    assert '<option value="Siamese">' in again.content.decode()


def test_breed_is_free_text(cast: Cast) -> None:
    assert create(cast, breed="Beagle × who knows").status_code == 302
    assert Pet.objects.get(name="Bolt").breed == "Beagle × who knows"


# --- Edit and delete -------------------------------------------------------------------------


def test_edit_form_shows_every_field_and_saves(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("bob")
    page = client.get(f"/pets/{pet.pk}/edit/").content.decode()
    for name in services.PET_FIELDS:
        assert f'name="{name}"' in page, name
    data = {
        **BASE,
        "name": "Rex",
        "breed": "Beagle",
        "sex": "male",
        "neutered": "true",
        "colour": "Tricolour",
        "size": "medium",
        "allergies": "Chicken",
        "vet_name": "Dr. Vega",
        "vet_phone": "+34 600 000 000",
        "vet_clinic": "Clínica Sol",
    }
    assert client.post(f"/pets/{pet.pk}/edit/", data).status_code == 302
    pet.refresh_from_db()
    assert (pet.sex, pet.neutered, pet.vet_clinic) == ("male", True, "Clínica Sol")
    assert pet.revision > 1
    detail = client.get(f"/pets/{pet.pk}/").content.decode()
    assert "Dr. Vega" in detail and 'href="tel:+34%20600%20000%20000"' in detail


def test_owner_deletes_a_pet_with_its_photo_files(
    world: World, django_capture_on_commit_callbacks
) -> None:
    client = world.cast.client_for("alice")
    confirm = client.get(f"/pets/{world.pet.pk}/delete/")
    assert b"cannot be undone" in confirm.content
    assert len(media_files()) == 12
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/pets/{world.pet.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/pets/"
    assert not Pet.objects.filter(pk=world.pet.pk).exists()
    assert not Photo.objects.exists()
    assert media_files() == []


def test_adding_without_a_household_uses_the_only_one(cast: Cast) -> None:
    response = cast.client_for("charlie").get("/pets/new/")
    assert response.status_code == 200
    other = Household.objects.get(memberships__user=cast.charlie)
    assert f"?household={other.pk}" in response.content.decode()
    # bob cares for alice's pets and owns his own household: he picks one.
    choice = cast.client_for("bob").get("/pets/new/").content.decode()
    assert f"?household={cast.household.pk}" in choice
    assert cast.client_for("bob").get("/pets/new/?household=abc").status_code == 404


# --- What other apps add to the pet pages (lib.registry) ---------------------------------------


def test_panels_actions_and_badges_come_from_the_registry(
    world: World, settings, tmp_path: Path
) -> None:
    (tmp_path / "test_app").mkdir()
    (tmp_path / "test_app" / "panel.html").write_text(
        "<p>Panel for {{ pet.name }}: {{ test_app_shots }}</p>", encoding="utf-8"
    )
    (tmp_path / "test_app" / "action.html").write_text("<a>Print {{ pet.name }}</a>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    client = world.cast.client_for("carol")
    with registry.temporary_registrations():
        for app in ("health", "documents"):
            registry.unregister_app(app)
        registry.register_pet_panel(
            app="test_app",
            name="panel",
            template="test_app/panel.html",
            context=lambda request, pet: {"test_app_shots": "2 vaccinations"},
        )
        registry.register_pet_panel(
            app="test_app",
            name="action",
            template="test_app/action.html",
            context=lambda request, pet: {},
            slot="actions",
        )
        registry.register_pet_badges(
            app="test_app", badges=lambda request, pets: {p.pk: DueStatus.OVERDUE for p in pets}
        )
        detail = client.get(f"/pets/{world.pet.pk}/").content.decode()
        listing = client.get("/pets/").content.decode()
    assert '<div class="pet-panel order-2"><p>Panel for Rex: 2 vaccinations</p></div>' in detail
    assert "<a>Print Rex</a>" in detail
    assert "Health report (PDF)" not in detail  # documents was left out
    assert "pet-status-overdue" in listing and "Overdue" in listing
    # Without those registrations, the page has neither.
    detail = client.get(f"/pets/{world.pet.pk}/").content.decode()
    assert "Panel for Rex" not in detail and "Print Rex" not in detail
    assert "Health report (PDF)" in detail


def test_status_badge_renders_nothing_without_a_badge() -> None:
    assert render_to_string("pets/_status_badge.html", {}).strip() == ""
    assert render_to_string("pets/_status_badge.html", {"badge": "none"}).strip() == ""
    due = render_to_string("pets/_status_badge.html", {"badge": DueStatus.DUE_SOON})
    assert "Due soon" in due


# --- Admin -----------------------------------------------------------------------------------


def test_admin_lists_pets_contacts_notes_photos_read_mostly(world: World) -> None:
    staff = world.cast.alice
    staff.is_staff = staff.is_superuser = True
    staff.save()
    TOTP.activate(staff, generate_totp_secret())
    client = world.cast.client_for("alice")
    admin = "/" + settings.PAWFILE_ADMIN_PATH + "pets/"
    for model in ("pet", "contact", "note", "photo"):
        page = client.get(f"{admin}{model}/")
        assert page.status_code == 200, model
        assert client.get(f"{admin}{model}/add/").status_code == 403, model
    found = client.get(f"{admin}pet/?q={world.pet.microchip or 'Rex'}")
    assert b"Rex" in found.content
    assert client.get(f"{admin}photo/{world.photo.pk}/delete/").status_code == 403


# --- Templates fit for the Content-Security-Policy -------------------------------------------

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "pawfile" / "pets" / "templates" / "pets"


@pytest.mark.parametrize("path", sorted(TEMPLATES_DIR.glob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_style_or_handlers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "inline <script>"
    assert not re.search(r"<style", text), "inline <style>"
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"


def test_pet_search_serves_the_fragment_to_htmx(world: World) -> None:
    client = world.cast.client_for("bob")
    fragment = client.get("/pets/?q=beag", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and "Rex" in fragment
    chip = client.get("/pets/?q=zzz", headers={"HX-Request": "true"}).content.decode()
    assert "Rex" not in chip and "No pet here matches your search." in chip
    page = client.get("/pets/?q=beag").content.decode()
    assert "<html" in page and 'value="beag"' in page


def test_contacts_are_ordered_and_only_link_pets_of_the_household(world: World) -> None:
    cast = world.cast
    other = Household.objects.get(memberships__user=cast.charlie)
    spot = services.pet_create(actor=cast.charlie, household=other, name="Spot", species="dog")
    client = cast.client_for("bob")
    url = f"/households/{cast.household.pk}/contacts/new/"
    refused = client.post(url, {"name": "Eve", "order": "0", "pets": [str(spot.pk)]})
    assert refused.status_code == 400
    assert "Spot" not in refused.content.decode()
    assert not cast.household.contacts.filter(name="Eve").exists()
    client.post(url, {"name": "Zed Later", "order": "9"})
    client.post(url, {"name": "Ann Second", "order": "1", "pets": [str(world.pet.pk)]})
    page = client.get(f"/households/{cast.household.pk}/contacts/").content.decode()
    assert page.index("Nora Neighbour") < page.index("Ann Second") < page.index("Zed Later")
    detail = client.get(f"/pets/{world.pet.pk}/").content.decode()
    assert "Ann Second" in detail and "Zed Later" not in detail
