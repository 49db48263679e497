"""Google and OpenID Connect login appear only when configured."""

from __future__ import annotations

from django.test import Client

GOOGLE = {
    "google": {
        "APPS": [{"client_id": "id.apps.example", "secret": "s3cret", "key": ""}],
        "SCOPE": ["profile", "email"],
    }
}
OIDC = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "oidc",
                "name": "Example SSO",
                "client_id": "pawfile",
                "secret": "s3cret",
                "settings": {"server_url": "https://sso.example.org"},
            }
        ]
    }
}


def test_no_provider_no_button(db: None, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {}
    page = Client().get("/accounts/login/").content.decode()
    assert "Google" not in page
    assert "Example SSO" not in page


def test_configured_providers_are_offered(db: None, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {**GOOGLE, **OIDC}
    page = Client().get("/accounts/login/").content.decode()
    assert "Google" in page
    assert "Example SSO" in page
    # Starting a Google login is a POST that redirects to Google with our client id.
    client = Client()
    response = client.post("/accounts/google/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.google.com/")
    assert "client_id=id.apps.example" in response["Location"]
