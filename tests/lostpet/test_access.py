"""Access table: every lost-pet endpoint (pages and API) × owner, caretaker, viewer,
stranger, anonymous. Owner and caretaker change; the viewer reads (403 on a change); a
stranger gets 404 (nothing says the pet exists); anonymous is sent to log in (pages) or gets
401 (API). The public page answers everyone alike."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from pawfile.lostpet import services
from pawfile.lostpet.models import PublicProfile
from pawfile.qr import services as qr_services
from pawfile.qr.models import QRCode
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

ROLES = ("alice", "bob", "carol", "charlie", None)


@dataclass
class World:
    cast: Cast
    pet_id: int
    slug: str
    tag_id: str
    spare_id: str  # a tag of the household linked to no pet


@pytest.fixture
def world(cast: Cast, pet) -> World:
    profile = services.profile_for_pet(pet)
    tag = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    spare = qr_services.pet_code_create(actor=cast.alice, pet=pet)
    qr_services.pet_code_unlink(actor=cast.alice, code_id=spare.id)
    return World(cast, pet.pk, profile.slug, tag.id, spare.id)


# (method, path template, data, expected status for owner, caretaker, viewer, stranger, anon)
LOGIN = 302
PAGES = [
    ("get", "/pets/{pet}/public/", None, (200, 200, 200, 404, LOGIN)),
    ("post", "/pets/{pet}/public/", {"contact_mode": "form", "show_photo": "on"},
     (302, 302, 403, 404, LOGIN)),
    ("post", "/pets/{pet}/public/preview/", {"contact_mode": "shown"}, (200, 200, 403, 404, LOGIN)),
    ("get", "/pets/{pet}/lost/", None, (200, 200, 200, 404, LOGIN)),
    ("post", "/pets/{pet}/lost/", {"last_seen_place": "Park", "reward": "50"},
     (302, 302, 403, 404, LOGIN)),
    ("post", "/pets/{pet}/found/", {}, (302, 302, 403, 404, LOGIN)),
    ("get", "/pets/{pet}/tags/", None, (200, 200, 200, 404, LOGIN)),
    ("post", "/pets/{pet}/tags/new/", {}, (302, 302, 403, 404, LOGIN)),
    ("post", "/pets/{pet}/tags/link/", {"code_id": "{spare}"}, (302, 302, 403, 404, LOGIN)),
    ("post", "/pets/{pet}/tags/{tag}/unlink/", {}, (302, 302, 403, 404, LOGIN)),
    ("get", "/pets/{pet}/", None, (200, 200, 200, 404, LOGIN)),  # the panel on the pet page
    ("get", "/p/{slug}", None, (200, 200, 200, 200, 200)),
]  # fmt: skip
API = [
    ("get", "/api/v1/pets/{pet}/public", None, (200, 200, 200, 404, 401)),
    ("patch", "/api/v1/pets/{pet}/public", {"show_age": False}, (200, 200, 403, 404, 401)),
    ("post", "/api/v1/pets/{pet}/lost", {"reward": "50 EUR"}, (200, 200, 403, 404, 401)),
    ("post", "/api/v1/pets/{pet}/found", None, (200, 200, 403, 404, 401)),
    ("get", "/api/v1/pets/{pet}/tags", None, (200, 200, 200, 404, 401)),
    ("post", "/api/v1/pets/{pet}/tags", {}, (201, 201, 403, 404, 401)),
]  # fmt: skip


def _fill(text: str, world: World) -> str:
    return (
        text.replace("{pet}", str(world.pet_id))
        .replace("{slug}", world.slug)
        .replace("{tag}", world.tag_id)
        .replace("{spare}", world.spare_id)
    )


def _cases(table):
    return [
        pytest.param(method, path, data, role, expected[n], id=f"{method} {path} {role}")
        for method, path, data, expected in table
        for n, role in enumerate(ROLES)
    ]


@pytest.mark.parametrize(("method", "path", "data", "role", "status"), _cases(PAGES))
def test_pages(world: World, method, path, data, role, status) -> None:
    client = world.cast.client_for(role)
    url = _fill(path, world)
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, {k: _fill(v, world) for k, v in (data or {}).items()})
    assert response.status_code == status, response.content[:500]
    if status == LOGIN and role is None:
        assert "/login" in response["Location"]


@pytest.mark.parametrize(("method", "path", "data", "role", "status"), _cases(API))
def test_api(world: World, method, path, data, role, status) -> None:
    client = world.cast.client_for(role)
    url = _fill(path, world)
    body = json.dumps(data) if data is not None else ""
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == status, response.content[:500]
    if status == 404:
        assert response.json()["error"]["code"] == "not_found"


def test_refused_changes_change_nothing(world: World) -> None:
    before = PublicProfile.objects.get(pet_id=world.pet_id)
    for role in ("carol", "charlie", None):
        client = world.cast.client_for(role)
        client.post(f"/pets/{world.pet_id}/lost/", {"reward": "1"})
        client.post(f"/api/v1/pets/{world.pet_id}/lost", "{}", content_type="application/json")
        client.post(f"/pets/{world.pet_id}/tags/{world.tag_id}/unlink/")
        client.post(f"/pets/{world.pet_id}/tags/new/")
    after = PublicProfile.objects.get(pet_id=world.pet_id)
    assert (after.is_lost, after.revision) == (before.is_lost, before.revision)
    assert QRCode.objects.filter(target_ref=world.pet_id).count() == 1


def test_stranger_cannot_link_a_tag_of_another_household(world: World) -> None:
    """charlie links alice's spare tag to his own pet: 404, the tag stays alice's."""
    from pawfile.pets.models import Pet

    household = world.cast.charlie.memberships.get().household
    own = Pet.objects.create(household=household, name="Toby", species="dog")
    response = world.cast.client_for("charlie").post(
        f"/pets/{own.pk}/tags/link/", {"code_id": world.spare_id}
    )
    assert response.status_code in (302, 404)
    spare = QRCode.objects.get(pk=world.spare_id)
    assert spare.household_id == world.cast.household.pk and spare.target_ref is None
