"""Who may do what on the pets pages: every endpoint × {owner, caretaker, viewer, stranger,
anonymous}, with the status AND whether the change happened.

Viewers get 403 on every write and nothing changes; caretakers write but may not delete a
pet; strangers get 404 and never see the pet's name; anonymous people go to the login page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pawfile.pets.models import Contact, Note, Pet, Photo
from tests.pets.conftest import World, jpeg_upload

ROLES = {"owner": "alice", "caretaker": "bob", "viewer": "carol", "stranger": "charlie"}
READ = {"owner": 200, "caretaker": 200, "viewer": 200, "stranger": 404}
WRITE = {"owner": 302, "caretaker": 302, "viewer": 403, "stranger": 404}
WRITE_PAGE = {"owner": 200, "caretaker": 200, "viewer": 403, "stranger": 404}
OWNER_ONLY = {"owner": 302, "caretaker": 403, "viewer": 403, "stranger": 404}
OWNER_ONLY_PAGE = {"owner": 200, "caretaker": 403, "viewer": 403, "stranger": 404}


@dataclass
class Endpoint:
    name: str
    url: Callable[[World], str]
    expected: dict[str, int]
    data: Callable[[World], dict[str, Any]] | None = None  # None: GET, else POST this
    changed: Callable[[World], bool] | None = None  # True once the write took effect


# Pages that name the pet to every member who may open them.
SHOW_THE_PET = {
    "pet_list", "pet_search", "pet_detail", "pet_edit_page", "pet_delete_page",
    "photo_upload_page", "note_list", "note_create_page", "contact_list",
}  # fmt: skip


def _pet_exists(w: World) -> bool:
    return Pet.objects.filter(pk=w.pet.pk).exists()


ENDPOINTS = [
    Endpoint("pet_list", lambda w: "/pets/", {**READ, "stranger": 200}),
    Endpoint("pet_search", lambda w: "/pets/?q=rex", {**READ, "stranger": 200}),
    Endpoint("pet_detail", lambda w: f"/pets/{w.pet.pk}/", READ),
    Endpoint(
        "pet_create_page", lambda w: f"/pets/new/?household={w.cast.household.pk}", WRITE_PAGE
    ),
    Endpoint(
        "pet_create",
        lambda w: f"/pets/new/?household={w.cast.household.pk}",
        WRITE,
        data=lambda w: {"name": "Mochi", "species": "cat", "sex": "unknown", "weight_unit": "kg"},
        changed=lambda w: Pet.objects.filter(name="Mochi").exists(),
    ),
    Endpoint("pet_edit_page", lambda w: f"/pets/{w.pet.pk}/edit/", WRITE_PAGE),
    Endpoint(
        "pet_edit",
        lambda w: f"/pets/{w.pet.pk}/edit/",
        WRITE,
        data=lambda w: {"name": "Rexy", "species": "dog", "sex": "male", "weight_unit": "kg"},
        changed=lambda w: Pet.objects.get(pk=w.pet.pk).name == "Rexy",
    ),
    Endpoint("pet_delete_page", lambda w: f"/pets/{w.pet.pk}/delete/", OWNER_ONLY_PAGE),
    Endpoint(
        "pet_delete",
        lambda w: f"/pets/{w.pet.pk}/delete/",
        OWNER_ONLY,
        data=lambda w: {},
        changed=lambda w: not _pet_exists(w),
    ),
    Endpoint("photo_upload_page", lambda w: f"/pets/{w.pet.pk}/photos/new/", WRITE_PAGE),
    Endpoint(
        "photo_upload",
        lambda w: f"/pets/{w.pet.pk}/photos/new/",
        WRITE,
        data=lambda w: {"image": jpeg_upload(), "caption": "New one"},
        changed=lambda w: Photo.objects.filter(caption="New one").exists(),
    ),
    Endpoint(
        "photo_primary",
        lambda w: f"/photos/{w.other_photo.pk}/primary/",
        WRITE,
        data=lambda w: {},
        changed=lambda w: Photo.objects.get(pk=w.other_photo.pk).is_primary,
    ),
    Endpoint(
        "photo_delete",
        lambda w: f"/photos/{w.other_photo.pk}/delete/",
        WRITE,
        data=lambda w: {},
        changed=lambda w: not Photo.objects.filter(pk=w.other_photo.pk).exists(),
    ),
    Endpoint("photo_file", lambda w: f"/photos/{w.photo.key}/thumb.webp", READ),
    Endpoint("photo_file_jpeg", lambda w: f"/photos/{w.photo.key}/full.jpeg", READ),
    Endpoint("note_list", lambda w: f"/pets/{w.pet.pk}/notes/", READ),
    Endpoint("note_search", lambda w: f"/pets/{w.pet.pk}/notes/?q=meals", READ),
    Endpoint("note_create_page", lambda w: f"/pets/{w.pet.pk}/notes/new/", WRITE_PAGE),
    Endpoint(
        "note_create",
        lambda w: f"/pets/{w.pet.pk}/notes/new/",
        WRITE,
        data=lambda w: {"title": "", "body_html": "<p>Walk at six</p>"},
        changed=lambda w: Note.objects.filter(body_text="Walk at six").exists(),
    ),
    Endpoint("note_edit_page", lambda w: f"/notes/{w.note.pk}/edit/", WRITE_PAGE),
    Endpoint(
        "note_edit",
        lambda w: f"/notes/{w.note.pk}/edit/",
        WRITE,
        data=lambda w: {"title": "Diet", "body_html": "<p>Three meals</p>"},
        changed=lambda w: Note.objects.get(pk=w.note.pk).body_text == "Three meals",
    ),
    Endpoint(
        "note_pin",
        lambda w: f"/notes/{w.note.pk}/pin/",
        WRITE,
        data=lambda w: {},
        changed=lambda w: Note.objects.get(pk=w.note.pk).pinned,
    ),
    Endpoint(
        "note_delete",
        lambda w: f"/notes/{w.note.pk}/delete/",
        WRITE,
        data=lambda w: {},
        changed=lambda w: not Note.objects.filter(pk=w.note.pk).exists(),
    ),
    Endpoint("contact_list", lambda w: f"/households/{w.cast.household.pk}/contacts/", READ),
    Endpoint(
        "contact_create_page",
        lambda w: f"/households/{w.cast.household.pk}/contacts/new/",
        WRITE_PAGE,
    ),
    Endpoint(
        "contact_create",
        lambda w: f"/households/{w.cast.household.pk}/contacts/new/",
        WRITE,
        data=lambda w: {"name": "Sam Sitter", "order": "1", "pets": [str(w.pet.pk)]},
        changed=lambda w: Contact.objects.filter(name="Sam Sitter", pets=w.pet).exists(),
    ),
    Endpoint("contact_edit_page", lambda w: f"/contacts/{w.contact.pk}/edit/", WRITE_PAGE),
    Endpoint(
        "contact_edit",
        lambda w: f"/contacts/{w.contact.pk}/edit/",
        WRITE,
        data=lambda w: {"name": "Nora N.", "order": "0", "show_on_public_page": "on"},
        changed=lambda w: Contact.objects.get(pk=w.contact.pk).name == "Nora N.",
    ),
    Endpoint("contact_delete_page", lambda w: f"/contacts/{w.contact.pk}/delete/", WRITE_PAGE),
    Endpoint(
        "contact_delete",
        lambda w: f"/contacts/{w.contact.pk}/delete/",
        WRITE,
        data=lambda w: {},
        changed=lambda w: not Contact.objects.filter(pk=w.contact.pk).exists(),
    ),
]


def _call(world: World, endpoint: Endpoint, who: str | None):
    client = world.cast.client_for(who)
    url = endpoint.url(world)
    if endpoint.data is None:
        return client.get(url)
    return client.post(url, endpoint.data(world))


# The page's random CSRF tokens (form fields and the HTMX header), not the page's text.
RANDOM_TOKENS = re.compile(rb'(name="csrfmiddlewaretoken" value|"X-CSRFToken": )"[A-Za-z0-9]+"')


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_members_and_strangers(world: World, endpoint: Endpoint, role: str) -> None:
    response = _call(world, endpoint, ROLES[role])
    expected = endpoint.expected[role]
    assert response.status_code == expected, (endpoint.name, role, response.status_code)
    if endpoint.changed is not None:
        assert endpoint.changed(world) is (expected == 302), (endpoint.name, role)
    if role == "stranger":
        body = b"".join(response) if response.streaming else response.content
        body = RANDOM_TOKENS.sub(b"", body)  # a CSRF token may spell "Rex" by chance
        assert b"Rex" not in body
        assert b"Nora" not in body
    if role != "stranger" and expected == 200 and endpoint.name in SHOW_THE_PET:
        assert b"Rex" in response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_anonymous_is_sent_to_log_in(world: World, endpoint: Endpoint) -> None:
    response = _call(world, endpoint, None)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    if endpoint.changed is not None:
        assert not endpoint.changed(world)


def test_list_shows_each_member_the_pet_and_the_stranger_nothing(world: World) -> None:
    for who in ("alice", "bob", "carol"):
        page = world.cast.client_for(who).get("/pets/").content.decode()
        assert "Rex" in page
        assert f"/pets/{world.pet.pk}/" in page
    page = world.cast.client_for("charlie").get("/pets/?q=Rex").content.decode()
    assert f"/pets/{world.pet.pk}/" not in page
    # The only "Rex" on the page is the search the stranger typed.
    for echo in ('value="Rex"', "“Rex”", "q=Rex"):
        page = page.replace(echo, "")
    assert "Rex" not in page


def test_photo_file_headers(world: World) -> None:
    response = world.cast.client_for("carol").get(f"/photos/{world.photo.key}/card.jpeg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
    webp = world.cast.client_for("carol").get(f"/photos/{world.photo.key}/thumb.webp")
    assert webp["Content-Type"] == "image/webp"
    assert b"".join(webp.streaming_content)[8:12] == b"WEBP"


@pytest.mark.parametrize("path", ["huge.webp", "thumb.png", "thumb.svg", "..%2Fx.webp"])
def test_photo_file_refuses_unknown_variants_and_formats(world: World, path: str) -> None:
    response = world.cast.client_for("alice").get(f"/photos/{world.photo.key}/{path}")
    assert response.status_code == 404


def test_write_buttons_follow_the_role(world: World) -> None:
    edit = f"/pets/{world.pet.pk}/edit/".encode()
    delete = f"/pets/{world.pet.pk}/delete/".encode()
    owner = world.cast.client_for("alice").get(f"/pets/{world.pet.pk}/").content
    caretaker = world.cast.client_for("bob").get(f"/pets/{world.pet.pk}/").content
    viewer = world.cast.client_for("carol").get(f"/pets/{world.pet.pk}/").content
    assert edit in owner and delete in owner
    assert edit in caretaker and delete not in caretaker
    assert edit not in viewer and delete not in viewer
    assert b"/primary/" not in viewer and b"/notes/new/" not in viewer
