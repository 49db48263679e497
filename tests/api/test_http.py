"""HTTP behaviour shared by every endpoint: ETags, rate limits, the one error format, docs."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.conftest import World

# --- ETag ----------------------------------------------------------------------------------


def test_etag_gives_304_until_the_pet_changes(world: World, api_client) -> None:
    client = api_client("alice")
    path = f"/pets/{world.rex.pk}"
    first = client.get(path)
    etag = first["ETag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)
    assert "private" in first["Cache-Control"]

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert "RateLimit-Remaining" in again

    assert client.patch(path, {"name": "Rexy"}).status_code == 200
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Rexy"
    assert changed["ETag"] != etag


def test_etag_on_lists_and_lists_of_tags(world: World, api_client) -> None:
    client = api_client("alice")
    etag = client.get("/pets").headers["ETag"]
    both = f'W/"0000", {etag}'
    assert client.get("/pets", headers={"If-None-Match": both}).status_code == 304
    assert client.get("/pets", headers={"If-None-Match": 'W/"0000"'}).status_code == 200
    # Another user sees another body, so another tag.
    assert api_client("charlie").get("/pets").headers["ETag"] != etag


def test_no_etag_on_errors_or_writes(world: World, api_client) -> None:
    client = api_client("alice")
    assert "ETag" not in client.get("/pets/999999")
    assert "ETag" not in client.patch(f"/pets/{world.rex.pk}", {"name": "Rexy"})


# --- Rate limits ---------------------------------------------------------------------------


def test_every_response_carries_ratelimit_headers(world: World, api_client) -> None:
    for response in (
        api_client("alice").get("/me"),
        api_client(None).get("/me"),
        api_client("alice").get("/pets/999999"),
        api_client("alice").post("/pets", {"name": "x"}),
    ):
        for header in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
            assert response[header].isdigit(), (response.status_code, header)


def test_user_limit_gives_429_with_retry_after(world: World, api_client, settings) -> None:
    settings.PAWFILE_API_RATELIMIT_USER = "3/60"
    client = api_client("alice")
    remaining = [client.get("/me")["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    blocked = client.get("/me")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked["RateLimit-Remaining"] == "0"
    # The limit is per user: bob, from the same address, is not affected.
    assert api_client("bob").get("/me").status_code == 200


def test_user_over_the_limit_is_refused_before_the_operation_runs(
    world: World, api_client, settings
) -> None:
    settings.PAWFILE_API_RATELIMIT_USER = "1/60"
    client = api_client("alice")
    assert (
        client.post(
            f"/pets/{world.rex.pk}/notes", {"title": "first", "body_html": "<p>first</p>"}
        ).status_code
        == 201
    )

    blocked = client.post(
        f"/pets/{world.rex.pk}/notes", {"title": "second", "body_html": "<p>second</p>"}
    )

    assert blocked.status_code == 429
    assert blocked["RateLimit-Remaining"] == "0"
    assert not world.rex.notes.filter(title="second").exists()  # the operation never ran


def test_a_forged_token_does_not_spend_its_users_bucket(world: World, api_client, settings) -> None:
    """A bearer call's user is counted before the user is loaded, from the token's ``sub``:
    only once the token's signature verifies, or anyone could exhaust another's bucket."""
    settings.PAWFILE_API_RATELIMIT_USER = "3/60"
    real = api_client("alice")
    header, payload, _signature = real.headers["Authorization"].removeprefix("Bearer ").split(".")
    forged = Client(headers={"Authorization": f"Bearer {header}.{payload}.AAAA"})

    assert [forged.get("/api/v1/me").status_code for _ in range(5)] == [401] * 5

    assert real.get("/me")["RateLimit-Remaining"] == "2"


def test_ip_limit_applies_before_authentication(world: World, settings) -> None:
    settings.PAWFILE_API_RATELIMIT_IP = "2/60"
    client = Client()
    assert [client.get("/api/v1/me").status_code for _ in range(2)] == [401, 401]
    blocked = client.get("/api/v1/me")
    assert blocked.status_code == 429
    assert blocked["Retry-After"].isdigit()
    assert blocked.json()["error"]["code"] == "rate_limited"
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.get("/api/v1/me").status_code == 401


# --- Errors --------------------------------------------------------------------------------


def test_malformed_json_is_400(world: World, api_client) -> None:
    client = api_client("alice")
    response = client.client.post(
        "/api/v1/pets", "{not json", content_type="application/json", headers=client.headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request", "message": "The request body is not valid JSON.", "fields": {},
    }  # fmt: skip


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_body_that_is_not_an_object_is_422(world: World, api_client, body) -> None:
    client = api_client("alice")
    response = client.post(f"/pets/{world.rex.pk}/notes", body)
    assert response.status_code in (400, 422)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_nul_characters_are_refused(world: World, api_client) -> None:
    response = api_client("alice").patch(f"/pets/{world.rex.pk}", {"breed": "Bea\x00gle"})
    assert response.status_code == 422
    assert "breed" in response.json()["error"]["fields"]
    client = api_client("alice")
    lone_surrogate = client.client.patch(
        f"/api/v1/pets/{world.rex.pk}", '{"breed": "\\ud800"}', content_type="application/json",
        headers=client.headers,
    )  # fmt: skip
    assert lone_surrogate.status_code == 422


# --- Documentation -------------------------------------------------------------------------


def test_openapi_declares_security_and_summaries(db: None) -> None:
    spec = Client().get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert schemes["SessionCsrfAuth"]["in"] == "cookie"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert operation["security"], (method, path)


def test_swagger_ui_at_api_docs_uses_packaged_files(db: None) -> None:
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "/api/v1/openapi.json" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "external asset"
