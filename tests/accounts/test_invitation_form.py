"""After an invitation, the page says to whom and as what, and keeps the role chosen."""

from __future__ import annotations

import re

import pytest

from pawfile.accounts.models import Invitation
from tests.conftest import Cast


def _selected_role(page: str) -> str:
    select = re.search(r'<select name="role"[^>]*id="id_role".*?</select>', page, re.S)
    assert select, "the invitation form's role selector"
    chosen = re.search(r'<option value="(\w+)"[^>]*selected', select.group(0))
    assert chosen
    return chosen.group(1)


@pytest.mark.parametrize("htmx", [False, True])
def test_the_message_names_the_person_and_the_role_kept(cast: Cast, htmx: bool) -> None:
    client = cast.client_for("alice")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = f"/households/{cast.household.pk}/invitations/"
    response = client.post(
        url, {"email": "dora@example.org", "role": "caretaker"}, follow=True, **headers
    )
    page = response.content.decode()
    assert "Invitation sent to dora@example.org as caretaker." in page
    assert _selected_role(page) == "caretaker"
    assert Invitation.objects.get(email="dora@example.org").role == "caretaker"


def test_in_spanish(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(
        f"/households/{cast.household.pk}/invitations/",
        {"email": "dora@example.org", "role": "viewer"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="es",
    )
    page = response.content.decode()
    assert "Invitación enviada a dora@example.org" in page
    assert _selected_role(page) == "viewer"


def test_a_refused_invitation_keeps_the_role_too(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(
        f"/households/{cast.household.pk}/invitations/",
        {"email": "bob@example.org", "role": "caretaker"},
        follow=True,
    )
    page = response.content.decode()
    assert "already in this household" in page
    assert "Invitation sent" not in page
    assert _selected_role(page) == "caretaker"
