"""Security headers on every response, and the request id."""

from __future__ import annotations

import re

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from pawfile.ops.middleware import CSP, SecurityHeadersMiddleware

pytestmark = pytest.mark.django_db


def test_landing_page_security_headers(client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert csp == CSP
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "form-action 'self';" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(self), payment=()"
    )
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_social_login_allows_form_action_to_the_provider(client, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": []}}
    settings.OIDC_SERVER_URL = ""

    csp = client.get("/health")["Content-Security-Policy"]

    assert "form-action 'self' https:;" in csp
    assert "frame-ancestors 'none'" in csp


def test_plain_http_oidc_server_is_allowed_by_origin(client, settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
    settings.OIDC_SERVER_URL = "http://sso.localhost:8080/realms/pets"

    csp = client.get("/health")["Content-Security-Policy"]

    assert "form-action 'self' https: http://sso.localhost:8080;" in csp


def _through_middleware(csp: str | None) -> HttpResponse:
    def view(request):
        response = HttpResponse("ok")
        if csp is not None:
            response["Content-Security-Policy"] = csp
        return response

    return SecurityHeadersMiddleware(view)(RequestFactory().get("/"))


def test_view_may_replace_the_csp() -> None:
    response = _through_middleware("default-src 'none'")

    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Permissions-Policy"]


def test_view_may_opt_out_of_the_csp() -> None:
    response = _through_middleware("")

    assert "Content-Security-Policy" not in response


def test_request_id_echoed_when_valid(client) -> None:
    response = client.get("/health", HTTP_X_REQUEST_ID="lb-7.a_B-42")

    assert response["X-Request-ID"] == "lb-7.a_B-42"


@pytest.mark.parametrize(
    "incoming", ["bad id", "id<script>", "x" * 129, "caf\u00e9", "a/b", "id\r\nX-Evil: 1"]
)
def test_request_id_replaced_when_invalid(client, incoming: str) -> None:
    response = client.get("/health", HTTP_X_REQUEST_ID=incoming)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_request_id_made_when_absent(client) -> None:
    first = client.get("/health")["X-Request-ID"]
    second = client.get("/health")["X-Request-ID"]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
