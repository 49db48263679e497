"""The admin: staff only, MFA required, optional IP allowlist; the first-admin link."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.test import Client
from django.utils.html import escape

from pawfile.accounts import firstadmin, invitations
from pawfile.accounts.models import Household, Membership, User
from pawfile.pets.models import Pet
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
    page = response.content.decode()
    assert "Pawfile" in page and "Django administration" not in page
    assert "pawfile/favicon.svg" in page


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


# --- The instance admin's models (users, households, memberships, invitations, grants) -------


@pytest.fixture
def admin_client(staff: User) -> Client:
    TOTP.activate(staff, generate_totp_secret())
    client = Client()
    client.force_login(staff)
    return client


def _pages(cast: Cast) -> list[str]:
    invitation = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email="dora@example.org", role="caretaker"
    )
    membership = Membership.objects.get(user=cast.bob, household=cast.household)
    pet = Pet.objects.create(household=cast.household, name="Rex", species="dog")
    pages = [ADMIN]
    for model, obj in (
        ("user", cast.bob),
        ("household", cast.household),
        ("membership", membership),
        ("invitation", invitation),
        ("grant", None),
        ("pet", pet),
    ):
        pages.append(f"{ADMIN}accounts/{model}/" if model != "pet" else f"{ADMIN}pets/pet/")
        if obj is not None:
            app = "pets" if model == "pet" else "accounts"
            pages.append(f"{ADMIN}{app}/{model}/{obj.pk}/change/")
    pages += [
        f"{ADMIN}accounts/user/?q=bob",
        f"{ADMIN}accounts/user/?is_active__exact=1",
        f"{ADMIN}accounts/household/?q=alice%40example.org",
        f"{ADMIN}accounts/membership/?role__exact=viewer",
        f"{ADMIN}accounts/invitation/?status__exact=pending&q=dora",
        f"{ADMIN}outbox/outboxmessage/",
    ]
    return pages


def test_admin_pages_load_for_staff_with_mfa(cast: Cast, admin_client: Client) -> None:
    for page in _pages(cast):
        response = admin_client.get(page)
        assert response.status_code == 200, page
    index = admin_client.get(ADMIN).content.decode()
    for name in ("Users", "Households", "Memberships", "Invitations", "Outbox"):
        assert name in index, name
    # A household's page lists its members and its pets; a user's, their households.
    household = admin_client.get(f"{ADMIN}accounts/household/{cast.household.pk}/change/")
    text = household.content.decode()
    assert "bob@example.org" in text or "Bob" in text
    assert "Rex" in text
    user = admin_client.get(f"{ADMIN}accounts/user/{cast.bob.pk}/change/").content.decode()
    assert escape(cast.household.name) in user and "Caretaker" in user


def test_admin_pages_are_refused_to_everyone_else(cast: Cast) -> None:
    pages = _pages(cast)
    cast.alice.is_staff = True  # staff, but without two-factor authentication
    cast.alice.save()
    no_mfa = cast.client_for("alice")
    for page in pages:
        assert Client().get(page).status_code == 302, page  # to the sign-in page
        assert cast.client_for("bob").get(page).status_code == 404, page
        response = no_mfa.get(page)
        assert response.status_code == 302 and "2fa" in response["Location"], page


def test_favicon_is_served(db: None) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("pawfile/favicon.svg")
    icon = Client().get(response["Location"])
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


def _action(client: Client, model: str, action: str, ids: list[int]) -> None:
    response = client.post(
        f"{ADMIN}accounts/{model}/",
        {"action": action, "_selected_action": [str(pk) for pk in ids]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_turning_an_account_off_ends_its_sessions(cast: Cast, admin_client: Client) -> None:
    bob = cast.client_for("bob")
    assert bob.get("/home/").status_code == 200
    _action(admin_client, "user", "deactivate", [cast.bob.pk])
    cast.bob.refresh_from_db()
    assert not cast.bob.is_active
    assert bob.get("/home/").status_code == 302  # signed out
    _action(admin_client, "user", "reactivate", [cast.bob.pk])
    cast.bob.refresh_from_db()
    assert cast.bob.is_active


def test_admin_actions_call_the_services(cast: Cast, admin_client: Client) -> None:
    invitation = invitations.invitation_create(
        household=cast.household, actor=cast.alice, email="dora@example.org", role="viewer"
    )
    _action(admin_client, "invitation", "withdraw", [invitation.pk])
    invitation.refresh_from_db()
    assert invitation.status == "revoked"

    carol = Membership.objects.get(user=cast.carol, household=cast.household)
    _action(admin_client, "membership", "make_owner", [carol.pk])
    roles = dict(cast.household.memberships.values_list("user__email", "role"))
    assert roles["carol@example.org"] == "owner" and roles["alice@example.org"] == "caretaker"

    charlies = Household.objects.get(memberships__user=cast.charlie)
    Pet.objects.create(household=charlies, name="Tom", species="cat")
    _action(admin_client, "household", "delete_with_everything", [charlies.pk])
    assert not Household.objects.filter(pk=charlies.pk).exists()
    assert not Pet.objects.filter(name="Tom").exists()


def test_admin_edits_go_through_the_services(cast: Cast, admin_client: Client) -> None:
    url = f"{ADMIN}accounts/household/{cast.household.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    refused = admin_client.post(url, {**_inline_management(page), "name": "Fam\r\nBcc: x"})
    cast.household.refresh_from_db()
    assert cast.household.name != "Fam\r\nBcc: x"
    assert refused.status_code in (200, 302)
    admin_client.post(url, {**_inline_management(page), "name": "  The Smiths  "})
    cast.household.refresh_from_db()
    assert cast.household.name == "The Smiths"


def _inline_management(page) -> dict[str, str]:
    """The hidden fields of an admin change page (the inlines' management forms and ids)."""
    import re

    fields = {}
    for tag in re.findall(r"<input [^>]*>", page.content.decode()):
        name = re.search(r'name="([^"]+)"', tag)
        if 'type="hidden"' in tag and name and name.group(1) != "csrfmiddlewaretoken":
            value = re.search(r'value="([^"]*)"', tag)
            fields[name.group(1)] = value.group(1) if value else ""
    return fields
