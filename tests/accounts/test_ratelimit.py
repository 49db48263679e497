"""Every auth path is rate-limited per IP and per account, with 429 and Retry-After."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import Cast

APP = "/_allauth/app/v1"


@pytest.fixture
def tight(settings) -> None:
    settings.PAWFILE_RATELIMITS = {
        "login": "6/60,3/60",
        "signup": "3/60,3/60",
        "password_reset": "6/60,2/60",
        "mfa": "6/60,3/60",
        "token_refresh": "4/60,50/60",
    }
    from pawfile.accounts import middleware

    middleware._rules.cache_clear()
    yield
    middleware._rules.cache_clear()


def _statuses(send, n: int) -> list[int]:
    return [send(i).status_code for i in range(n)]


@pytest.mark.usefixtures("tight")
def test_web_login_limited_per_account_across_ips(cast: Cast) -> None:
    def send(i: int):
        return Client(REMOTE_ADDR=f"10.0.0.{i + 1}").post(
            "/accounts/login/", {"login": "alice@example.org", "password": "wrong"}
        )

    codes = _statuses(send, 4)
    assert 429 not in codes[:3]
    assert codes[3] == 429


@pytest.mark.usefixtures("tight")
def test_web_login_limited_per_ip_across_accounts(cast: Cast) -> None:
    client = Client(REMOTE_ADDR="10.1.1.1")

    def send(i: int):
        return client.post("/accounts/login/", {"login": f"user{i}@example.org", "password": "x"})

    codes = _statuses(send, 7)
    assert codes[-1] == 429
    assert 429 not in codes[:6]


@pytest.mark.usefixtures("tight")
def test_429_carries_retry_after_and_a_readable_message(cast: Cast) -> None:
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"login": "alice@example.org", "password": "x"})
    response = client.post("/accounts/login/", {"login": "alice@example.org", "password": "x"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert b"Too many attempts" in response.content


@pytest.mark.usefixtures("tight")
def test_api_login_429_is_json(cast: Cast) -> None:
    client = Client()
    body = {"email": "alice@example.org", "password": "x"}
    for _ in range(3):
        client.post(f"{APP}/auth/login", body, content_type="application/json")
    response = client.post(f"{APP}/auth/login", body, content_type="application/json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.usefixtures("tight")
def test_signup_limited_per_ip(db: None) -> None:
    client = Client(REMOTE_ADDR="10.2.2.2")

    def send(i: int):
        return client.post("/accounts/signup/", {"email": f"new{i}@example.org", "password1": "x"})

    assert _statuses(send, 4)[-1] == 429


@pytest.mark.usefixtures("tight")
def test_password_reset_limited_alike_for_known_and_unknown_emails(cast: Cast) -> None:
    def run(email: str) -> list[int]:
        client = Client(REMOTE_ADDR="10.3.3.3" if "alice" in email else "10.4.4.4")
        return [
            client.post("/accounts/password/reset/", {"email": email}).status_code for _ in range(3)
        ]

    known, unknown = run("alice@example.org"), run("nobody@example.org")
    assert known == unknown
    assert known[-1] == 429


@pytest.mark.usefixtures("tight")
def test_token_refresh_limited_per_ip(cast: Cast) -> None:
    client = Client(REMOTE_ADDR="10.5.5.5")

    def send(i: int):
        return client.post(
            f"{APP}/tokens/refresh", {"refresh_token": f"junk{i}"}, content_type="application/json"
        )

    codes = _statuses(send, 5)
    assert codes[-1] == 429
    assert 429 not in codes[:4]


@pytest.mark.usefixtures("tight")
def test_mfa_limited_per_pending_login(cast: Cast) -> None:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(cast.alice, generate_totp_secret())
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "alice@example.org", "password": "correct-horse-battery-42"}
    )
    assert response.status_code == 302 and "2fa/authenticate" in response["Location"]
    codes = [
        client.post("/accounts/2fa/authenticate/", {"code": "000000"}).status_code for _ in range(4)
    ]
    assert codes[-1] == 429
    assert 429 not in codes[:3]


def test_forwarded_for_ignored_unless_from_a_trusted_proxy(settings, cast: Cast) -> None:
    from django.test import RequestFactory

    from pawfile.lib import clientip

    clientip._trusted.cache_clear()
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert clientip.client_ip(request) == "203.0.113.9"
    settings.PAWFILE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = factory.get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.7"
    )
    assert clientip.client_ip(request) == "1.2.3.4"
    request = factory.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert clientip.client_ip(request) == "203.0.113.9"
