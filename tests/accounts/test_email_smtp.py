"""Account mail over real SMTP: signup verification, and a reset that reveals no accounts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from pawfile.accounts.choices import Role
from pawfile.accounts.models import User
from tests.conftest import PASSWORD, Cast
from tests.smtp import MailServer, links

pytestmark = pytest.mark.django_db

# A masked CSRF token: 64 letters and digits, different on every page.
CSRF_TOKEN_RE = re.compile(r"\b[A-Za-z0-9]{64}\b")


# Account mail leaves through the task queue after commit, as in production: these tests
# commit for real so the on-commit hooks run.
pytestmark = pytest.mark.django_db(transaction=True)


def _confirmation_path(message_links: list[str]) -> str:
    paths = [urlsplit(url).path for url in message_links]
    confirm = [p for p in paths if p.startswith("/accounts/confirm-email/")]
    assert confirm, f"no confirmation link among {message_links}"
    return confirm[0]


def test_signup_mails_a_link_that_confirms_the_address(
    client: Client, smtp_server: MailServer
) -> None:
    response = client.post(
        "/accounts/signup/", {"email": "dana@example.org", "password1": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"

    message = smtp_server.wait_for(to="dana@example.org", subject_contains="Confirm")
    assert message["Subject"].startswith("[Pawfile] ")
    path = _confirmation_path(links(message))

    user = User.objects.get(email="dana@example.org")
    address = user.emailaddress_set.get()
    assert not address.verified

    # Opening the link only asks; the address is confirmed by the button (a POST).
    page = client.get(path)
    assert page.status_code == 200
    assert "dana@example.org" in page.content.decode()
    address.refresh_from_db()
    assert not address.verified

    confirmed = client.post(path)
    assert confirmed.status_code == 302
    address.refresh_from_db()
    assert address.verified
    assert client.session.get("_auth_user_id") == str(user.pk)


def test_signup_gives_the_new_user_a_household_they_own(
    client: Client, smtp_server: MailServer
) -> None:
    client.post("/accounts/signup/", {"email": "erin@example.org", "password1": PASSWORD})
    user = User.objects.get(email="erin@example.org")
    memberships = list(user.memberships.select_related("household"))
    assert len(memberships) == 1
    assert memberships[0].role == Role.OWNER
    assert memberships[0].household.name


def _reset(email: str) -> tuple[int, list[tuple[str, int]], str]:
    response = Client().post("/accounts/password/reset/", {"email": email}, follow=True)
    body = CSRF_TOKEN_RE.sub("<csrf-token>", response.content.decode())
    return response.status_code, response.redirect_chain, body


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    cast: Cast, smtp_server: MailServer
) -> None:
    unknown = _reset("nobody@example.org")
    assert smtp_server.messages == []

    known = _reset("alice@example.org")
    message = smtp_server.wait_for(to="alice@example.org", subject_contains="Password Reset")
    reset_links = [url for url in links(message) if "/accounts/password/reset/key/" in url]
    assert reset_links
    # The link names the site's configured address, never whatever Host the request claimed.
    assert reset_links[0].startswith(settings.PAWFILE_BASE_URL + "/")

    assert unknown == known
    assert unknown[0] == 200
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.org"]
