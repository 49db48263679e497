"""Fields a client may not set are refused with a 422 naming them, and never applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import World, png_upload
from tests.api.test_access import fingerprint

CASES: dict[str, tuple[str, str, Callable[[World], Any], str]] = {
    "pet id": ("post", "/pets", lambda w: {"household_id": w.household.pk, "name": "B",
                                           "species": "cat", "id": 999}, "id"),
    "pet revision": ("patch", "/pets/{pet_id}", lambda w: {"revision": 99}, "revision"),
    "pet created_at": (
        "patch", "/pets/{pet_id}", lambda w: {"created_at": "2020-01-01T00:00:00Z"}, "created_at",
    ),
    "pet updated_at": (
        "patch", "/pets/{pet_id}", lambda w: {"updated_at": "2020-01-01T00:00:00Z"}, "updated_at",
    ),
    "pet household on update": (
        "patch", "/pets/{pet_id}", lambda w: {"household_id": w.household.pk}, "household_id",
    ),
    "pet household object": ("patch", "/pets/{pet_id}", lambda w: {"household": 1}, "household"),
    "note author": ("patch", "/notes/{note_id}", lambda w: {"author_id": w.cast.bob.pk},
                    "author_id"),
    "note body_text": ("patch", "/notes/{note_id}", lambda w: {"body_text": "x"}, "body_text"),
    "note pet": ("post", "/pets/{pet_id}/notes", lambda w: {"body_html": "<p>x</p>",
                                                            "pet_id": w.tom.pk}, "pet_id"),
    "record owner": ("post", "/pets/{pet_id}/records", lambda w: {"kind": "lab", "name": "Blood",
                                                                  "created_by": 1}, "created_by"),
    "record pet": ("patch", "/records/{record_id}", lambda w: {"pet_id": w.tom.pk}, "pet_id"),
    "record kind change": ("patch", "/records/{record_id}", lambda w: {"kind": "weight"}, "kind"),
    "contact household": (
        "patch", "/contacts/{contact_id}", lambda w: {"household_id": 1}, "household_id",
    ),
    "photo key": ("upload", "/pets/{pet_id}/photos", lambda w: {"file": png_upload(),
                                                                "key": "abc"}, "key"),
    "photo uploader": ("upload", "/pets/{pet_id}/photos", lambda w: {"file": png_upload(),
                                                                     "uploaded_by": "1"},
                       "uploaded_by"),
    "weight id": ("post", "/pets/{pet_id}/weights", lambda w: {"value": 3, "unit": "kg",
                                                               "id": 5}, "id"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_protected_field_is_refused(world: World, api_client, case: str) -> None:
    method, path, body, field = CASES[case]
    before = fingerprint()
    response = api_client("alice").request(method, path.format(**world.ids), body(world))
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert fingerprint() == before
