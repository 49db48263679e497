"""Who may download a pet's health report: the web view and the API route."""

from __future__ import annotations

import pytest
from django.test import Client

from pawfile.pets.models import Pet
from tests.conftest import PASSWORD, Cast

API = "/documents-api"


def web_url(pet: Pet) -> str:
    return f"/pets/{pet.pk}/report.pdf"


def api_url(pet: Pet) -> str:
    return f"{API}/pets/{pet.pk}/report.pdf"


@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 302)],
)
def test_web_report_access(cast: Cast, pet: Pet, who: str | None, status: int) -> None:
    response = cast.client_for(who).get(web_url(pet))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert response["Content-Disposition"] == (
            "attachment; filename=\"rex-health-report.pdf\"; filename*=UTF-8''Rex-health-report.pdf"
        )
        assert "no-store" in response["Cache-Control"]
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.urls("tests.documents.urls")
@pytest.mark.parametrize(
    ("who", "status"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("charlie", 404), (None, 401)],
)
def test_api_report_access(cast: Cast, pet: Pet, who: str | None, status: int) -> None:
    response = cast.client_for(who).get(api_url(pet))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
    else:
        assert response.json()["error"]["code"] in {"not_found", "unauthenticated"}


@pytest.mark.urls("tests.documents.urls")
def test_api_report_with_jwt(cast: Cast, pet: Pet) -> None:
    login = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": "carol@example.org", "password": PASSWORD},
        content_type="application/json",
    )
    token = login.json()["meta"]["access_token"]
    response = Client().get(api_url(pet), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")
    forged = Client().get(api_url(pet), HTTP_AUTHORIZATION="Bearer not-a-token")
    assert forged.status_code == 401


def test_unknown_pet_is_404(cast: Cast) -> None:
    assert cast.client_for("alice").get("/pets/999999/report.pdf").status_code == 404


def test_post_is_refused(cast: Cast, pet: Pet) -> None:
    assert cast.client_for("alice").post(web_url(pet)).status_code in (403, 405)


def test_file_name_keeps_accents_and_has_an_ascii_fallback(cast: Cast, pet: Pet) -> None:
    pet.name = 'Ñandú / "Boss"'
    pet.save()
    response = cast.client_for("alice").get(web_url(pet))
    disposition = response["Content-Disposition"]
    assert 'filename="nandu-boss-health-report.pdf"' in disposition
    assert "filename*=UTF-8''%C3%91and%C3%BA%20%2F%20%22Boss%22-health-report.pdf" in disposition
