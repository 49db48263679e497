"""The browser session works for the API too; unsafe methods need the CSRF token."""

from __future__ import annotations

import json

from django.test import Client

from pawfile.pets.models import Pet
from tests.api.conftest import World


def session_client(world: World) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cast.alice)
    return client


def csrf_token(client: Client) -> str:
    client.get("/home/")  # every page carries the token (HTMX sends it with its requests)
    return client.cookies["csrftoken"].value


def test_get_works_with_the_session(world: World) -> None:
    response = session_client(world).get(f"/api/v1/pets/{world.rex.pk}")
    assert response.status_code == 200
    assert response.json()["name"] == "Rex"


def test_unsafe_method_without_csrf_token_is_refused(world: World) -> None:
    client = session_client(world)
    csrf_token(client)  # the cookie alone is not enough: the header must match it
    response = client.patch(
        f"/api/v1/pets/{world.rex.pk}", json.dumps({"name": "Rexy"}),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert Pet.objects.get(pk=world.rex.pk).name == "Rex"


def test_unsafe_method_with_csrf_token_works(world: World) -> None:
    client = session_client(world)
    token = csrf_token(client)
    response = client.patch(
        f"/api/v1/pets/{world.rex.pk}", json.dumps({"name": "Rexy"}),
        content_type="application/json", headers={"X-CSRFToken": token},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert Pet.objects.get(pk=world.rex.pk).name == "Rexy"


def test_anonymous_unsafe_request_is_401_not_a_csrf_error(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/pets", "{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_bearer_requests_need_no_csrf_token(world: World, api_client) -> None:
    response = api_client("alice").patch(f"/pets/{world.rex.pk}", {"name": "Rexy"})
    assert response.status_code == 200
