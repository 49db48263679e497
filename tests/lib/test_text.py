"""One-line fields refuse line breaks and control characters, in the web forms and the API.

``Fam\\r\\nBcc: x@y`` as a household name once made the invitation mail fail after five
retries while the API had answered 201. Every name field is checked by the services
(``pawfile.lib.text.plain_line``), so each way in refuses it with the field named.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from pawfile.accounts.models import Household, User
from pawfile.health.models import HealthRecord
from pawfile.lib.errors import Invalid
from pawfile.lib.text import PLAIN_LINE_PATTERN, plain_line
from pawfile.pets.models import Contact, Note, Pet
from tests.conftest import Cast

BAD = "Fam\r\nBcc: x@y"


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\u2028b"]
)
def test_plain_line_refuses_breaks_and_controls(value: str) -> None:
    with pytest.raises(Invalid) as refused:
        plain_line(value, field="name")
    assert list(refused.value.fields) == ["name"]


@pytest.mark.parametrize("value", ["Rex", "Ñandú 🐾", 'O\'Brien & "Co"', "", "東京"])
def test_plain_line_keeps_what_people_write(value: str) -> None:
    assert plain_line(value, field="name") == value


def _json(client: Client, method: str, url: str, body: dict[str, Any]) -> Any:
    return client.generic(method, url, json.dumps(body), content_type="application/json")


# --- web -----------------------------------------------------------------------------------


def test_web_household_rename_refuses_a_line_break(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(f"/households/{cast.household.pk}/rename/", {"name": BAD}, follow=True)
    assert "no line breaks" in response.content.decode()
    assert Household.objects.get(pk=cast.household.pk).name == cast.household.name


def test_web_preferences_refuse_a_line_break_in_the_name(cast: Cast) -> None:
    client = cast.client_for("alice")
    response = client.post(
        "/preferences/",
        {"name": BAD, "phone": "", "timezone": "UTC", "locale": "", "theme": "auto"},
    )
    assert response.status_code == 400
    assert "no line breaks" in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).name == "Alice"


WEB_CASES = {
    "pet name": ("/pets/new/?household={household}", {"name": BAD, "species": "dog",
                 "sex": "unknown", "weight_unit": "kg"}),
    "pet breed": ("/pets/{pet}/edit/", {"name": "Rex", "breed": "Bea\ngle", "species": "dog",
                  "sex": "unknown", "weight_unit": "kg"}),
    "contact name": ("/households/{household}/contacts/new/", {"name": BAD, "order": "0"}),
    "note title": ("/pets/{pet}/notes/new/", {"title": BAD, "body_html": "<p>Walk</p>"}),
    "record name": ("/pets/{pet}/records/new/vaccination/", {"name": BAD, "date": "2024-01-02"}),
}  # fmt: skip


@pytest.mark.parametrize("case", list(WEB_CASES))
def test_web_forms_refuse_a_line_break(cast: Cast, pet: Pet, case: str) -> None:
    url, data = WEB_CASES[case]
    before = _stored()
    response = cast.client_for("alice").post(
        url.format(household=cast.household.pk, pet=pet.pk), data
    )
    assert response.status_code == 400, response.status_code
    assert "no line breaks" in response.content.decode()
    assert _stored() == before


# --- API -----------------------------------------------------------------------------------


API_CASES = {
    "pet name": ("POST", "/api/v1/pets", {"household_id": "{household}", "name": BAD,
                 "species": "dog"}, "name"),
    "pet vet": ("PATCH", "/api/v1/pets/{pet}", {"vet_name": "Dr\r\nX"}, "vet_name"),
    "contact name": ("POST", "/api/v1/households/{household}/contacts", {"name": BAD}, "name"),
    "note title": ("POST", "/api/v1/pets/{pet}/notes", {"title": BAD, "body_html": "<p>x</p>"},
                   "title"),
    "record name": ("POST", "/api/v1/pets/{pet}/records", {"kind": "vaccination", "name": BAD},
                    "name"),
    "record clinic": ("POST", "/api/v1/pets/{pet}/records", {"kind": "visit", "name": "Check",
                      "clinic": "A\u2028B"}, "clinic"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(API_CASES))
def test_api_refuses_a_line_break(cast: Cast, pet: Pet, case: str) -> None:
    method, url, body, field = API_CASES[case]
    ids = {"household": cast.household.pk, "pet": pet.pk}
    body = {k: int(ids[v[1:-1]]) if v in ("{household}", "{pet}") else v for k, v in body.items()}
    before = _stored()
    response = _json(cast.client_for("alice"), method, url.format(**ids), body)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [field]
    # Refused by the service, or already by the input schema that describes the same rule.
    message = error["fields"][field][0]
    assert "no line breaks" in message or PLAIN_LINE_PATTERN[:-2] in message, message
    assert _stored() == before


def _stored() -> tuple[object, ...]:
    """Everything the cases could have written."""
    return (
        list(Pet.objects.values_list("name", "breed", "vet_name")),
        Contact.objects.count(),
        Note.objects.count(),
        HealthRecord.objects.count(),
    )
