"""User preferences and admin accounts are written by named services, and only by them.

``user_preferences_update`` saves what it is given and refuses bad values without changing
anything; ``admin_create`` is the one way to make an administrator (the first-admin page and
``pawfile createadmin`` both call it). The pages that save preferences go through the service.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from django.urls import reverse

from pawfile.accounts import services
from pawfile.accounts.models import Household, User
from pawfile.lib.errors import Conflict, Invalid
from tests.conftest import Cast

STRONG = "a-long-admin-passphrase-9"


# --- Preferences ---------------------------------------------------------------------------


def test_preferences_update_saves_only_what_it_is_given(cast: Cast) -> None:
    alice = cast.alice
    services.user_preferences_update(user=alice, timezone="Pacific/Kiritimati", theme="dark")
    stored = User.objects.get(pk=alice.pk)
    assert (stored.timezone, stored.theme) == ("Pacific/Kiritimati", "dark")
    assert (stored.name, stored.locale) == ("Alice", "")
    services.user_preferences_update(user=alice, locale="es")
    stored = User.objects.get(pk=alice.pk)
    assert (stored.locale, stored.theme, stored.timezone) == ("es", "dark", "Pacific/Kiritimati")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"locale": "xx"}, "locale"),
        ({"theme": "purple"}, "theme"),
        ({"name": "n" * 151}, "name"),
        ({"phone": "1" * 33}, "phone"),
        ({"timezone": ""}, "timezone"),
    ],
)
def test_preferences_update_refuses_bad_values_and_changes_nothing(
    cast: Cast, changes: dict[str, str], field: str
) -> None:
    alice = cast.alice
    with pytest.raises(Invalid) as refused:
        services.user_preferences_update(user=alice, **{"theme": "dark", **changes})
    assert list(refused.value.fields) == [field] and refused.value.message
    assert alice.theme == "auto" and User.objects.get(pk=alice.pk).theme == "auto"


def test_preference_pages_save_through_the_service(cast: Cast, monkeypatch) -> None:
    calls: list[dict[str, object]] = []
    original = services.user_preferences_update

    def spy(**kwargs):
        calls.append({k: v for k, v in kwargs.items() if k != "user"})
        return original(**kwargs)

    monkeypatch.setattr(services, "user_preferences_update", spy)
    client = cast.client_for("alice")
    client.post(reverse("theme_set"), {"theme": "dark", "next": "/home/"})
    client.post(reverse("language_set"), {"language": "es", "next": "/home/"})
    client.post(
        reverse("preferences"),
        {"name": "Al", "phone": "", "timezone": "Europe/Madrid", "locale": "en", "theme": "light"},
    )
    assert calls == [
        {"theme": "dark"},
        {"locale": "es"},
        {"name": "Al", "phone": "", "timezone": "Europe/Madrid", "locale": "en", "theme": "light"},
    ]
    stored = User.objects.get(pk=cast.alice.pk)
    assert (stored.name, stored.timezone, stored.locale, stored.theme) == (
        "Al", "Europe/Madrid", "en", "light",
    )  # fmt: skip


# --- Admin accounts ------------------------------------------------------------------------


def test_admin_create_makes_a_verified_superuser_with_a_household(db: None) -> None:
    admin = services.admin_create(email=" Root@Example.org ", password=STRONG, name="Root")
    assert admin.email == "root@example.org" and admin.is_staff and admin.is_superuser
    assert admin.check_password(STRONG)
    assert EmailAddress.objects.filter(
        user=admin, email="root@example.org", primary=True, verified=True
    ).exists()
    assert Household.objects.filter(memberships__user=admin).count() == 1


@pytest.mark.parametrize(
    ("email", "password", "error", "field"),
    [
        ("not-an-address", STRONG, Invalid, "email"),
        ("ALICE@example.org", STRONG, Conflict, "email"),
        ("root@example.org", "short", Invalid, "password"),
        ("root@example.org", "1234567890123", Invalid, "password"),
    ],
)
def test_admin_create_refuses_and_creates_nothing(
    cast: Cast, email: str, password: str, error: type[Exception], field: str
) -> None:
    users = User.objects.count()
    with pytest.raises(error) as refused:
        services.admin_create(email=email, password=password)
    assert field in refused.value.fields  # type: ignore[attr-defined]
    assert User.objects.count() == users
    assert not User.objects.filter(is_superuser=True).exists()


def test_first_admin_page_creates_the_admin_through_the_service(
    db: None, client: Client, monkeypatch
) -> None:
    from pawfile.accounts.firstadmin import setup_link

    created: list[str] = []
    original = services.admin_create

    def spy(**kwargs):
        created.append(kwargs["email"])
        return original(**kwargs)

    monkeypatch.setattr(services, "admin_create", spy)
    path = (setup_link() or "")[len(settings.PAWFILE_BASE_URL) :]
    response = client.post(
        path, {"email": "root@example.org", "password1": STRONG, "password2": STRONG}
    )
    assert response.status_code == 302 and response["Location"] == reverse("mfa_index")
    assert created == ["root@example.org"]
    admin = User.objects.get(email="root@example.org")
    assert admin.is_superuser and EmailAddress.objects.get(user=admin).verified
    # The link dies with the first admin.
    assert client.get(path).status_code == 404
