"""The page shell's header is drawn once per process per value of what it shows
(``accounts/templatetags/shell.py``): it must still show each person their own, current
things, and each browser its own CSRF token."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from pawfile.accounts.models import Household, Membership
from pawfile.accounts.templatetags import shell
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def home(client: Client, path: str = "/home/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_two_browsers_of_one_person_each_get_their_own_working_token(cast: Cast) -> None:
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(cast.alice)
    second.force_login(cast.alice)
    home(first)  # draws and keeps the header
    html = home(second)  # the kept header, with this browser's token put in
    assert shell.CSRF_PLACEHOLDER not in html
    tokens = set(TOKEN.findall(html))
    assert len(tokens) == 1  # logout, theme and language forms: one token, this request's
    # The token works for this browser: the logout form in the kept header signs it out.
    response = second.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens.pop()})
    assert response.status_code == 302
    assert home(first)  # the other browser is still signed in


def test_a_renamed_household_and_a_new_name_show_at_once(cast: Cast) -> None:
    client = cast.client_for("bob")
    other = Household.objects.create(name="Beach house")
    Membership.objects.create(household=other, user=cast.bob, role="viewer")
    assert "Beach house" in home(client)
    other.name = "Mountain cabin"
    other.save()
    cast.bob.name = "Roberto"
    cast.bob.save()
    html = home(client)
    assert "Mountain cabin" in html and "Beach house" not in html
    assert "<strong>Roberto</strong>" in html


def test_each_person_and_each_page_gets_its_own_header(cast: Cast) -> None:
    alice, carol = cast.client_for("alice"), cast.client_for("carol")
    assert "alice@example.org" in home(alice)
    html = home(carol)
    assert "carol@example.org" in html and "alice@example.org" not in html
    # The current tab follows the page.
    assert re.search(r'href="/pets/" class="tab" aria-current="page"', home(carol, "/pets/"))
    assert not re.search(r'href="/pets/" class="tab" aria-current="page"', home(carol))


def test_the_language_and_a_signed_out_visitor_get_their_own_header(cast: Cast) -> None:
    client = cast.client_for("alice")
    assert ">Account<" in home(client)
    spanish = client.get("/home/", headers={"Accept-Language": "es"}).content.decode()
    assert ">Cuenta<" in spanish and ">Account<" not in spanish
    signed_out = Client().get("/accounts/login/").content.decode()
    assert "alice@example.org" not in signed_out and ">Account<" not in signed_out
