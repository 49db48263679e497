"""Ids out of range are a 404 in every URL and a form error in every form, never a 500.

SQLite raises ``OverflowError`` for an integer past 2^63 - 1 before it looks at a row; the
pages used to answer 500 for ``/households/9223372036854775808/`` and for a contact form's
``pets=9223372036854775808``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter

from pawfile.lib.ids import MAX_ID, IdConverter, id_in_range
from pawfile.pets.models import Contact
from tests.conftest import PASSWORD, Cast

OUT_OF_RANGE = [0, 2**63, 2**64, 10**30]
PLACEHOLDER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, dict[str, object]]]:
    """Every route pattern (as text) with its converters, included ones under their prefix."""
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        text = prefix + str(pattern)
        converters = getattr(pattern, "converters", {})
        if isinstance(entry, URLResolver):
            yield from _routes_with(entry, text, converters)
        elif isinstance(entry, URLPattern):
            yield text, dict(converters)


def _routes_with(resolver: URLResolver, prefix: str, outer: dict[str, object]):
    for text, converters in _routes(resolver, prefix):
        yield text, {**outer, **converters}


def _id_routes() -> list[str]:
    routes = []
    for text, converters in _routes(get_resolver()):
        if text.startswith("^") or not any(
            isinstance(c, IdConverter | IntConverter) for c in converters.values()
        ):
            continue
        routes.append(text)
    return sorted(set(routes))


ID_ROUTES = _id_routes()


def _fill(route: str, number: int, converters: dict[str, object] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        conv = match.group("conv") or "str"
        if conv in ("int", "id"):
            return str(number)
        if conv == "uuid":
            return str(uuid.uuid4())
        return "x"

    return "/" + PLACEHOLDER.sub(value, route)


def test_the_walk_finds_the_id_routes() -> None:
    # A sample of what must be there, so the walk cannot pass by finding nothing.
    for expected in ("households/<id:household_id>/", "pets/<id:pet_id>/",
                     "records/<id:record_id>/", "pets/<id:pet_id>/report.pdf"):  # fmt: skip
        assert expected in ID_ROUTES
    # Every app route with an id uses the converter that bounds it.
    ours = [r for r in ID_ROUTES if "<int:" in r and not r.startswith(("accounts/", "_allauth/"))]
    assert ours == []


@pytest.mark.parametrize("route", ID_ROUTES)
def test_an_id_out_of_range_is_404_in_every_url(cast: Cast, route: str) -> None:
    client = cast.client_for("alice")
    # Re-authenticated just now, so allauth's pages (passkeys...) reach their lookup too.
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    for number in OUT_OF_RANGE:
        url = _fill(route, number)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 404, (url, method.__name__, response.status_code)


def test_the_largest_id_is_looked_up_like_any_other(cast: Cast) -> None:
    client = cast.client_for("alice")
    assert client.get(f"/households/{MAX_ID}/").status_code == 404
    assert client.get(f"/households/{cast.household.pk}/").status_code == 200


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "0", "-1", "1e3", "١٢", " 7", ""])
def test_a_contact_form_with_a_pet_out_of_range_is_a_form_error(
    cast: Cast, pet, value: str
) -> None:
    response = cast.client_for("alice").post(
        f"/households/{cast.household.pk}/contacts/new/",
        {"name": "Vet", "order": "0", "pets": [str(pet.pk), value]},
    )
    assert response.status_code == 400
    assert "is not one of the available choices" in response.content.decode()
    assert Contact.objects.count() == 0


def test_id_in_range() -> None:
    assert id_in_range("1") == 1 and id_in_range(MAX_ID) == MAX_ID
    assert id_in_range(str(MAX_ID)) == MAX_ID
    for bad in (0, -1, MAX_ID + 1, "0", "", "x", "1.0", True, None, 1.0, "٣"):
        assert id_in_range(bad) is None


@pytest.mark.parametrize("value", [str(2**63), str(2**64), "0", "x"])
def test_a_single_choice_out_of_range_is_a_field_error(cast: Cast, pet, value: str) -> None:
    from django.core.exceptions import ValidationError

    from pawfile.lib.ids import IdModelChoiceField
    from pawfile.pets.models import Pet

    field = IdModelChoiceField(queryset=Pet.objects.all())
    assert field.clean(str(pet.pk)) == pet
    with pytest.raises(ValidationError) as refused:
        field.clean(value)
    assert refused.value.code == "invalid_choice"
