"""The admin: staff only, MFA required, optional IP allowlist; the first-admin link."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.test import Client

from pawfile.accounts import firstadmin
from pawfile.accounts.models import User
from tests.conftest import Cast

ADMIN = "/" + settings.PAWFILE_ADMIN_PATH


@pytest.fixture
def staff(cast: Cast) -> User:
    cast.alice.is_staff = cast.alice.is_superuser = True
    cast.alice.save()
    return cast.alice


def test_anonymous_is_sent_to_log_in(db: None) -> None:
    response = Client().get(ADMIN)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_non_staff_get_404(cast: Cast) -> None:
    assert cast.client_for("bob").get(ADMIN).status_code == 404


def test_staff_without_mfa_are_sent_to_set_it_up(staff: User) -> None:
    client = Client()
    client.force_login(staff)
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert "/accounts/2fa/totp/activate" in response["Location"]


def test_staff_with_mfa_reach_the_admin(staff: User) -> None:
    TOTP.activate(staff, generate_totp_secret())
    client = Client()
    client.force_login(staff)
    response = client.get(ADMIN)
    assert response.status_code == 200
    assert b"Site administration" in response.content or b"administraci" in response.content


def test_admin_ip_allowlist(settings, staff: User) -> None:
    TOTP.activate(staff, generate_totp_secret())
    settings.PAWFILE_ADMIN_ALLOWED_IPS = ["10.9.0.0/16"]
    outside = Client(REMOTE_ADDR="203.0.113.5")
    outside.force_login(staff)
    assert outside.get(ADMIN).status_code == 404
    inside = Client(REMOTE_ADDR="10.9.3.4")
    inside.force_login(staff)
    assert inside.get(ADMIN).status_code == 200


def test_first_admin_link_works_once(db: None) -> None:
    link = firstadmin.setup_link()
    assert link is not None
    path = link.split("://", 1)[1].split("/", 1)[1]
    client = Client()
    assert client.get("/" + path).status_code == 200
    response = client.post(
        "/" + path,
        {
            "email": "root@example.org",
            "name": "Root",
            "password1": "a-long-admin-passphrase-9",
            "password2": "a-long-admin-passphrase-9",
        },
    )
    assert response.status_code == 302
    admin = User.objects.get(email="root@example.org")
    assert admin.is_superuser and admin.is_staff
    assert admin.memberships.count() == 1
    # Dead once an admin exists, and no new link is offered.
    assert Client().get("/" + path).status_code == 404
    assert firstadmin.setup_link() is None


def test_first_admin_link_refuses_forgeries_and_weak_passwords(db: None) -> None:
    assert Client().get("/setup/first-admin:forged:sig/").status_code == 404
    link = firstadmin.setup_link()
    assert link is not None
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    response = Client().post(
        path, {"email": "root@example.org", "password1": "short", "password2": "short"}
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="root@example.org").exists()
