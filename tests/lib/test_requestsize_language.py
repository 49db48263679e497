"""The 413 answer speaks the visitor's language, chosen from ``Accept-Language`` (it is
given before the locale middleware and the session run)."""

from __future__ import annotations

from django.test import Client

from tests.api.conftest import API
from tests.lib.test_requestsize import MB, declared


def test_the_413_page_in_spanish(db: None) -> None:
    response = declared(
        Client(), "/accounts/login/", 400 * MB, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5"
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert '<html lang="es">' in page
    assert "Demasiado grande · Pawfile" in page
    assert "Lo que enviaste es demasiado grande" in page
    assert "aquí se pueden enviar como máximo 1 MB" in page
    assert "Ir a la página de inicio" in page
    assert response["Content-Language"] == "es"


def test_the_413_page_in_english_by_default(db: None) -> None:
    response = declared(Client(), "/accounts/login/", 400 * MB, HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "What you sent is too large" in page


def test_the_api_413_message_in_spanish(db: None) -> None:
    response = declared(
        Client(), f"{API}/pets", 2 * MB, HTTP_AUTHORIZATION="Bearer x", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("La petición es demasiado grande")
