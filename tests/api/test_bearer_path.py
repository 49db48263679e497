"""Bearer-token API calls take the short path (``pawfile.lib.apipath``) and lose nothing.

The short path skips the browser middleware; these tests check what a client would notice:
the security headers are all there, the language still follows ``Accept-Language``, a wrong
token is still a 401 in the API's error format, an unknown path a JSON 404, and a call that
also carries a cookie goes down the whole chain as before.
"""

from __future__ import annotations

import pytest
from django.test import Client

from pawfile.lib import apipath
from tests.api.conftest import access_token
from tests.conftest import Cast

HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Resource-Policy",
    "X-Request-ID",
    "ETag",
    "RateLimit-Limit",
)


@pytest.fixture
def token(cast: Cast) -> str:
    return access_token("alice@example.org")


def _get(path: str, token: str, **extra: str):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def test_short_path_is_taken_and_keeps_every_header(cast: Cast, pet, token: str) -> None:
    response = _get("/api/v1/pets", token)
    assert response.status_code == 200
    assert response.json()["items"][0]["name"] == "Rex"
    assert not hasattr(response.wsgi_request, "session")  # SessionMiddleware did not run
    for header in HEADERS:
        assert response.headers.get(header), header
    assert response.headers["X-Frame-Options"] == "DENY"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert "Accept-Language" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers


def test_language_follows_accept_language(cast: Cast, token: str) -> None:
    response = _get("/api/v1/pets/999999", token, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert response.status_code == 404
    assert response.headers["Content-Language"] == "es"
    english = _get("/api/v1/pets?limit=0", token, HTTP_ACCEPT_LANGUAGE="en")
    spanish = _get("/api/v1/pets?limit=0", token, HTTP_ACCEPT_LANGUAGE="es")
    assert english.status_code == spanish.status_code == 422
    assert english.json()["error"]["message"] != spanish.json()["error"]["message"]


def test_bad_token_and_unknown_path_answer_in_the_api_format(cast: Cast, token: str) -> None:
    bad = _get("/api/v1/pets", token[:-4] + "AAAA")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"]
    missing = _get("/api/v1/no-such-thing", token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_a_call_with_a_cookie_goes_down_the_whole_chain(cast: Cast, pet, token: str) -> None:
    client = Client()
    client.cookies["pawfile_language"] = "es"
    response = client.get("/api/v1/pets", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "es"  # LocaleMiddleware read the cookie
    assert hasattr(response.wsgi_request, "session")
    assert response.json()["items"][0]["name"] == "Rex"


def test_only_bearer_calls_to_the_api_qualify() -> None:
    from django.test import RequestFactory

    factory = RequestFactory()
    assert apipath.is_bearer_api_call(factory.get("/api/v1/pets", HTTP_AUTHORIZATION="Bearer x"))
    assert apipath.is_bearer_api_call(factory.get("/api/v1/pets", HTTP_AUTHORIZATION="bearer x"))
    assert not apipath.is_bearer_api_call(factory.get("/pets/", HTTP_AUTHORIZATION="Bearer x"))
    assert not apipath.is_bearer_api_call(factory.get("/api/v1/pets"))
    assert not apipath.is_bearer_api_call(factory.get("/api/v1/pets", HTTP_AUTHORIZATION="Basic x"))
    with_cookie = factory.get("/api/v1/pets", HTTP_AUTHORIZATION="Bearer x", HTTP_COOKIE="a=b")
    assert not apipath.is_bearer_api_call(with_cookie)


def test_a_path_is_resolved_once_and_answers_for_each_request(
    cast: Cast, pet, token: str, monkeypatch
) -> None:
    """The short path remembers each path's match: Django's resolver runs once for a path,
    the view still gets the path's own arguments, and an unknown path is never kept."""
    from django.urls.resolvers import URLResolver

    resolved: list[str] = []
    original = URLResolver.resolve

    def counted(self, path):
        if self.pattern.regex.pattern == "^/":  # the root resolver: once per resolution
            resolved.append(str(path))
        return original(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counted)
    monkeypatch.setattr(apipath, "_resolved", {})  # nothing remembered from other tests
    first = _get(f"/api/v1/pets/{pet.pk}", token)
    again = _get(f"/api/v1/pets/{pet.pk}", token)
    other = _get("/api/v1/pets/999999", token)
    missing = [_get("/api/v1/no-such-thing", token) for _ in range(2)]

    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == pet.pk
    assert other.status_code == 404  # its own id reached the view
    assert [m.status_code for m in missing] == [404, 404]
    assert resolved == [
        f"/api/v1/pets/{pet.pk}", "/api/v1/pets/999999",
        "/api/v1/no-such-thing", "/api/v1/no-such-thing",
    ]  # fmt: skip
