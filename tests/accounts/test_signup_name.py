"""Sign-up asks for a name (optional); the household, the greeting and the PDF use it, in
the language the person signed up in."""

from __future__ import annotations

import pytest
from django.test import Client

from pawfile.accounts.models import Household, User
from pawfile.documents.report_data import owner_contact
from tests.conftest import PASSWORD


def _signup(email: str, name: str | None, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    data = {"email": email, "password1": PASSWORD}
    if name is not None:
        data["name"] = name
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return client


def test_the_sign_up_form_asks_for_a_name(db: None) -> None:
    page = Client().get("/accounts/signup/").content.decode()
    assert 'name="name"' in page and 'autocomplete="name"' in page
    assert "Your name" in page and "Optional" in page
    assert 'name="name"' in page.split('name="email"')[0]  # asked first


def test_a_name_given_at_sign_up_names_the_household(db: None) -> None:
    _signup("ana@example.org", "  Ana Gómez ")
    user = User.objects.get(email="ana@example.org")
    assert user.name == "Ana Gómez"
    assert Household.objects.get(memberships__user=user).name == "Ana Gómez's household"


def test_the_name_is_optional(db: None) -> None:
    _signup("ben@example.org", None)
    user = User.objects.get(email="ben@example.org")
    assert user.name == ""
    assert Household.objects.get(memberships__user=user).name == "ben's household"
    assert user.get_short_name() == "ben"


def test_the_home_page_greets_by_name(db: None) -> None:
    from allauth.account.models import EmailAddress

    _signup("ana@example.org", "Ana Gómez")
    user = User.objects.get(email="ana@example.org")
    EmailAddress.objects.filter(user=user).update(verified=True)
    client = Client()
    client.force_login(user)
    assert "Hello, Ana" in client.get("/home/").content.decode()


@pytest.mark.parametrize(("name", "household"), [("Ana", "Hogar de Ana"), ("", "Hogar de carla")])
def test_a_household_made_in_spanish_is_named_in_spanish(
    db: None, name: str, household: str
) -> None:
    _signup("carla@example.org", name, language="es")
    user = User.objects.get(email="carla@example.org")
    assert Household.objects.get(memberships__user=user).name == household


def test_a_name_on_two_lines_is_refused(db: None) -> None:
    response = Client().post(
        "/accounts/signup/",
        {"email": "eve@example.org", "password1": PASSWORD, "name": "Eve\r\nBcc: x@y.org"},
    )
    assert response.status_code == 200
    assert "one line of plain text" in response.content.decode()
    assert not User.objects.filter(email="eve@example.org").exists()


def test_the_report_names_the_owner_once(db: None) -> None:
    from pawfile.accounts.models import Membership
    from pawfile.accounts.services import user_create

    named = user_create(email="nina@example.org", password=PASSWORD, name="Nina")
    unnamed = user_create(email="otto@example.org", password=PASSWORD)
    assert owner_contact(list(Membership.objects.filter(user=named))) == {
        "name": "Nina", "email": "nina@example.org", "phone": "",
    }  # fmt: skip
    # Without a name the email is the name, and is not printed again under it.
    assert owner_contact(list(Membership.objects.filter(user=unnamed))) == {
        "name": "otto@example.org", "email": "", "phone": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("America/Mexico_City", "America/Mexico_City"), ("Not/AZone", "UTC"), ("", "UTC")],
)
def test_the_browser_zone_sent_at_sign_up_is_kept_when_known(
    db: None, sent: str, kept: str
) -> None:
    client = Client()
    page = client.get("/accounts/signup/").content.decode()
    assert "data-signup-zone" in page and "pawfile/timezone" in page  # the script fills it
    answer = client.post(
        "/accounts/signup/",
        {"email": "zoe@example.org", "password1": PASSWORD, "timezone": sent},
    )
    assert answer.status_code == 302
    assert User.objects.get(email="zoe@example.org").timezone == kept
