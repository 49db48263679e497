"""The panels other apps add to the pet page, kept in its cache: each follows every write.

Every panel is registered ``cacheable`` (``lib.registry``): the lost-pet card, the finders'
reports, the poster, report and "send an update" buttons, the wallet card and the calendar
link. Each test warms the cache with a visit, makes a change the way a person or a task
makes it (web form, API, service, a scan through the real buffer) and checks that the next
visit shows it. Opening the page writes nothing (the public profile is made on the first
write, not on a visit).
"""

from __future__ import annotations

import re
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pawfile.lostpet import services as lost_services
from pawfile.lostpet import sightings
from pawfile.lostpet.models import PublicProfile, Sighting
from pawfile.pets.models import Pet
from pawfile.qr import scans
from pawfile.qr.models import QRCode
from tests.conftest import Cast

pytestmark = pytest.mark.django_db
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _page(client: Client, pet: Pet) -> str:
    response = client.get(f"/pets/{pet.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "__pawfile_" not in html
    return html


def _card(html: str, heading: str) -> str:
    """The card whose heading has the id ``heading`` ("" when it is not on the page)."""
    parts = html.split(f'id="{heading}"')
    return parts[1].split("</article>")[0] if len(parts) > 1 else ""


def _actions(html: str) -> str:
    return html.split('class="button-group pet-actions"')[1].split("</div>")[0]


# --- A visit writes nothing ---------------------------------------------------------------------


def test_opening_the_pages_of_a_pet_never_seen_by_finders_writes_nothing(
    cast: Cast, pet: Pet
) -> None:
    client = cast.client_for("alice")
    _page(client, pet)  # the session and the CSRF cookie settle on the first visit
    with CaptureQueriesContext(connection) as queries:
        html = _page(client, pet)
        for screen in ("public", "lost", "tags"):
            assert client.get(f"/pets/{pet.pk}/{screen}/").status_code == 200
    writes = [q["sql"] for q in queries if WRITES.match(q["sql"]) and "session" not in q["sql"]]
    assert writes == []
    assert not PublicProfile.objects.filter(pet=pet).exists()
    card = _card(html, "lostpet-heading")
    assert "gets its address when you first save" in card and "/p/" not in card
    assert f"/pets/{pet.pk}/lost/" in card and "0 tags" in card


def test_the_first_save_of_what_finders_see_makes_the_page_and_the_pet_page_shows_it(
    cast: Cast, pet: Pet
) -> None:
    client = cast.client_for("alice")
    assert "gets its address" in _card(_page(client, pet), "lostpet-heading")
    response = client.post(f"/pets/{pet.pk}/public/", {"show_photo": "on", "contact_mode": "form"})
    assert response.status_code == 302
    slug = PublicProfile.objects.get(pet=pet).slug
    card = _card(_page(client, pet), "lostpet-heading")
    assert f"/p/{slug}" in card and "gets its address" not in card


# --- Lost mode: the card, the poster buttons ----------------------------------------------------


def test_lost_and_found_show_at_once_from_the_web_the_api_and_a_service(
    cast: Cast, pet: Pet
) -> None:
    client = cast.client_for("bob")  # a caretaker looks; alice and bob change
    assert "Lost poster" not in _page(client, pet)
    assert cast.client_for("alice").post(f"/pets/{pet.pk}/lost/", {}).status_code == 302
    html = _page(client, pet)
    assert "Lost since" in _card(html, "lostpet-heading") and "Lost poster" in html
    assert f"/pets/{pet.pk}/found/" in _card(html, "lostpet-heading")  # the found button
    assert cast.client_for("bob").post(f"/pets/{pet.pk}/found/").status_code == 302
    html = _page(client, pet)
    assert "Lost since" not in html and "Lost poster" not in html
    api = cast.client_for("alice").post(
        f"/api/v1/pets/{pet.pk}/lost", {}, content_type="application/json"
    )
    assert api.status_code == 200, api.content
    assert "Lost poster" in _page(client, pet)
    lost_services.found_mark(actor=cast.alice, pet=pet)
    assert "Lost poster" not in _page(client, pet)


def test_the_found_button_carries_the_visitors_own_token(cast: Cast, pet: Pet) -> None:
    lost_services.lost_mark(actor=cast.alice, pet=pet)
    _page(cast.client_for("alice"), pet)  # cached with alice's visit
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob)
    card = _card(_page(client, pet), "lostpet-heading")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', card)
    assert token is not None
    response = client.post(f"/pets/{pet.pk}/found/", {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert "Lost since" not in _page(client, pet)


# --- Tags -----------------------------------------------------------------------------------------


def test_the_tag_count_follows_make_unlink_link_and_delete(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("alice")
    mia = Pet.objects.create(household=cast.household, name="Mia", species="cat")

    def count(of: Pet) -> str:
        return re.search(r"(\d+) tags?\b", _card(_page(client, of), "lostpet-heading")).group(1)

    assert count(pet) == "0" and count(mia) == "0"
    assert client.post(f"/pets/{pet.pk}/tags/new/").status_code == 302  # web
    assert count(pet) == "1"
    made = client.post(f"/api/v1/pets/{pet.pk}/tags", "", content_type="application/json")
    assert made.status_code == 201  # API
    assert count(pet) == "2"
    tag = QRCode.objects.get(pk=made.json()["id"])
    assert client.post(f"/pets/{mia.pk}/tags/link/", {"code_id": tag.id}).status_code == 302
    assert count(pet) == "1" and count(mia) == "1"  # moved: both pages follow
    assert client.post(f"/pets/{mia.pk}/tags/{tag.id}/unlink/").status_code == 302
    assert count(mia) == "0"
    other = QRCode.objects.get(target_ref=pet.pk)
    from pawfile.qr import services as qr_services

    qr_services.pet_code_delete(actor=cast.alice, code_id=other.id)  # a service
    assert count(pet) == "0"


# --- Reports from finders -------------------------------------------------------------------------


def test_reports_show_and_their_unread_count_follows_every_change(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    lost_services.lost_mark(actor=cast.alice, pet=pet)
    slug = PublicProfile.objects.get(pet=pet).slug
    client = cast.client_for("carol")  # the viewer sees the reports too
    assert "Reports from finders" not in _page(client, pet)
    finder = Client()
    assert finder.post(f"/p/{slug}/found/", {"message": "Seen by the lake"}).status_code == 303
    card = _card(_page(client, pet), "sightings-panel-title")
    assert "Seen by the lake" in card and "1 new" in card
    report = Sighting.objects.get(message="Seen by the lake")
    owner = cast.client_for("alice")
    assert owner.post(f"/sightings/{report.pk}/read/").status_code in (302, 303)
    assert "1 new" not in _card(_page(client, pet), "sightings-panel-title")
    assert owner.post(f"/sightings/{report.pk}/read/", {"read": "0"}).status_code in (302, 303)
    assert "1 new" in _card(_page(client, pet), "sightings-panel-title")
    sightings.sighting_reply(actor=cast.bob, sighting_id=report.pk, body="Thank you!")
    assert "1 new" not in _card(_page(client, pet), "sightings-panel-title")
    # A scan of the lost pet's tag (through the real buffer) becomes a report.
    tag = QRCode.objects.get(pk=owner.post(
        f"/api/v1/pets/{pet.pk}/tags", "", content_type="application/json"
    ).json()["id"])  # fmt: skip
    scans.buffer.clear()
    meta = {"HTTP_USER_AGENT": PHONE, "REMOTE_ADDR": "198.51.100.4"}
    scans.scan_record(meta, tag.id, time.time(), True)
    with django_capture_on_commit_callbacks(execute=True):
        scans.scan_buffer_flush()
    card = _card(_page(client, pet), "sightings-panel-title")
    assert "The tag was scanned." in card and "1 new" in card
    sightings.sightings_mark_all_read(actor=cast.alice, pet_id=pet.pk)
    assert "new" not in _card(_page(client, pet), "sightings-panel-title")
    for row in Sighting.objects.filter(profile__pet=pet):
        assert owner.post(f"/sightings/{row.pk}/delete/").status_code in (302, 303)
    assert "Reports from finders" not in _page(client, pet)


# --- The calendar link: each person's own secret address ------------------------------------------


def test_each_person_sees_their_own_calendar_address_and_a_new_one_at_once(
    cast: Cast, pet: Pet
) -> None:
    alice, bob = cast.client_for("alice"), cast.client_for("bob")
    assert "calendar" not in _actions(_page(alice, pet)).lower()
    assert alice.post("/notifications/calendar/new").status_code in (200, 302, 303)
    first = re.search(r"/cal/([\w-]+)\.ics\?pet=", _page(alice, pet))
    assert first is not None
    assert first.group(1) not in _page(bob, pet)  # bob has none: no link, not alice's
    assert bob.post("/notifications/calendar/new").status_code in (200, 302, 303)
    bobs = re.search(r"/cal/([\w-]+)\.ics\?pet=", _page(bob, pet))
    assert bobs is not None and bobs.group(1) != first.group(1)
    assert first.group(1) in _page(alice, pet)  # alice still sees her own
    assert alice.post("/notifications/calendar/new").status_code in (200, 302, 303)
    second = re.search(r"/cal/([\w-]+)\.ics\?pet=", _page(alice, pet))
    assert second is not None and second.group(1) != first.group(1)


# --- The wallet card: the server's setup ----------------------------------------------------------


def test_the_wallet_card_follows_the_servers_setup(
    cast: Cast, pet: Pet, settings, tmp_path
) -> None:
    client = cast.client_for("alice")
    card = _card(_page(client, pet), "wallet-heading")
    assert "Google Wallet is not set up on this server." in card
    settings.WALLET_GOOGLE_ISSUER_ID = "3388000000012345678"
    settings.WALLET_GOOGLE_KEY_FILE = str(tmp_path / "missing-key.json")
    card = _card(_page(client, pet), "wallet-heading")
    assert "Google Wallet is set up wrongly on this server:" in card


def test_pages_are_kept_per_address_the_page_was_asked_on(cast: Cast, pet: Pet, settings) -> None:
    lost_services.profile_for_pet(pet)
    settings.ALLOWED_HOSTS = ["pets.example.org", "other.example.net", "testserver"]
    client = cast.client_for("alice")
    one = client.get(f"/pets/{pet.pk}/", HTTP_HOST="pets.example.org").content.decode()
    two = client.get(f"/pets/{pet.pk}/", HTTP_HOST="other.example.net").content.decode()
    assert "http://pets.example.org/p/" in one and "http://other.example.net/p/" in two


@pytest.fixture(autouse=True)
def _empty_scan_buffer():
    scans.buffer.clear()
    yield
    scans.buffer.clear()
