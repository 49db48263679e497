"""Pet updates between people: a household member sends news about a pet (text and a
photo) to the others, through their channels; strangers get 404; the sender is rate
limited; a recipient mutes (and unmutes) a sender; the photo is linked access-checked;
export and deletion include updates and mutes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from pawfile.lib import registry
from pawfile.notifications import updates
from pawfile.notifications.models import Mute, Notification, PetUpdate
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def png(name: str = "rex.png") -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(data, format="PNG")
    data.seek(0)
    data.name = name
    return data


def send_api(client: Client, pet_id: int, **fields: object) -> Any:
    body = {"title": "Rex at the park", "body": "He found a stick."} | fields
    return client.post(f"/api/v1/pets/{pet_id}/updates", body, content_type="application/json")


def recipients_of(update_id: int) -> set[str]:
    return set(
        Notification.objects.filter(event_key=f"pet-update:{update_id}").values_list(
            "recipient__email", flat=True
        )
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 201), ("bob", 201), ("carol", 201), ("charlie", 404), (None, 401)],
)
def test_who_may_send_an_update(cast: Cast, pet, who, status) -> None:
    response = send_api(cast.client_for(who), pet.pk)
    assert response.status_code == status, response.content
    if status == 201:
        update = PetUpdate.objects.get()
        everyone = {"alice@example.org", "bob@example.org", "carol@example.org"}
        assert recipients_of(update.pk) == everyone - {f"{who}@example.org"}
        note = Notification.objects.filter(kind="pet_update").first()
        assert note is not None
        assert note.title == "Rex: Rex at the park" and note.link == f"/updates/{update.pk}/"
    else:
        assert not PetUpdate.objects.exists() and not Notification.objects.exists()


def test_the_web_form_sends_with_a_photo_linked_access_checked(cast: Cast, pet) -> None:
    alice = cast.client_for("alice")
    form = alice.get(f"/pets/{pet.pk}/updates/new")
    assert form.status_code == 200 and b"Draft it for me" in form.content
    assert f"/pets/{pet.pk}/updates/new".encode() in alice.get(f"/pets/{pet.pk}/").content

    sent = alice.post(
        f"/pets/{pet.pk}/updates/new",
        {"action": "send", "title": "Snow day", "body": "Rex in the snow.", "photo": png()},
    )
    assert sent.status_code == 302
    update = PetUpdate.objects.get()
    assert update.photo is not None and update.photo.pet_id == pet.pk
    assert sent["Location"] == f"/updates/{update.pk}/"

    bob = cast.client_for("bob")
    detail = bob.get(f"/updates/{update.pk}/")
    assert detail.status_code == 200 and b"Rex in the snow." in detail.content
    photo_src = (
        detail.content.decode().split('class="update-photo"')[0].rsplit('src="', 1)[1].split('"')[0]
    )
    assert bob.get(photo_src).status_code == 200
    assert cast.client_for("charlie").get(photo_src).status_code == 404
    assert Client().get(photo_src).status_code in (302, 404)
    # The API lists it for bob with the same photo address.
    (item,) = bob.get("/api/v1/updates").json()["items"]
    assert item["photo_url"] == photo_src and item["title"] == "Snow day"


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 302)],
)
def test_who_may_open_an_update(cast: Cast, pet, who, status) -> None:
    update = updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="Rex ate.")
    response = cast.client_for(who).get(f"/updates/{update.pk}/")
    assert response.status_code == status
    api = cast.client_for(who).get(f"/api/v1/updates/{update.pk}")
    assert api.status_code == {200: 200, 404: 404, 302: 401}[status]


def test_a_viewer_sends_text_but_not_a_photo(cast: Cast, pet) -> None:
    carol = cast.client_for("carol")
    form = carol.get(f"/pets/{pet.pk}/updates/new")
    assert b'name="photo"' not in form.content  # no photo field for a viewer
    with pytest.raises(Exception) as refused:
        updates.pet_update_send(
            sender=cast.carol, pet_id=pet.pk, title="Hi", body="Rex ate.", photo=png()
        )
    assert getattr(refused.value, "status", None) == 403
    assert not PetUpdate.objects.exists()


def test_bad_input_is_a_clear_4xx(cast: Cast, pet) -> None:
    alice = cast.client_for("alice")
    empty = send_api(alice, pet.pk, title="", body="")
    assert empty.status_code == 422
    long = send_api(alice, pet.pk, title="x" * 61)
    assert long.status_code == 422
    other_photo = send_api(alice, pet.pk, photo_id=999999)
    assert other_photo.status_code == 404 and "photo" in other_photo.content.decode()
    web = alice.post(f"/pets/{pet.pk}/updates/new", {"action": "send", "title": "", "body": ""})
    assert web.status_code == 400 and b"Give the update a title." in web.content
    not_an_image = io.BytesIO(b"GIF89a not really")
    not_an_image.name = "x.gif"
    bad = alice.post(
        f"/pets/{pet.pk}/updates/new",
        {"action": "send", "title": "Hi", "body": "Hello", "photo": not_an_image},
    )
    assert bad.status_code == 400
    assert not PetUpdate.objects.exists()


def test_the_sender_is_rate_limited(cast: Cast, pet, settings) -> None:
    settings.PET_UPDATE_RATE = "2/3600"
    bob = cast.client_for("bob")
    assert send_api(bob, pet.pk).status_code == 201
    assert send_api(bob, pet.pk).status_code == 201
    third = send_api(bob, pet.pk)
    assert third.status_code == 429
    assert "Try again in" in third.json()["error"]["message"]
    assert PetUpdate.objects.count() == 2
    assert send_api(cast.client_for("alice"), pet.pk).status_code == 201  # per sender
    refused = bob.post(f"/pets/{pet.pk}/updates/new", {"action": "send", "title": "a", "body": "b"})
    assert refused.status_code == 429 and b"Try again in" in refused.content


def test_a_muted_sender_does_not_reach_and_unmuting_restores(cast: Cast, pet) -> None:
    carol = cast.client_for("carol")
    first = updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="One")
    opened = carol.get(f"/updates/{first.pk}/")
    assert b"Mute updates from" in opened.content
    assert carol.post(f"/updates/mute/{cast.bob.pk}", {"mute": "1"}).status_code == 302
    assert Mute.objects.filter(user=cast.carol, sender=cast.bob).exists()

    second = updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="Two")
    assert recipients_of(second.pk) == {"alice@example.org"}
    assert not cast.carol.pet_updates_received.filter(pk=second.pk).exists()
    # alice's updates still reach carol: a mute names one sender.
    third = updates.pet_update_send(sender=cast.alice, pet_id=pet.pk, title="Hi", body="Three")
    assert "carol@example.org" in recipients_of(third.pk)

    listing = carol.get("/updates/")
    assert b"Muted senders" in listing.content and b"Bob" in listing.content
    assert b"/updates/" in carol.get("/notifications/settings/").content  # linked from settings
    carol.post(f"/updates/mute/{cast.bob.pk}", {"mute": "0"})
    fourth = updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="Four")
    assert "carol@example.org" in recipients_of(fourth.pk)


def test_mute_through_the_api_and_strangers_are_404(cast: Cast, pet) -> None:
    carol = cast.client_for("carol")
    assert carol.put(f"/api/v1/updates/mutes/{cast.bob.pk}").json() == {
        "sender_id": cast.bob.pk,
        "muted": True,
    }
    assert carol.get("/api/v1/updates/mutes").json() == [{"sender_id": cast.bob.pk, "muted": True}]
    assert carol.delete(f"/api/v1/updates/mutes/{cast.bob.pk}").status_code == 204
    assert not Mute.objects.exists()
    # Someone who shares no household: 404 (a mute cannot probe accounts); oneself too.
    assert carol.put(f"/api/v1/updates/mutes/{cast.charlie.pk}").status_code == 404
    assert carol.put(f"/api/v1/updates/mutes/{cast.carol.pk}").status_code == 404
    assert carol.put("/api/v1/updates/mutes/999999").status_code == 404
    assert Client().put(f"/api/v1/updates/mutes/{cast.bob.pk}").status_code == 401
    assert cast.client_for("charlie").post(f"/updates/mute/{cast.bob.pk}").status_code == 404


def test_received_lists_only_ones_own(cast: Cast, pet) -> None:
    updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="One")
    assert len(cast.client_for("alice").get("/api/v1/updates").json()["items"]) == 1
    assert cast.client_for("bob").get("/api/v1/updates").json()["items"] == []  # sent, not received
    assert cast.client_for("charlie").get("/api/v1/updates").json()["items"] == []
    assert b"No pet updates yet" in cast.client_for("charlie").get("/updates/").content


def test_export_and_deletion_include_updates_and_mutes(cast: Cast, pet) -> None:
    update = updates.pet_update_send(sender=cast.bob, pet_id=pet.pk, title="Hi", body="One")
    updates.update_mute(user=cast.carol, sender_id=cast.bob.pk)
    bob_rows, _ = registry.export_sections(user=cast.bob)
    assert [u["id"] for u in bob_rows["pet_updates"]["sent"]] == [update.pk]
    carol_rows, _ = registry.export_sections(user=cast.carol)
    assert [u["id"] for u in carol_rows["pet_updates"]["received"]] == [update.pk]
    assert carol_rows["pet_update_mutes"][0]["sender_id"] == cast.bob.pk

    updates.account_clear(cast.bob)
    assert not PetUpdate.objects.exists() and not Mute.objects.exists()


# The browser fixtures of ``tests/e2e`` for the browser test below.
from tests.e2e.conftest import browser, chromium_executable, page  # noqa: E402, F401


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_draft_then_send_with_a_photo(
    page: Any,  # noqa: F811  (the fixture imported above)
    live_server: Any,
    cast: Cast,
    pet,
    tmp_path,
) -> None:
    """On a phone-sized screen, under the strict CSP: "Draft it for me" fills the form
    through HTMX (no provider: the template), a photo is attached, the update is sent and
    its page shows the photo; no page error."""
    from django.conf import settings
    from playwright.sync_api import expect

    cookie = cast.client_for("bob").cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_default_timeout(30_000)  # a loaded two-core machine
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

    page.goto(f"/pets/{pet.pk}/")
    page.get_by_role("button", name="Send an update").click()
    page.get_by_label("What happened? (for the draft)").fill("Rex chased the ball all afternoon")
    page.get_by_role("button", name="Draft it for me").click()
    expect(page.get_by_label("Title", exact=True)).to_have_value("News from Rex")
    expect(page.get_by_label("Text", exact=True)).to_have_value("Rex chased the ball all afternoon")
    expect(page.get_by_text("A simple draft to start from.")).to_be_visible()
    assert page.url.endswith(f"/pets/{pet.pk}/updates/new")  # swapped in place, no reload

    picture = tmp_path / "rex.png"
    picture.write_bytes(png().getvalue())
    page.get_by_label("Photo (optional)").set_input_files(str(picture))
    page.get_by_role("button", name="Send update").click()
    expect(page.get_by_text("Update sent to 2 people.")).to_be_visible()
    photo = page.locator("img.update-photo")
    expect(photo).to_be_visible()
    # The photo loads after the page does: wait (up to 10 s) until it has decoded; a
    # broken or missing image never gets a width and fails here.
    page.wait_for_function(
        "() => { const img = document.querySelector('img.update-photo');"
        " return Boolean(img && img.complete && img.naturalWidth > 0); }",
        timeout=10_000,
    )
    update = PetUpdate.objects.get()
    assert (update.title, update.drafted, update.sender_id) == (
        "News from Rex",
        "template",
        cast.bob.pk,
    )
    assert recipients_of(update.pk) == {"alice@example.org", "carol@example.org"}
    assert errors == []
