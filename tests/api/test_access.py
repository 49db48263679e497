"""Who may call what: every endpoint × {owner, caretaker, viewer, stranger, anonymous}.

Requests go through the JWT bearer path. A refused request (and any read) must leave the
data and the stored files exactly as they were; an allowed write must change them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from pawfile.accounts.models import Household, Invitation, Membership
from pawfile.health.models import Attachment, HealthRecord
from pawfile.pets.models import Contact, Note, Pet, Photo
from tests.api.conftest import World, pdf_upload, png_upload

ROLES = ["alice", "bob", "carol", "charlie", None]
ROLE_IDS = ["owner", "caretaker", "viewer", "stranger", "anonymous"]

# Expected status per role: owner, caretaker, viewer, stranger, anonymous.
EVERYONE = [200, 200, 200, 200, 401]
READ = [200, 200, 200, 404, 401]
CREATE = [201, 201, 403, 404, 401]
CHANGE = [200, 200, 403, 404, 401]
DELETE = [204, 204, 403, 404, 401]
OWNER_CREATE = [201, 403, 403, 404, 401]
OWNER_DELETE = [204, 403, 403, 404, 401]

Body = Callable[[World], Any] | None

ENDPOINTS: dict[str, tuple[str, str, Body, list[int]]] = {
    "me": ("get", "/me", None, EVERYONE),
    "household_list": ("get", "/households", None, EVERYONE),
    "household_detail": ("get", "/households/{household_id}", None, READ),
    "household_members": ("get", "/households/{household_id}/members", None, READ),
    "invitation_create": (
        "post", "/households/{household_id}/invitations",
        lambda w: {"email": "new@example.org", "role": "viewer"}, OWNER_CREATE,
    ),
    "pet_list": ("get", "/pets", None, EVERYONE),
    "pet_create": (
        "post", "/pets",
        lambda w: {"household_id": w.household.pk, "name": "Bella", "species": "cat"}, CREATE,
    ),
    "pet_detail": ("get", "/pets/{pet_id}", None, READ),
    "pet_update": ("patch", "/pets/{pet_id}", lambda w: {"name": "Rexy"}, CHANGE),
    "pet_delete": ("delete", "/pets/{pet_id}", None, OWNER_DELETE),
    "photo_list": ("get", "/pets/{pet_id}/photos", None, READ),
    "photo_upload": (
        "upload", "/pets/{pet_id}/photos", lambda w: {"file": png_upload(), "caption": "Hi"},
        CREATE,
    ),
    "photo_detail": ("get", "/photos/{photo_id}", None, READ),
    "photo_file": ("get", "/photos/{photo_id}/file?variant=thumb&format=jpeg", None, READ),
    "photo_primary": ("post", "/photos/{photo_id}/primary", None, CHANGE),
    "photo_delete": ("delete", "/photos/{photo_id}", None, DELETE),
    "contact_list": ("get", "/households/{household_id}/contacts", None, READ),
    "contact_create": (
        "post", "/households/{household_id}/contacts",
        lambda w: {"name": "Dr Vet", "pet_ids": [w.rex.pk]}, CREATE,
    ),
    "contact_detail": ("get", "/contacts/{contact_id}", None, READ),
    "contact_update": ("patch", "/contacts/{contact_id}", lambda w: {"phone": "555"}, CHANGE),
    "contact_delete": ("delete", "/contacts/{contact_id}", None, DELETE),
    "note_list": ("get", "/pets/{pet_id}/notes?q=cups", None, READ),
    "note_create": ("post", "/pets/{pet_id}/notes", lambda w: {"body_html": "<p>Hi</p>"}, CREATE),
    "note_detail": ("get", "/notes/{note_id}", None, READ),
    "note_update": ("patch", "/notes/{note_id}", lambda w: {"pinned": True}, CHANGE),
    "note_delete": ("delete", "/notes/{note_id}", None, DELETE),
    "record_list": ("get", "/pets/{pet_id}/records?kind=vaccination", None, READ),
    "record_create": (
        "post", "/pets/{pet_id}/records", lambda w: {"kind": "allergy", "name": "Pollen"}, CREATE,
    ),
    "record_detail": ("get", "/records/{record_id}", None, READ),
    "record_update": ("patch", "/records/{record_id}", lambda w: {"batch": "B-1"}, CHANGE),
    "record_delete": ("delete", "/records/{record_id}", None, DELETE),
    "weight_list": ("get", "/pets/{pet_id}/weights", None, READ),
    "weight_create": (
        "post", "/pets/{pet_id}/weights", lambda w: {"value": 27.5, "unit": "lb"}, CREATE,
    ),
    "attachment_list": ("get", "/records/{record_id}/attachments", None, READ),
    "attachment_upload": (
        "upload", "/records/{record_id}/attachments", lambda w: {"file": pdf_upload()}, CREATE,
    ),
    "attachment_detail": ("get", "/attachments/{attachment_id}", None, READ),
    "attachment_file": ("get", "/attachments/{attachment_id}/file", None, READ),
    "attachment_delete": ("delete", "/attachments/{attachment_id}", None, DELETE),
}  # fmt: skip


def fingerprint() -> list[Any]:
    """Every row the API can touch, and every stored file."""
    state: list[Any] = [
        list(model.objects.order_by("pk").values())  # type: ignore[attr-defined]
        for model in (Household, Membership, Invitation, Pet, Contact, Contact.pets.through,
                      Note, Photo, HealthRecord, Attachment)
    ]  # fmt: skip
    media = Path(settings.MEDIA_ROOT)
    state.append(sorted(str(p.relative_to(media)) for p in media.rglob("*")))
    return state


def test_every_operation_is_in_the_table(client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    mine = ("pawfile_accounts_api_", "pawfile_pets_api_", "pawfile_health_api_")
    names = {
        op["operationId"].split("_api_", 1)[1]
        for path in spec["paths"].values()
        for op in path.values()
        if op["operationId"].startswith(mine)
    }
    assert names == set(ENDPOINTS)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("who", range(len(ROLES)), ids=ROLE_IDS)
def test_access_table(world: World, api_client, endpoint: str, who: int) -> None:
    method, path, body, expected = ENDPOINTS[endpoint]
    client = api_client(ROLES[who])
    before = fingerprint()
    response = client.request(method, path.format(**world.ids), body(world) if body else None)
    assert response.status_code == expected[who], response.content
    after = fingerprint()
    if response.status_code >= 400:
        error = response.json()["error"]
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}
        assert error["code"] == code[response.status_code]
        assert after == before, "a refused request changed something"
    elif method == "get":
        assert after == before
    else:
        assert after != before, "an accepted write changed nothing"
