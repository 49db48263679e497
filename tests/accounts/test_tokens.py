"""JWT tokens for API clients: issue, refuse forged ones, rotate, detect reuse, logout."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD, Cast

APP = "/_allauth/app/v1"


def login(client: Client, email: str, password: str = PASSWORD) -> dict:
    response = client.post(
        f"{APP}/auth/login", {"email": email, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    meta = response.json()["meta"]
    assert meta["is_authenticated"] is True
    return meta


def me(client: Client, token: str) -> int:
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def refresh(client: Client, token: str):
    return client.post(
        f"{APP}/tokens/refresh", {"refresh_token": token}, content_type="application/json"
    )


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(payload: dict, *, key: str | None = None, alg: str = "HS256") -> str:
    return jwt.encode(payload, key or settings.SECRET_KEY, algorithm=alg)


@pytest.fixture
def tokens(cast: Cast) -> dict:
    return login(Client(), "alice@example.org")


def test_login_issues_access_and_refresh_tokens_that_work(cast: Cast, tokens: dict) -> None:
    client = Client()
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.org"
    body = claims(tokens["access_token"])
    assert body["aud"] == settings.PAWFILE_JWT_AUDIENCE
    assert body["token_use"] == "access"


def test_wrong_password_gives_no_token(cast: Cast) -> None:
    response = Client().post(
        f"{APP}/auth/login",
        {"email": "alice@example.org", "password": "not-her-password"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "access_token" not in json.dumps(response.json())


def test_no_token_and_garbage_token_are_401(cast: Cast) -> None:
    client = Client()
    assert client.get("/api/v1/me").status_code == 401
    assert me(client, "not-a-jwt") == 401
    assert client.get("/api/v1/me").json()["error"]["code"] == "unauthenticated"


def test_expired_access_token_is_refused(cast: Cast, tokens: dict) -> None:
    body = claims(tokens["access_token"])
    body["exp"] = int(time.time()) - 10
    assert me(Client(), forge(body)) == 401


def test_tampered_access_token_is_refused(cast: Cast, tokens: dict) -> None:
    header, payload, signature = tokens["access_token"].split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["sub"] = str(cast.charlie.pk)
    forged_payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    assert me(Client(), f"{header}.{forged_payload}.{signature}") == 401


def test_token_signed_with_another_key_is_refused(cast: Cast, tokens: dict) -> None:
    assert me(Client(), forge(claims(tokens["access_token"]), key="x" * 64)) == 401


def test_alg_none_is_refused(cast: Cast, tokens: dict) -> None:
    unsigned = jwt.encode(claims(tokens["access_token"]), None, algorithm="none")
    assert me(Client(), unsigned) == 401


def test_wrong_audience_is_refused(cast: Cast, tokens: dict) -> None:
    body = claims(tokens["access_token"])
    body["aud"] = "https://another-service.example.org"
    assert me(Client(), forge(body)) == 401
    del body["aud"]
    assert me(Client(), forge(body)) == 401


def test_refresh_token_is_not_an_access_token(cast: Cast, tokens: dict) -> None:
    assert me(Client(), tokens["refresh_token"]) == 401


def test_refresh_rotates_and_old_refresh_token_stops_working(cast: Cast, tokens: dict) -> None:
    client = Client()
    response = refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["refresh_token"] != tokens["refresh_token"]
    assert me(client, data["access_token"]) == 200
    # The next rotation works with the new token.
    assert refresh(client, data["refresh_token"]).status_code == 200


def test_reused_refresh_token_revokes_the_whole_family(cast: Cast, tokens: dict) -> None:
    client = Client()
    first = refresh(client, tokens["refresh_token"]).json()["data"]
    # An attacker replays the refresh token that was already rotated...
    assert refresh(client, tokens["refresh_token"]).status_code != 200
    # ...and every token of that family is dead: the legitimate pair too.
    assert me(client, first["access_token"]) == 401
    assert me(client, tokens["access_token"]) == 401
    assert refresh(client, first["refresh_token"]).status_code != 200
    # Another login (another family) is unaffected.
    other = login(client, "alice@example.org")
    assert me(client, other["access_token"]) == 200


def test_logout_kills_the_access_token(cast: Cast, tokens: dict) -> None:
    client = Client()
    assert me(client, tokens["access_token"]) == 200
    response = client.delete(
        f"{APP}/auth/session", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )
    assert response.status_code == 401  # allauth answers "now unauthenticated"
    assert me(client, tokens["access_token"]) == 401
    assert refresh(client, tokens["refresh_token"]).status_code != 200


def test_password_change_ends_every_token_and_session(cast: Cast, tokens: dict) -> None:
    browser = Client()
    browser.force_login(cast.alice)
    assert browser.get("/home/").status_code == 200
    other_browser = Client()
    other_browser.force_login(cast.alice)
    response = other_browser.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-new-long-passphrase-7",
            "password2": "a-new-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    assert me(Client(), tokens["access_token"]) == 401
    assert refresh(Client(), tokens["refresh_token"]).status_code != 200
    assert browser.get("/home/").status_code == 302  # sent to log in again


def test_session_key_rotates_at_login(cast: Cast) -> None:
    client = Client()
    client.get("/accounts/login/")
    client.session["probe"] = 1
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    response = client.post("/accounts/login/", {"login": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.session_key != before


# --- The remembered check: a token seen once is checked with one query, and nothing that can
# change is remembered.


def _used(tokens: dict) -> str:
    """An access token that has been accepted once (its session check is now remembered)."""
    token = tokens["access_token"]
    assert me(Client(), token) == 200
    return token


def test_second_call_checks_the_token_with_one_query(cast: Cast, tokens: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = _used(tokens)
    with CaptureQueriesContext(connection) as queries:
        assert me(Client(), token) == 200
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_password_set_outside_the_app_ends_a_remembered_token(cast: Cast, tokens: dict) -> None:
    token = _used(tokens)
    cast.alice.set_password("set-by-an-admin-elsewhere-9")  # no session is ended here
    cast.alice.save()
    assert me(Client(), token) == 401


def test_deactivated_user_loses_a_remembered_token(cast: Cast, tokens: dict) -> None:
    token = _used(tokens)
    type(cast.alice).objects.filter(pk=cast.alice.pk).update(is_active=False)
    assert me(Client(), token) == 401


@pytest.mark.parametrize("change", ["deleted", "expired"])
def test_session_gone_or_expired_ends_a_remembered_token(
    cast: Cast, tokens: dict, change: str
) -> None:
    import datetime as dt
    from importlib import import_module

    from django.contrib.sessions.models import Session
    from django.core.cache import caches
    from django.utils import timezone

    token = _used(tokens)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(Session.objects.values_list("session_key", flat=True))
    if change == "deleted":
        for key in keys:  # through the engine, as logout and revocation do
            store().delete(key)
    else:
        Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
        for key in keys:  # a cached copy (scale-out) expires with the session
            cached = getattr(store(key), "cache_key", None)
            if cached:
                caches[settings.SESSION_CACHE_ALIAS].delete(cached)
    assert me(Client(), token) == 401


def test_remembered_token_sees_profile_changes_at_once(cast: Cast, tokens: dict) -> None:
    token = _used(tokens)
    type(cast.alice).objects.filter(pk=cast.alice.pk).update(name="Alice Renamed")
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["name"] == "Alice Renamed"


def test_two_exchanges_of_one_refresh_token_at_once_revoke_the_family(
    cast: Cast, tokens: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second exchange arrives while the first is half way (checked, not yet saved)."""
    from allauth.headless.tokens.strategies.jwt import internal as jwt_internal

    client = Client()
    create = jwt_internal.create_access_token
    raced: list = []

    def create_and_race(*args, **kwargs):
        if not raced:
            raced.append(None)  # race once: the second exchange must not race again
            raced[0] = refresh(Client(), tokens["refresh_token"])
        return create(*args, **kwargs)

    monkeypatch.setattr(jwt_internal, "create_access_token", create_and_race)
    first = refresh(client, tokens["refresh_token"])
    monkeypatch.setattr(jwt_internal, "create_access_token", create)
    assert raced and raced[0].status_code in (400, 401)
    # The first finds its family revoked under it: no new pair, and no server error either.
    assert first.status_code in (400, 401), first.content
    assert me(client, tokens["access_token"]) == 401
    # A new login starts a new family.
    assert me(client, login(client, "alice@example.org")["access_token"]) == 200
